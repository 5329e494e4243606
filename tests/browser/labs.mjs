// The lab screens in headless Chromium. Run by tests/it/browser.rs, which starts the server
// with a visit of a cat and a veterinarian's account, and passes: BASE_URL, USER, PASSWORD,
// VISIT, CAT, ARTIFACTS. The vet orders a Total T4 on the visit page, opens the order, a
// result is imported as JSON through the API (from another tab), and the open order page
// shows it flagged High without a reload; the vet signs it off and sees the trend on the cat.
// Last, an unmatched result discarded on one tab shows as resolved on the other, live.
import { check, env, launch, signedIn } from './harness.mjs';

const base = env('BASE_URL');
const browser = await launch();
try {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await signedIn(context, `${base}/visits/${env('VISIT')}`);
  check(await page.locator('nav a[href="/labs"]').count() === 1, 'Labs is in the bar');

  // Order a Total T4 from the catalogue.
  await page.getByLabel('Order a test').selectOption('T4');
  await page.getByRole('button', { name: 'Order' }).click();
  const row = page.locator('#visit-labs tr.lab-order-row[data-status="ordered"]');
  await row.waitFor({ timeout: 10000 });
  const href = await row.locator('a').getAttribute('href');
  const order = href.split('/').pop();
  await page.goto(`${base}${href}`);
  await page.locator('#labs-live[data-state="live"]').waitFor({ timeout: 10000 });
  await page.evaluate(() => { window.notReloaded = true; });

  // The laboratory's result arrives through the API while the page is open.
  const other = await context.newPage();
  await other.goto(`${base}/labs`);
  const status = await other.evaluate(async ({ order, cat }) => {
    const res = await fetch('/api/lab-results/import', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'idempotency-key': crypto.randomUUID() },
      body: JSON.stringify({ groups: [{ order_id: order, patient_id: cat,
        results: [{ analyte: 'TT4', value: 6.2, unit: 'ug/dL' }] }] }),
    });
    return (await res.json()).outcomes?.[0]?.status;
  }, { order, cat: env('CAT') });
  check(status === 'matched', `the import matched (${status})`);

  const flagged = page.locator('tr.lab-result[data-analyte="TT4"][data-flag="H"]');
  await flagged.waitFor({ timeout: 5000 });
  check(await page.evaluate(() => window.notReloaded === true), 'the order page was not reloaded');
  check((await flagged.innerText()).includes('High'), 'the flag is spelled out');
  const dir = env('ARTIFACTS');
  await page.screenshot({ path: `${dir}/labs-order.png`, fullPage: true });

  // Sign-off, then the trend on the cat's page.
  await page.getByRole('button', { name: 'Sign off the results' }).click();
  await page.locator('#record-status[data-status="reviewed"]').waitFor({ timeout: 5000 });
  check(await page.locator('#lab-review').count() === 1, 'the review is shown');
  await page.goto(`${base}/patients/${env('CAT')}`);
  await page.locator('#patient-labs svg#trend-tt4 circle.chart-flagged[data-flag="H"]').waitFor({ timeout: 5000 });
  await page.screenshot({ path: `${dir}/labs-cat.png`, fullPage: true });

  // The unmatched queue open twice: discarded on one, the other shows it resolved (live).
  const entry = 'article.unmatched[data-status="open"]';
  await page.goto(`${base}/labs/unmatched`);
  await other.goto(`${base}/labs/unmatched`);
  for (const p of [page, other]) await p.locator('#labs-live[data-state="live"]').waitFor({ timeout: 10000 });
  const id = await page.locator(entry).first().getAttribute('data-unmatched');
  const mine = page.locator(`article.unmatched[data-unmatched="${id}"]`);
  const theirs = other.locator(`article.unmatched[data-unmatched="${id}"]`);
  check((await mine.locator('pre.raw').textContent()).includes('<b>not ours</b>'), 'the raw message is shown as text');
  await mine.locator('input.discard-reason').fill('Not our patient');
  await mine.locator('button.discard').click();
  await page.locator(`article.unmatched[data-unmatched="${id}"][data-status="discarded"]`).waitFor({ timeout: 5000 });
  await other.locator(`article.unmatched[data-unmatched="${id}"][data-status="resolved"]`).waitFor({ timeout: 5000 });
  check((await theirs.textContent()).includes('Already resolved by someone else'), 'the other tab says so');
  check(await theirs.locator('button.discard').count() === 0, 'and offers no button that would fail');
  await other.screenshot({ path: `${dir}/labs-unmatched.png`, fullPage: true });
  console.log(JSON.stringify({ ok: true }));
} finally {
  await browser.close();
}
