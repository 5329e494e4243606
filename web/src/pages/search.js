// The staff search box: finds clients and cats as you type (GET /api/search), and when empty
// offers the records opened last (GET /api/recent) and the recent searches
// (GET /api/search/history). A staff page loads it as a module; it puts itself in the page's
// header (or in an element with id "search-slot"). `/` focuses it from anywhere but a field.
//
// Server text is only ever set as text (textContent, text nodes); matched words are wrapped
// in <mark> elements built here, never parsed from a string.
import { api } from './api.js';

const DEBOUNCE_MS = 120;
const kindLabels = { client: 'Client', patient: 'Cat' };
const statusLabels = { inactive: 'Inactive', deceased: 'Deceased' };
const fieldLabels = { breed: 'Breed', color: 'Colour', phone: 'Phone', email: 'Email', microchip: 'Microchip', number: 'Number' };

const node = (tag, className, ...children) => {
  const e = document.createElement(tag);
  if (className) e.className = className;
  e.append(...children);
  return e;
};

// The address of a record's page.
export function recordHref(kind, id) {
  return `/${kind === 'client' ? 'clients' : 'patients'}/${encodeURIComponent(id)}`;
}

// Fragments as nodes: text, with the matched ones in <mark>.
function fragmentNodes(fragments) {
  return fragments.map((f) => (f.matched ? node('mark', '', f.text) : document.createTextNode(f.text)));
}

// `text` as nodes, with every occurrence of a matched piece in <mark>. The label a hit shows
// ("Smith, John") is not the indexed value its highlight cuts up ("John Smith"), so the
// matched words are found again in the label.
function marked(text, pieces) {
  const ranges = [];
  for (const p of pieces) {
    if (!p.trim()) continue;
    for (let i = text.indexOf(p); i !== -1; i = text.indexOf(p, i + p.length)) ranges.push([i, i + p.length]);
  }
  ranges.sort((a, b) => a[0] - b[0]);
  const out = [];
  let at = 0;
  for (const [from, to] of ranges) {
    if (to <= at) continue;
    const start = Math.max(from, at);
    if (start > at) out.push(document.createTextNode(text.slice(at, start)));
    out.push(node('mark', '', text.slice(start, to)));
    at = to;
  }
  if (at < text.length) out.push(document.createTextNode(text.slice(at)));
  return out;
}

function matchedPieces(hit, field) {
  return (hit.highlights ?? []).filter((h) => h.field === field).flatMap((h) => h.fragments.filter((f) => f.matched).map((f) => f.text.trim()));
}

// The nodes of one record (a search hit or a recently viewed record): kind badge, name,
// owner of a cat, status badge if not active, and for a hit the other fields that matched.
function recordNodes(r) {
  const parts = [node('span', `search-kind search-kind-${r.kind}`, kindLabels[r.kind] ?? r.kind)];
  let name = r.label;
  // A cat's label is "Mittens (Smith, Jane)"; the owner gets a line of its own.
  if (r.kind === 'patient' && r.owner && name.endsWith(` (${r.owner.label})`)) {
    name = name.slice(0, -(r.owner.label.length + 3));
  }
  parts.push(node('span', 'search-name', ...marked(name, matchedPieces(r, 'name'))));
  if (r.status && r.status !== 'active') {
    parts.push(node('span', `search-status search-status-${r.status}`, statusLabels[r.status] ?? r.status));
  }
  if (r.owner) {
    parts.push(node('span', 'search-owner', 'Owner: ', ...marked(r.owner.label, matchedPieces(r, 'owner'))));
  }
  for (const h of r.highlights ?? []) {
    if (h.field === 'name' || h.field === 'owner') continue;
    parts.push(node('span', 'search-why', `${fieldLabels[h.field] ?? h.field}: `, ...fragmentNodes(h.fragments)));
  }
  return parts;
}

