// The consent screens. On the visit page: start a form from the chosen template (with the
// estimate a treatment-estimate template needs) and open its signing page. On the signing
// page: draw the signature with pointer events (mouse, finger or pen), Clear, and Sign, which
// posts the canvas as a PNG data URL; the server decides whether it is signed (a blank
// drawing is refused there too), and the page reloads read-only with the PDF's link.
import { api, newKey } from './api.js';

function showError(form, e, fallback) {
  for (const p of form.querySelectorAll('.field-error')) p.hidden = true;
  const field = e.field && form.querySelector(`.field-error[data-for="${e.field}"]`);
  const box = field ?? fallback;
  box.textContent = e.message;
  box.hidden = false;
}

const start = document.getElementById('consent-start');
start?.addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const visit = document.getElementById('record').dataset.visit;
  const template = start.elements.template_id;
  const estimate = start.elements.estimate_id.value;
  const body = { template_id: template.value, visit_id: visit };
  if (template.selectedOptions[0]?.dataset.needsEstimate === 'true' && estimate) body.estimate_id = estimate;
  try {
    const form = await api('POST', '/api/consent-forms', body);
    location.href = `/consents/${form.id}/sign`;
  } catch (e) {
    showError(start, e, document.getElementById('consent-start-error'));
  }
});

const sign = document.getElementById('consent-sign');
if (sign) {
  const canvas = document.getElementById('signature-pad');
  const ctx = canvas.getContext('2d');
  ctx.lineWidth = 3;
  ctx.lineCap = 'round';
  ctx.lineJoin = 'round';
  ctx.strokeStyle = '#14143c';
  let last = null;
  let drawn = false;
  // The canvas keeps its 600x200 pixels whatever size CSS gives it on screen.
  const at = (ev) => {
    const r = canvas.getBoundingClientRect();
    return [(ev.clientX - r.left) * canvas.width / r.width, (ev.clientY - r.top) * canvas.height / r.height];
  };
  canvas.addEventListener('pointerdown', (ev) => {
    canvas.setPointerCapture(ev.pointerId);
    last = at(ev);
    ctx.beginPath();
    ctx.arc(last[0], last[1], ctx.lineWidth / 2, 0, 2 * Math.PI);
    ctx.fillStyle = ctx.strokeStyle;
    ctx.fill();
    drawn = true;
  });
  canvas.addEventListener('pointermove', (ev) => {
    if (!last) return;
    const p = at(ev);
    ctx.beginPath();
    ctx.moveTo(last[0], last[1]);
    ctx.lineTo(p[0], p[1]);
    ctx.stroke();
    last = p;
  });
  for (const end of ['pointerup', 'pointercancel']) canvas.addEventListener(end, () => { last = null; });
  document.getElementById('clear').addEventListener('click', () => {
    ctx.clearRect(0, 0, canvas.width, canvas.height);
    drawn = false;
  });
  // One key per drawing: a retry of the same submission is answered the same.
  let key = newKey();
  canvas.addEventListener('pointerdown', () => { key = newKey(); });
  sign.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const id = document.getElementById('record').dataset.consent;
    const button = document.getElementById('sign');
    for (const p of sign.querySelectorAll('[role="alert"]')) p.hidden = true;
    if (!drawn) {
      showError(sign, { field: 'signature', message: 'Draw the signature first' }, document.getElementById('sign-error'));
      return;
    }
    button.disabled = true;
    const body = {
      signer_name: sign.elements.signer_name.value,
      relationship: sign.elements.relationship.value,
      signature: canvas.toDataURL('image/png'),
    };
    try {
      await api('POST', `/api/consent-forms/${id}/sign`, body, key);
      location.reload();
    } catch (e) {
      showError(sign, e, document.getElementById('sign-error'));
      button.disabled = false;
    }
  });
}
