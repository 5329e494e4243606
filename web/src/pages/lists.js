// The live filter of a list page (Clients, Cats): as a name is typed or a status chosen, the
// page asks its own address for the results alone (header HX-Request, answered with the
// server-rendered fragment templates/list_results.html) and swaps them in; the address
// follows the filter (history.replaceState), so it can be bookmarked or reloaded. Without
// this script the form is an ordinary GET of the same page.
//
// Why our own module and not htmx: htmx ships as an npm package (no maintained crate
// carries its script), and the binary must run with no build step and no third-party source
// in the repository; this is the one interaction the lists need.
const DEBOUNCE_MS = 200;

const form = document.querySelector('form[data-live-filter]');
const target = form && document.getElementById(form.dataset.liveFilter);
let timer = null;
let inflight = null;

// The address of the form's filter: only fields that say something, as the server does.
function addressOf() {
  const params = new URLSearchParams();
  const name = form.elements.name.value.trim();
  if (name) params.set('name', name);
  const status = form.elements.status;
  if (status.value !== status.options[0].value) params.set('status', status.value);
  const q = params.toString();
  return form.getAttribute('action') + (q ? `?${q}` : '');
}

// The list, the address and `data-query` all say the filter this request was made for, not
// what has been typed since (a newer request follows for that).
async function update() {
  const url = addressOf();
  const query = form.elements.name.value.trim();
  inflight?.abort();
  inflight = new AbortController();
  let res;
  let html;
  try {
    res = await fetch(url, { headers: { 'HX-Request': 'true' }, credentials: 'same-origin', signal: inflight.signal });
    // Signed out (redirected to the sign-in page) or refused: load the page itself, which
    // shows why.
    if (res.redirected || !res.ok) {
      location.href = url;
      return;
    }
    html = await res.text();
  } catch (e) {
    if (e.name === 'AbortError') return; // a newer filter replaced this one
    throw e;
  }
  // The fragment is HTML rendered by our own server from escaped templates.
  target.innerHTML = html;
  target.dataset.query = query;
  history.replaceState(null, '', url);
}

if (form && target) {
  form.querySelector('.filter-submit')?.classList.add('visually-hidden');
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    clearTimeout(timer);
    update();
  });
  form.elements.name.addEventListener('input', () => {
    clearTimeout(timer);
    timer = setTimeout(update, DEBOUNCE_MS);
  });
  form.elements.status.addEventListener('change', () => {
    clearTimeout(timer);
    update();
  });
}
