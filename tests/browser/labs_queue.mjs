// The lab lists live, and results typed on the unmatched queue, in headless Chromium. Run by
// tests/it/browser.rs, which starts the server with a visit of a cat holding a Total T4 and a
// Chem 10 order and a veterinarian's account, and passes: BASE_URL, USER, PASSWORD, CAT,
// CAT_NAME, T4, CHEM, ARTIFACTS. With /labs and /labs/unmatched open (never reloaded): an HL7
// result for the T4 moves its row to "awaiting review"; an HL7 message that cannot be read
// appears on the queue with the typed-results form and raises the count on /labs; the vet
// finds the cat's Chem 10 by name, types the results (a value that is not a number and an
// analyte the test does not report are refused on their row), attaches them, and the Chem 10
// row on /labs shows the partial results.
import { check, env, launch, signedIn } from './harness.mjs';

const base = env('BASE_URL');
const [t4, chem, cat] = [env('T4'), env('CHEM'), env('CAT')];
const browser = await launch();
try {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const board = await signedIn(context, `${base}/labs`);
  const queue = await context.newPage();
  await queue.goto(`${base}/labs/unmatched`);
  for (const p of [board, queue]) {
    await p.locator('#labs-live[data-state="live"]').waitFor({ timeout: 10000 });
    await p.evaluate(() => { window.notReloaded = true; });
  }
  check(await board.locator(`tr.lab-order-row[data-order="${t4}"][data-status="ordered"]`).count() === 1, 'the T4 awaits results');

  const hl7 = (control, segments) => board.evaluate(async (body) => {
    const res = await fetch('/api/lab-results/import', {
      method: 'POST',
      headers: { 'content-type': 'application/hl7-v2', 'idempotency-key': crypto.randomUUID() },
      body,
    });
    return res.text();
  }, `MSH|^~\\&|VETLAB|REFLAB|CLOWDER|CLINIC|20261206083000||ORU^R01|${control}|P|2.5.1\r${segments}`);

  // A result for the T4 arrives: its row moves to awaiting review without a reload.
  const ack = await hl7('B1', `PID|1||${cat}^^^CLOWDER\rOBR|1|${t4}||T4^Total T4\rOBX|1|NM|TT4^TT4||6.2|ug/dL|||||F\r`);
  check(ack.includes('MSA|AA'), `the result was filed: ${ack}`);
  await board.locator(`tr.lab-order-row[data-order="${t4}"][data-status="resulted"]`).waitFor({ timeout: 5000 });

  // A message that cannot be read: on the queue with the form to type it, and counted on /labs.
  const rejected = await hl7('B2', 'PID|1||nobody\r');
  check(rejected.includes('MSA|AR'), `the message was refused and kept: ${rejected}`);
  const entry = queue.locator('article.unmatched[data-status="open"]');
  await entry.waitFor({ timeout: 5000 });
  await board.locator('#unmatched-count[data-count="1"]').waitFor({ timeout: 5000 });
  check(await entry.locator('fieldset.typed-results').count() === 1, 'the typed-results form is offered');

  // Find the cat's Chem 10 by name and type the results.
  await entry.locator('input.find-cat').fill(env('CAT_NAME'));
  await entry.locator('button.find').click();
  await entry.locator('button.find-pick').first().click();
  // The entry offers every open order before the cat is picked: wait for the cat's own list
  // (the results close when it is in).
  await entry.locator('ul.find-results').waitFor({ state: 'hidden', timeout: 5000 });
  await entry.locator(`select.attach-order option[value="${chem}"]`).waitFor({ state: 'attached', timeout: 5000 });
  await entry.locator('select.attach-order').selectOption(chem);
  const rows = entry.locator('tr.typed-row');
  await rows.nth(0).locator('select.typed-analyte').selectOption('CREA');
  await rows.nth(0).locator('input.typed-value').fill('three hundred');
  await entry.locator('button.attach').click();
  const first = rows.nth(0).locator('.typed-error');
  check((await first.textContent()).includes('must be a number'), 'a value that is not a number is named on its row');
  await rows.nth(0).locator('input.typed-value').fill('300');
  await rows.nth(0).locator('select.typed-unit').selectOption('µmol/L');
  await entry.locator('button.typed-add').click();
  await rows.nth(1).locator('select.typed-analyte').selectOption('TT4');
  await rows.nth(1).locator('input.typed-value').fill('2.5');
  await entry.locator('button.attach').click();
  const second = rows.nth(1).locator('.typed-error');
  await queue.waitForFunction((el) => el.textContent.trim() !== '', await second.elementHandle(), { timeout: 5000 });
  check((await first.textContent()).trim() === '', 'the first row is fine now');
  const dir = env('ARTIFACTS');
  await queue.screenshot({ path: `${dir}/labs-typed-error.png`, fullPage: true });
  await rows.nth(1).locator('select.typed-analyte').selectOption('GLU');
  await rows.nth(1).locator('input.typed-value').fill('90');
  await entry.locator('button.attach').click();
  await queue.locator('article.unmatched[data-status="attached"]').waitFor({ timeout: 5000 });

  // The Chem 10 row on /labs now has partial results; neither page was reloaded.
  await board.locator(`tr.lab-order-row[data-order="${chem}"][data-status="partial"]`).waitFor({ timeout: 5000 });
  await board.locator('#unmatched-count').waitFor({ state: 'detached', timeout: 5000 });
  for (const p of [board, queue]) check(await p.evaluate(() => window.notReloaded === true), 'no reload');
  await board.screenshot({ path: `${dir}/labs-board.png`, fullPage: true });
  console.log(JSON.stringify({ ok: true }));
} finally {
  await browser.close();
}
