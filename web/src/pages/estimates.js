// The estimate and payment-plan screens (views/estimates.rs). Each form is sent to the JSON
// API; a POST carries an Idempotency-Key kept by the form until it succeeds, so sending the
// same submission again (a double click, a retry after a dropped answer) cannot act twice.
// Then the page asks its own address for the body the server renders (HX-Request) and swaps
// it in: every amount, status and offered action is the server's, never computed here. A
// refusal is shown next to the field the API names (`field`), else above the form's button.
// Typed amounts are only read here ("12.34" → 1234 cents, "8.25" % → 825 basis points) by
// splitting the text, never through floating point.
import { api, refresh, submitOnce } from './api.js';

class FieldError extends Error {
  constructor(field, message) {
    super(message);
    this.field = field;
  }
}

// "12.34" → 1234; "" → undefined; anything else refused naming `field`.
function hundredths(text, field, what) {
  const s = (text ?? '').trim();
  if (s === '') return undefined;
  const m = /^(\d{1,9})(?:[.,](\d{1,2}))?$/.exec(s);
  if (!m) throw new FieldError(field, `${what} (like 12.34)`);
  return Number(m[1]) * 100 + Number((m[2] ?? '').padEnd(2, '0'));
}
const cents = (text, field) => hundredths(text, field, 'is not an amount');
const basisPoints = (text, field) => hundredths(text, field, 'is not a percentage');

function showError(form, e) {
  const slot = form.querySelector('.field-error') ?? document.querySelector('#estimate-error, #plan-error');
  for (const x of form.querySelectorAll('[aria-invalid]')) x.removeAttribute('aria-invalid');
  let input = null;
  for (const seg of (e.field ?? '').split('.').reverse()) {
    if (seg && (input = form.querySelector(`[name="${CSS.escape(seg)}"]`))) break;
  }
  if (input) {
    input.setAttribute('aria-invalid', 'true');
    (input.closest('.field') ?? input).after(slot);
  }
  slot.dataset.field = e.field ?? '';
  slot.textContent = e.message;
  slot.hidden = false;
}

// One submission of `form`: its key lasts until the request succeeds.
const submit = (form, run) =>
  submitOnce(form, run, (e) => {
    if (!(e instanceof FieldError)) console.warn(e);
    showError(form, e);
  });

// ---- estimates ----

const estimateId = () => document.getElementById('estimate')?.dataset.estimate;

// An option as a PATCH gives it back: its lines as they are, with the amounts left to the server.
function asRequest(o) {
  return {
    name: o.name,
    ...(o.discount ? { discount: o.discount } : {}),
    lines: o.lines.map((l) => ({
      ...(l.item_id ? { item_id: l.item_id } : {}),
      description: l.description,
      quantity_low: l.quantity_low,
      quantity_high: l.quantity_high,
      unit_price_low: l.unit_price_low,
      unit_price_high: l.unit_price_high,
      taxable: l.taxable,
      ...(l.discount ? { discount: l.discount } : {}),
      optional: l.optional,
    })),
  };
}

// A draft's change: the options read afresh, changed by `change(options, index)`, sent whole.
async function editOptions(optionNo, change) {
  const id = estimateId();
  const e = await api('GET', `/api/estimates/${id}`);
  const options = e.options.map(asRequest);
  const index = e.options.findIndex((o) => o.option_no === optionNo);
  change(options, index);
  await api('PATCH', `/api/estimates/${id}`, { options });
  await refresh('estimate-live');
}

function lineOf(form) {
  const v = (name) => form.elements[name]?.value.trim() ?? '';
  const line = { optional: form.elements.optional.checked };
  if (v('item_id')) line.item_id = v('item_id');
  if (v('description')) line.description = v('description');
  if (v('quantity_low')) line.quantity_low = v('quantity_low');
  if (v('quantity_high')) line.quantity_high = v('quantity_high');
  const low = cents(v('unit_price_low'), 'unit_price_low');
  const high = cents(v('unit_price_high'), 'unit_price_high');
  if (low !== undefined) line.unit_price_low = low;
  if (high !== undefined) line.unit_price_high = high;
  return line;
}

