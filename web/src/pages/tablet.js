// The exam-room tablet: the room's state, the current cat's banner (alerts, allergies,
// behaviour and handling in prominent colours) and big buttons to move the room along; kept
// current over /ws; and, for readers of the medical record, the way to the cat's chart. When the tablet's PIN session locks (a few idle minutes), a PIN screen
// unlocks it again with the tablet's credential (kept in this browser's storage).
import { connectLive } from './live.js';
import { newKey } from './api.js';

const $ = (id) => document.getElementById(id);
const room = new URLSearchParams(location.search).get('room');
const device = localStorage.getItem('clowder.device');
const labels = { free: 'Free', patient_waiting: 'Patient waiting', in_exam: 'In exam', needs_cleaning: 'Needs cleaning', out_of_service: 'Out of service' };
const moves = {
  patient_waiting: [['in_exam', 'Start the exam']],
  in_exam: [['needs_cleaning', 'Exam done — needs cleaning']],
  needs_cleaning: [['free', 'Cleaned — room free'], ['out_of_service', 'Out of service']],
  free: [['out_of_service', 'Out of service']],
  out_of_service: [['free', 'Back in service']],
};

async function call(method, path, body) {
  const init = { method, credentials: 'same-origin', headers: {} };
  if (method === 'POST') init.headers['idempotency-key'] = newKey();
  if (body !== undefined) { init.headers['content-type'] = 'application/json'; init.body = JSON.stringify(body); }
  const res = await fetch(path, init);
  if (res.status === 401) {
    if (device) { lock(); throw new Error('locked'); }
    location.href = '/signin?next=' + encodeURIComponent(location.pathname + location.search);
    throw new Error('signed out');
  }
  const data = res.status === 204 ? null : await res.json();
  if (!res.ok) throw new Error(data?.error?.message ?? res.statusText);
  return data;
}

function lock() {
  const d = $('locked');
  if (!d.open) d.showModal();
}

$('unlock').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const res = await fetch('/api/auth/pin-unlock', {
    method: 'POST', credentials: 'same-origin',
    headers: { 'content-type': 'application/json', 'x-clowder-device': device ?? '' },
    body: JSON.stringify({ username: $('pin-user').value.trim(), pin: $('pin').value }),
  });
  $('pin').value = '';
  if (res.ok) { $('locked').close(); refresh(); return; }
  const data = await res.json().catch(() => null);
  $('pin-error').textContent = data?.error?.message ?? 'Unlock failed';
  $('pin-error').hidden = false;
});

function age(dob) {
  if (!dob) return null;
  const months = Math.floor((Date.now() - new Date(dob)) / (30.44 * 86400000));
  return months < 12 ? `${months} months` : `${Math.floor(months / 12)} years`;
}

// Bumped by every state shown (an event, a button's answer, a refresh): a show still
// fetching its cat, or a refresh still asking the board, gives way to a newer one.
let shown = 0;

async function show(status) {
  const mine = ++shown;
  $('room-state').textContent = labels[status.state] ?? status.state;
  document.body.dataset.state = status.state;
  const actions = $('actions');
  actions.replaceChildren(...(moves[status.state] ?? []).map(([to, label]) => {
    const b = document.createElement('button');
    b.type = 'button';
    b.textContent = label;
    b.addEventListener('click', () => call('POST', `/api/rooms/${room}/state`, { to }).then(show).catch((e) => alert(e.message)));
    return b;
  }));
  if (!status.patient_id) {
    $('open-chart').hidden = true;
    $('banner').hidden = true;
    $('empty').hidden = false;
    return;
  }
  // The cat in the room is shown, not opened: neither read joins recently viewed.
  const p = await call('GET', `/api/patients/${status.patient_id}?recent=false`);
  const c = await call('GET', `/api/clients/${p.client_id}?recent=false`).catch(() => null);
  if (mine !== shown) return;
  $('patient-name').textContent = p.name;
  $('patient-facts').textContent = [age(p.date_of_birth), p.breed, p.sex, c && `${c.first_name} ${c.last_name}`].filter(Boolean).join(' · ');
  const alerts = [...(c?.alerts ?? []), ...p.allergies.map((a) => `Allergy: ${a}`)];
  $('alerts').replaceChildren(...alerts.map((t) => Object.assign(document.createElement('li'), { textContent: t })));
  const h = p.handling ?? {};
  const handling = [
    h.aggression && h.aggression !== 'none' && `Aggression: ${h.aggression}`,
    h.fear_anxiety && h.fear_anxiety !== 'none' && `Fear/anxiety: ${h.fear_anxiety}`,
    h.handling_difficulty && h.handling_difficulty !== 'none' && `Handling: ${h.handling_difficulty}`,
    h.muzzle && 'Muzzle', h.towel_wrap && 'Towel wrap',
    h.preferred_restraint && `Restraint: ${h.preferred_restraint}`,
    h.staff_safety_notes && `Safety: ${h.staff_safety_notes}`,
    p.behavior_notes && `Behaviour: ${p.behavior_notes}`,
  ].filter(Boolean);
  $('handling').replaceChildren(...handling.map((t) => Object.assign(document.createElement('li'), { textContent: t })));
  $('banner').hidden = false;
  $('empty').hidden = true;
  await offerChart();
}

// The chart is for readers of the medical record (visits:view); a receptionist who unlocks
// the tablet sees the room and the banner only. The chart page checks again on the server.
async function offerChart() {
  const me = await call('GET', '/api/auth/me').catch(() => null);
  const may = me?.permissions?.some((g) => g.permission === 'visits:view');
  const link = $('open-chart');
  link.href = `/tablet/chart?room=${encodeURIComponent(room)}`;
  link.hidden = !may;
  // Sent here by the chart when the PIN session ended: back to it once unlocked.
  if (may && new URLSearchParams(location.search).get('then') === 'chart') location.replace(link.href);
}

async function refresh() {
  const before = shown;
  const board = await call('GET', '/api/rooms/board');
  const mine = board.find((r) => r.room.id === room);
  if (!mine) { $('room-name').textContent = 'Unknown room'; return; }
  $('room-name').textContent = mine.room.name;
  if (shown === before) await show(mine.status);
}

// A tablet learns its credential once (from `POST /api/devices`, shown at registration); it
// is kept in this browser only and sent as `X-Clowder-Device` when unlocking with a PIN.
function offerSetup() {
  if (device) return;
  const b = document.createElement('button');
  b.type = 'button';
  b.textContent = 'Set up PIN unlock';
  b.addEventListener('click', () => {
    const credential = prompt("This tablet's credential (shown once when it was registered)");
    if (credential) { localStorage.setItem('clowder.device', credential.trim()); location.reload(); }
  });
  document.querySelector('header').append(b);
}

async function main() {
  offerSetup();
  if (!room) { $('room-name').textContent = 'Open this page as /tablet?room=<room id>'; return; }
  await refresh();
  const conn = $('connection');
  const words = { connecting: 'Connecting…', live: 'Live', reconnecting: 'Reconnecting…' };
  connectLive({
    topics: [`room:${room}`],
    onSnapshot: () => {},
    onEvent: (m) => {
      if (m.type === 'room_state_changed' && m.data.status.room_id === room) show(m.data.status);
    },
    // Back live: catch up. Dropped: ask the API, which shows the PIN screen if the tablet's
    // session has locked.
    onState: (s) => { conn.dataset.state = s; conn.textContent = words[s]; if (s !== 'connecting') refresh().catch(() => {}); },
  });
}

main();
