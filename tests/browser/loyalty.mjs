// The loyalty programme's settings screen in headless Chromium. Run by tests/it/browser.rs,
// which starts the server with a "Dental cleaning" in the price list, and passes BASE_URL,
// USER, PASSWORD, ARTIFACTS.
import { check, env, launch, signedInPage } from './harness.mjs';

const base = env('BASE_URL');
const dir = env('ARTIFACTS');
const browser = await launch();
const errors = [];
try {
  const { context, page } = await signedInPage(browser, base, '/invoices', errors);

  // From the invoices list to the settings: off by default.
  await page.getByRole('link', { name: 'Loyalty programme settings' }).click();
  await page.waitForURL(`${base}/loyalty`);
  const on = page.getByLabel('The programme is on');
  check(!(await on.isChecked()), 'off by default');

  // A value out of range is refused by the server, shown next to its field; nothing saved.
  await on.check();
  await page.getByLabel(/^Points for each whole 1.00/).fill('20000');
  await page.getByRole('button', { name: 'Save' }).click();
  const perUnitError = page.locator('[data-error-for="points_per_unit"]:not([hidden])');
  await perUnitError.waitFor({ timeout: 5000 });
  check((await perUnitError.textContent()).length > 0, 'the refusal says why');

  // The rules, a bonus for a service found in the price list, and expiry; saved and shown.
  await page.getByLabel(/^Points for each whole 1.00/).fill('2');
  await page.getByLabel(/^Points on a cat's birthday/).fill('50');
  await page.getByLabel('Each step is worth').fill('1.50');
  await page.getByLabel(/^Unspent points expire after/).fill('12');
  await page.getByLabel(/^Add a bonus/).fill('dental');
  await page.getByRole('button', { name: 'Search' }).click();
  await page.getByRole('button', { name: 'Add Dental cleaning' }).click();
  await page.getByLabel('Bonus points for Dental cleaning').fill('25');
  await page.getByRole('button', { name: 'Save' }).click();
  await page.locator('#updated').waitFor({ timeout: 5000 });
  check(await page.getByLabel('The programme is on').isChecked(), 'saved on');
  check(await page.getByLabel('Bonus points for Dental cleaning').inputValue() === '25', 'the bonus kept');
  check(await page.getByLabel('Each step is worth').inputValue() === '1.50', 'the worth kept');
  await page.screenshot({ path: `${dir}/loyalty-settings-1280.png`, fullPage: true });

  // A phone: nothing sticks out sideways.
  const cookies = await context.cookies();
  const small = await browser.newContext({ viewport: { width: 390, height: 844 }, hasTouch: true, isMobile: true });
  await small.addCookies(cookies);
  const p = await small.newPage();
  p.on('pageerror', (e) => errors.push(e.message));
  await p.goto(`${base}/loyalty`);
  await p.locator('h1').waitFor({ timeout: 5000 });
  const wide = await p.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  check(wide <= 0, `390px: /loyalty is ${wide}px wider than the screen`);
  await p.screenshot({ path: `${dir}/loyalty-settings-390.png`, fullPage: true });
  await small.close();
  check(errors.length === 0, `page errors: ${errors.join('; ')}`);
  console.log(JSON.stringify({ ok: true }));
} finally {
  await browser.close();
}
