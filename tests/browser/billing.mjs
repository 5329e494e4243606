// The invoice builder at checkout in headless Chromium. Run by tests/it/browser.rs, which
// starts the server (keeping credit on account), opens a walk-in visit (its draft holds one
// uncharged entry: a walk-in has no exam fee), adds two price-list items, gives the client
// 20.00 of credit and 1000 points, and passes: BASE_URL, USER, PASSWORD, VISIT,
// CLIENT, ARTIFACTS. Late on, part of the credit payment goes back to the account and is then
// paid out in cash as a refund of credit.
import { check, env, launch, signedInPage } from './harness.mjs';

const base = env('BASE_URL');
const dir = env('ARTIFACTS');
const browser = await launch();
const errors = [];
try {
  const { context, page } = await signedInPage(browser, base, `/visits/${env('VISIT')}`, errors);

  // The visit links its draft; the draft shows what was done but not charged.
  await page.getByRole('link', { name: 'Draft invoice' }).click();
  await page.waitForURL(/\/invoices\/[0-9A-Z]{26}$/);
  const status = page.locator('#invoice-status');
  check(await status.textContent() === 'Draft', 'a draft');
  await page.locator('#uncharged li[data-source^="visit:"]').waitFor({ timeout: 2000 });
  check(await page.locator('#no-lines').count() === 1, 'no lines yet');

  // Charge it from the price list, then mark it resolved.
  await page.locator('#uncharged').getByRole('button', { name: 'Find in the price list' }).click();
  await page.getByLabel('From the price list').fill('sick exam');
  await page.getByRole('button', { name: 'Search' }).click();
  await page.getByRole('button', { name: 'Add Sick visit exam' }).click();
  await page.locator('#lines tr[data-line]', { hasText: 'Sick visit exam' }).waitFor({ timeout: 5000 });
  check(await page.locator('#t-total').textContent() === '78.00', 'the server\'s total after one line');
  await page.locator('#uncharged').getByRole('button', { name: 'Resolve' }).click();
  await page.locator('#uncharged .resolved').waitFor({ timeout: 5000 });

  // A second line with a quantity, then a line discount: every total is the server's.
  await page.getByLabel('From the price list').fill('gabapentin');
  await page.getByLabel('Quantity', { exact: true }).fill('10');
  await page.getByRole('button', { name: 'Search' }).click();
  await page.getByRole('button', { name: 'Add Gabapentin 100 mg capsule' }).click();
  await page.locator('#lines tr[data-line]', { hasText: 'Gabapentin' }).waitFor({ timeout: 5000 });
  await page.locator('#t-total', { hasText: '87.50' }).waitFor({ timeout: 2000 });
  const exam = page.locator('#lines tr[data-line]', { hasText: 'Sick visit exam' });
  await exam.getByLabel('Discount of Sick visit exam', { exact: true }).selectOption('percent');
  await exam.getByLabel('Discount value of Sick visit exam').fill('10');
  await exam.getByRole('button', { name: 'Save' }).click();
  await page.locator('#t-total', { hasText: '79.70' }).waitFor({ timeout: 5000 });
  // A line of one's own (the quantity field is shared with the search: back to 1).
  await page.getByLabel('Quantity', { exact: true }).fill('1');
  await page.getByLabel('Or a line of your own').fill('Hairball paste');
  await page.getByLabel('Price', { exact: true }).fill('4.30');
  await page.getByRole('button', { name: 'Add line' }).click();
  await page.locator('#t-total', { hasText: '84.00' }).waitFor({ timeout: 5000 });
  // A refusal is shown next to its field, and changes nothing.
  const gaba = page.locator('#lines tr[data-line]', { hasText: 'Gabapentin' });
  await gaba.getByLabel('Quantity of Gabapentin 100 mg capsule').fill('0.0001');
  await gaba.getByRole('button', { name: 'Save' }).click();
  await gaba.locator('.field-error:not([hidden])').waitFor({ timeout: 5000 });
  check(await page.locator('#t-total').textContent() === '84.00', 'a refused change changes nothing');
  await page.screenshot({ path: `${dir}/billing-draft-1280.png`, fullPage: true });

  // Loyalty points: the client's balance and worth shown; more than held refused inline.
  const redeem = page.locator('#redeem');
  check((await redeem.locator('#points-available').textContent()).includes('1000 points to redeem, worth 10.00'), 'the points shown');
  await redeem.getByLabel('Redeem points').fill('5000');
  await redeem.getByRole('button', { name: 'Redeem' }).click();
  await redeem.locator('.field-error:not([hidden])').waitFor({ timeout: 5000 });
  check(await page.locator('#t-total').textContent() === '84.00', 'refused points change nothing');
  await redeem.getByLabel('Redeem points').fill('500');
  await redeem.getByRole('button', { name: 'Redeem' }).click();
  await page.locator('#t-total', { hasText: '79.00' }).waitFor({ timeout: 5000 });
  check((await page.locator('#points-redeemed').textContent()).includes('Redeeming 500 points: 5.00 off'), 'the redemption shown');

  // Issue, then take part in cash.
  await page.getByRole('button', { name: 'Issue invoice' }).click();
  await status.filter({ hasText: 'Issued' }).waitFor({ timeout: 5000 });
  const number = await page.locator('#invoice-number').textContent();
  check(/^INV-\d{4}-\d{6}$/.test(number), `numbered on issue: ${number}`);
  await page.getByLabel(/^Amount \(at most/).fill('50.00');
  await page.locator('#pay').getByLabel('Method').selectOption('cash');
  await page.getByRole('button', { name: 'Take payment' }).click();
  await status.filter({ hasText: 'Partly paid' }).waitFor({ timeout: 5000 });

  // A refund above what was paid is refused next to its amount; 10.00 back is recorded.
  await page.locator('#refund-box summary').click();
  const refund = page.locator('#refund');
  await refund.getByLabel('Amount', { exact: true }).fill('60.00');
  await refund.getByLabel('Reason').fill('Charged twice for the paste');
  await refund.getByRole('button', { name: 'Refund' }).click();
  await refund.locator('[data-error-for="amount"]:not([hidden])').waitFor({ timeout: 5000 });
  check(await page.locator('#t-balance').textContent() === '29.00', 'a refused refund changes nothing');
  await refund.getByLabel('Amount', { exact: true }).fill('10.00');
  await refund.getByRole('button', { name: 'Refund' }).click();
  await page.locator('#t-balance', { hasText: '39.00' }).waitFor({ timeout: 5000 });
  await page.locator('#payments td', { hasText: 'Refund' }).waitFor({ timeout: 2000 });

  // The client's credit: more than they have refused inline, then all of it applied.
  const credit = page.locator('#apply-credit');
  check((await credit.locator('#credit-available').textContent()).includes('20.00'), 'the credit shown');
  await credit.getByLabel(/^Amount to apply/).fill('30.00');
  await credit.getByRole('button', { name: 'Apply credit' }).click();
  await credit.locator('.field-error:not([hidden])').waitFor({ timeout: 5000 });
  check(await page.locator('#t-balance').textContent() === '39.00', 'refused credit changes nothing');
  await credit.getByLabel(/^Amount to apply/).fill('20.00');
  await credit.getByRole('button', { name: 'Apply credit' }).click();
  await page.locator('#t-balance', { hasText: '19.00' }).waitFor({ timeout: 5000 });
  check(await page.locator('#apply-credit').count() === 0, 'no credit left to apply');

  // The rest in cash.
  await page.getByLabel(/^Amount \(at most/).fill('19.00');
  await page.locator('#pay').getByLabel('Method').selectOption('cash');
  await page.getByRole('button', { name: 'Take payment' }).click();
  await page.locator('#invoice-status[data-status="paid"]').waitFor({ timeout: 5000 });
  check(await page.locator('#t-balance').textContent() === '0.00', 'balance 0');
  check(await page.locator('#payments a.receipt-print').count() === 3, 'each receipt can be printed');
  await page.screenshot({ path: `${dir}/billing-paid-1280.png`, fullPage: true });

  // The list and the client's account show it paid.
  await page.goto(`${base}/invoices?status=paid`);
  await page.locator('#invoices tr', { hasText: number }).locator('[data-status="paid"]').waitFor({ timeout: 5000 });
  await page.screenshot({ path: `${dir}/billing-list-1280.png`, fullPage: true });
  const invoiceUrl = await page.locator('#invoices a', { hasText: number }).getAttribute('href');
  await page.goto(`${base}/clients/${env('CLIENT')}/account`);
  check((await page.locator('#owed').textContent()).startsWith('0.00'), 'nothing owed');
  await page.locator('#account-payments td', { hasText: 'Cash' }).first().waitFor({ timeout: 2000 });
  await page.screenshot({ path: `${dir}/billing-account-1280.png`, fullPage: true });

  // Credit given back and paid out: 5.00 of the credit payment goes back to the account
  // (a refund of credit is never money), then that restored credit leaves in cash through
  // the payment's second choice, "kept as credit". More than was restored is refused inline.
  await page.goto(`${base}${invoiceUrl}`);
  await page.locator('#refund-box summary').click();
  const back = page.locator('#refund');
  const creditPayment = back.locator('#refund-payment option', { hasText: 'Credit on account' });
  check(await creditPayment.count() === 1, 'only the invoice part of the credit payment is offered before');
  await back.getByLabel('Payment').selectOption(await creditPayment.getAttribute('value'));
  await back.getByLabel('Amount', { exact: true }).fill('5.00');
  await back.getByLabel('Reason').fill('Flea treatment not used');
  await back.getByRole('button', { name: 'Refund' }).click();
  await page.locator('#t-balance', { hasText: '5.00' }).waitFor({ timeout: 5000 });
  await page.locator('#refund-box summary').click();
  const restored = page.locator('#refund-payment option', { hasText: 'kept as credit' });
  check((await restored.textContent()).includes('(5.00 left to refund)'), `the restored credit offered: ${await restored.textContent()}`);
  check((await restored.getAttribute('value')).endsWith('|credit'), 'the credit part is its own choice');
  await back.getByLabel('Payment').selectOption(await restored.getAttribute('value'));
  await back.getByLabel('Amount', { exact: true }).fill('6.00');
  await back.getByLabel('Method').selectOption('cash');
  await back.getByLabel('Reason').fill('Client asked for the credit back');
  await back.getByRole('button', { name: 'Refund' }).click();
  await back.locator('[data-error-for="amount"]:not([hidden])').waitFor({ timeout: 5000 });
  await back.getByLabel('Amount', { exact: true }).fill('5.00');
  await back.getByRole('button', { name: 'Refund' }).click();
  await page.locator('#refund-payment option', { hasText: 'kept as credit' }).waitFor({ state: 'detached', timeout: 5000 });
  check(await page.locator('#payments td', { hasText: 'Refund' }).count() === 3, 'three refunds listed');
  check(await page.locator('#payments td', { hasText: 'Refund of credit' }).count() === 1, 'the payout listed as a refund of credit');
  check(await page.locator('#t-balance').textContent() === '5.00', 'paying out credit leaves the invoice as it was');

  // A 10" tablet upright and a phone: nothing sticks out sideways.
  const cookies = await context.cookies();
  for (const [width, height] of [[800, 1280], [390, 844]]) {
    const small = await browser.newContext({ viewport: { width, height }, hasTouch: true, isMobile: width < 500 });
    await small.addCookies(cookies);
    const p = await small.newPage();
    p.on('pageerror', (e) => errors.push(e.message));
    for (const [path, name] of [[invoiceUrl, 'invoice'], ['/invoices', 'list'], [`/clients/${env('CLIENT')}/account`, 'account']]) {
      await p.goto(`${base}${path}`);
      await p.locator('h1').first().waitFor({ timeout: 5000 });
      const wide = await p.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      check(wide <= 0, `${width}px: ${path} is ${wide}px wider than the screen`);
      await p.screenshot({ path: `${dir}/billing-${name}-${width}.png`, fullPage: true });
    }
    await small.close();
  }
  check(errors.length === 0, `page errors: ${errors.join('; ')}`);
  console.log(JSON.stringify({ ok: true }));
} finally {
  await browser.close();
}
