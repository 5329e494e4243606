// The invoice builder (/invoices/{id}). Every action is a call to the JSON API with its own
// Idempotency-Key (one per form submission, so a retried submission changes nothing twice),
// then the page asks its own address for the server-rendered fragment (HX-Request) and swaps
// it in: lines, totals, tax and balance are always the server's, never computed here. A
// refusal's message is shown next to the field the API names.
import { api, newKey } from './api.js';

const root = document.getElementById('invoice');
const id = root?.dataset.invoice;

async function refresh() {
  const res = await fetch(location.pathname, { headers: { 'HX-Request': 'true' }, credentials: 'same-origin' });
  if (res.redirected || !res.ok) {
    location.reload();
    return;
  }
  // HTML rendered by our own server from escaped templates.
  root.innerHTML = await res.text();
}

function clearErrors() {
  for (const p of root.querySelectorAll('.field-error')) {
    p.hidden = true;
    p.textContent = '';
  }
}

// Shows a refusal next to its field within `scope` (the field's first segment names the
// paragraph: `lines.0.quantity` → `lines`), else in the invoice's own error line.
function showError(e, scope, fallback) {
  const field = (e.field ?? '').split('.')[0];
  const target =
    (field && scope?.querySelector(`[data-error-for="${field}"]`)) ||
    (fallback && scope?.querySelector(`[data-error-for="${fallback}"]`)) ||
    document.getElementById('invoice-error');
  target.textContent = e.message;
  target.hidden = false;
}

// Runs one action: the call (with a key made once for this submission), then the fragment.
async function act(button, call, scope, fallback) {
  clearErrors();
  const key = newKey();
  if (button) button.disabled = true;
  try {
    await call(key);
    await refresh();
  } catch (e) {
    if (button) button.disabled = false;
    showError(e, scope, fallback);
  }
}

// A decimal amount as typed (`42.5`, `42.50`, `42`) in integer cents; null if it is not one.
function cents(text) {
  const m = /^\s*(\d{1,9})(?:\.(\d{1,2}))?\s*$/.exec(text);
  if (!m) return null;
  return Number(m[1]) * 100 + Number((m[2] ?? '').padEnd(2, '0'));
}

// A discount from its kind and typed value; undefined for none, an Error if unreadable.
function discount(kind, value) {
  if (!kind) return null;
  const n = cents(value);
  if (n === null) return new Error(kind === 'percent' ? 'a percentage such as 10 or 12.5' : 'an amount such as 5.00');
  return kind === 'percent' ? { kind: 'percent', basis_points: n } : { kind: 'amount', amount: n };
}

// Every line as the API takes it back, with `change` applied to the line `no` (or it
// removed when `change` is null).
function linesWith(no, change) {
  const out = [];
  for (const row of root.querySelectorAll('#lines tr[data-line]')) {
    const d = row.dataset;
    const line = {
      description: d.description,
      quantity: d.quantity,
      unit_price: Number(d.unitPrice),
      taxable: d.taxable === 'true',
    };
    if (d.item) line.item_id = d.item;
    const disc = discount(d.discountKind, d.discountValue);
    if (disc && !(disc instanceof Error)) line.discount = disc;
    if (d.line === no) {
      if (change === null) continue;
      Object.assign(line, change);
      if (line.discount === null) delete line.discount;
    }
    out.push(line);
  }
  return out;
}

function lineChange(row) {
  const quantity = row.querySelector('[name=quantity]').value.trim();
  const disc = discount(row.querySelector('[name=discount_kind]').value, row.querySelector('[name=discount_value]').value);
  if (disc instanceof Error) throw Object.assign(new Error(`Discount: ${disc.message}`), { field: 'line' });
  return { quantity, discount: disc };
}

// The price list's answers are drawn only for the newest search: "Find in the price list"
// and a typed search may overtake each other.
let searches = 0;
async function searchCatalogue(q) {
  const mine = ++searches;
  const list = document.getElementById('catalogue-results');
  const page = await api('GET', `/api/catalogue?limit=10&q=${encodeURIComponent(q)}`);
  if (mine !== searches) return;
  list.replaceChildren();
  if (page.items.length === 0) {
    const li = document.createElement('li');
    li.className = 'hint';
    li.textContent = 'Nothing in the price list matches.';
    list.append(li);
    return;
  }
  for (const item of page.items) {
    const li = document.createElement('li');
    const b = document.createElement('button');
    b.type = 'button';
    b.dataset.action = 'add-item';
    b.dataset.item = item.id;
    // The price as the catalogue stores it, in cents: shown, never computed with.
    const price = `${Math.trunc(item.price / 100)}.${String(item.price % 100).padStart(2, '0')}`;
    b.textContent = `Add ${item.name}`;
    const span = document.createElement('span');
    span.className = 'hint';
    span.textContent = ` ${item.category} · ${price}${item.code ? ` · ${item.code}` : ''}`;
    li.append(b, span);
    list.append(li);
  }
}

