// The Today board: columns per vet with the day's appointments, the waiting queue with live
// wait times, the rooms whiteboard and the counters; all kept current over /ws.
import { api } from './api.js';
import { connectLive } from './live.js';

const $ = (id) => document.getElementById(id);
const el = (tag, attrs = {}, ...children) => {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'dataset') Object.assign(e.dataset, v);
    else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else if (k === 'style') e.style.cssText = v;
    else e.setAttribute(k, v);
  }
  for (const c of children) e.append(c);
  return e;
};

// What the signed-in user may do: buttons they could only get a 403 for are not shown.
let can = new Set();
// The room chosen on a card, by appointment id, until the card's next move: every event
// redraws the board, and a busy front desk must not lose a choice made before Check in.
const chosenRooms = new Map();

const state = { location: null, tz: 'UTC', date: '', vets: [], rooms: new Map(), entries: new Map() };
const labels = { scheduled: 'Scheduled', confirmed: 'Confirmed', checked_in: 'Checked in', in_progress: 'In exam', completed: 'Completed', cancelled: 'Cancelled', no_show: 'No-show' };
const roomLabels = { free: 'Free', patient_waiting: 'Patient waiting', in_exam: 'In exam', needs_cleaning: 'Needs cleaning', out_of_service: 'Out of service' };

function time(ts) {
  return new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit', timeZone: state.tz }).format(new Date(ts));
}

function snapshot(d) {
  state.location = d.day.location_id;
  state.tz = d.day.time_zone;
  state.date = d.day.date;
  state.vets = d.day.vets.map((v) => ({ id: v.id, name: v.name }));
  state.entries = new Map();
  for (const col of [...d.day.vets, { entries: d.day.unassigned }]) {
    for (const e of col.entries) state.entries.set(e.appointment.id, e);
  }
  state.rooms = new Map(d.rooms.map((r) => [r.room.id, r]));
  render();
  // A snapshot starts every (re)connection: whatever came due meanwhile is read afresh.
  unsignedNotes().catch(() => {});
}

async function refetch() {
  snapshot(await api('GET', `/api/dashboard?location=${state.location}`));
}

// A message that will not arrive (`message_failed`, sent only to those who may read the
// log): an alert at the top of the board, linking to the message, until dismissed.
function messageFailed(d) {
  let box = $('message-alerts');
  if (!box) {
    box = el('section', { id: 'message-alerts', class: 'message-alerts', 'aria-live': 'assertive', 'aria-label': 'Failed messages' });
    document.querySelector('.board-head')?.after(box);
  }
  const what = d.channel === 'sms' ? 'A text' : 'An email';
  const alert = el('div', { class: 'message-alert', role: 'alert', dataset: { message: d.message_id } },
    el('strong', {}, `${what} to ${d.recipient} failed`), `: ${d.reason} `,
    el('a', { href: `/messages/${d.message_id}` }, 'Open the message'), ' ',
    el('button', { type: 'button', onclick: () => alert.remove(), 'aria-label': 'Dismiss' }, 'Dismiss'));
  box.prepend(alert);
}

// Stock alerts (GET /api/inventory/alerts, for those who may see stock): products at or
// below their reorder level and lots past or near expiry, re-read when a `stock_moved` frame
// says a product went low or a lot was written off, and every few minutes.
async function stockAlerts() {
  if (!can.has('inventory:view')) return;
  const a = await api('GET', '/api/inventory/alerts');
  $('stock-alerts')?.remove();
  const rows = [
    ...a.low_stock.map((p) => ['Low stock', `${p.name} (${p.sku}): ${p.on_hand} on hand, reorder at ${p.reorder_level}`]),
    ...a.expired.map((l) => ['Expired', `${l.name} lot ${l.lot_number} expired ${l.expires_on}, ${l.on_hand} left`]),
    ...a.expiring_soon.map((l) => ['Expiring soon', `${l.name} lot ${l.lot_number} expires ${l.expires_on}`]),
  ];
  if (!rows.length) return;
  const box = el('section', { id: 'stock-alerts', class: 'message-alerts', 'aria-label': 'Stock alerts' });
  for (const [what, text] of rows.slice(0, 8)) {
    box.append(el('div', { class: 'message-alert', role: 'alert' }, el('strong', {}, what), `: ${text}`));
  }
  if (rows.length > 8) box.append(el('div', { class: 'message-alert' }, `and ${rows.length - 8} more`));
  document.querySelector('.board-head')?.after(box);
}

