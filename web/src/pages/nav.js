// The navigation bar every staff page shares (rendered on the server, templates/nav.html):
// the Menu button that opens it on narrow screens, and Sign out (POST /api/auth/logout,
// which ends the session and clears the cookie, then the sign-in page).
const toggle = document.querySelector('.nav-toggle');
const menu = document.getElementById('nav-menu');
toggle?.addEventListener('click', () => {
  const open = toggle.getAttribute('aria-expanded') !== 'true';
  toggle.setAttribute('aria-expanded', String(open));
  menu.classList.toggle('open', open);
});

document.getElementById('sign-out')?.addEventListener('click', async () => {
  await fetch('/api/auth/logout', { method: 'POST', credentials: 'same-origin' }).catch(() => {});
  location.href = '/signin';
});