root?.addEventListener('click', (ev) => {
  const b = ev.target.closest('button[data-action]');
  if (!b) return;
  const row = b.closest('tr[data-line]');
  switch (b.dataset.action) {
    case 'save-line':
      act(b, async () => api('PATCH', `/api/invoices/${id}`, { lines: linesWith(row.dataset.line, lineChange(row)) }), row, 'line');
      break;
    case 'remove-line':
      act(b, async () => api('PATCH', `/api/invoices/${id}`, { lines: linesWith(row.dataset.line, null) }), row, 'line');
      break;
    case 'resolve':
      act(b, (key) => api('POST', `/api/invoices/${id}/uncharged/resolve`, { source: b.dataset.source }, key));
      break;
    case 'find': {
      const q = document.getElementById('catalogue-q');
      q.value = b.dataset.q;
      q.focus();
      searchCatalogue(q.value).catch((e) => showError(e, q.closest('section'), 'add'));
      break;
    }
    case 'add-item': {
      const section = b.closest('section');
      const quantity = document.getElementById('add-quantity').value.trim() || '1';
      act(b, (key) => api('POST', `/api/invoices/${id}/lines`, [{ item_id: b.dataset.item, quantity }], key), section, 'add');
      break;
    }
    case 'issue':
      act(b, (key) => api('POST', `/api/invoices/${id}/issue`, undefined, key));
      break;
    case 'release-points':
      act(b, (key) => api('POST', `/api/invoices/${id}/loyalty/release`, undefined, key), b.closest('form'), 'points');
      break;
    case 'email-receipt': {
      const status = b.parentElement.querySelector('.receipt-status');
      b.disabled = true;
      api('POST', `/api/payments/${b.dataset.payment}/receipt/email`, undefined)
        .then(() => { status.textContent = 'Receipt queued to the client’s email.'; })
        .catch((e) => { status.textContent = e.message; b.disabled = false; });
      break;
    }
  }
});

root?.addEventListener('submit', (ev) => {
  const form = ev.target;
  ev.preventDefault();
  const button = form.querySelector('button[type=submit]');
  const v = (name) => form.elements[name]?.value.trim() ?? '';
  const fail = (field, message) => { clearErrors(); showError({ field, message }, form); };
  switch (form.id) {
    case 'add-line':
      searchCatalogue(v('q')).catch((e) => showError(e, form.closest('section'), 'add'));
      break;
    case 'add-free': {
      const price = cents(v('price'));
      if (price === null) return fail('lines', 'Write the price as 12.50.');
      const quantity = document.getElementById('add-quantity').value.trim() || '1';
      const line = { description: v('description'), unit_price: price, quantity, taxable: form.elements.taxable.checked };
      act(button, (key) => api('POST', `/api/invoices/${id}/lines`, [line], key), form, 'lines');
      break;
    }
    case 'invoice-discount': {
      const d = discount(v('discount_kind'), v('discount_value'));
      if (d instanceof Error) return fail('discount', `Write ${d.message}.`);
      act(button, () => api('PATCH', `/api/invoices/${id}`, { discount: d }), form, 'discount');
      break;
    }
    case 'pay': {
      const amount = cents(v('amount'));
      if (amount === null) return fail('amount', 'Write the amount as 42.50.');
      const body = { amount, method: v('method') };
      if (v('reference')) body.reference = v('reference');
      act(button, (key) => api('POST', `/api/invoices/${id}/payments`, body, key), form, 'amount');
      break;
    }
    case 'credit': {
      const line = v('line_no');
      let credit;
      if (line) {
        credit = { line_no: Number(line) };
        if (v('value')) credit.quantity = v('value');
      } else {
        const amount = cents(v('value'));
        if (amount === null || amount === 0) return fail('lines', 'Write the amount to credit as 12.50.');
        credit = { description: v('reason') || 'Credit', unit_price: amount, quantity: 1 };
      }
      act(button, (key) => api('POST', `/api/invoices/${id}/credit-notes`, { reason: v('reason'), lines: [credit] }, key), form, 'lines');
      break;
    }
    case 'apply-credit': {
      const amount = cents(v('amount'));
      if (amount === null || amount === 0) return fail('amount', 'Write the amount as 12.50.');
      act(button, (key) => api('POST', `/api/invoices/${id}/apply-credit`, { amount }, key), form, 'amount');
      break;
    }
    case 'refund': {
      const amount = cents(v('amount'));
      if (amount === null || amount === 0) return fail('amount', 'Write the amount to refund as 12.50.');
      const body = { amount, reason: v('reason') };
      if (v('method')) body.method = v('method');
      // "<payment id>|credit" is the part of the payment held as the client's credit.
      const [payment, part] = v('payment').split('|');
      if (part === 'credit') body.of = 'credit';
      act(button, (key) => api('POST', `/api/payments/${payment}/refunds`, body, key), form, 'amount');
      break;
    }
    case 'redeem': {
      if (!/^\d{1,9}$/.test(v('points'))) return fail('points', 'Write the points as a whole number, such as 500.');
      act(button, (key) => api('POST', `/api/invoices/${id}/loyalty/redeem`, { points: Number(v('points')) }, key), form, 'points');
      break;
    }
    case 'void':
      act(button, (key) => api('POST', `/api/invoices/${id}/void`, { reason: v('reason') }, key), form, 'reason');
      break;
  }
});
