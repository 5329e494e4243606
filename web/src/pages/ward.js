// The ward board (staff and wall display): follows the ward's topic over /ws (reconnecting
// with `since` after a drop) and, on any change, swaps in the server-rendered grid; once a
// minute too, since slots fall overdue with time alone. Done and Skip post the mark and let
// the event bring the change back.
import { api } from './api.js';
import { connectLive } from './live.js';

const root = document.getElementById('ward');
const ward = root.dataset.ward;
const state = document.getElementById('ward-live');
const errorBox = document.getElementById('ward-error');

async function refresh() {
  const res = await fetch(location.pathname, { headers: { 'HX-Request': 'true' }, credentials: 'same-origin' });
  if (res.status === 401) { location.reload(); return; }
  if (res.ok) root.innerHTML = await res.text();
}

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

root.addEventListener('click', async (ev) => {
  const b = ev.target.closest('button.slot-done, button.slot-skip');
  if (!b) return;
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
