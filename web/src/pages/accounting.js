// The accounting screen (/accounting): the new-export form goes to `POST
// /api/accounting/exports` (its Idempotency-Key kept until it succeeds), the chart of accounts
// whole to `PUT /api/accounting/mapping`. The server decides every rule: a refusal is shown
// next to the field it names, an overlap with an earlier export opens the re-export box, and
// a success reloads the page so the list shows what was stored.
import { api, submitOnce } from './api.js';

function clearErrors(form) {
  for (const p of form.querySelectorAll('.field-error')) {
    p.hidden = true;
    p.textContent = '';
  }
}

// The paragraph for `field` (`payment_methods.cash` exactly, else `revenue` for
// `revenue.Exams`), or the form's own line.
function showError(form, fallback, field, message) {
  const f = field ?? '';
  const target = (f && form.querySelector(`[data-error-for="${CSS.escape(f)}"]`))
    || (f && form.querySelector(`[data-error-for="${CSS.escape(f.split('.')[0])}"]`))
    || document.getElementById(fallback);
  target.textContent = message;
  target.hidden = false;
}

const exportForm = document.getElementById('new-export');
const reexportSet = document.getElementById('x-reexport-set');

exportForm.addEventListener('submit', (ev) => {
  ev.preventDefault();
  clearErrors(exportForm);
  const el = exportForm.elements;
  const body = {
    from: el.from.value,
    to: el.to.value,
    format: el.format.value,
    kinds: [...exportForm.querySelectorAll('input[name=kinds]:checked')].map((c) => c.value),
    reexport: el.reexport.checked,
    reason: el.reason.value.trim() || null,
  };
  if (!body.from || !body.to) {
    showError(exportForm, 'export-error', body.from ? 'to' : 'from', 'Choose a day.');
    return;
  }
  submitOnce(exportForm, async (key) => {
    await api('POST', '/api/accounting/exports', body, key);
    location.reload();
  }, (e) => {
    if (e.code === 'export_overlap') {
      // Days already in the books: say which, and offer to send them again with a reason.
      reexportSet.hidden = false;
      showError(exportForm, 'export-error', null, e.message);
      document.getElementById('x-reexport').focus();
      // A different request from here on: a new key.
      delete exportForm.dataset.key;
      return;
    }
    if (e.field === 'reason') reexportSet.hidden = false;
    showError(exportForm, 'export-error', e.field, e.message);
  });
});

const mapping = document.getElementById('mapping');
const revenueRows = mapping.querySelector('#revenue tbody');

function revenueRow() {
  const tr = document.createElement('tr');
  const cell = (label, input) => {
    const td = document.createElement('td');
    td.dataset.label = label;
    td.append(input);
    return td;
  };
  const category = Object.assign(document.createElement('input'), { name: 'category', maxLength: 100 });
  category.setAttribute('list', 'categories');
  category.setAttribute('aria-label', 'Category');
  const account = Object.assign(document.createElement('input'), { name: 'account', maxLength: 100 });
  account.setAttribute('aria-label', 'Income account');
  const remove = Object.assign(document.createElement('button'), { type: 'button', textContent: 'Remove' });
  remove.dataset.action = 'remove-revenue';
  tr.append(cell('Category', category), cell('Account', account), cell('', remove));
  return tr;
}

mapping.addEventListener('click', (ev) => {
  const action = ev.target.closest('button')?.dataset.action;
  if (action === 'add-revenue') {
    const tr = revenueRow();
    revenueRows.append(tr);
    tr.querySelector('input').focus();
  } else if (action === 'remove-revenue') {
    ev.target.closest('tr').remove();
  }
});

mapping.addEventListener('submit', (ev) => {
  ev.preventDefault();
  clearErrors(mapping);
  const el = mapping.elements;
  const body = { revenue: {}, payment_methods: {} };
  for (const name of ['default_revenue', 'tax_payable', 'accounts_receivable', 'customer_credit', 'purchases', 'accounts_payable']) {
    body[name] = el[name].value;
  }
  for (const row of revenueRows.querySelectorAll('tr')) {
    const category = row.querySelector('[name=category]').value.trim();
    const account = row.querySelector('[name=account]').value;
    if (!category && !account.trim()) continue;
    if (!category) {
      showError(mapping, 'mapping-error', 'revenue', 'Name the category of each income account.');
      return;
    }
    body.revenue[category] = account;
  }
  for (const input of mapping.querySelectorAll('input[data-method]')) body.payment_methods[input.dataset.method] = input.value;
  submitOnce(mapping, async () => {
    await api('PUT', '/api/accounting/mapping', body);
    location.reload();
  }, (e) => showError(mapping, 'mapping-error', e.field, e.message));
});
