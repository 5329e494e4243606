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
    const next = new URLSearchParams(location.search).get('next');
    location.href = next && next.startsWith('/') && !next.startsWith('//') ? next : '/board';
    return;
  }
  const data = await res.json().catch(() => null);
  error.textContent = data?.error?.message ?? 'Sign-in failed';
  error.hidden = false;
});
