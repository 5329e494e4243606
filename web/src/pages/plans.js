// The treatment-plan screens (views/treatment_plans.rs): "Apply a protocol" on the cat page
// and the plan page's done, skip, move, offer-and-book and cancel forms. Each form is sent to
// the JSON API with an Idempotency-Key kept until it succeeds (a double click acts once); the
// plan page then asks its own address for the body the server renders (HX-Request) and swaps
// it in, so every status, amount and offered action is the server's. A refusal (such as 409
// plan_step_already_settled) is shown next to the form.
import { api, newKey, refresh, submitOnce } from './api.js';

function showError(form, e) {
  const slot = form.querySelector('.field-error') ?? document.getElementById('plan-error');
  slot.dataset.code = e.code ?? '';
  slot.dataset.field = e.field ?? '';
  slot.textContent = e.message;
  slot.hidden = false;
}

const submit = (form, run) => submitOnce(form, run, (e) => showError(form, e));

const value = (form, name) => form.elements.namedItem(name)?.value ?? '';

async function change(form, body, key) {
  const plan = document.getElementById('treatment-plan').dataset.plan;
  await api('POST', `/api/treatment-plans/${plan}/changes`, body, key);
  await refresh('treatment-plan-live');
}

// The free starts of a step, as buttons that book the appointment then link it to the step.
async function offer(form, key) {
  const root = document.getElementById('treatment-plan');
  const step = Number(form.dataset.step);
  const a = await api('GET', `/api/treatment-plans/${root.dataset.plan}/offer?step=${step}`);
  const box = form.querySelector('[data-role=slots]');
  box.replaceChildren();
  for (const vet of a.vets) {
    for (const day of vet.days) {
      for (const start of day.starts.slice(0, 6)) {
        const b = document.createElement('button');
        b.type = 'button';
        b.textContent = `${day.date} ${start.slice(0, 5)}`;
        const at = start.length > 5 ? `${day.date}T${start.slice(0, 5)}:00${start.slice(5)}` : `${day.date}T${start}:00${day.offset}`;
        b.addEventListener('click', () =>
          submit(form, async (k) => {
            const appt = await api('POST', '/api/appointments', {
              client_id: root.dataset.client, patient_id: root.dataset.patient, type_id: a.type_id,
              vet_id: vet.vet_id, location_id: a.location_id, start: at,
            }, k);
            await change(form, { action: 'book', step, appointment_id: appt.id }, newKey());
          }));
        box.append(b);
      }
    }
  }
  if (!box.childElementCount) box.textContent = 'No free slot near this date.';
  void key;
}

document.addEventListener('submit', (ev) => {
  const form = ev.target.closest('form[data-action]');
  if (!form) return;
  ev.preventDefault();
  const step = Number(form.dataset.step);
  switch (form.dataset.action) {
    case 'done': return submit(form, (k) => change(form, { action: 'done', step }, k));
    case 'skip': return submit(form, (k) => change(form, { action: 'skip', step, reason: value(form, 'reason') }, k));
    case 'move': return submit(form, (k) =>
      change(form, { action: 'move', step, date: value(form, 'date'), reason: value(form, 'reason') }, k));
    case 'cancel': return submit(form, (k) => change(form, { action: 'cancel', reason: value(form, 'reason') }, k));
    case 'offer': return submit(form, (k) => offer(form, k));
    case 'apply': return submit(form, async (k) => {
      const patient_id = form.closest('[data-patient]').dataset.patient;
      const body = { patient_id, protocol_id: value(form, 'protocol_id') };
      if (value(form, 'start_date')) body.start_date = value(form, 'start_date');
      const v = await api('POST', '/api/treatment-plans', body, k);
      location.href = `/treatment-plans/${v.plan.id}`;
    });
  }
});
