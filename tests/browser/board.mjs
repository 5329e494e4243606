// Two staff members on the Today board in headless Chromium: one checks a patient in to a
// room; the other's board must show the check-in and the room's new state without a reload.
// Then the room's tablet shows the cat's banner and starts the exam. Run by
// tests/it/browser.rs, which starts the server and passes: BASE_URL, USER_A, USER_B,
// PASSWORD, APPOINTMENT, ROOM, PATIENT_NAME, ALLERGY, DEVICE, PIN, ARTIFACTS.
// How long the other board took is printed (`seen_ms`), not asserted: a loaded CI machine
// can take longer than a clinic's server, and push latency is measured by
// `clowder-loadtests fanout` (docs/performance.md).
import { check, env, launch, signedIn } from './harness.mjs';

const base = env('BASE_URL');
const browser = await launch();
try {
  async function signIn(user) {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const page = await signedIn(context, `${base}/board`, user);
    await page.locator('#connection[data-state="live"]').waitFor({ timeout: 10000 });
    return page;
  }
  const front = await signIn(env('USER_A'));
  const vet = await signIn(env('USER_B'));
  const appointment = env('APPOINTMENT');
  const room = env('ROOM');
  const card = `[data-appointment="${appointment}"]`;
  await front.locator(card).waitFor({ timeout: 5000 });
  await vet.locator(card).waitFor({ timeout: 5000 });

  await front.locator(`${card} select`).selectOption(room);
  // Any event redraws the board; the room chosen must survive it. The appointment's reason
  // changes (an event for every board), and the chosen select is drawn anew.
  await front.locator(`${card} select`).evaluate((s) => { s.dataset.before = 'yes'; });
  const patched = await front.evaluate(async (id) => (await fetch(`/api/appointments/${id}`, {
    method: 'PATCH', credentials: 'same-origin', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ reason: 'annual check-up; the owner asks about teeth' }),
  })).status, appointment);
  check(patched === 200, `the reason was not changed: ${patched}`);
  await front.locator(`${card} select:not([data-before])`).waitFor({ timeout: 5000 });
  check(await front.locator(`${card} select`).inputValue() === room, 'the room chosen was lost when the board was redrawn');
  const started = Date.now();
  await front.locator(`${card} button`, { hasText: 'Check in' }).click();
  await vet.locator(`${card}[data-status="checked_in"]`).waitFor({ timeout: 5000 });
  await vet.locator(`#rooms li[data-room="${room}"][data-state="patient_waiting"]`).waitFor({ timeout: 5000 });
  const seenMs = Date.now() - started;
  await vet.locator('#queue li').first().waitFor({ timeout: 5000 });

  const dir = env('ARTIFACTS');
  await front.screenshot({ path: `${dir}/board-front-desk.png`, fullPage: true });
  await vet.screenshot({ path: `${dir}/board-vet.png`, fullPage: true });

  // The vet takes the room's tablet: the cat's banner with its allergy, then starts the
  // exam with one big button; the front desk's board follows.
  const tablet = await vet.context().newPage();
  await tablet.goto(`${base}/tablet?room=${room}`);
  await tablet.locator('#patient-name', { hasText: env('PATIENT_NAME') }).waitFor({ timeout: 5000 });
  await tablet.locator('#alerts li', { hasText: env('ALLERGY') }).waitFor({ timeout: 5000 });
  await tablet.getByRole('button', { name: 'Start the exam' }).click();
  await tablet.locator('#room-state', { hasText: 'In exam' }).waitFor({ timeout: 5000 });
  await front.locator(`#rooms li[data-room="${room}"][data-state="in_exam"]`).waitFor({ timeout: 5000 });
  await tablet.screenshot({ path: `${dir}/tablet.png`, fullPage: true });

  // The tablet knows its credential; when its session ends, the next touch asks for a PIN,
  // and the PIN unlocks it again.
  await tablet.evaluate((c) => localStorage.setItem('clowder.device', c), env('DEVICE'));
  await tablet.reload();
  await tablet.locator('#room-state', { hasText: 'In exam' }).waitFor({ timeout: 5000 });
  await tablet.evaluate(() => fetch('/api/auth/logout', { method: 'POST', credentials: 'same-origin' }));
  // A touch (or the live connection noticing first) finds the session gone: the PIN screen.
  await tablet.evaluate(() => document.querySelector('#actions button')?.click());
  await tablet.locator('#locked[open]').waitFor({ timeout: 5000 });
  await tablet.screenshot({ path: `${dir}/tablet-locked.png` });
  await tablet.getByLabel('Username').fill(env('USER_B'));
  await tablet.getByRole('textbox', { name: 'PIN' }).fill(env('PIN'));
  await tablet.getByRole('button', { name: 'Unlock' }).click();
  await tablet.locator('#locked').waitFor({ state: 'hidden', timeout: 5000 }).catch(async (e) => {
    throw new Error(`the PIN did not unlock the tablet: ${await tablet.locator('#pin-error').textContent()} (${e.message})`);
  });
  await tablet.getByRole('button', { name: 'Exam done — needs cleaning' }).click();
  await tablet.locator('#room-state', { hasText: 'Needs cleaning' }).waitFor({ timeout: 5000 });
  console.log(JSON.stringify({ ok: true, seen_ms: seenMs }));
} finally {
  await browser.close();
}
