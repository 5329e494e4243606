// One client's or one cat's record, at /clients/{id} and /patients/{id} (the same page): the
// alerts, allergies and handling notes first and prominent, then the details, a client's cats
// and a cat's owner. The id comes from the address and goes to the API as it is (encoded);
// the API decides whether it names anything. All server text is set with textContent.
import { api } from './api.js';
import { recordHref } from './search.js';

const $ = (id) => document.getElementById(id);
const text = (tag, value, className) => {
  const e = document.createElement(tag);
  e.textContent = value;
  if (className) e.className = className;
  return e;
};

const sexLabels = { male: 'Male', female: 'Female' };
const reproLabels = { intact: 'intact', spayed: 'spayed', neutered: 'neutered' };
const statusLabels = { active: 'Active', inactive: 'Inactive', deceased: 'Deceased' };
const contactLabels = { email: 'Email', sms: 'Text message', phone: 'Phone' };

// Adds a term and its description to the facts list when there is something to say.
function fact(term, value) {
  if (value === null || value === undefined || value === '') return;
  const dd = document.createElement('dd');
  dd.append(value instanceof Node ? value : String(value));
  $('facts').append(text('dt', term), dd);
}

function link(href, label) {
  const a = text('a', label);
  a.href = href;
  return a;
}

function age(dob) {
  const months = Math.floor((Date.now() - new Date(dob)) / (30.44 * 86400000));
  return months < 12 ? `${months} months` : `${Math.floor(months / 12)} years`;
}

function list(id, items) {
  $(id).replaceChildren(...items.map((t) => text('li', t)));
  return items.length;
}

function showStatus(status) {
  const s = $('record-status');
  s.textContent = statusLabels[status] ?? status;
  s.dataset.status = status;
}

async function client(id) {
  const c = await api('GET', `/api/clients/${encodeURIComponent(id)}`);
  document.title = `${c.last_name}, ${c.first_name} · Clowder`;
  $('record-kind').textContent = 'Client';
  $('record-name').textContent = `${c.first_name} ${c.last_name}`;
  showStatus(c.active ? 'active' : 'inactive');
  const warnings = list('alerts', c.alerts ?? []);
  $('warnings').hidden = warnings === 0;
  fact('Phone', c.phone && link(`tel:${c.phone}`, c.phone));
  fact('Other phone', c.phone_secondary && link(`tel:${c.phone_secondary}`, c.phone_secondary));
  fact('Email', c.email && link(`mailto:${c.email}`, c.email));
  const a = c.address;
  if (a) {
    const lines = [a.line1, a.line2, [a.city, a.region, a.postal_code].filter(Boolean).join(' '), a.country].filter(Boolean);
    const address = document.createElement('span');
    lines.forEach((l, i) => { if (i) address.append(document.createElement('br')); address.append(l); });
    fact('Address', address);
  }
  fact('Prefers', contactLabels[c.preferred_contact] ?? c.preferred_contact);
  fact('Notes', c.notes);
  fact('Tags', (c.tags ?? []).join(', '));
  $('record').hidden = false;
  // The cats, after the client is on screen; a list the caller may not see stays hidden.
  try {
    const page = await api('GET', `/api/clients/${encodeURIComponent(id)}/patients?limit=100`);
    $('cats').replaceChildren(...page.items.map((p) => {
      const li = document.createElement('li');
      li.append(link(recordHref('patient', p.id), p.name));
      const more = [p.breed, p.status !== 'active' && statusLabels[p.status]].filter(Boolean).join(' · ');
      if (more) li.append(text('span', ` ${more}`, 'hint'));
      return li;
    }));
    if (!page.items.length) $('cats').replaceChildren(text('li', 'No cats on file.', 'hint'));
    $('cats-section').hidden = false;
  } catch {
    // Not allowed to list cats, or unavailable: the client's own record is still useful.
  }
}

async function patient(id) {
  const p = await api('GET', `/api/patients/${encodeURIComponent(id)}`);
  document.title = `${p.name} · Clowder`;
  $('record-kind').textContent = 'Cat';
  $('record-name').textContent = p.name;
  showStatus(p.status);
  // The owner for their name and alerts; a caller who may not see clients still sees the cat.
  // Shown in passing: not a visit to the owner's record (`recent=false`).
  const owner = await api('GET', `/api/clients/${encodeURIComponent(p.client_id)}?recent=false`).catch(() => null);
  const alerts = [...p.allergies.map((a) => `Allergy: ${a}`), ...(owner?.alerts ?? []).map((a) => `Owner: ${a}`)];
  const h = p.handling ?? {};
  const handling = [
    h.aggression && h.aggression !== 'none' && `Aggression: ${h.aggression}`,
    h.fear_anxiety && h.fear_anxiety !== 'none' && `Fear/anxiety: ${h.fear_anxiety}`,
    h.handling_difficulty && h.handling_difficulty !== 'none' && `Handling: ${h.handling_difficulty}`,
    h.muzzle && 'Muzzle', h.towel_wrap && 'Towel wrap',
    h.preferred_restraint && `Restraint: ${h.preferred_restraint}`,
    h.sedation_history && `Sedation: ${h.sedation_history}`,
    h.staff_safety_notes && `Safety: ${h.staff_safety_notes}`,
    p.behavior_notes && `Behaviour: ${p.behavior_notes}`,
  ].filter(Boolean);
  const warnings = list('alerts', alerts) + list('handling', handling);
  $('warnings').hidden = warnings === 0;
  fact('Owner', owner ? link(recordHref('client', owner.id), `${owner.last_name}, ${owner.first_name}`) : link(recordHref('client', p.client_id), 'Owner'));
  fact('Breed', p.breed);
  fact('Colour', p.color);
  fact('Sex', [sexLabels[p.sex], reproLabels[p.reproductive_status]].filter(Boolean).join(', '));
  if (p.date_of_birth) fact('Born', `${p.date_of_birth}${p.date_of_birth_estimated ? ' (estimated)' : ''} · ${age(p.date_of_birth)}`);
  if (p.deceased_on) fact('Died', p.deceased_on);
  fact('Microchip', p.microchip);
  fact('Insurance', p.insurance);
  $('record').hidden = false;
}

async function main() {
  // Everything after the kind is the id, still percent-encoded as typed; it is decoded once
  // here and encoded again for the API, so "/" or "?" in it cannot reach another endpoint.
  const m = location.pathname.match(/^\/(clients|patients)\/([^/]+)\/?$/);
  let id = null;
  try { id = m && decodeURIComponent(m[2]); } catch { id = null; }
  try {
    api('GET', '/api/auth/me').then((me) => { $('who').textContent = me.user.display_name; }).catch(() => {});
    if (!id) throw Object.assign(new Error('no such record'), { code: 'not_found' });
    await (m[1] === 'clients' ? client(id) : patient(id));
  } catch (e) {
    if (e.message === 'signed out') return; // api.js is on its way to the sign-in page
    const p = $('problem');
    p.textContent = e.code?.endsWith('not_found') ? `${m?.[1] === 'clients' ? 'Client' : 'Cat'} not found.`
      : e.code === 'forbidden' ? 'You may not view this record.' : `Could not load this record: ${e.message}`;
    p.hidden = false;
    $('record').hidden = true;
  } finally {
    $('loading').hidden = true;
  }
}

main();