function onEvent(m) {
  const d = m.data;
  if (d.type === 'message_failed') return void messageFailed(d);
  if (d.type === 'stock_moved') return void stockAlerts().catch(() => {});
  // A note turned 24 h old unsigned, or was signed or voided since: the list is re-read
  // (the frame carries ids only; the list is the caller's own, vet_id=me).
  if (d.type === 'note_unsigned_due' || d.type === 'note_unsigned_cleared') return void unsignedNotes().catch(() => {});
  if (d.appointment) {
    const known = state.entries.get(d.appointment.id);
    if (!known) return void refetch(); // a new booking: fetch names once
    known.appointment = d.appointment;
  } else if (d.status && d.type === 'room_state_changed') {
    const r = state.rooms.get(d.status.room_id);
    if (r) r.status = d.status;
  }
  render();
}

async function move(a, to) {
  const body = { to };
  if (to === 'cancelled') {
    const reason = prompt('Why is it cancelled?');
    if (!reason) return;
    body.reason = reason;
  }
  if (to === 'checked_in') {
    const select = document.getElementById(`room-for-${a.id}`);
    if (select?.value) body.room_id = select.value;
  }
  try {
    await api('POST', `/api/appointments/${a.id}/transition`, body);
    chosenRooms.delete(a.id);
  } catch (e) {
    alert(e.message);
  }
}

const next = {
  scheduled: [['checked_in', 'Check in'], ['no_show', 'No-show'], ['cancelled', 'Cancel']],
  confirmed: [['checked_in', 'Check in'], ['no_show', 'No-show'], ['cancelled', 'Cancel']],
  checked_in: [['in_progress', 'Start'], ['cancelled', 'Cancel']],
  in_progress: [['completed', 'Complete']],
};

function card(e) {
  const a = e.appointment;
  const actions = el('div', { class: 'actions' });
  if (can.has('appointments:edit') && (a.status === 'scheduled' || a.status === 'confirmed')) {
    const select = el('select', {
      id: `room-for-${a.id}`, 'aria-label': `Room for ${e.patient_name}`, onchange: (ev) => chosenRooms.set(a.id, ev.target.value),
    }, el('option', { value: '' }, 'Room…'));
    const chosen = chosenRooms.get(a.id) ?? a.room_id;
    for (const r of state.rooms.values()) {
      const o = el('option', { value: r.room.id }, r.room.name);
      if (chosen === r.room.id) o.selected = true;
      select.append(o);
    }
    actions.append(select);
  }
  for (const [to, label] of can.has('appointments:edit') ? next[a.status] ?? [] : []) {
    if (to === 'no_show' && new Date(a.start) > new Date()) continue;
    if (to === 'cancelled' && !can.has('appointments:delete')) continue;
    actions.append(el('button', { type: 'button', onclick: () => move(a, to), 'aria-label': `${label}: ${e.patient_name}` }, label));
  }
  return el('article', { class: 'card', dataset: { status: a.status, appointment: a.id }, style: `--type: ${e.color}` },
    el('div', {}, el('span', { class: 'time' }, time(a.start)), ' ', el('span', { class: 'status' }, labels[a.status] ?? a.status)),
    el('div', {}, el('strong', {}, e.patient_name), ` · ${e.client_name}`),
    el('div', { class: 'hint' }, e.type_name),
    actions);
}

