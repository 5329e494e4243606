// The protocol editor in headless Chromium. Run by tests/it/browser.rs, which starts the
// server and passes: BASE_URL, USER, PASSWORD, ARTIFACTS. A vet opens Protocols from the
// navigation, copies the dental-cleaning starter, tries a day offset out of range (refused
// next to that step's field), then moves step 2 to day 10 and saves: version 2, in the list
// too.
import { check, env, launch, signedIn } from './harness.mjs';

const base = env('BASE_URL');
const dir = env('ARTIFACTS');
const browser = await launch();
try {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await signedIn(context, `${base}/board`);
  await page.locator('#nav-menu').getByRole('link', { name: 'Protocols' }).click();
  await page.waitForURL(/\/protocols$/);
  await page.getByRole('button', { name: 'Copy Dental cleaning' }).click();
  await page.waitForURL(/\/protocols\/[0-9A-Z]{26}$/);
  check((await page.locator('#protocol-version').innerText()) === 'version 1', 'a copy is version 1');

  const day = () => page.locator('#protocol-steps > li.step-row').nth(1).getByLabel('Day', { exact: true });
  check((await day().inputValue()) === '7', `step 2 on day 7: ${await day().inputValue()}`);
  await day().fill('5000');
  await page.getByRole('button', { name: 'Save', exact: true }).click();
  const err = page.locator('#protocol-steps > li.step-row').nth(1).locator('.field-error[data-for="day_offset"]:not([hidden])');
  await err.waitFor({ timeout: 5000 });
  check(await err.getAttribute('data-field') === 'steps[1].day_offset', `the field: ${await err.getAttribute('data-field')}`);
  check((await err.innerText()).includes('3650'), `says why: ${await err.innerText()}`);
  check((await page.locator('#protocol-version').innerText()) === 'version 1', 'nothing saved');
  await page.screenshot({ path: `${dir}/protocol-refused-1280.png`, fullPage: true });

  await day().fill('10');
  await page.getByRole('button', { name: 'Save', exact: true }).click();
  await page.locator('#protocol-version', { hasText: 'version 2' }).waitFor({ timeout: 5000 });
  check((await day().inputValue()) === '10', `step 2 now on day 10: ${await day().inputValue()}`);
  check(await page.locator('.field-error:not([hidden])').count() === 0, 'no error left');
  await page.screenshot({ path: `${dir}/protocol-1280.png`, fullPage: true });

  await page.goto(`${base}/protocols`);
  const row = page.locator('#protocols tbody tr', { hasText: 'Dental cleaning' });
  check((await row.locator('td[data-label="Version"]').innerText()) === '2', 'the list shows version 2');
  console.log(JSON.stringify({ ok: true }));
} finally {
  await browser.close();
}
