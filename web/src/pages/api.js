// Calls to the REST API on the session cookie (same origin, so the browser sends Origin and
// the CSRF check passes). Errors carry the API's {"error": {code, message, field}}.
export async function api(method, path, body) {
  const init = { method, credentials: 'same-origin', headers: {} };
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
    throw e;
  }
  return data;
}
