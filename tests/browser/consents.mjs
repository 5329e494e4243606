// The consent signing page in headless Chromium. Run by tests/it/browser.rs, which starts the
// server with a cat and an open visit, and passes: BASE_URL, USER, PASSWORD, VISIT, ARTIFACTS.
// From the visit page a consent is started from a template and its signing page opens; Sign
// with nothing drawn is refused inline; strokes are drawn with the mouse (and cleared, and
// drawn again), the form is signed, the page turns read-only with the signed PDF's link, and
// the PDF is saved as consent.pdf for the test to read. Screenshots at 800x1280 and 1280x800.
import { writeFile } from 'node:fs/promises';
import { check, env, launch, signedInPage } from './harness.mjs';

const base = env('BASE_URL');
const dir = env('ARTIFACTS');
const browser = await launch();
const errors = [];
try {
  const { page } = await signedInPage(browser, base, `/visits/${env('VISIT')}`, errors, {
    width: 800,
    height: 1280,
  });

  await page.getByLabel('Template').selectOption({ index: 0 });
  await page.getByRole('button', { name: 'Start the consent' }).click();
  await page.waitForURL(/\/consents\/[0-9A-Z]{26}\/sign$/);
  await page.locator('#consent-text').waitFor();

  const pad = page.locator('#signature-pad');
  const strokes = async (n) => {
    const box = await pad.boundingBox();
    for (let s = 0; s < n; s++) {
      await page.mouse.move(box.x + 20 + s * 40, box.y + box.height * 0.7);
      await page.mouse.down();
      for (let i = 1; i <= 8; i++) {
        await page.mouse.move(box.x + 20 + s * 40 + i * 15, box.y + box.height * (0.7 - (i % 2) * 0.4), { steps: 3 });
      }
      await page.mouse.up();
    }
  };
  // Nothing drawn: refused next to the canvas, nothing sent.
  await page.getByRole('button', { name: 'Sign', exact: true }).click();
  await page.locator('.field-error[data-for="signature"]', { hasText: 'Draw the signature' }).waitFor({ timeout: 5000 });
  // An empty name: the server's refusal next to its field.
  await page.getByLabel("Signer's name").fill('');
  await strokes(1);
  await page.getByRole('button', { name: 'Sign', exact: true }).click();
  await page.locator('.field-error[data-for="signer_name"]:not([hidden])').waitFor({ timeout: 5000 });
  // Cleared, drawn again, signed.
  await page.getByRole('button', { name: 'Clear' }).click();
  await strokes(3);
  await page.getByLabel("Signer's name").fill('Jon Q Smith');
  await page.getByLabel('Relationship to the cat').selectOption('owner');
  await page.screenshot({ path: `${dir}/consent-sign-800.png`, fullPage: true });
  await page.getByRole('button', { name: 'Sign', exact: true }).click();
  await page.locator('#consent-signed', { hasText: 'by Jon Q Smith (owner)' }).waitFor({ timeout: 10000 });
  check(await pad.count() === 0, 'the signed form is read-only');
  await page.setViewportSize({ width: 1280, height: 800 });
  await page.screenshot({ path: `${dir}/consent-signed-1280.png`, fullPage: true });

  const href = await page.locator('#consent-pdf').getAttribute('href');
  const res = await page.request.get(`${base}${href}`);
  check(res.ok() && res.headers()['content-type'] === 'application/pdf', `the PDF answers (${res.status()})`);
  await writeFile(`${dir}/consent.pdf`, await res.body());
  check(errors.length === 0, `page errors: ${errors.join('; ')}`);
  console.log(JSON.stringify({ ok: true, pdf: href }));
} finally {
  await browser.close();
}
