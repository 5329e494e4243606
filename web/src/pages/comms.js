// The interactive parts of the Messages and Jobs screens, over the JSON API: the template
// editor's live preview (POST /api/templates/{id}/preview with the unsaved text, which
// answers the rendering, the SMS segment count and any error naming its field) and its save
// (PATCH); the bulk sender (POST /api/communications/send-batch, then the batch polled for
// its progress and partial-failure report; its audience a list, every active client or a
// saved segment); the jobs page's Retry and Cancel buttons; a campaign's schedule, send now
// and cancel buttons. The pages render without it; what a label says, and which button
// shows, is decided on the server.
import { api, newKey } from './api.js';

const $ = (id) => document.getElementById(id);
const el = (tag, attrs = {}, ...children) => {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  for (const c of children) e.append(c);
  return e;
};

// `api`, with the Idempotency-Key a form keeps across its retries carried in the body as
// `__key` (taken out before sending; without one, a fresh key).
function call(method, path, body) {
  if (body === undefined) return api(method, path);
  const { __key, ...rest } = body;
  return api(method, path, rest, __key);
}

// Shows `message` under the input named `field` (or in `fallback`); clears the others.
function showError(ids, field, message, fallback) {
  for (const id of ids) {
    const p = $(`${id}-error`);
    if (p) { p.hidden = true; p.textContent = ''; }
  }
  if (!message) return;
  const p = $(`${field}-error`) ?? $(fallback);
  if (p) { p.hidden = false; p.textContent = field && !$(`${field}-error`) ? `${field}: ${message}` : message; }
}

// The same words as the server's `segments_label`.
function segmentsLabel(s) {
  const [enc, unit] = s.encoding === 'gsm7' ? ['GSM-7', 'characters'] : ['Unicode', 'UTF-16 units'];
  const n = s.count === 1 ? '1 segment' : `${s.count} segments`;
  return `${n} (${enc}, ${s.units} ${unit})`;
}

function templateEditor(form) {
  const id = form.dataset.template;
  const email = form.dataset.email === 'true';
  const fields = email ? ['subject', 'text_body', 'html_body'] : ['text_body'];
  const draft = () => {
    const d = {};
    for (const f of fields) d[f] = form.elements[f].value;
    return d;
  };
  let timer = null;
  let seq = 0;
  async function preview() {
    const mine = ++seq;
    try {
      const r = await call('POST', `/api/templates/${id}/preview`, draft());
      if (mine !== seq) return; // a newer edit is being previewed
      showError([...fields, 'preview'], null, null);
      $('preview-text').textContent = r.text;
      if (email) {
        $('preview-subject').textContent = r.subject ?? '';
        const frame = $('preview-html');
        frame.hidden = !r.html;
        // Sandboxed without scripts: the client's mail, as rendered by the server.
        frame.srcdoc = r.html ?? '';
      } else if (r.segments) {
        $('segments').textContent = segmentsLabel(r.segments);
      }
    } catch (e) {
      if (mine !== seq) return;
      showError([...fields, 'preview'], e.field, e.message, 'preview-error');
    }
  }
  for (const f of fields) {
    form.elements[f].addEventListener('input', () => {
      clearTimeout(timer);
      timer = setTimeout(preview, 250);
    });
  }
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const status = $('save-status');
    const body = draft();
    if (email && !body.html_body.trim()) body.html_body = null;
    try {
      const t = await call('PATCH', `/api/templates/${id}`, body);
      $('version').textContent = String(t.version);
      showError(fields, null, null);
      status.textContent = `Saved as version ${t.version}.`;
    } catch (e) {
      showError(fields, e.field, e.message, 'preview-error');
      status.textContent = 'Not saved.';
    }
  });
  preview();
}

const reasons = { not_found: 'No such client', inactive: 'Deactivated', no_address: 'No address on this channel', render_failed: 'Could not be written', refused: 'Refused' };
const statusWords = { failed: 'Failed, retrying', dead: 'Failed', bounced: 'Bounced', suppressed: 'Opted out' };

function report(b) {
  const rows = [
    ...b.skipped.map((s) => [s.client_id, reasons[s.reason] ?? s.reason, s.detail ?? '']),
    ...b.failures.map((f) => [f.client_id, statusWords[f.status] ?? f.status, f.reason ?? '']),
  ];
  if (!rows.length) return el('p', { class: 'hint' }, 'No failures.');
  return el('table', { class: 'rows', id: 'bulk-failures' },
    el('caption', {}, 'Not delivered'),
    el('thead', {}, el('tr', {}, el('th', { scope: 'col' }, 'Client'), el('th', { scope: 'col' }, 'Why'), el('th', { scope: 'col' }, 'Detail'))),
    el('tbody', {}, ...rows.map(([c, why, detail]) => el('tr', {},
      el('td', { 'data-label': 'Client' }, el('a', { href: `/clients/${c}` }, c)),
      el('td', { 'data-label': 'Why' }, why),
      el('td', { 'data-label': 'Detail' }, detail)))));
}

