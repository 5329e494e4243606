// The treatment-plan screens in headless Chromium. Run by tests/it/browser.rs, which starts
// the server, copies the dental-cleaning starter and passes: BASE_URL, USER, PASSWORD,
// PATIENT, ARTIFACTS. A vet applies the protocol on the cat's page, lands on the plan, marks
// step 1 done and sees the progress move; marking it done again (a stale page) shows the
// 409 inline; the plan is then listed on the cat's page.
import { check, env, launch, signedIn } from './harness.mjs';

const base = env('BASE_URL');
const cat = `${base}/patients/${env('PATIENT')}`;
const dir = env('ARTIFACTS');
const browser = await launch();
try {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await signedIn(context, cat);

  await page.locator('#plans-section').getByText('No treatment plans.').waitFor();
  await page.getByLabel('Protocol').selectOption({ label: 'Dental cleaning' });
  await page.getByRole('button', { name: 'Apply' }).click();
  await page.waitForURL(/\/treatment-plans\//);
  const progress = page.locator('#plan-progress-text');
  check((await progress.innerText()).startsWith('0 of 3'), `progress before: ${await progress.innerText()}`);
  await page.screenshot({ path: `${dir}/plan-1280.png`, fullPage: true });

  // A second tab keeps the stale page, to try the same step again after it is done.
  const stale = await context.newPage();
  await stale.goto(page.url());

  const step1 = page.locator('li.step[data-step="1"]');
  await step1.getByRole('button', { name: 'Mark done' }).click();
  await page.locator('li.step[data-step="1"][data-state="done"]').waitFor({ timeout: 5000 });
  await page.locator('#plan-progress-text', { hasText: '1 of 3' }).waitFor({ timeout: 5000 });
  check(await page.locator('#plan-progress').getAttribute('value') === '1', 'the bar follows');
  check((await page.locator('#plan-history').innerText()).includes('Step done'), 'the history lists it');

  // A skip needs a reason: refused inline, nothing changed.
  const step2 = page.locator('li.step[data-step="2"]');
  await step2.getByRole('button', { name: 'Skip' }).click();
  await step2.locator('.field-error:not([hidden])').waitFor({ timeout: 5000 });
  check(await page.locator('li.step[data-step="2"][data-state="planned"]').count() === 1, 'step 2 still planned');

  await stale.locator('li.step[data-step="1"]').getByRole('button', { name: 'Mark done' }).click();
  const err = stale.locator('li.step[data-step="1"] .field-error:not([hidden]), #plan-error:not([hidden])');
  await err.first().waitFor({ timeout: 5000 });
  check(await err.first().getAttribute('data-code') === 'plan_step_already_settled', 'the 409 is shown');
  check((await err.first().innerText()).includes('already done'), `says why: ${await err.first().innerText()}`);
  await stale.screenshot({ path: `${dir}/plan-settled-1280.png`, fullPage: true });

  await page.goto(cat);
  const listed = page.locator('#patient-plans li');
  check((await listed.innerText()).includes('1 of 3 done'), `the cat page lists it: ${await listed.innerText()}`);
  console.log(JSON.stringify({ ok: true }));
} finally {
  await browser.close();
}
