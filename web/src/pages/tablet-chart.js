// The exam-room tablet's chart: autosaves the SOAP note, posts the vitals, vaccine and
// prescription forms, and follows the room (a new cat in it reloads the chart). What shows (editable or not, Sign, each form) is decided by the page.
//
// The note is never lost: every change becomes a revision (a number that only grows) queued
// in localStorage with its own Idempotency-Key before anything is sent; the queue is sent in
// order with PUT /api/visits/{id}/note/draft and an entry leaves it only once the server has
// answered. When the connection drops the queue stays on the tablet ("Offline — kept on this
// tablet") and is flushed when it returns; the server ignores a revision older than the one
// it holds, so a late one never overwrites newer text. A reload restores unsent text.
import { newKey } from './api.js';
import { connectLive } from './live.js';

const $ = (id) => document.getElementById(id);
const room = document.body.dataset.room;
const status = $('save-status');

// A locked tablet (its short PIN session ended) goes back to the room's page, which asks for
// the PIN and comes back here; the queued note stays in this browser meanwhile.
function locked() {
  location.href = `/tablet?room=${encodeURIComponent(room)}&then=chart`;
}

async function send(method, path, body, key) {
  const headers = { 'content-type': 'application/json', 'idempotency-key': key ?? newKey() };
  const res = await fetch(path, { method, credentials: 'same-origin', headers, body: JSON.stringify(body) });
  if (res.status === 401) { locked(); throw Object.assign(new Error('locked'), { code: 'locked' }); }
  const text = await res.text();
  const data = text ? JSON.parse(text) : null;
  if (!res.ok) {
    throw Object.assign(new Error(data?.error?.message ?? res.statusText), {
      status: res.status, code: data?.error?.code, field: data?.error?.field,
    });
  }
  return data;
}

function say(text, state) {
  if (!status) return;
  status.textContent = text;
  status.dataset.state = state;
}

// ---- The SOAP note ----

const note = $('note');
const visit = note?.dataset.visit;
const areas = [...document.querySelectorAll('textarea.soap')];
const storeKey = visit && `clowder.note.${visit}`;

function load() {
  try { return JSON.parse(localStorage.getItem(storeKey)) ?? { revision: 0, queue: [] }; } catch { return { revision: 0, queue: [] }; }
}
const saved = storeKey ? load() : { revision: 0, queue: [] };
let revision = Math.max(Number(note?.dataset.revision ?? 0), saved.revision ?? 0);
let queue = saved.queue ?? [];
let timer = null;
let dirty = false;

function persist() {
  localStorage.setItem(storeKey, JSON.stringify({ revision, queue }));
}

function soap() {
  return Object.fromEntries(areas.map((a) => [a.name, a.value]));
}

// A change becomes a queued revision at once (so nothing typed exists only in the page).
function enqueue() {
  clearTimeout(timer);
  timer = null;
  if (!dirty) return;
  dirty = false;
  revision += 1;
  queue.push({ revision, key: newKey(), soap: soap() });
  persist();
  flush();
}

// One drain of the queue at a time; callers wait for the running one (Sign waits for it).
let running = null;
function flush() {
  if (!running) running = drain().finally(() => { running = null; });
  return running;
}

async function drain() {
  while (queue.length) {
    const entry = queue[0];
    if (!navigator.onLine) { say('Offline — kept on this tablet', 'offline'); return; }
    say('Saving…', 'saving');
    let answer;
    try {
      answer = await send('PUT', `/api/visits/${visit}/note/draft`, { revision: entry.revision, ...entry.soap }, entry.key);
    } catch (e) {
      if (e.code === 'locked') return;
      if (e.status === undefined || e.status >= 500 || e.status === 429) {
        // No answer (the network) or a passing failure: keep it queued and try again.
        say('Offline — kept on this tablet', 'offline');
        setTimeout(flush, 5000);
        return;
      }
      // Refused for good (signed meanwhile, too long): say so; the text stays on screen.
      say(e.message, 'error');
      queue.shift();
      persist();
      return;
    }
    queue.shift();
    if (!answer.applied && answer.revision >= revision) {
      // The server holds a newer revision (another tablet): save what is on this screen
      // above it, so nothing typed here is dropped.
      revision = answer.revision + 1;
      queue.push({ revision, key: newKey(), soap: soap() });
      persist();
      continue;
    }
    persist();
  }
  say('Saved', 'saved');
}