// A discount form's `kind` and `value` as the API takes a discount; null for none.
function discountOf(form) {
  const kind = form.elements.kind.value;
  const value = form.elements.value.value;
  if (kind === 'percent') return { kind, basis_points: basisPoints(value, 'value') ?? 0 };
  if (kind === 'amount') return { kind, amount: cents(value, 'value') ?? 0 };
  return null;
}

const estimateActions = {
  'add-line': (form) => {
    const line = lineOf(form);
    return editOptions(Number(form.dataset.option), (options, i) => options[i].lines.push(line));
  },
  'option-discount': (form) => {
    const discount = discountOf(form);
    return editOptions(Number(form.dataset.option), (options, i) => {
      if (discount) options[i].discount = discount;
      else delete options[i].discount;
    });
  },
  'rename-option': (form) => {
    const name = form.elements.name.value.trim();
    return editOptions(Number(form.dataset.option), (options, i) => {
      options[i].name = name;
    });
  },
  'line-discount': (form) => {
    const line = Number(form.elements.line.value);
    const discount = discountOf(form);
    return editOptions(Number(form.dataset.option), (options, i) => {
      const l = options[i].lines[line - 1];
      if (discount) l.discount = discount;
      else delete l.discount;
    });
  },
  // One line changed in place (PATCH of the line): what the form shows is what is sent.
  'edit-line': async (form) => {
    const v = (name) => form.elements[name].value.trim();
    const body = { optional: form.elements.optional.checked, discount: discountOf(form) };
    if (v('quantity_low')) body.quantity_low = v('quantity_low');
    if (v('quantity_high')) body.quantity_high = v('quantity_high');
    const low = cents(v('unit_price_low'), 'unit_price_low');
    const high = cents(v('unit_price_high'), 'unit_price_high');
    if (low !== undefined) body.unit_price_low = low;
    if (high !== undefined) body.unit_price_high = high;
    await api('PATCH', `/api/estimates/${estimateId()}/options/${form.dataset.option}/lines/${form.dataset.line}`, body);
    await refresh('estimate-live');
  },
  'add-option': (form) => {
    const name = form.elements.name.value.trim();
    return editOptions(0, (options) => options.push({ name, lines: [] }));
  },
  send: async (form, key) => {
    const until = form.elements.valid_until.value;
    await api('POST', `/api/estimates/${estimateId()}/send`, until ? { valid_until: until } : {}, key);
    await refresh('estimate-live');
  },
  viewed: async (_form, key) => {
    await api('POST', `/api/estimates/${estimateId()}/viewed`, undefined, key);
    await refresh('estimate-live');
  },
  decline: async (form, key) => {
    const reason = form.elements.reason.value.trim();
    await api('POST', `/api/estimates/${estimateId()}/decline`, reason ? { reason } : {}, key);
    await refresh('estimate-live');
  },
  accept: async (form, key) => {
    const optional_lines = [...form.querySelectorAll('input[name=optional_lines]:checked')].map((x) => Number(x.value));
    const r = await api('POST', `/api/estimates/${estimateId()}/accept`, { option_no: Number(form.dataset.option), optional_lines }, key);
    location.href = `/invoices/${r.invoice.id}`;
  },
};

// ---- payment plans ----

function termsOf(form) {
  const body = {
    down_payment: cents(form.elements.down_payment.value, 'down_payment') ?? 0,
    instalments: Number(form.elements.instalments.value),
    interval: form.elements.interval.value,
    interest_bp: basisPoints(form.elements.interest_bp.value, 'interest_bp') ?? 0,
  };
  if (form.elements.start_date.value) body.start_date = form.elements.start_date.value;
  return body;
}

const planId = () => document.getElementById('plan')?.dataset.plan;

const planActions = {
  'modify-plan': async (form) => {
    const reason = form.elements.reason.value.trim();
    await api('PATCH', `/api/payment-plans/${planId()}`, { ...termsOf(form), ...(reason ? { reason } : {}) });
    await refresh('plan-live');
  },
  'cancel-plan': async (form, key) => {
    await api('POST', `/api/payment-plans/${planId()}/cancel`, { reason: form.elements.reason.value.trim() }, key);
    await refresh('plan-live');
  },
};

