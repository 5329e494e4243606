// The lab screens' script. On a visit: the order form posts the order and reloads. On an
// order's page: follows the cat's topic over /ws and, when a lab event names this order,
// swaps in the server-rendered body (results, flags, buttons); the hand-entry form and the
// sign-off button post to the API and let the server's body show the outcome. On the
// unmatched queue: Attach and Discard post, and an error (409 when someone resolved the entry
// first) is shown on the entry.
import { api } from './api.js';
import { connectLive } from './live.js';

function show(box, message) {
  if (!box) return;
  box.textContent = message;
  box.hidden = !message;
}

// The visit page's order form.
const orderForm = document.getElementById('lab-order-form');
orderForm?.addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const visit = document.getElementById('visit-labs').dataset.visit;
  const test = orderForm.elements.test.value;
  const notes = orderForm.elements.notes.value.trim();
  const button = orderForm.querySelector('button');
  button.disabled = true;
  try {
    await api('POST', '/api/lab-orders', notes ? { visit_id: visit, test, notes } : { visit_id: visit, test });
    location.reload();
  } catch (e) {
    show(document.getElementById('lab-order-error'), e.message);
    button.disabled = false;
  }
});

// An order's page.
const root = document.getElementById('lab-order');
if (root) {
  const order = root.dataset.order;
  const state = document.getElementById('labs-live');
  const errorBox = document.getElementById('labs-error');
  const refresh = async () => {
    const res = await fetch(location.pathname, { headers: { 'HX-Request': 'true' }, credentials: 'same-origin' });
    if (res.status === 401) { location.reload(); return; }
    if (res.ok) root.innerHTML = await res.text();
  };
  connectLive({
    topics: [`patient:${root.dataset.patient}`],
    onSnapshot: () => {},
    onEvent: (m) => {
      // Frames carry ids only; any lab event naming this order redraws it.
      if (JSON.stringify(m.data ?? {}).includes(order)) refresh();
    },
    onState: (s) => {
      state.dataset.state = s;
      state.textContent = s === 'live' ? 'Live' : s === 'connecting' ? 'Connecting…' : 'Reconnecting…';
      if (s === 'live') refresh();
    },
  });

  root.addEventListener('submit', async (ev) => {
    if (ev.target.id !== 'lab-entry') return;
    ev.preventDefault();
    const results = [];
    for (const row of ev.target.querySelectorAll('tr[data-analyte]')) {
      const analyte = row.dataset.analyte;
      const value = row.querySelector('input[name="value"]');
      const text = row.querySelector('input[name="text"]');
      if (value && value.value.trim() !== '') {
        results.push({ analyte, value: Number(value.value), unit: row.querySelector('select[name="unit"]').value });
      } else if (text && text.value.trim() !== '') {
        results.push({ analyte, text: text.value.trim() });
      }
    }
    if (results.length === 0) { show(errorBox, 'Enter at least one result.'); return; }
    try {
      await api('POST', `/api/lab-orders/${order}/results`, { results });
      show(errorBox, '');
      await refresh();
    } catch (e) {
      show(errorBox, e.field ? `${e.message} (${e.field})` : e.message);
    }
  });

  root.addEventListener('click', async (ev) => {
    const b = ev.target.closest('#lab-review-button');
    if (!b) return;
    const note = document.getElementById('review-note')?.value.trim();
    b.disabled = true;
    try {
      await api('POST', `/api/lab-orders/${order}/review`, note ? { note } : {});
      show(errorBox, '');
      await refresh();
    } catch (e) {
      show(errorBox, e.message);
      b.disabled = false;
    }
  });
}

// The unmatched queue.
document.getElementById('unmatched')?.addEventListener('click', async (ev) => {
  const b = ev.target.closest('button.attach, button.discard');
  if (!b) return;
  const entry = b.closest('article.unmatched');
  const box = entry.querySelector('.unmatched-error');
  const id = b.dataset.unmatched;
  let path;
  let body;
  if (b.classList.contains('attach')) {
    const order = entry.querySelector('select.attach-order').value;
    if (!order) { show(box, 'Choose the order first.'); return; }
    path = `/api/lab-results/unmatched/${id}/attach`;
    body = { order_id: order };
  } else {
    const reason = entry.querySelector('input.discard-reason').value.trim();
    if (!reason) { show(box, 'Say why it is discarded.'); return; }
    path = `/api/lab-results/unmatched/${id}/discard`;
    body = { reason };
  }
  b.disabled = true;
  try {
    await api('POST', path, body);
    entry.dataset.status = b.classList.contains('attach') ? 'attached' : 'discarded';
    entry.querySelector('.unmatched-actions')?.remove();
    show(box, '');
    entry.insertAdjacentHTML('beforeend', '<p class="hint unmatched-done"></p>');
    entry.querySelector('.unmatched-done').textContent =
      entry.dataset.status === 'attached' ? 'Attached.' : 'Discarded.';
  } catch (e) {
    show(box, e.code === 'lab_unmatched_resolved'
      ? `Already resolved by someone else: ${e.message}. Reload to see it.`
      : e.message);
    b.disabled = false;
  }
});
