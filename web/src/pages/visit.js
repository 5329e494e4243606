// The visit page's Sign button: signs the revision shown (a newer draft is refused with
// record_changed, so nobody signs text they did not read), then shows the signed note.
import { api } from './api.js';

const button = document.getElementById('sign');
const visit = document.getElementById('record')?.dataset.visit;
button?.addEventListener('click', async () => {
  button.disabled = true;
  try {
    await api('POST', `/api/visits/${visit}/note/sign`, { revision: Number(button.dataset.revision) });
    location.reload();
  } catch (e) {
    const box = document.getElementById('sign-error');
    box.textContent = e.message;
    box.hidden = false;
    button.disabled = false;
  }
});