// ---- wiring: delegated, so the forms of a swapped-in body work too ----

document.addEventListener('submit', (ev) => {
  const form = ev.target;
  const act = { ...estimateActions, ...planActions }[form.dataset?.action];
  if (act) {
    ev.preventDefault();
    submit(form, (key) => act(form, key));
    return;
  }
  if (form.id === 'new-estimate') {
    ev.preventDefault();
    submit(form, async (key) => {
      const body = {
        client_id: form.dataset.client,
        patient_id: form.dataset.patient,
        options: [{ name: form.elements.name.value.trim(), lines: [] }],
      };
      if (form.dataset.visit) body.visit_id = form.dataset.visit;
      if (form.elements.location_id?.value) body.location_id = form.elements.location_id.value;
      if (form.elements.memo.value.trim()) body.memo = form.elements.memo.value.trim();
      const e = await api('POST', '/api/estimates', body, key);
      location.href = `/estimates/${e.id}`;
    });
  } else if (form.id === 'new-plan') {
    ev.preventDefault();
    submit(form, async (key) => {
      const p = await api('POST', '/api/payment-plans', { invoice_id: form.dataset.invoice, ...termsOf(form) }, key);
      location.href = `/payment-plans/${p.id}`;
    });
  }
});

// A page of the price list matching the add-line form's search, as buttons choosing an item
// (its id into the form's hidden `item_id`), with "More" while the list goes on: every active
// item can be found, not only the first ones.
async function findItems(form, cursor) {
  const q = form.querySelector('input[type=search]').value.trim();
  const list = form.querySelector('.item-results');
  const page = await api('GET', `/api/catalogue?limit=10&q=${encodeURIComponent(q)}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
  if (!cursor) list.replaceChildren();
  list.querySelector('[data-action="more-items"]')?.closest('li').remove();
  const money = (c) => `${Math.trunc(c / 100)}.${String(c % 100).padStart(2, '0')}`;
  for (const item of page.items) {
    const b = Object.assign(document.createElement('button'), { type: 'button', textContent: `Use ${item.name} — ${money(item.price)}` });
    b.dataset.action = 'choose-item';
    b.dataset.item = item.id;
    b.dataset.label = `${item.name} — ${money(item.price)}`;
    const li = document.createElement('li');
    li.append(b);
    list.append(li);
  }
  if (page.items.length === 0 && !cursor) {
    list.append(Object.assign(document.createElement('li'), { className: 'hint', textContent: 'Nothing in the price list matches.' }));
  }
  if (page.next_cursor) {
    const more = Object.assign(document.createElement('button'), { type: 'button', textContent: 'More' });
    more.dataset.action = 'more-items';
    more.dataset.cursor = page.next_cursor;
    const li = document.createElement('li');
    li.append(more);
    list.append(li);
  }
}

document.addEventListener('click', (ev) => {
  const button = ev.target.closest?.('button[data-action]');
  if (!button) return;
  const form = button.closest('form');
  switch (button.dataset.action) {
    case 'remove-line': {
      const line = Number(button.dataset.line);
      editOptions(Number(button.dataset.option), (options, i) => {
        options[i].lines.splice(line - 1, 1);
      }).catch((e) => showError(document.getElementById('estimate'), e));
      break;
    }
    case 'remove-option':
      // The last option is refused by the server (an estimate keeps at least one).
      editOptions(Number(button.dataset.option), (options, i) => {
        options.splice(i, 1);
      }).catch((e) => showError(form, e));
      break;
    case 'find-item':
      findItems(form).catch((e) => showError(form, e));
      break;
    case 'more-items':
      findItems(form, button.dataset.cursor).catch((e) => showError(form, e));
      break;
    case 'choose-item':
      form.elements.item_id.value = button.dataset.item;
      form.querySelector('.item-chosen').textContent = `${button.dataset.label} chosen`;
      form.querySelector('.item-results').replaceChildren();
      break;
  }
});
