// The sign-in form: posts to /api/auth/login (which sets the session cookie), then goes on.
const form = document.getElementById('signin');
const error = document.getElementById('error');
form.addEventListener('submit', async (ev) => {
  ev.preventDefault();
  error.hidden = true;
  const body = { username: form.username.value.trim(), password: form.password.value };
  if (form.totp.value.trim()) body.totp_code = form.totp.value.trim();
  const res = await fetch('/api/auth/login', {
    method: 'POST', credentials: 'same-origin', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body),
  });
  if (res.ok) {
    location.href = sameOriginPath(new URLSearchParams(location.search).get('next'));
    return;
  }
  const data = await res.json().catch(() => null);
  error.textContent = data?.error?.message ?? 'Sign-in failed';
  error.hidden = false;
});

// Where to go after signing in: a path on this server only. Resolving it is what a browser
// does with it (`/\evil.example` and `//evil.example` both name another host), so anything
// that resolves elsewhere goes to the board instead.
function sameOriginPath(next) {
  if (!next) return '/board';
  try {
    const url = new URL(next, location.origin);
    return url.origin === location.origin ? url.pathname + url.search + url.hash : '/board';
  } catch {
    return '/board';
  }
}
