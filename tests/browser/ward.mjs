// The ward board in headless Chromium. Run by tests/it/browser.rs, which starts the server,
// admits a cat with a pain-score check due, and passes: BASE_URL, USER, PASSWORD, WARD,
// TREATMENT, DUE, ARTIFACTS. A vet marks the slot done on the tablet-sized board; the wall
// display (another page, never reloaded) drops it over /ws.
import { check, env, launch } from './harness.mjs';

const base = env('BASE_URL');
const slot = `li.slot[data-treatment="${env('TREATMENT')}"][data-due="${env('DUE')}"]`;
const browser = await launch();
try {
  const context = await browser.newContext({ viewport: { width: 800, height: 1280 } });
  const board = await context.newPage();
  board.on('pageerror', (e) => console.error(`page error: ${e.message}`));
  await board.goto(`${base}/wards/${env('WARD')}`);
  await board.waitForURL(/\/signin/);
  await board.getByLabel('Username').fill(env('USER'));
  await board.getByLabel('Password').fill(env('PASSWORD'));
  await board.getByRole('button', { name: 'Sign in' }).click();
  await board.waitForURL(`${base}/wards/${env('WARD')}`);

  const tv = await context.newPage();
  tv.on('pageerror', (e) => console.error(`tv page error: ${e.message}`));
  await tv.setViewportSize({ width: 1920, height: 1080 });
  await tv.goto(`${base}/wards/${env('WARD')}/display`);
  await tv.locator('#ward-live[data-state="live"]').waitFor({ timeout: 10000 });
  await tv.locator(slot).waitFor({ timeout: 5000 });
  check(await tv.locator('button').count() === 0 || await tv.locator('#ward button').count() === 0, 'no controls on the wall');
  const text = await tv.locator('#ward').innerText();
  check(!text.includes('@') && !text.includes('Smith'), 'no owner on the wall');
  const dir = env('ARTIFACTS');
  await tv.screenshot({ path: `${dir}/ward-tv.png`, fullPage: true });

  await board.locator('#ward-live[data-state="live"]').waitFor({ timeout: 10000 });
  await board.locator(`${slot} button.slot-done`).click();
  await board.locator(slot).waitFor({ state: 'detached', timeout: 5000 });
  await board.screenshot({ path: `${dir}/ward-board.png`, fullPage: true });
  // The wall display follows without a reload.
  await tv.locator(slot).waitFor({ state: 'detached', timeout: 5000 });
  console.log(JSON.stringify({ ok: true }));
} finally {
  await browser.close();
}
