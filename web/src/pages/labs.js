// The lab screens' script. On a visit: the order form posts the order and reloads. On an
// order's page: follows the cat's topic over /ws and, when a lab event names this order,
// swaps in the server-rendered body (results, flags, buttons); the hand-entry form and the
// sign-off button post to the API and let the server's body show the outcome. On /labs and
// the unmatched queue: both follow the `labs` topic and redraw from the server's fragment
// (the queue keeps an entry someone is working on, and marks one resolved elsewhere). On the
// queue: Attach (with results typed from an entry nothing was read of, errors shown on their
// row), a search for a cat's unreviewed orders, and Discard; an error (409 when someone
// resolved the entry first) is shown on the entry.
import { api, fragment, redrawInTurn } from './api.js';
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
  const refresh = redrawInTurn((html) => { root.innerHTML = html; });
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

// Follows the `labs` topic and calls `redraw` after lab events of `kinds` (every kind when
// absent), one at a time (events arriving meanwhile make one more redraw, not one each).
function liveLabs(redraw, kinds) {
  const state = document.getElementById('labs-live');
  let running = false;
  let again = false;
  const run = async () => {
    if (running) { again = true; return; }
    running = true;
    try {
      do { again = false; await redraw(); } while (again);
    } finally {
      running = false;
    }
  };
  connectLive({
    topics: ['labs'],
    onSnapshot: () => {},
    onEvent: (m) => { if (!kinds || kinds.includes(m.type)) run(); },
    onState: (s) => {
      state.dataset.state = s;
      state.textContent = s === 'live' ? 'Live' : s === 'connecting' ? 'Connecting…' : 'Reconnecting…';
      if (s === 'live') run();
    },
  });
}

// /labs: the board is redrawn whole (nothing is typed on it).
const board = document.getElementById('labs-board');
if (board) {
  liveLabs(async () => {
    const html = await fragment();
    if (html !== null) board.innerHTML = html;
  });
}

// The unmatched queue.
const queue = document.getElementById('unmatched');

// Something typed or chosen on an entry: a redraw must not take it away. Nor may it bring
// back an entry this screen has just resolved (a fragment asked for before the answer still
// lists it as open).
function busy(entry) {
  return entry.dataset.status !== 'open'
    || [...entry.querySelectorAll('input, select')].some((f) => f.value !== '' && !f.classList.contains('typed-unit'))
    || entry.contains(document.activeElement);
}

if (queue) {
  liveLabs(async () => {
    const html = await fragment();
    if (html === null) return;
    const fresh = new Map();
    const t = document.createElement('template');
    t.innerHTML = html;
    for (const a of t.content.querySelectorAll('article.unmatched')) fresh.set(a.dataset.unmatched, a);
    for (const old of queue.querySelectorAll('article.unmatched')) {
      const id = old.dataset.unmatched;
      const now = fresh.get(id);
      fresh.delete(id);
      if (now) {
        if (!busy(old)) old.replaceWith(now);
      } else if (old.dataset.status === 'open') {
        // Attached or discarded on another screen.
        old.dataset.status = 'resolved';
        old.querySelector('.unmatched-actions')?.remove();
        show(old.querySelector('.unmatched-error'), '');
        old.insertAdjacentHTML('beforeend', '<p class="hint unmatched-done">Already resolved by someone else.</p>');
      }
    }
    // Newer entries go last (the list is oldest first).
    for (const a of fresh.values()) queue.append(a);
    const empty = queue.querySelector('#unmatched-empty');
    const open = queue.querySelector('article.unmatched[data-status="open"]');
    if (open && empty) empty.remove();
    if (!open && !empty) queue.insertAdjacentHTML('afterbegin', '<p id="unmatched-empty" class="hint">Nothing waiting.</p>');
  }, ['lab_unmatched_changed', 'lab_order_placed', 'lab_order_updated']); // results change no entry or choice
}

// A typed row's unit choices follow its analyte (none for a text answer).
function fillUnits(row) {
  const option = row.querySelector('select.typed-analyte').selectedOptions[0];
  const units = row.querySelector('select.typed-unit');
  units.replaceChildren();
  if (option?.dataset.kind !== 'number') { units.hidden = true; return; }
  units.hidden = false;
  for (const u of option.dataset.units.split('|')) {
    const o = document.createElement('option');
    o.value = u;
    o.textContent = u === '' ? '(no unit)' : u;
    units.append(o);
  }
}

queue?.addEventListener('change', (ev) => {
  if (ev.target.matches('select.typed-analyte')) fillUnits(ev.target.closest('tr.typed-row'));
});

