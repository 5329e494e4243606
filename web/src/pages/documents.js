// The documents block of the client and cat pages: the upload form (multipart to
// /api/documents with one Idempotency-Key per submission; the server's refusals — too large,
// a type refused by its content, a bad field — shown next to their field) and "Show more",
// which appends the next page of rows the server renders (/documents/rows).
import { newKey } from './api.js';

const section = document.getElementById('documents-section');

// Rows of a /documents/rows answer, and its next "Show more" paragraph.
async function rowsOf(href) {
  const res = await fetch(href, { credentials: 'same-origin', headers: { 'HX-Request': 'true' } });
  if (!res.ok || res.redirected) throw new Error('the documents could not be read');
  // Our own server's HTML, rendered from escaped templates.
  const doc = new DOMParser().parseFromString(await res.text(), 'text/html');
  return { rows: [...doc.querySelectorAll('tbody tr')], more: doc.querySelector('p.documents-more') };
}

function showMore(more) {
  document.getElementById('documents-more').innerHTML = more ? more.innerHTML : '';
}

if (section) {
  const body = document.getElementById('document-rows');
  section.addEventListener('click', async (ev) => {
    const link = ev.target.closest('a.documents-more-link');
    if (!link) return;
    ev.preventDefault();
    const { rows, more } = await rowsOf(link.getAttribute('href'));
    body.append(...rows);
    showMore(more);
  });

  const form = document.getElementById('document-upload');
  const status = document.getElementById('document-status');
  const errorBox = (field) =>
    document.getElementById(`document-${field}-error`) ?? document.getElementById('document-error');
  form?.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    for (const p of form.querySelectorAll('.field-error')) p.hidden = true;
    const file = form.elements.file.files[0];
    if (!file) {
      const box = errorBox('file');
      box.textContent = 'Choose a file first';
      box.hidden = false;
      return;
    }
    const data = new FormData();
    data.append(section.dataset.ownerField, section.dataset.owner);
    data.append('category', form.elements.category.value);
    if (form.elements.tags.value.trim()) data.append('tags', form.elements.tags.value);
    data.append('file', file, file.name);
    form.dataset.key ||= newKey();
    const button = document.getElementById('document-submit');
    button.disabled = true;
    status.textContent = 'Uploading…';
    try {
      const res = await fetch('/api/documents', {
        method: 'POST',
        credentials: 'same-origin',
        headers: { 'idempotency-key': form.dataset.key },
        body: data,
      });
      if (res.status === 401) {
        location.href = '/signin?next=' + encodeURIComponent(location.pathname);
        return;
      }
      if (!res.ok) {
        const err = (await res.json().catch(() => null))?.error;
        const box = errorBox(err?.field ?? '');
        box.textContent = err?.message ?? `The upload failed (${res.status})`;
        box.hidden = false;
        status.textContent = '';
        // A refused file is a new submission once another is chosen.
        delete form.dataset.key;
        return;
      }
      delete form.dataset.key;
      form.reset();
      status.textContent = 'Filed.';
      const first = `/documents/rows?${section.dataset.ownerField}=${encodeURIComponent(section.dataset.owner)}`;
      const { rows, more } = await rowsOf(first);
      body.replaceChildren(...rows);
      showMore(more);
      section.querySelector('.documents-list').hidden = false;
      section.querySelector('.documents-empty').hidden = true;
    } catch (e) {
      const box = errorBox('');
      box.textContent = e.message;
      box.hidden = false;
      status.textContent = '';
    } finally {
      button.disabled = false;
    }
  });
}
