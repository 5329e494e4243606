// The accounting export screen in headless Chromium. Run by tests/it/browser.rs, which starts
// the server with an invoice issued and paid today, and passes BASE_URL, USER, PASSWORD, TODAY
// (the clinic's date), NUMBER (the invoice's number), ARTIFACTS.
import { readFile } from 'node:fs/promises';
import { check, env, launch, signedInPage } from './harness.mjs';

const base = env('BASE_URL');
const dir = env('ARTIFACTS');
const today = env('TODAY');
const browser = await launch();
const errors = [];
try {
  const { page } = await signedInPage(browser, base, '/reports', errors);
  await page.getByRole('link', { name: 'Accounting export' }).click();
  await page.waitForURL(`${base}/accounting`);
  await page.locator('#no-exports').waitFor({ timeout: 5000 });

  // Today's books as a CSV; the page shows the export with its file.
  await page.getByLabel('From', { exact: true }).fill(today);
  await page.getByLabel('To', { exact: true }).fill(today);
  await page.getByLabel('Format').selectOption('csv');
  await page.getByRole('button', { name: 'Export' }).click();
  const first = page.locator('#exports tbody tr');
  await first.first().waitFor({ timeout: 5000 });
  check(await first.count() === 1, 'one export listed');
  check((await first.first().textContent()).includes('Invoices and credit notes: 1 transaction'), 'its totals');
  const [download] = await Promise.all([page.waitForEvent('download'), first.first().getByRole('link').click()]);
  const csv = await readFile(await download.path(), 'utf8');
  check(csv.startsWith('kind,type,date,number,name,account,debit,credit,memo,source'), `the CSV's header: ${csv.slice(0, 80)}`);
  check(csv.includes(env('NUMBER')), 'the invoice is in the file');

  // The same day again: refused, naming the earlier export, and the re-export box opens.
  await page.getByLabel('From', { exact: true }).fill(today);
  await page.getByLabel('To', { exact: true }).fill(today);
  await page.getByRole('button', { name: 'Export' }).click();
  const refusal = page.locator('#export-error:not([hidden])');
  await refusal.waitFor({ timeout: 5000 });
  check((await refusal.textContent()).includes('exported already'), `the overlap is named: ${await refusal.textContent()}`);
  // Without a reason the server refuses the re-export, next to the reason.
  await page.getByLabel('Export these days again').check();
  await page.getByRole('button', { name: 'Export' }).click();
  await page.locator('[data-error-for="reason"]:not([hidden])').waitFor({ timeout: 5000 });
  await page.getByLabel('Why the days go out again').fill('The bookkeeper lost the file');
  await page.getByRole('button', { name: 'Export' }).click();
  await page.locator('#exports tbody tr').nth(1).waitFor({ timeout: 5000 });
  const newest = page.locator('#exports tbody tr').first();
  check((await newest.textContent()).includes('The bookkeeper lost the file'), 'the re-export, newest first, with its reason');
  await page.screenshot({ path: `${dir}/accounting-1280.png`, fullPage: true });

  // The chart of accounts: an empty name is refused next to its field; a good one is saved.
  await page.getByLabel('Sales tax payable').fill('  ');
  await page.getByRole('button', { name: 'Save the accounts' }).click();
  await page.locator('[data-error-for="tax_payable"]:not([hidden])').waitFor({ timeout: 5000 });
  await page.getByLabel('Sales tax payable').fill('Tax:State');
  await page.getByRole('button', { name: 'Add a category' }).click();
  await page.locator('#revenue tbody tr').last().getByLabel('Category').fill('Exams');
  await page.locator('#revenue tbody tr').last().getByLabel('Income account').fill('Income:Exams');
  await page.getByRole('button', { name: 'Save the accounts' }).click();
  await page.locator('#mapping-state', { hasText: 'Version 1' }).waitFor({ timeout: 5000 });
  check(await page.getByLabel('Sales tax payable').inputValue() === 'Tax:State', 'the account kept');
  check(await page.getByLabel('Income account for Exams').inputValue() === 'Income:Exams', 'the category kept');
  check(errors.length === 0, `page errors: ${errors.join('; ')}`);
  console.log(JSON.stringify({ ok: true }));
} finally {
  await browser.close();
}
