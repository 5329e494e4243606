// Calls to the REST API on the session cookie (same origin, so the browser sends Origin and
// the CSRF check passes). Errors carry the API's {"error": {code, message, field}}.
// Every POST carries a fresh Idempotency-Key (one per form submission), so a retry of that
// submission (pass the same `key`) can never change anything twice.
export async function api(method, path, body, key) {
  const init = { method, credentials: 'same-origin', headers: {} };
  if (method === 'POST') init.headers['idempotency-key'] = key ?? newKey();
  if (body !== undefined) {
    init.headers['content-type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  const res = await fetch(path, init);
  if (res.status === 401) {
    location.href = '/signin?next=' + encodeURIComponent(location.pathname + location.search);
    throw new Error('signed out');
  }
  const text = await res.text();
  const data = text ? JSON.parse(text) : null;
  if (!res.ok) {
    const e = new Error(data?.error?.message ?? res.statusText);
    e.code = data?.error?.code;
    e.field = data?.error?.field;
    e.status = res.status;
    throw e;
  }
  return data;
}

// A random UUID. crypto.randomUUID exists only in secure contexts (HTTPS, localhost); a
// clinic reaching the server over plain HTTP on its LAN still gets 122 random bits.
export function newKey() {
  if (globalThis.crypto?.randomUUID) return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = [...b].map((x) => x.toString(16).padStart(2, '0')).join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

// Swaps in the server's body of this page (asked with HX-Request) into #targetId; reloads
// when it cannot.
export async function refresh(targetId) {
  const res = await fetch(location.pathname, { headers: { 'HX-Request': 'true' }, credentials: 'same-origin' });
  const target = document.getElementById(targetId);
  if (!res.ok || res.redirected || !target) {
    location.reload();
    return;
  }
  // Our own server's HTML, rendered from escaped templates.
  target.innerHTML = await res.text();
}

// This page's body as the server renders it for `HX-Request`, or null when it is refused; a
// lapsed session reloads the page (which leads to the sign-in).
export async function fragment() {
  const res = await fetch(location.pathname, { headers: { 'HX-Request': 'true' }, credentials: 'same-origin' });
  if (res.status === 401) { location.reload(); return null; }
  return res.ok ? res.text() : null;
}

// A redraw of this page from `fragment()` handed to `draw`. Redraws are asked for in turn (an
// event, a timer, an action) and may be answered out of turn: an answer asked for before one
// already drawn is older and dropped.
export function redrawInTurn(draw) {
  let asked = 0;
  let drawn = 0;
  return async () => {
    const mine = ++asked;
    const html = await fragment();
    if (html === null || mine < drawn) return;
    drawn = mine;
    draw(html);
  };
}

// One submission of `form`: its Idempotency-Key lasts until `run(key)` succeeds; a failure
// goes to `onError`. The submit button is disabled meanwhile.
export async function submitOnce(form, run, onError) {
  form.dataset.key ||= newKey();
  const button = form.querySelector('button[type=submit]');
  if (button) button.disabled = true;
  try {
    await run(form.dataset.key);
    delete form.dataset.key;
  } catch (e) {
    onError(e);
  } finally {
    if (button) button.disabled = false;
  }
}