// The typed results of an entry, or an error shown on the first row that is wrong.
function typedResults(entry) {
  const rows = [...entry.querySelectorAll('tr.typed-row')];
  const results = [];
  let ok = true;
  rows.forEach((row) => {
    const cell = row.querySelector('.typed-error');
    cell.textContent = '';
    const option = row.querySelector('select.typed-analyte').selectedOptions[0];
    const raw = row.querySelector('input.typed-value').value.trim();
    if (!option?.value && raw === '') return; // an empty row
    if (!option?.value) { cell.textContent = 'Choose the analyte.'; ok = false; return; }
    if (raw === '') { cell.textContent = 'Type the value.'; ok = false; return; }
    if (option.dataset.kind === 'number') {
      const value = Number(raw.replace(',', '.'));
      if (!Number.isFinite(value)) { cell.textContent = 'The value must be a number.'; ok = false; return; }
      results.push({ analyte: option.value, value, unit: row.querySelector('select.typed-unit').value });
    } else {
      results.push({ analyte: option.value, text: raw });
    }
  });
  return { rows, results, ok };
}

// The orders of a cat found by name, newest unreviewed first, offered in the entry's select.
async function findOrders(entry) {
  const box = entry.querySelector('.unmatched-error');
  const list = entry.querySelector('ul.find-results');
  const q = entry.querySelector('input.find-cat').value.trim();
  if (!q) { show(box, "Type the cat's name."); return; }
  const found = await api('GET', `/api/search?kind=patient&limit=8&q=${encodeURIComponent(q)}`);
  list.replaceChildren();
  for (const hit of found.hits) {
    const li = document.createElement('li');
    const b = document.createElement('button');
    b.type = 'button';
    b.className = 'find-pick';
    b.dataset.patient = hit.id;
    b.textContent = hit.label;
    li.append(b);
    list.append(li);
  }
  if (found.hits.length === 0) list.innerHTML = '<li class="hint">No cat of that name.</li>';
  list.hidden = false;
  show(box, '');
}

// An order chosen while the cat's orders were being fetched stays chosen when it is one of
// them (the entry may already offer every open order).
async function pickCat(entry, button) {
  const select = entry.querySelector('select.attach-order');
  const page = await api('GET', `/api/patients/${button.dataset.patient}/lab-orders?unreviewed=true&limit=50`);
  const chosen = select.value;
  select.replaceChildren();
  const first = document.createElement('option');
  first.value = '';
  first.textContent = page.items.length ? 'Choose an order…' : `${button.textContent}: no order awaiting review`;
  select.append(first);
  for (const o of page.items) {
    const opt = document.createElement('option');
    opt.value = o.id;
    opt.textContent = `${button.textContent} · ${o.test_name} (${o.test}) · ${o.created_at.slice(0, 10)}`;
    select.append(opt);
  }
  if (page.items.some((o) => o.id === chosen)) select.value = chosen;
  else if (page.items.length === 1) select.value = page.items[0].id;
  entry.querySelector('ul.find-results').hidden = true;
}

queue?.addEventListener('click', async (ev) => {
  const entry = ev.target.closest('article.unmatched');
  if (!entry) return;
  const box = entry.querySelector('.unmatched-error');
  if (ev.target.closest('button.typed-add')) {
    const rows = entry.querySelector('fieldset.typed-results tbody');
    const row = rows.querySelector('tr.typed-row').cloneNode(true);
    row.querySelector('select.typed-analyte').value = '';
    row.querySelector('input.typed-value').value = '';
    row.querySelector('.typed-error').textContent = '';
    fillUnits(row);
    rows.append(row);
    return;
  }
  const find = ev.target.closest('button.find, button.find-pick');
  if (find) {
    try {
      if (find.classList.contains('find')) await findOrders(entry);
      else await pickCat(entry, find);
    } catch (e) {
      show(box, e.message);
    }
    return;
  }
  const b = ev.target.closest('button.attach, button.discard');
  if (!b) return;
  const id = b.dataset.unmatched;
  let path;
  let body;
  let typed = null;
  if (b.classList.contains('attach')) {
    const order = entry.querySelector('select.attach-order').value;
    if (!order) { show(box, 'Choose the order first.'); return; }
    body = { order_id: order };
    if (entry.querySelector('fieldset.typed-results')) {
      typed = typedResults(entry);
      if (!typed.ok) { show(box, 'Correct the results marked below.'); return; }
      if (typed.results.length === 0) { show(box, 'Type the results from the message first.'); return; }
      body.results = typed.results;
    }
    path = `/api/lab-results/unmatched/${id}/attach`;
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
    // `results[i]` names the typed row the server refused (its unit, its analyte).
    const at = /^results\[(\d+)\]/.exec(e.field ?? '');
    if (typed && at) {
      const sent = typed.rows.filter((r) => r.querySelector('select.typed-analyte').value !== '');
      const cell = sent[Number(at[1])]?.querySelector('.typed-error');
      if (cell) cell.textContent = e.message;
      show(box, 'Correct the results marked below.');
    } else {
      show(box, e.code === 'lab_unmatched_resolved'
        ? `Already resolved by someone else: ${e.message}. Reload to see it.`
        : e.message);
    }
    b.disabled = false;
  }
});
