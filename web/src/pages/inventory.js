// The inventory screens. On /inventory: the alerts and the stock table are re-read (the page's
// own server-rendered HTML) when a `stock_moved` frame arrives on the location's dashboard
// topic. On a purchase order: the receiving form posts the lines filled in to
// POST /api/inventory/purchase-orders/{id}/receive and reloads; a refusal is shown as sent.
import { api } from './api.js';
import { connectLive } from './live.js';

async function reread() {
  const res = await fetch(location.pathname, { credentials: 'same-origin' });
  if (!res.ok) return;
  const doc = new DOMParser().parseFromString(await res.text(), 'text/html');
  const fresh = doc.getElementById('inventory-live');
  const here = document.getElementById('inventory-live');
  if (fresh && here) here.replaceWith(fresh);
}

async function stockPage() {
  const locations = await api('GET', '/api/locations');
  if (!locations[0]) return;
  connectLive({
    topics: [`dashboard:${locations[0].id}`],
    onSnapshot: () => {},
    onEvent: (m) => { if (m.data?.type === 'stock_moved') reread().catch(() => {}); },
    onState: (s) => { document.body.dataset.live = s; },
  });
}

function orderPage(form) {
  const error = document.getElementById('receive-error');
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const lines = [];
    for (const row of form.querySelectorAll('tr[data-line]')) {
      const q = row.querySelector('input[name=quantity]');
      if (!q || q.value === '') continue;
      const exp = row.querySelector('input[name=expires_on]').value;
      lines.push({
        line: Number(row.dataset.line),
        quantity: Number(q.value),
        lot_number: row.querySelector('input[name=lot_number]').value,
        ...(exp ? { expires_on: exp } : {}),
      });
    }
    const body = { lines };
    const user = form.querySelector('input[name=witness_username]');
    if (user && user.value) body.witness = { username: user.value, pin: form.querySelector('input[name=witness_pin]').value };
    try {
      await api('POST', `/api/inventory/purchase-orders/${form.dataset.order}/receive`, body);
      location.reload();
    } catch (e) {
      if (error) { error.textContent = e.message; error.hidden = false; }
    }
  });
}

const form = document.getElementById('receive');
if (form) orderPage(form);
else if (document.getElementById('inventory-live')) stockPage().catch(() => {});