if (visit && areas.length) {
  // Text typed before a reload or a crash and never sent comes back into the fields.
  const last = queue[queue.length - 1];
  if (last) for (const a of areas) if (typeof last.soap[a.name] === 'string') a.value = last.soap[a.name];
  for (const a of areas) {
    a.addEventListener('input', () => {
      dirty = true;
      say('Saving…', 'saving');
      clearTimeout(timer);
      timer = setTimeout(enqueue, 800);
    });
    a.addEventListener('blur', enqueue);
  }
  document.addEventListener('visibilitychange', () => { if (document.visibilityState === 'hidden') enqueue(); });
  window.addEventListener('pagehide', enqueue);
  window.addEventListener('online', flush);
  window.addEventListener('offline', () => say('Offline — kept on this tablet', 'offline'));
  if (queue.length) flush(); else say('Saved', 'saved');
}

function showNoteError(message) {
  const box = $('note-error');
  box.textContent = message;
  box.hidden = false;
}

// Signs exactly the revision the server holds once the queue is empty, so the vet signs what
// is on the screen.
$('sign')?.addEventListener('click', async (ev) => {
  const button = ev.currentTarget;
  button.disabled = true;
  enqueue();
  await flush();
  if (queue.length) await flush();
  if (queue.length) {
    showNoteError('The note is not saved yet (offline): sign when the tablet is back online.');
    button.disabled = false;
    return;
  }
  try {
    await send('POST', `/api/visits/${visit}/note/sign`, { revision });
    localStorage.removeItem(storeKey);
    location.reload();
  } catch (e) {
    showNoteError(e.message);
    button.disabled = false;
  }
});

const addendum = $('addendum-form');
addendum?.addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const key = addendum.dataset.key ?? (addendum.dataset.key = newKey());
  try {
    await send('POST', `/api/visits/${visit}/note/addenda`, { text: $('addendum-text').value }, key);
    location.reload();
  } catch (e) {
    showNoteError(e.message);
  }
});

// ---- The forms: a 422 shows next to the field it names ----

function clearErrors(form) {
  form.querySelectorAll('.field-error').forEach((e) => e.remove());
  form.querySelectorAll('[aria-invalid]').forEach((e) => e.removeAttribute('aria-invalid'));
  const box = form.querySelector('.form-error');
  box.hidden = true;
  box.textContent = '';
}

function showError(form, e) {
  const field = e.field && [...form.querySelectorAll('.field')].find((f) => {
    const names = f.dataset.field.split(' ');
    return names.some((n) => e.field === n || e.field.startsWith(`${n}.`));
  });
  if (field) {
    field.hidden = false;
    const p = Object.assign(document.createElement('p'), { className: 'field-error error', textContent: e.message });
    p.setAttribute('role', 'alert');
    field.append(p);
    field.querySelector('input, select, button')?.setAttribute('aria-invalid', 'true');
    return;
  }
  const box = form.querySelector('.form-error');
  box.textContent = e.message;
  box.hidden = false;
}

// One Idempotency-Key per filled-in form: a retried submission of the same values is one write.
function keyOf(form) {
  return form.dataset.key ?? (form.dataset.key = newKey());
}
function changed(form) {
  form.addEventListener('input', () => { delete form.dataset.key; });
  form.addEventListener('click', (ev) => { if (ev.target.matches('button.score')) delete form.dataset.key; });
}

const num = (form, name) => {
  const v = form.elements[name]?.value.trim();
  return v ? Number(v) : undefined;
};
const text = (form, name) => form.elements[name]?.value.trim() || undefined;

const vitals = $('vitals-form');
if (vitals) {
  changed(vitals);
  const scores = {};
  vitals.querySelectorAll('button.score').forEach((b) => b.addEventListener('click', () => {
    const name = b.dataset.name;
    const again = scores[name] === Number(b.dataset.value);
    scores[name] = again ? undefined : Number(b.dataset.value);
    vitals.querySelectorAll(`button.score[data-name="${name}"]`).forEach((x) =>
      x.setAttribute('aria-pressed', String(!again && x === b)));
  }));
  vitals.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clearErrors(vitals);
    const m = {
      temperature_c: num(vitals, 'temperature_c'),
      heart_rate: num(vitals, 'heart_rate'),
      respiratory_rate: num(vitals, 'respiratory_rate'),
      crt_s: num(vitals, 'crt_s'),
      mucous_membranes: text(vitals, 'mucous_membranes'),
      pain: scores.pain,
    };
    const w = num(vitals, 'weight');
    if (w !== undefined) m.weight = { value: w, unit: 'kg' };
    if (scores.bcs !== undefined) m.bcs = { score: scores.bcs, scale: 9 };
    const systolic = num(vitals, 'systolic');
    const diastolic = num(vitals, 'diastolic');
    if (systolic !== undefined || diastolic !== undefined) {
      m.blood_pressure = { systolic, diastolic, method: text(vitals, 'bp_method') };
    }
    m.muscle_condition = text(vitals, 'muscle_condition');
    m.fas = scores.fas;
    // The grimace scale counts only whole: all five action units, or none.
    const units = [...vitals.querySelectorAll('fieldset.fgs [data-name]')].map((b) => b.dataset.name)
      .filter((n, i, all) => all.indexOf(n) === i);
    const scored = units.filter((n) => scores[n] !== undefined);
    if (scored.length === units.length) {
      m.fgs = Object.fromEntries(units.map((n) => [n.slice(4), scores[n]]));
    } else if (scored.length > 0) {
      showError(vitals, { field: 'measurements.fgs', message: 'Score all five action units of the grimace scale (0–2 each), or none.' });
      return;
    }
    const body = { patient_id: $('chart').dataset.patient, visit_id: vitals.dataset.visit, measurements: m };
    try {
      const v = await send('POST', '/api/vitals', body, keyOf(vitals));
      const flags = vitals.querySelector('ul.flags');
      flags.replaceChildren(...v.flags.map((f) => Object.assign(document.createElement('li'), { textContent: f.message })));
      flags.hidden = v.flags.length === 0;
      const ok = vitals.querySelector('.result-ok');
      ok.textContent = v.flags.length ? 'Recorded, with values outside the normal feline range:' : 'Recorded.';
      ok.hidden = false;
      delete vitals.dataset.key;
    } catch (e) {
      if (e.code !== 'locked') showError(vitals, e);
    }
  });
}

