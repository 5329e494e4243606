// The loyalty programme's settings (/loyalty): the form is sent whole to
// `PUT /api/loyalty/settings` (every field, as the API takes it); a refusal is shown next to
// the field the API names, and a success reloads the page so what shows is what was stored.
import { api } from './api.js';

const form = document.getElementById('loyalty-settings');

function clearErrors() {
  for (const p of form.querySelectorAll('.field-error')) {
    p.hidden = true;
    p.textContent = '';
  }
}

// `item_bonuses.2.points` → the paragraph `item_bonuses`; otherwise the form's own line.
function showError(field, message) {
  const name = (field ?? '').split('.')[0];
  const target = (name && form.querySelector(`[data-error-for="${name}"]`)) || document.getElementById('settings-error');
  target.textContent = message;
  target.hidden = false;
}

// A whole number as typed; null if it is not one (the server checks the ranges).
function whole(text) {
  return /^\s*-?\d{1,9}\s*$/.test(text) ? Number(text) : null;
}

// A decimal amount (`1`, `1.5`, `1.50`) in integer cents; null if it is not one.
function cents(text) {
  const m = /^\s*(\d{1,9})(?:\.(\d{1,2}))?\s*$/.exec(text);
  return m ? Number(m[1]) * 100 + Number((m[2] ?? '').padEnd(2, '0')) : null;
}

function settings() {
  const v = (name) => form.elements[name].value;
  const body = { enabled: form.elements.enabled.checked, item_bonuses: [] };
  for (const name of ['points_per_unit', 'referral_bonus', 'birthday_bonus', 'redeem_points', 'min_redeem']) {
    body[name] = whole(v(name));
    if (body[name] === null) throw Object.assign(new Error('Write a whole number, such as 100.'), { field: name });
  }
  body.redeem_cents = cents(v('redeem_value'));
  if (body.redeem_cents === null) throw Object.assign(new Error('Write the worth as 1.00.'), { field: 'redeem_cents' });
  const expiry = v('expiry_months').trim();
  body.expiry_months = expiry === '' ? null : whole(expiry);
  if (body.expiry_months === null && expiry !== '') {
    throw Object.assign(new Error('Write a number of months, or leave it blank.'), { field: 'expiry_months' });
  }
  for (const row of form.querySelectorAll('#bonuses tr[data-item]')) {
    const points = whole(row.querySelector('[name=bonus_points]').value);
    if (points === null) throw Object.assign(new Error('Write the bonus as whole points.'), { field: 'item_bonuses' });
    body.item_bonuses.push({ item_id: row.dataset.item, points });
  }
  return body;
}

function bonusRow(id, name) {
  const tr = document.createElement('tr');
  tr.dataset.item = id;
  const td = (label) => {
    const cell = document.createElement('td');
    cell.dataset.label = label;
    return cell;
  };
  const nameCell = td('Service or product');
  nameCell.textContent = name;
  const pointsCell = td('Points');
  const input = Object.assign(document.createElement('input'), { name: 'bonus_points', value: '10', inputMode: 'numeric', size: 6 });
  input.setAttribute('aria-label', `Bonus points for ${name}`);
  pointsCell.append(input);
  const actions = td('');
  const remove = Object.assign(document.createElement('button'), { type: 'button', textContent: 'Remove' });
  remove.dataset.action = 'remove-bonus';
  actions.append(remove);
  tr.append(nameCell, pointsCell, actions);
  return tr;
}

async function findBonus() {
  const q = document.getElementById('bonus-q').value;
  const list = document.getElementById('bonus-results');
  const page = await api('GET', `/api/catalogue?limit=10&q=${encodeURIComponent(q)}`);
  list.replaceChildren();
  for (const item of page.items) {
    const li = document.createElement('li');
    const b = Object.assign(document.createElement('button'), { type: 'button', textContent: `Add ${item.name}` });
    b.dataset.action = 'add-bonus';
    b.dataset.item = item.id;
    b.dataset.name = item.name;
    li.append(b);
    list.append(li);
  }
  if (page.items.length === 0) {
    list.append(Object.assign(document.createElement('li'), { className: 'hint', textContent: 'Nothing in the price list matches.' }));
  }
}

form?.addEventListener('click', (ev) => {
  const b = ev.target.closest('button[data-action]');
  if (!b) return;
  const rows = form.querySelector('#bonuses tbody');
  switch (b.dataset.action) {
    case 'remove-bonus':
      b.closest('tr').remove();
      break;
    case 'find-bonus':
      clearErrors();
      findBonus().catch((e) => showError('item_bonuses', e.message));
      break;
    case 'add-bonus':
      if (!rows.querySelector(`tr[data-item="${b.dataset.item}"]`)) rows.append(bonusRow(b.dataset.item, b.dataset.name));
      document.getElementById('bonus-results').replaceChildren();
      break;
  }
  document.getElementById('no-bonuses').hidden = rows.children.length > 0;
});

form?.addEventListener('submit', async (ev) => {
  ev.preventDefault();
  clearErrors();
  const button = form.querySelector('button[type=submit]');
  let body;
  try {
    body = settings();
  } catch (e) {
    showError(e.field, e.message);
    return;
  }
  button.disabled = true;
  try {
    await api('PUT', '/api/loyalty/settings', body);
    document.getElementById('saved').textContent = 'Saved.';
    location.reload();
  } catch (e) {
    button.disabled = false;
    showError(e.field, e.message);
  }
});
