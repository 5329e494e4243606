// The protocol screens (views/protocols.rs): copying a starter on /protocols, and the editor
// of /protocols/{id} and /protocols/new. The editor's rows are read in their order on the
// page into the API's body (a cost typed as "210.00" is sent in cents); saving is POST (a new
// protocol, with one Idempotency-Key per submission) or PATCH (a new version), then the page
// is loaded again so every label is the server's. A refusal names its field
// (`steps[2].day_offset`): the message is shown next to that input of that row.
import { api, submitOnce } from './api.js';

const editor = document.getElementById('protocol-editor');
const steps = document.getElementById('protocol-steps');

function clearErrors(root) {
  for (const e of root.querySelectorAll('.field-error')) {
    e.hidden = true;
    e.textContent = '';
  }
  for (const i of root.querySelectorAll('[aria-invalid]')) i.removeAttribute('aria-invalid');
}

// Shows `e` next to the field it names, or in the form's general slot.
function showError(root, e) {
  let slot = null;
  const m = /^steps\[(\d+)\]\.(\w+)$/.exec(e.field ?? '');
  if (m) {
    const row = steps?.children[Number(m[1])];
    slot = row?.querySelector(`.field-error[data-for="${m[2]}"]`);
    row?.querySelector(`[name="${m[2]}"]`)?.setAttribute('aria-invalid', 'true');
  } else if (e.field) {
    slot = root.querySelector(`.field-error[data-for="${e.field}"]`);
    root.querySelector(`[name="${e.field}"]`)?.setAttribute('aria-invalid', 'true');
  }
  slot ??= root.querySelector('#protocol-error') ?? root.querySelector('.field-error');
  slot.dataset.code = e.code ?? '';
  slot.dataset.field = e.field ?? '';
  slot.textContent = e.message;
  slot.hidden = false;
}

// A refusal made here, before asking the server, in the API's shape.
const refusal = (field, message) => Object.assign(new Error(message), { code: 'validation_failed', field });

function whole(value, field) {
  if (value === '') return undefined;
  if (!/^-?\d+$/.test(value)) throw refusal(field, 'must be a whole number');
  return Number(value);
}

function cents(value, field) {
  if (value === '') return undefined;
  const m = /^(-?)(\d+)(?:[.,](\d{1,2}))?$/.exec(value);
  if (!m) throw refusal(field, 'must be an amount such as 12.50');
  const n = Number(m[2]) * 100 + Number((m[3] ?? '0').padEnd(2, '0'));
  return m[1] ? -n : n;
}

function body() {
  const text = (name) => editor.elements.namedItem(name).value.trim();
  const out = { name: text('name'), species_note: text('species_note'), description: text('description'), steps: [] };
  [...steps.children].forEach((row, i) => {
    const v = (name) => row.querySelector(`[name="${name}"]`).value.trim();
    const at = (name) => `steps[${i}].${name}`;
    const step = { title: v('title'), kind: v('kind'), day_offset: whole(v('day_offset'), at('day_offset')) ?? 0 };
    const optional = {
      cost: cents(v('cost'), at('cost')),
      catalogue_item_id: v('catalogue_item_id') || undefined,
      appointment_type_id: v('appointment_type_id') || undefined,
      duration_minutes: whole(v('duration_minutes'), at('duration_minutes')),
      reminder_lead_days: whole(v('reminder_lead_days'), at('reminder_lead_days')),
    };
    for (const [k, x] of Object.entries(optional)) if (x !== undefined) step[k] = x;
    out.steps.push(step);
  });
  return out;
}

async function save(key) {
  clearErrors(editor);
  const id = editor.dataset.protocol;
  if (id) {
    await api('PATCH', `/api/protocols/${id}`, body());
    location.reload();
  } else {
    const p = await api('POST', '/api/protocols', body(), key);
    location.href = `/protocols/${p.id}`;
  }
}

if (editor) {
  editor.addEventListener('submit', (ev) => {
    ev.preventDefault();
    submitOnce(editor, save, (e) => showError(editor, e));
  });
  editor.addEventListener('click', (ev) => {
    const b = ev.target.closest('button[type=button]');
    if (!b) return;
    const row = b.closest('li.step-row');
    if (b.id === 'add-step') {
      steps.append(document.getElementById('step-template').content.cloneNode(true));
      steps.lastElementChild.querySelector('[name="title"]').focus();
    } else if (b.id === 'archive-protocol') {
      clearErrors(editor);
      api('PATCH', `/api/protocols/${editor.dataset.protocol}`, { active: b.dataset.active === 'true' })
        .then(() => location.reload(), (e) => showError(editor, e));
    } else if (row && b.dataset.step === 'up' && row.previousElementSibling) {
      row.previousElementSibling.before(row);
    } else if (row && b.dataset.step === 'down' && row.nextElementSibling) {
      row.nextElementSibling.after(row);
    } else if (row && b.dataset.step === 'remove') {
      row.remove();
    }
  });
}

// /protocols: copy a starter, then open it in the editor.
document.addEventListener('submit', (ev) => {
  const form = ev.target.closest('form[data-action="copy"]');
  if (!form) return;
  ev.preventDefault();
  submitOnce(form, async (key) => {
    const p = await api('POST', `/api/protocols/starters/${form.dataset.key}`, {}, key);
    location.href = `/protocols/${p.id}`;
  }, (e) => showError(form, e));
});
