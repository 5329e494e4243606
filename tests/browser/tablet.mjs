// The exam-room tablet's chart in headless Chromium, on a 10" tablet held upright (800x1280)
// and sideways (1280x800), one room each: the tablet (with its device credential) asks for a
// PIN; the vet's PIN unlocks it; "Open the chart" shows the cat's chart; the vet writes the
// SOAP note, the connection drops mid-note (context.setOffline), the vet keeps typing ("Offline
// — kept on this tablet"), the connection returns and the server's draft ends up with every
// word (polled with a deadline); the PIN session ends mid-note, the PIN brings the vet back to
// the chart and the words typed meanwhile reach the server; Sign makes the note read-only; vitals are entered (an
// impossible weight is refused next to its field, an unusual temperature comes back flagged
// with the normal range). The lab trends: the first cat's creatinine drawn with its high point
// flagged, the second cat's chart saying it has no result. Then the chart at 390 px wide has
// no horizontal scroll.
// Run by tests/it/browser.rs, which starts the server and passes:
// BASE_URL, USER, PIN, DEVICE, ROOM_A, VISIT_A, ROOM_B, VISIT_B, PATIENT_NAME, ARTIFACTS.
import { env, check, launch } from './harness.mjs';
import { randomUUID } from 'node:crypto';

const base = env('BASE_URL');
const dir = env('ARTIFACTS');
const browser = await launch();