const vaccine = $('vaccine-form');
if (vaccine) {
  changed(vaccine);
  vaccine.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clearErrors(vaccine);
    const years = num(vaccine, 'label_years');
    const body = {
      patient_id: $('chart').dataset.patient, visit_id: vaccine.dataset.visit,
      vaccine: text(vaccine, 'vaccine'), product: text(vaccine, 'product') ?? '', lot: text(vaccine, 'lot') ?? '',
      expiry: text(vaccine, 'expiry'), site: text(vaccine, 'site'), route: text(vaccine, 'route'),
      label_years: years,
    };
    try {
      await send('POST', '/api/vaccinations', body, keyOf(vaccine));
      const ok = vaccine.querySelector('.result-ok');
      ok.textContent = `Recorded ${vaccine.elements.vaccine.selectedOptions[0]?.textContent} (lot ${body.lot}).`;
      ok.hidden = false;
      delete vaccine.dataset.key;
    } catch (e) {
      if (e.code !== 'locked') showError(vaccine, e);
    }
  });
}

const rx = $('prescribe-form');
if (rx) {
  changed(rx);
  const choice = rx.elements.choice;
  const pick = () => {
    const o = choice.selectedOptions[0];
    if (!o) return;
    const route = o.dataset.routes.split(' ').filter(Boolean)[0];
    if (route) rx.elements.route.value = route;
    $('rx-frequencies').replaceChildren(...o.dataset.frequencies.split(' ').filter(Boolean)
      .map((f) => Object.assign(document.createElement('option'), { value: f })));
    if (!rx.elements.frequency.value) rx.elements.frequency.value = o.dataset.frequencies.split(' ')[0] ?? '';
  };
  choice.addEventListener('change', () => { rx.elements.frequency.value = ''; pick(); });
  pick();
  rx.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clearErrors(rx);
    const [drug, form, strength] = choice.value.split('|');
    const body = {
      patient_id: $('chart').dataset.patient, visit_id: rx.dataset.visit, drug, form, strength: Number(strength),
      dose_per_kg: num(rx, 'dose_per_kg'), route: text(rx, 'route'), frequency: text(rx, 'frequency'),
      duration_days: num(rx, 'duration_days'), quantity: num(rx, 'quantity'),
      refills_allowed: num(rx, 'refills_allowed') ?? 0, instructions: text(rx, 'instructions'),
      override_reason: text(rx, 'override_reason'),
    };
    const ok = rx.querySelector('.result-ok');
    ok.hidden = true;
    try {
      const p = await send('POST', '/api/prescriptions', body, keyOf(rx));
      const lines = [`Prescribed: ${p.dose.shown}`, ...p.warnings.map((w) => `Warning: ${w.message}`)];
      ok.replaceChildren(...lines.map((l) => Object.assign(document.createElement('p'), { textContent: l })));
      ok.hidden = false;
      delete rx.dataset.key;
    } catch (e) {
      // A warning that needs a written reason: the field appears, named by the answer.
      if (e.code !== 'locked') showError(rx, e);
    }
  });
}

// ---- The room: when its cat changes (it left, another came in), the chart follows ----

const shown = document.getElementById('chart')?.dataset.patient ?? null;
connectLive({
  topics: [`room:${room}`],
  onSnapshot: () => {},
  onState: () => {},
  onEvent: async (m) => {
    if (m.type !== 'room_state_changed' || m.data.status.room_id !== room) return;
    if ((m.data.status.patient_id ?? null) === shown) return;
    // Nothing typed is left behind: the note's queue is sent (or stays queued) first.
    if (visit && areas.length) { enqueue(); await flush(); }
    location.reload();
  },
});
