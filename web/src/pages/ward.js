// The ward board (staff and wall display): follows the ward's topic over /ws (reconnecting
// with `since` after a drop) and, on any change, swaps in the server-rendered grid; once a
// minute too, since slots fall overdue with time alone. Done and Skip post the mark and let
// the event bring the change back.
import { api, newKey, redrawInTurn } from './api.js';
import { connectLive } from './live.js';

const root = document.getElementById('ward');
const ward = root.dataset.ward;
const state = document.getElementById('ward-live');
const errorBox = document.getElementById('ward-error');

// Grids are asked for on events, every minute and after a mark: the newest answer is drawn.
const refresh = redrawInTurn((html) => { root.innerHTML = html; });

connectLive({
  topics: [`ward:${ward}`],
  onSnapshot: () => {},
  onEvent: () => refresh(),
  onState: (s) => {
    state.dataset.state = s;
    state.textContent = s === 'live' ? 'Live' : s === 'connecting' ? 'Connecting…' : 'Reconnecting…';
    if (s === 'live') refresh();
  },
});
setInterval(refresh, 60000);

// The ward's shared tablet: each tap asks who did it (username and PIN) and is marked as
// theirs; the tablet's credential is the exam-room tablet's, kept in local storage.
const tablet = root.dataset.tablet === 'true';
const dialog = document.getElementById('pin-dialog');
const pinForm = document.getElementById('pin-form');
let tapped = null;

function askPin(b) {
  tapped = b;
  const skip = b.classList.contains('slot-skip');
  const slot = b.closest('li.slot');
  document.getElementById('pin-slot').textContent =
    `${skip ? 'Skip' : 'Done'}: ${slot?.querySelector('.slot-label')?.textContent ?? ''} (${slot?.querySelector('.slot-time')?.textContent ?? ''})`;
  document.getElementById('pin-reason-field').hidden = !skip;
  document.getElementById('pin-device-field').hidden = !!localStorage.getItem('clowder.device');
  document.getElementById('pin-error').hidden = true;
  pinForm.reset();
  dialog.showModal();
  document.getElementById('pin-username').focus();
}

pinForm?.addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const b = tapped;
  const error = document.getElementById('pin-error');
  const typed = pinForm.elements.device.value.trim();
  const device = localStorage.getItem('clowder.device') || typed;
  const mark = { treatment_id: b.dataset.treatment, due: b.dataset.due, outcome: 'done' };
  if (b.classList.contains('slot-skip')) {
    mark.outcome = 'skipped';
    mark.reason = pinForm.elements.reason.value;
  }
  const body = { username: pinForm.elements.username.value.trim(), pin: pinForm.elements.pin.value, mark };
  pinForm.dataset.key ||= newKey();
  const submit = document.getElementById('pin-submit');
  submit.disabled = true;
  try {
    const res = await fetch(`/api/admissions/${b.dataset.admission}/slots/pin`, {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'content-type': 'application/json', 'idempotency-key': pinForm.dataset.key, 'x-clowder-device': device },
      body: JSON.stringify(body),
    });
    if (res.status === 401) { location.reload(); return; }
    if (!res.ok) {
      const err = (await res.json().catch(() => null))?.error;
      error.textContent = err?.message ?? `Not marked (${res.status})`;
      error.hidden = false;
      // A wrong PIN is a new attempt once corrected.
      delete pinForm.dataset.key;
      return;
    }
    delete pinForm.dataset.key;
    if (typed && !localStorage.getItem('clowder.device')) localStorage.setItem('clowder.device', typed);
    dialog.close();
    errorBox.hidden = true;
    await refresh();
  } finally {
    submit.disabled = false;
  }
});
document.getElementById('pin-cancel')?.addEventListener('click', () => dialog.close());

root.addEventListener('click', async (ev) => {
  const b = ev.target.closest('button.slot-done, button.slot-skip');
  if (!b) return;
  if (tablet) {
    askPin(b);
    return;
  }
  const body = { treatment_id: b.dataset.treatment, due: b.dataset.due, outcome: 'done' };
  if (b.classList.contains('slot-skip')) {
    const reason = prompt('Why is it skipped?');
    if (!reason) return;
    body.outcome = 'skipped';
    body.reason = reason;
  }
  b.disabled = true;
  try {
    await api('POST', `/api/admissions/${b.dataset.admission}/slots`, body);
    errorBox.hidden = true;
    await refresh();
  } catch (e) {
    errorBox.textContent = e.message;
    errorBox.hidden = false;
    b.disabled = false;
  }
});
