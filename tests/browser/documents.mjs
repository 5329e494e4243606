// The printable documents from the screens in headless Chromium: a cat's page links its
// vaccination certificate and record summary; the certificate's link answers a PDF (checked by
// its content type and its first bytes), and the page shows no error. Run by
// tests/it/browser.rs, which starts the server and passes: BASE_URL, USER, PASSWORD, PATIENT,
// ARTIFACTS.
import { check, env, launch } from './harness.mjs';

const base = env('BASE_URL');
const dir = env('ARTIFACTS');
const browser = await launch();
const errors = [];
try {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  await page.goto(`${base}/patients/${env('PATIENT')}`);
  await page.waitForURL(/\/signin/);
  await page.getByLabel('Username').fill(env('USER'));
  await page.getByLabel('Password').fill(env('PASSWORD'));
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(`${base}/patients/${env('PATIENT')}`);
  page.on('pageerror', (e) => errors.push(e.message));

  const certificate = page.locator('#facts a[href$="/vaccination-certificate.pdf"]');
  await certificate.waitFor({ timeout: 5000 });
  await page.locator('#facts a[href$="/record-summary.pdf"]').waitFor({ timeout: 5000 });
  await page.screenshot({ path: `${dir}/documents-cat.png`, fullPage: true });

  // The link as the browser follows it, with the page's session.
  const href = await certificate.getAttribute('href');
  const res = await page.request.get(`${base}${href}`);
  check(res.status() === 200, `the certificate answered ${res.status()}`);
  check(res.headers()['content-type'] === 'application/pdf', `the certificate is ${res.headers()['content-type']}`);
  const body = await res.body();
  check(body.subarray(0, 5).toString('latin1') === '%PDF-', 'the certificate is not a PDF');
  check((res.headers()['content-disposition'] ?? '').startsWith('attachment'), 'the certificate is not a download');

  if (errors.length) throw new Error(`page errors: ${errors.join('; ')}`);
  console.log(JSON.stringify({ ok: true, bytes: body.length }));
} finally {
  await browser.close();
}