/** Polls `fn` until it returns a truthy value, or fails after `ms`. */
async function until(what, fn, ms = 10000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The PIN screen, answered with the vet's PIN. */
async function unlock(page) {
  await page.locator('#locked[open]').waitFor({ timeout: 5000 });
  await page.getByLabel('Username').fill(env('USER'));
  await page.getByRole('textbox', { name: 'PIN' }).fill(env('PIN'));
  await page.getByRole('button', { name: 'Unlock' }).click();
}

async function tabletIn(viewport, room, visit, name, trend) {
  const context = await browser.newContext({ viewport });
  const page = await context.newPage();
  page.on('pageerror', (e) => console.error(`[${name}] page error: ${e.message}`));
  // The tablet was set up once with its credential; it has no session: the PIN screen.
  await page.goto(`${base}/signin`);
  await page.evaluate((c) => localStorage.setItem('clowder.device', c), env('DEVICE'));
  await page.goto(`${base}/tablet?room=${room}`);
  await unlock(page);
  await page.locator('#patient-name', { hasText: env('PATIENT_NAME') }).waitFor({ timeout: 5000 });
  await page.getByRole('link', { name: 'Open the chart' }).click();
  await page.waitForURL(/\/tablet\/chart\?room=/);
  await page.locator('#chart').waitFor();
  check(await page.locator('#banner h1').textContent() === env('PATIENT_NAME'), 'the chart is of the cat in the room');
  await page.screenshot({ path: `${dir}/tablet-chart-${name}.png`, fullPage: true });

  // Lab trends: room A's cat has two creatinines (the newer high), room B's none.
  const labs = page.locator('#labs-section');
  if (trend) {
    const crea = labs.locator('figure.lab-trend[data-analyte="CREA"]');
    check(await crea.locator('svg .chart-point').count() === 2, 'both creatinines are drawn');
    check(await crea.locator('svg .chart-flagged[data-flag="H"]').count() === 1, 'the high one is flagged H');
    check(await crea.locator('svg .chart-band').count() === 1, 'the reference range is drawn');
    await crea.screenshot({ path: `${dir}/tablet-lab-trend-${name}.png` });
  } else {
    await labs.getByText('No lab result on file.').waitFor();
  }

  // Write the note; the autosave says Saved.
  const subjective = page.getByLabel('Subjective');
  await subjective.fill('');
  await subjective.pressSequentially('Owner reports vomiting twice ', { delay: 5 });
  await page.locator('#save-status[data-state="saved"]').waitFor({ timeout: 5000 });

  // The connection drops mid-note: the vet keeps typing, and nothing is lost.
  await context.setOffline(true);
  await subjective.pressSequentially('since Tuesday, still eating.', { delay: 5 });
  const assessment = page.getByLabel('Assessment');
  await assessment.fill('');
  await assessment.pressSequentially('Suspect dietary indiscretion; rule out foreign body.', { delay: 5 });
  await page.locator('#save-status', { hasText: 'Offline — kept on this tablet' }).waitFor({ timeout: 5000 });
  const queued = await page.evaluate((v) => JSON.parse(localStorage.getItem(`clowder.note.${v}`)).queue.length, visit);
  check(queued > 0, 'unsent revisions are queued on the tablet');
  await page.screenshot({ path: `${dir}/tablet-offline-${name}.png` });
  await context.setOffline(false);

  // Back online: the queue is flushed in order, and the server's draft has every word.
  const words = ['Owner reports vomiting twice since Tuesday, still eating.',
    'Suspect dietary indiscretion; rule out foreign body.'];
  await until('the server draft has every word', async () => {
    const res = await page.request.get(`${base}/api/visits/${visit}/note`);
    if (!res.ok()) return false;
    const note = await res.json();
    return note.draft?.subjective === words[0] && note.draft?.assessment === words[1];
  });
  await page.locator('#save-status[data-state="saved"]').waitFor({ timeout: 5000 });

  // The PIN session ends mid-note: the next save finds it gone, the tablet asks for the PIN
  // and comes back to the chart, and the words typed meanwhile reach the server.
  // Through the context's request API (same cookies), not page.evaluate: the page may leave
  // for the PIN screen before an in-page fetch resolves, which would destroy its context.
  const out = await page.request.post(`${base}/api/auth/logout`, { headers: { origin: base } });
  check(out.ok(), `signed out: ${out.status()}`);
  const plan = 'Bland diet for 3 days; recheck if vomiting recurs.';
  await page.getByLabel('Plan').fill(plan);
  await page.waitForURL(/\/tablet\?room=.*then=chart/, { timeout: 5000 });
  await unlock(page);
  await page.waitForURL(/\/tablet\/chart\?room=/, { timeout: 5000 });
  await until('the plan typed while locked reached the server', async () => {
    const res = await page.request.get(`${base}/api/visits/${visit}/note`);
    return res.ok() && (await res.json()).draft?.plan === plan;
  });
  check(await page.getByLabel('Plan').inputValue() === plan, 'the plan is back on the screen');
  await page.locator('#save-status[data-state="saved"]').waitFor({ timeout: 5000 });

  // Sign: the note is read-only afterwards, with the words as written.
  await page.getByRole('button', { name: 'Sign the note' }).click();
  await page.locator('#note[data-signed="true"]').waitFor({ timeout: 5000 });
  check((await page.locator('#note-state').textContent()).startsWith('Signed '), 'the note says it is signed');
  check(await page.locator('textarea.soap').count() === 0, 'a signed note has no text areas');
  check((await page.locator('#note [data-section="subjective"]').textContent()) === words[0], 'the signed text');
  await page.locator('#addendum-form').waitFor();

  // Vitals with large controls: an impossible weight is refused next to its field.
  const vitals = page.locator('#vitals-form');
  await vitals.getByLabel('Weight (kg)').fill('80');
  await vitals.getByRole('button', { name: 'Record vitals' }).click();
  await vitals.locator('[data-field="measurements.weight.value"] .field-error').waitFor({ timeout: 5000 });
  await vitals.getByLabel('Weight (kg)').fill('4.2');
  await vitals.getByLabel('Temperature (°C)').fill('40.1');
  await vitals.getByLabel('Heart rate (/min)').fill('180');
  await vitals.locator('button.score[data-name="bcs"][data-value="5"]').click();
  await vitals.locator('button.score[data-name="pain"][data-value="2"]').click();
  await vitals.getByLabel('Mucous membranes').selectOption('pink');
  await vitals.getByRole('button', { name: 'Record vitals' }).click();
  await vitals.locator('ul.flags li', { hasText: 'normal feline range' }).waitFor({ timeout: 5000 });
  check(await vitals.locator('.field-error').count() === 0, 'the corrected vitals leave no error');

  // A vaccine from the protocol.
  const vx = page.locator('#vaccine-form');
  await vx.getByLabel('Vaccine').selectOption('fvrcp');
  await vx.getByLabel('Product').fill('Purevax RCP');
  await vx.getByLabel('Lot').fill('L2291');
  await vx.getByLabel('Expiry').fill('2030-01-31');
  await vx.getByLabel('Site').fill('right forelimb, distal');
  await vx.getByRole('button', { name: 'Record the vaccine' }).click();
  await vx.locator('.result-ok', { hasText: 'Recorded' }).waitFor({ timeout: 5000 });

  // A prescription: an NSAID for a cat with chronic kidney disease needs a written override;
  // the form asks for it, then shows the server's dose arithmetic and the warning.
  const rx = page.locator('#prescribe-form');
  await rx.getByLabel('Drug, form and strength').selectOption({ label: 'Meloxicam — suspension 0.5 mg/mL' });
  await rx.getByLabel('Dose per kg').fill('0.05');
  await rx.getByLabel('Quantity').fill('3');
  await rx.getByRole('button', { name: 'Prescribe' }).click();
  await rx.locator('[data-field="override_reason"] .field-error').waitFor({ timeout: 5000 });
  await rx.getByLabel('Override reason').fill('IRIS stage 1, owner informed, recheck renal values in 7 days');
  await rx.getByRole('button', { name: 'Prescribe' }).click();
  await rx.locator('.result-ok', { hasText: '0.05 mg/kg' }).waitFor({ timeout: 5000 });
  await rx.locator('.result-ok', { hasText: 'Warning' }).waitFor({ timeout: 5000 });
  await page.screenshot({ path: `${dir}/tablet-signed-${name}.png`, fullPage: true });
  return { context, page };
}

try {
  const upright = await tabletIn({ width: 800, height: 1280 }, env('ROOM_A'), env('VISIT_A'), '800', true);
  // A phone-sized window: the chart fits, no horizontal scroll.
  const page = upright.page;
  await page.setViewportSize({ width: 390, height: 844 });
  await page.reload();
  await page.locator('#chart').waitFor();
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  check(overflow <= 0, `the chart scrolls sideways at 390 px by ${overflow} px`);
  await page.screenshot({ path: `${dir}/tablet-chart-390.png`, fullPage: true });
  await upright.context.close();

  const sideways = await tabletIn({ width: 1280, height: 800 }, env('ROOM_B'), env('VISIT_B'), '1280', false);
  // The cat leaves the room: the chart follows the whiteboard and shows no cat.
  // Moved through the context's request API (same cookies), not page.evaluate: the chart
  // reloads as soon as the room changes, which would destroy an in-page script's context.
  for (const to of ['in_exam', 'needs_cleaning']) {
    const res = await sideways.page.request.post(`${base}/api/rooms/${env('ROOM_B')}/state`, {
      headers: { origin: base, 'idempotency-key': randomUUID() },
      data: { to },
    });
    check(res.ok(), `the room moved to ${to}: ${res.status()} ${await res.text()}`);
  }
  await sideways.page.locator('#empty', { hasText: 'No patient in this room' }).waitFor({ timeout: 5000 });
  await sideways.context.close();
  console.log(JSON.stringify({ ok: true }));
} finally {
  await browser.close();
}
