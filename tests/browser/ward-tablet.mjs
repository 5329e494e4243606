// The ward's shared tablet in headless Chromium on a 10" tablet (800x1280). Run by
// tests/it/browser.rs, which starts the server, admits a cat with a pain-score check due,
// registers a tablet, and passes: BASE_URL, USER, PASSWORD (the tablet's session, a practice
// manager: ward:view only), NURSE, PIN (a vet tech's), CREDENTIAL (the tablet's), WARD,
// TREATMENT, DUE, ARTIFACTS. Done asks who did it: a wrong PIN is refused in the dialog, the
// nurse's PIN marks the slot (as hers: the test reads the sheet) and it leaves the board.
import { check, env, launch, signedInPage } from './harness.mjs';

const base = env('BASE_URL');
const slot = `li.slot[data-treatment="${env('TREATMENT')}"][data-due="${env('DUE')}"]`;
const browser = await launch();
const errors = [];
try {
  const { page } = await signedInPage(browser, base, `/wards/${env('WARD')}/tablet`, errors, { width: 800, height: 1280 });
  await page.locator('#ward-live[data-state="live"]').waitFor({ timeout: 10000 });
  await page.locator(`${slot} button.slot-done`).click();
  const dialog = page.locator('#pin-dialog');
  await dialog.waitFor({ state: 'visible', timeout: 5000 });
  // First use on this tablet: its credential is asked once.
  check(await page.locator('#pin-device-field').isVisible(), 'the credential is asked the first time');
  await page.getByLabel("This tablet's credential (once)").fill(env('CREDENTIAL'));
  await page.getByLabel('Username', { exact: true }).fill(env('NURSE'));
  await page.getByLabel('PIN', { exact: true }).fill('1470');
  await page.getByRole('button', { name: 'Mark' }).click();
  const error = page.locator('#pin-error:not([hidden])');
  await error.waitFor({ timeout: 5000 });
  check(/PIN/.test(await error.textContent()), `the refusal says why: ${await error.textContent()}`);
  check(await page.locator(slot).count() === 1, 'a wrong PIN marks nothing');
  await page.screenshot({ path: `${env('ARTIFACTS')}/ward-tablet-pin-800.png`, fullPage: true });

  await page.getByLabel('PIN', { exact: true }).fill(env('PIN'));
  await page.getByRole('button', { name: 'Mark' }).click();
  await dialog.waitFor({ state: 'hidden', timeout: 5000 });
  await page.locator(slot).waitFor({ state: 'detached', timeout: 5000 });
  const stored = await page.evaluate(() => localStorage.getItem('clowder.device'));
  check(stored === env('CREDENTIAL'), 'the tablet keeps its credential');
  await page.screenshot({ path: `${env('ARTIFACTS')}/ward-tablet-800.png`, fullPage: true });

  if (errors.length) throw new Error(`page errors: ${errors.join('; ')}`);
  console.log(JSON.stringify({ ok: true }));
} finally {
  await browser.close();
}