function bulkSender(form) {
  const ids = ['template_id', 'client_ids', 'segment_id', 'audience', 'values'];
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const audience = form.elements.audience.value;
    const body = { template_id: form.elements.template_id.value, audience, values: {}, __key: newKey() };
    if (audience === 'clients') {
      body.client_ids = form.elements.client_ids.value.split(/\s+/).filter(Boolean);
    }
    if (audience === 'segment') body.segment_id = form.elements.segment_id.value;
    for (const line of form.elements.values.value.split('\n')) {
      const i = line.indexOf('=');
      if (i > 0) body.values[line.slice(0, i).trim()] = line.slice(i + 1).trim();
    }
    const button = $('bulk-send');
    button.disabled = true;
    try {
      const started = await call('POST', '/api/communications/send-batch', body);
      showError(ids, null, null);
      // The address names the batch, so a reload goes on showing its progress.
      history.replaceState(null, '', `/messages/bulk?batch=${started.batch_id}`);
      follow(started.batch_id);
    } catch (e) {
      showError(ids, e.field?.split(/[[.]/)[0], e.message, 'template_id-error');
      button.disabled = false;
    }
  });
}

async function follow(batch) {
  $('bulk-progress').hidden = false;
  const bar = $('bulk-bar');
  for (;;) {
    let b;
    try {
      b = await call('GET', `/api/communications/batches/${batch}`);
    } catch (e) {
      $('bulk-summary').textContent = e.message;
      return;
    }
    const m = b.messages;
    const settled = m.sent + m.delivered + m.dead + m.bounced + m.suppressed;
    bar.max = Math.max(1, b.total);
    bar.value = b.skipped_count + settled;
    $('bulk-summary').textContent = `${b.queued} of ${b.total} queued, ${b.skipped_count} skipped · sent ${m.sent + m.delivered}, failed ${m.dead + m.bounced}, opted out ${m.suppressed}` + (b.done ? ' · done' : '');
    $('bulk-report').replaceChildren(report(b));
    if (b.done) break;
    await new Promise((r) => setTimeout(r, 1000));
  }
}

function jobsPage(table) {
  table.addEventListener('click', async (ev) => {
    const b = ev.target.closest('button[data-action]');
    if (!b) return;
    b.disabled = true;
    try {
      await call('POST', `/api/jobs/${b.dataset.job}/${b.dataset.action}`);
      location.reload();
    } catch (e) {
      const p = $('jobs-error');
      p.hidden = false;
      p.textContent = e.message;
      b.disabled = false;
    }
  });
}

// The client page's send form: typed text to this client (POST /api/communications/send),
// then the page again, whose history shows it.
function sendForm(form) {
  const ids = ['channel', 'subject', 'text', 'client_id'];
  const key = newKey(); // one per form: a retried submission sends once
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const body = { client_id: form.dataset.client, text: form.elements.text.value, __key: key };
    if (form.elements.channel.value) body.channel = form.elements.channel.value;
    if (form.elements.subject.value.trim()) body.subject = form.elements.subject.value;
    try {
      await call('POST', '/api/communications/send', body);
      $('send-status').textContent = 'Queued.';
      location.reload();
    } catch (e) {
      showError(ids, e.field, e.message, 'text-error');
      $('send-status').textContent = 'Not sent.';
    }
  });
}

// A campaign's buttons (shown by the server as its state allows): schedule or reschedule at
// the time typed (the field is in the clinic's zone, which the browser is taken to share;
// the page shows the stored time in the clinic's zone after the reload), send now, cancel.
// Each posts to the campaign API with an Idempotency-Key: one per page for send now and
// cancel (a double click sends once), one per submission for a schedule (its body changes).
function campaignPage(article) {
  const id = article.dataset.campaign;
  const keys = { 'send-now': newKey(), cancel: newKey() };
  const fail = (e) => {
    const p = $('campaign-error');
    p.hidden = false;
    p.textContent = e.message;
  };
  const schedule = $('schedule-form');
  schedule?.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const v = schedule.elements.scheduled_at.value;
    if (!v) { showError(['scheduled_at'], 'scheduled_at', 'Choose a day and time.'); return; }
    try {
      await call('POST', `/api/campaigns/${id}/schedule`, { scheduled_at: new Date(v).toISOString(), __key: newKey() });
      location.reload();
    } catch (e) {
      if (e.field === 'scheduled_at') showError(['scheduled_at'], e.field, e.message); else fail(e);
    }
  });
  $('campaign-actions').addEventListener('click', async (ev) => {
    const b = ev.target.closest('button[data-action]');
    if (!b) return;
    b.disabled = true;
    try {
      await call('POST', `/api/campaigns/${id}/${b.dataset.action}`, { __key: keys[b.dataset.action] });
      location.reload();
    } catch (e) {
      fail(e);
      b.disabled = false;
    }
  });
}

const editor = $('template-form');
if (editor) templateEditor(editor);
const bulk = $('bulk-form');
if (bulk) bulkSender(bulk);
const sender = $('send-form');
if (sender) sendForm(sender);
const followed = $('bulk-progress')?.dataset.batch;
if (followed) follow(followed);
const jobs = $('jobs');
if (jobs) jobsPage(jobs);
const campaign = $('campaign');
if (campaign && $('campaign-actions')) campaignPage(campaign);
