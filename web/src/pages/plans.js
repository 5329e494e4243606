// The treatment-plan screens (views/treatment_plans.rs): "Apply a protocol" on the cat page
// and the plan page's done, skip, move, offer-and-book and cancel forms. Each form is sent to
// the JSON API with an Idempotency-Key kept until it succeeds (a double click acts once); the
// plan page then asks its own address for the body the server renders (HX-Request) and swaps
// it in, so every status, amount and offered action is the server's. A refusal is shown next
// to the form; when it says the plan changed meanwhile (409, 404: done, booked or cancelled in
// another tab) the page is first drawn again from the server, so the error sits beside what
// is true now (next to the same form if it is still offered, else at the top of the plan).
// A refused input (422) keeps the form as typed, to be corrected.
import { api, refresh, submitOnce } from './api.js';

function showError(form, e) {
  const slot = form?.querySelector('.field-error') ?? document.getElementById('plan-error');
  slot.dataset.code = e.code ?? '';
  slot.dataset.field = e.field ?? '';
  slot.textContent = e.message;
  slot.hidden = false;
}

async function refused(form, e) {
  const onPlan = document.getElementById('treatment-plan-live');
  if (!onPlan || (e.status !== 409 && e.status !== 404)) return showError(form, e);
  const { action, step } = form.dataset;
  try {
    await refresh('treatment-plan-live');
  } catch {
    return showError(form, e); // the server is out of reach: keep the page as it was
  }
  const where = step === undefined ? '' : `[data-step="${step}"]`;
  showError(document.querySelector(`#treatment-plan form[data-action="${action}"]${where}`), e);
}

const submit = (form, run) => submitOnce(form, run, (e) => refused(form, e));

const value = (form, name) => form.elements.namedItem(name)?.value ?? '';

async function change(form, body, key) {
  const plan = document.getElementById('treatment-plan').dataset.plan;
  await api('POST', `/api/treatment-plans/${plan}/changes`, body, key);
  await refresh('treatment-plan-live');
}

// The free starts of a step, as buttons that book one: the server books the appointment and
// links it to the step in one request (and withdraws it if the step refuses it).
async function offer(form) {
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
            await api('POST', `/api/treatment-plans/${root.dataset.plan}/bookings`, {
              step, vet_id: vet.vet_id, location_id: a.location_id, start: at,
            }, k);
            await refresh('treatment-plan-live');
          }));
        box.append(b);
      }
    }
  }
  if (!box.childElementCount) box.textContent = 'No free slot near this date.';
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
    case 'offer': return submit(form, () => offer(form));
    case 'apply': return submit(form, async (k) => {
      const patient_id = form.closest('[data-patient]').dataset.patient;
      const body = { patient_id, protocol_id: value(form, 'protocol_id') };
      if (value(form, 'start_date')) body.start_date = value(form, 'start_date');
      const v = await api('POST', '/api/treatment-plans', body, k);
      location.href = `/treatment-plans/${v.plan.id}`;
    });
  }
});