function render() {
  const focused = document.activeElement?.id;
  $('date').textContent = state.date;
  const entries = [...state.entries.values()].sort((x, y) => x.appointment.start.localeCompare(y.appointment.start));
  const columns = $('columns');
  columns.replaceChildren(...state.vets.map((v) =>
    el('section', { class: 'column', 'aria-label': v.name }, el('h3', {}, v.name),
      ...entries.filter((e) => e.appointment.vet_id === v.id).map(card))));
  const waiting = entries.filter((e) => e.appointment.status === 'checked_in')
    .sort((x, y) => (x.appointment.times.checked_in_at ?? '').localeCompare(y.appointment.times.checked_in_at ?? ''));
  $('queue').replaceChildren(...waiting.map((e) =>
    el('li', { dataset: { since: e.appointment.times.checked_in_at ?? e.appointment.updated_at } },
      el('strong', {}, e.patient_name), ` (${e.client_name}) `, el('span', { class: 'wait' }, ''))));
  tick();
  const byId = new Map(entries.map((e) => [e.appointment.id, e]));
  $('rooms').replaceChildren(...[...state.rooms.values()].map((r) => {
    const who = r.status.appointment_id ? byId.get(r.status.appointment_id)?.patient_name : null;
    return el('li', { dataset: { state: r.status.state, room: r.room.id } },
      el('strong', {}, r.room.name), ` — ${roomLabels[r.status.state] ?? r.status.state}`, who ? `: ${who}` : '');
  }));
  const count = (s) => entries.filter((e) => e.appointment.status === s).length;
  const counters = [['Booked', entries.filter((e) => e.appointment.status !== 'cancelled').length], ['Checked in', count('checked_in')],
    ['In exam', count('in_progress')], ['Completed', count('completed')], ['No-shows', count('no_show')]];
  $('counters').replaceChildren(...counters.map(([k, v]) => el('li', {}, el('b', {}, String(v)), k)));
  if (focused?.startsWith('room-for-')) document.getElementById(focused)?.focus();
}

function tick() {
  for (const li of document.querySelectorAll('#queue li')) {
    const mins = Math.max(0, Math.floor((Date.now() - new Date(li.dataset.since)) / 60000));
    li.querySelector('.wait').textContent = `waiting ${mins} min`;
  }
}

// A vet's notes still unsigned 24 hours after the visit opened (GET /api/visits with
// unsigned_older_than, the signed-in vet's own): alerts at the top of the board, re-read with
// every snapshot and whenever a note_unsigned_due or note_unsigned_cleared event arrives over
// /ws (signing is done on the visit, not here).
async function unsignedNotes() {
  if (!can.has('visits:view')) return;
  const page = await api('GET', '/api/visits?unsigned_older_than=24h&vet_id=me&limit=50');
  $('unsigned-notes')?.remove();
  if (!page.items.length) return;
  const box = el('section', { id: 'unsigned-notes', class: 'message-alerts', 'aria-label': 'Unsigned notes' });
  for (const v of page.items) {
    const opened = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeZone: state.tz }).format(new Date(v.opened_at));
    box.append(el('div', { class: 'message-alert', role: 'alert', dataset: { visit: v.id } },
      el('strong', {}, 'Unsigned note'), `: ${v.type.replace('_', '-')} visit of ${opened} `,
      el('a', { href: `/visits/${v.id}` }, 'Open the note')));
  }
  document.querySelector('.board-head')?.after(box);
}

async function main() {
  const me = await api('GET', '/api/auth/me');
  can = new Set(me.permissions.map((g) => g.permission));
  const wanted = new URLSearchParams(location.search).get('location');
  const locations = await api('GET', '/api/locations');
  state.location = wanted ?? locations[0]?.id;
  if (!state.location) {
    $('columns').textContent = 'No location is set up yet.';
    return;
  }
  const conn = $('connection');
  const words = { connecting: 'Connecting…', live: 'Live', reconnecting: 'Reconnecting…' };
  connectLive({
    topics: [`dashboard:${state.location}`],
    onSnapshot: snapshot,
    onEvent,
    onState: (s) => { conn.dataset.state = s; conn.textContent = words[s]; },
  });
  setInterval(tick, 15000);
  stockAlerts().catch(() => {});
  setInterval(() => stockAlerts().catch(() => {}), 15 * 60 * 1000);
}

main();
