// The documents block of a cat's page in headless Chromium. Run by tests/it/browser.rs, which
// starts the server with a cat and passes: BASE_URL, USER, PASSWORD, PATIENT, ARTIFACTS.
// A PDF is uploaded through the form (category and tags), appears in the list without a
// reload, and its link downloads the very bytes; an executable renamed .pdf is refused by its
// content and the server's message shows next to the file field. Screenshot at 1280x800.
import { check, env, launch, signedInPage } from './harness.mjs';

const base = env('BASE_URL');
const dir = env('ARTIFACTS');
const browser = await launch();
const errors = [];
try {
  const { page } = await signedInPage(browser, base, `/patients/${env('PATIENT')}`, errors);
  const form = page.locator('#document-upload');
  await form.waitFor({ timeout: 5000 });

  const pdf = Buffer.from('%PDF-1.4\n% referral letter for the browser test\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n');
  await page.setInputFiles('#document-file', { name: 'referral letter.pdf', mimeType: 'application/pdf', buffer: pdf });
  await page.getByLabel('Category').selectOption('referral');
  await page.getByLabel('Tags (comma-separated)').fill('cardiology, echo');
  await form.getByRole('button', { name: 'Upload' }).click();
  const row = page.locator('#document-rows tr', { hasText: 'referral letter.pdf' });
  await row.waitFor({ timeout: 10000 });
  check((await row.textContent()).includes('Referral'), 'the row shows its category');
  check((await row.textContent()).includes('cardiology, echo'), 'the row shows its tags');

  // Its link, followed with the page's session, answers the bytes uploaded.
  const href = await row.locator('a.document-link').getAttribute('href');
  const res = await page.request.get(`${base}${href}`);
  check(res.status() === 200, `the download answered ${res.status()}`);
  check(res.headers()['content-type'] === 'application/pdf', `the download is ${res.headers()['content-type']}`);
  check(Buffer.compare(await res.body(), pdf) === 0, 'the download is the file uploaded');

  // A Windows program renamed .pdf: refused by its content, shown by the file field.
  const exe = Buffer.concat([Buffer.from('MZ'), Buffer.alloc(200, 0x90)]);
  await page.setInputFiles('#document-file', { name: 'invoice.pdf', mimeType: 'application/pdf', buffer: exe });
  await form.getByRole('button', { name: 'Upload' }).click();
  const refused = page.locator('#document-file-error:not([hidden])');
  await refused.waitFor({ timeout: 10000 });
  check(/executable/i.test(await refused.textContent()), `the refusal says why: ${await refused.textContent()}`);
  check((await page.locator('#document-rows tr', { hasText: 'invoice.pdf' }).count()) === 0, 'nothing was filed');
  await page.screenshot({ path: `${dir}/record-documents-1280.png`, fullPage: true });

  if (errors.length) throw new Error(`page errors: ${errors.join('; ')}`);
  console.log(JSON.stringify({ ok: true, bytes: pdf.length }));
} finally {
  await browser.close();
}