function mount(slot) {
  const box = node('div', 'search');
  box.setAttribute('role', 'search');
  const label = node('label', 'visually-hidden', 'Search clients and cats');
  label.htmlFor = 'search-input';
  const input = document.createElement('input');
  Object.assign(input, { id: 'search-input', type: 'text', autocomplete: 'off', spellcheck: false, placeholder: 'Search clients and cats — press /' });
  input.setAttribute('role', 'combobox');
  input.setAttribute('aria-autocomplete', 'list');
  input.setAttribute('aria-controls', 'search-list');
  input.setAttribute('aria-expanded', 'false');
  const list = node('div', 'search-list');
  list.id = 'search-list';
  list.setAttribute('role', 'listbox');
  list.setAttribute('aria-label', 'Search results');
  const clear = node('button', 'search-clear', 'Clear recent searches');
  clear.type = 'button';
  const popup = node('div', 'search-popup', list, clear);
  popup.hidden = true;
  // Announces the number of results to screen readers; the list itself is not live.
  const status = node('p', 'visually-hidden');
  status.setAttribute('role', 'status');
  box.append(label, input, popup, status);
  slot.append(box);

  let seq = 0; // the latest request; answers to older ones are dropped
  let timer = null;
  let options = []; // [{ el, choose }]
  let active = -1;

  function open() {
    popup.hidden = false;
    input.setAttribute('aria-expanded', 'true');
  }

  function close() {
    popup.hidden = true;
    input.setAttribute('aria-expanded', 'false');
    input.removeAttribute('aria-activedescendant');
    active = -1;
    for (const o of options) o.el.setAttribute('aria-selected', 'false');
  }

  function setActive(i) {
    if (!options.length) return;
    active = (i + options.length) % options.length;
    options.forEach((o, j) => o.el.setAttribute('aria-selected', String(j === active)));
    const el = options[active].el;
    input.setAttribute('aria-activedescendant', el.id);
    el.scrollIntoView({ block: 'nearest' });
  }

  function option(children, choose, className = '') {
    const el = node('div', `search-option ${className}`.trim(), ...children);
    el.id = `search-option-${options.length}`;
    el.setAttribute('role', 'option');
    el.setAttribute('aria-selected', 'false');
    el.addEventListener('click', choose);
    options.push({ el, choose });
    return el;
  }

  function group(title, children) {
    const id = `search-group-${title.toLowerCase().replace(/\W+/g, '-')}`;
    const heading = node('div', 'search-heading', title);
    heading.id = id;
    heading.setAttribute('role', 'presentation');
    const g = node('div', 'search-group', heading, ...children);
    g.setAttribute('role', 'group');
    g.setAttribute('aria-labelledby', id);
    return g;
  }

  function message(text) {
    return node('div', 'search-message', text);
  }

  // `query` is the text whose answer is shown (absent for the recent lists), so a test or a
  // style can tell results from what the empty box offers.
  function show(children, { history = false, query = null } = {}) {
    list.replaceChildren(...children);
    if (query === null) delete list.dataset.query;
    else list.dataset.query = query;
    clear.hidden = !history;
    active = -1;
    input.removeAttribute('aria-activedescendant');
    if (document.activeElement === input) open();
  }

  const go = (r) => () => { location.href = recordHref(r.kind, r.id); };

  async function showRecent() {
    const mine = ++seq;
    const [recent, history] = await Promise.all([
      api('GET', '/api/recent').catch(() => null),
      api('GET', '/api/search/history').catch(() => null),
    ]);
    if (mine !== seq) return;
    options = [];
    const groups = [];
    if (recent?.items?.length) {
      groups.push(group('Recently viewed', recent.items.map((r) => option(recordNodes(r), go(r)))));
    }
    if (history?.items?.length) {
      groups.push(group('Recent searches', history.items.map((h) => option(
        [node('span', 'search-kind search-kind-query', 'Search'), node('span', 'search-name', h.query)],
        () => { input.value = h.query; input.focus(); search(); },
        'search-past',
      ))));
    }
    if (!groups.length) {
      groups.push(message(recent || history ? 'Type a name, a phone number or a microchip.' : 'Search is unavailable right now.'));
    }
    show(groups, { history: Boolean(history?.items?.length) });
    status.textContent = '';
  }

  async function search() {
    clearTimeout(timer);
    timer = null;
    const q = input.value;
    if (!q.trim()) return showRecent();
    const mine = ++seq;
    let answer;
    try {
      answer = await api('GET', `/api/search?q=${encodeURIComponent(q)}`);
    } catch (e) {
      if (mine !== seq) return;
      options = [];
      // A refused query (too long) shows the server's reason; anything else stays quiet.
      const text = e.code === 'validation_failed' ? e.message : e.code === 'forbidden' ? 'You may not search records.' : 'Search is unavailable right now.';
      show([message(text)], { query: q });
      status.textContent = text;
      return;
    }
    if (mine !== seq) return;
    options = [];
    const hits = answer?.hits ?? [];
    show(hits.length ? hits.map((h) => option(recordNodes(h), go(h))) : [message(`Nothing found for “${q.trim()}”.`)], { query: q });
    status.textContent = hits.length === 1 ? '1 result' : `${hits.length} results`;
  }

  input.addEventListener('input', () => {
    clearTimeout(timer);
    timer = null;
    if (!input.value.trim()) return void search();
    timer = setTimeout(search, DEBOUNCE_MS);
  });
  input.addEventListener('focus', () => {
    if (!input.value.trim()) showRecent();
    else if (list.childElementCount) open();
  });
  input.addEventListener('keydown', (ev) => {
    if (ev.key === 'ArrowDown' || ev.key === 'ArrowUp') {
      ev.preventDefault();
      if (popup.hidden) { open(); return; }
      setActive(active === -1 ? (ev.key === 'ArrowDown' ? 0 : -1) : active + (ev.key === 'ArrowDown' ? 1 : -1));
    } else if (ev.key === 'Enter') {
      ev.preventDefault();
      // The answer to what is in the box may still be on its way: ask now rather than open
      // a result of the previous words.
      if (timer !== null && input.value.trim()) { search().then(() => options[0]?.choose()); return; }
      (options[active] ?? options[0])?.choose();
    } else if (ev.key === 'Escape') {
      if (!popup.hidden) { ev.preventDefault(); close(); } else if (input.value) { input.value = ''; }
    }
  });
  // Clicks in the popup must not take the focus from the box (which would close it first).
  popup.addEventListener('mousedown', (ev) => ev.preventDefault());
  box.addEventListener('focusout', (ev) => { if (!box.contains(ev.relatedTarget)) close(); });
  clear.addEventListener('click', async () => {
    await api('DELETE', '/api/search/history').catch(() => null);
    showRecent();
  });

  document.addEventListener('keydown', (ev) => {
    if (ev.key !== '/' || ev.ctrlKey || ev.metaKey || ev.altKey) return;
    const t = ev.target;
    if (t instanceof HTMLElement && (t.closest('input, textarea, select, [contenteditable=""], [contenteditable="true"]'))) return;
    ev.preventDefault();
    input.focus();
    input.select();
  });
}

const slot = document.getElementById('search-slot') ?? document.querySelector('header');
if (slot) mount(slot);
