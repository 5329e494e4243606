// The estimate and report screens in headless Chromium. Run by tests/it/browser.rs, which
// starts the server with a cat, a catalogue exam and an issued invoice (so the reports have
// a bar, and a plan), and passes: BASE_URL, USER, PASSWORD, PATIENT, INVOICE, ARTIFACTS.
// An estimate is started from the cat (removing its only option is refused inline), given
// two options of low–high lines (a catalogue line found by searching the price list, a line
// discount, free-text ranges, an optional line, a line edited in place with a refusal shown at
// its field; a third option renamed and removed), a
// refused range is shown next to its field, the totals
// shown are the server's, it is sent, one option accepted with its optional line, and the
// page lands on the draft invoice; the reports page shows the revenue and ageing charts; a
// payment plan is agreed for the issued invoice and its terms modified.
// Screenshots at 1280x800, 800x1280 and 390x844.
import { check, env, launch, signedInPage } from './harness.mjs';

const base = env('BASE_URL');
const dir = env('ARTIFACTS');
const browser = await launch();
const errors = [];
try {
  const { context, page } = await signedInPage(browser, base, `/estimates/new?patient_id=${env('PATIENT')}`, errors);
  // Every POST to the API, with its Idempotency-Key.
  const posts = [];
  page.on('request', (r) => {
    if (r.method() === 'POST' && new URL(r.url()).pathname.startsWith('/api/') && !r.url().includes('/api/auth/')) {
      posts.push({ path: new URL(r.url()).pathname, key: r.headers()['idempotency-key'] });
    }
  });

  // A draft with its first option.
  await page.getByLabel('First option').fill('Best case');
  await page.getByRole('button', { name: 'Create the estimate' }).click();
  await page.waitForURL(/\/estimates\/[0-9A-Z]{26}$/);
  const id = page.url().split('/').pop();
  const option = (n) => page.locator(`section.option[data-option="${n}"]`);

  // The last option cannot be removed: refused next to it, and it stays.
  await option(1).getByRole('button', { name: 'Remove this option' }).click();
  await option(1).locator('form[data-action="rename-option"] .field-error:not([hidden])').waitFor({ timeout: 5000 });
  check(await option(1).count() === 1, 'the only option stays');

  // Option 1: the exam found in the price list (searched, not listed), and 1–2 of a food at 13.33.
  await option(1).getByLabel('Catalogue item').fill('exam');
  await option(1).getByRole('button', { name: 'Find' }).click();
  await option(1).getByRole('button', { name: 'Use Exam — 65.00' }).click();
  check((await option(1).locator('.item-chosen').textContent()).includes('Exam — 65.00'), 'the chosen item is shown');
  await option(1).getByRole('button', { name: 'Add the line' }).click();
  await option(1).locator('tr[data-line="1"]', { hasText: 'Exam' }).waitFor({ timeout: 5000 });
  await option(1).getByLabel('Description').fill('Food');
  await option(1).getByLabel('Quantity, low').fill('1');
  await option(1).getByLabel('Quantity, high').fill('2');
  await option(1).getByLabel('Unit price, low').fill('13.33');
  await option(1).getByRole('button', { name: 'Add the line' }).click();
  await option(1).locator('tr[data-line="2"]', { hasText: 'Food' }).waitFor({ timeout: 5000 });

  // A line's discount: 10 % off the food, the totals the server's (checked below).
  await option(1).getByLabel('Line', { exact: true }).selectOption('2');
  await option(1).getByLabel('Line discount kind').selectOption('percent');
  await option(1).getByLabel('Line discount value').fill('10');
  await option(1).getByRole('button', { name: "Set the line's discount" }).click();
  await option(1).locator('tr[data-line="2"] td[data-label="Discount"]', { hasText: '10' }).waitFor({ timeout: 5000 });

  // The food line edited in place: 1–3 at 13.33–14.00. A low quantity above the high one
  // first: refused next to the field the server names, and the line unchanged.
  const food = option(1).locator('tr[data-line="2"]');
  await food.getByText('Edit', { exact: true }).click();
  await food.getByLabel('Low quantity, line 2').fill('5');
  await food.getByRole('button', { name: 'Save line 2' }).click();
  await food.locator('[aria-invalid="true"][name="quantity_high"]').waitFor({ timeout: 5000 });
  check((await food.locator('.field-error[data-field$="quantity_high"]').textContent()).includes('lower'), 'the refusal names the quantity');
  await food.getByLabel('Low quantity, line 2').fill('1');
  await food.getByLabel('High quantity, line 2').fill('3');
  await food.getByLabel('High price, line 2').fill('14.00');
  await food.getByRole('button', { name: 'Save line 2' }).click();
  await option(1).locator('tr[data-line="2"] td[data-label="Unit price"]', { hasText: '14.00' }).waitFor({ timeout: 5000 });
  const edited = await page.evaluate(async (id) => (await fetch(`/api/estimates/${id}`)).json(), id);
  const line2 = edited.options[0].lines[1];
  check(line2.quantity_high === 3 && line2.unit_price_high === 1400 && line2.unit_price_low === 1333, `the edited line: ${JSON.stringify(line2)}`);
  check(line2.discount?.basis_points === 1000, 'the edit kept the line discount');
  check((await option(1).locator('tr[data-line="2"] td[data-label="Quantity"]').textContent()).includes('3'), 'the row shows the new quantity');

  // Option 2: a dental at 100.00–150.00 and an optional x-ray.
  await page.getByLabel('New option').fill('Worst case');
  await page.getByRole('button', { name: 'Add an option' }).click();
  await option(2).waitFor({ timeout: 5000 });
  // A price range the wrong way round: refused, next to the field the server names.
  await option(2).getByLabel('Description').fill('Dental');
  await option(2).getByLabel('Unit price, low').fill('150');
  await option(2).getByLabel('Unit price, high').fill('100');
  await option(2).getByRole('button', { name: 'Add the line' }).click();
  const high = option(2).getByLabel('Unit price, high');
  await option(2).locator('[aria-invalid="true"][name="unit_price_high"]').waitFor({ timeout: 5000 });
  const error = option(2).locator('.field-error[data-field$="unit_price_high"]');
  check((await error.textContent()).includes('lower'), 'the refusal names the range');
  check(await high.evaluate((el) => el.closest('.field').nextElementSibling?.classList.contains('field-error')), 'the error is not next to its field');
  await page.screenshot({ path: `${dir}/estimate-refused.png`, fullPage: true });
  await option(2).getByLabel('Unit price, low').fill('100');
  await high.fill('150');
  await option(2).getByRole('button', { name: 'Add the line' }).click();
  await option(2).locator('tr[data-line="1"]', { hasText: 'Dental' }).waitFor({ timeout: 5000 });
  await option(2).getByLabel('Description').fill('X-ray');
  await option(2).getByLabel('Unit price, low').fill('40');
  await option(2).getByLabel('Optional', { exact: true }).check();
  await option(2).getByRole('button', { name: 'Add the line' }).click();
  await option(2).locator('tr.optional[data-line="2"]', { hasText: 'X-ray' }).waitFor({ timeout: 5000 });

  // A third option, renamed, then removed.
  await page.getByLabel('New option').fill('Spare');
  await page.getByRole('button', { name: 'Add an option' }).click();
  await option(3).waitFor({ timeout: 5000 });
  await option(3).getByLabel('Name of option 3').fill('Referral');
  await option(3).getByRole('button', { name: 'Rename' }).click();
  await page.locator('#option-3-name', { hasText: 'Referral' }).waitFor({ timeout: 5000 });
  await option(3).getByRole('button', { name: 'Remove this option' }).click();
  await option(3).waitFor({ state: 'detached', timeout: 5000 });

  // The totals on the page are the server's.
  const e = await page.evaluate(async (id) => (await fetch(`/api/estimates/${id}`)).json(), id);
  const money = (c) => `${Math.trunc(c / 100)}.${String(c % 100).padStart(2, '0')}`;
  for (const o of e.options) {
    const low = await option(o.option_no).locator('.total .low').textContent();
    const hi = await option(o.option_no).locator('.total .high').textContent();
    check(low === money(o.low.total) && hi === money(o.high.total), `option ${o.option_no}: ${low}–${hi} is not the server's`);
  }
  check(e.options[1].low.total === 10000 && e.options[1].high.total === 19000, 'worst case: 100.00 without the x-ray, 150.00 + 40.00 with it');
  await page.screenshot({ path: `${dir}/estimate-draft-1280.png`, fullPage: true });

  // Sent, then accepted: option 2 with the x-ray.
  await page.getByRole('button', { name: 'Send', exact: true }).click();
  await page.locator('#estimate-status[data-status="sent"]').waitFor({ timeout: 5000 });
  check(await page.locator('[data-action="add-line"]').count() === 0, 'a sent estimate still has the editor');
  await page.screenshot({ path: `${dir}/estimate-sent-1280.png`, fullPage: true });
  await option(2).getByLabel('Take X-ray too').check();
  await option(2).getByRole('button', { name: 'Accept Worst case' }).click();
  await page.waitForURL(/\/invoices\/[0-9A-Z]{26}$/, { timeout: 5000 });
  const invoice = page.url().split('/').pop();

  // The reports: revenue bars by category, the ageing buckets.
  await page.goto(`${base}/reports`);
  await page.locator('#revenue-chart g.chart-bar rect[data-series="Exams"]').first().waitFor({ timeout: 5000 });
  await page.locator('#ageing-chart g.chart-bar[data-label="Current"] rect').waitFor({ timeout: 5000 });
  check(await page.locator('nav a[href="/reports"][aria-current="page"]').count() === 1, 'Reports is not the current section');
  await page.screenshot({ path: `${dir}/reports-1280.png`, fullPage: true });

  // A payment plan for the issued invoice: agreed through its form, then modified.
  await page.goto(`${base}/payment-plans/new?invoice_id=${env('INVOICE')}`);
  // A down payment above the balance: refused next to the field; the corrected form is the
  // same submission, sent again with the same key (nothing was written, so it is still free).
  await page.getByLabel('Down payment').fill('100');
  await page.getByLabel('Instalments').fill('3');
  await page.getByRole('button', { name: 'Agree the plan' }).click();
  await page.locator('#np-down[aria-invalid="true"]').waitFor({ timeout: 5000 });
  check(await page.locator('#np-down').evaluate((el) => el.closest('.field').nextElementSibling?.dataset.field === 'down_payment'), 'the refusal is not next to Down payment');
  await page.getByLabel('Down payment').fill('5');
  await page.getByRole('button', { name: 'Agree the plan' }).click();
  await page.waitForURL(/\/payment-plans\/[0-9A-Z]{26}$/, { timeout: 5000 });
  const plan = page.url().split('/').pop();
  check(await page.locator('#schedule tbody tr').count() === 4, 'a down payment and three instalments');
  // 60.00 over three: 20.00 each, as the server scheduled it.
  const server = await page.evaluate(async (id) => (await fetch(`/api/payment-plans/${id}`)).json(), plan);
  check(server.schedule.map((i) => i.amount).join() === '500,2000,2000,2000', `schedule ${server.schedule.map((i) => i.amount)}`);
  await page.locator('form[data-action="modify-plan"]').getByLabel('Instalments').fill('4');
  await page.getByLabel('Reason', { exact: true }).fill('asked for smaller payments');
  await page.getByRole('button', { name: 'Save the new terms' }).click();
  await page.locator('#revisions td', { hasText: 'asked for smaller payments' }).waitFor({ timeout: 5000 });
  check(await page.locator('#schedule tbody tr').count() === 5, 'the schedule follows the new terms');
  await page.screenshot({ path: `${dir}/payment-plan-1280.png`, fullPage: true });
  check(posts.every((p) => /^[0-9a-f-]{36}$/.test(p.key ?? '')), `a POST without a key: ${JSON.stringify(posts)}`);
  const planPosts = posts.filter((p) => p.path === '/api/payment-plans');
  check(planPosts.length === 2 && planPosts[0].key === planPosts[1].key, 'the corrected plan was not the same submission');
  const others = posts.filter((p) => p.path !== '/api/payment-plans').map((p) => p.key);
  check(new Set(others).size === others.length, 'two submissions shared a key');

  // The same screens on a 10" tablet upright and a phone.
  const cookies = await context.cookies();
  for (const [width, height] of [[800, 1280], [390, 844]]) {
    const small = await browser.newContext({ viewport: { width, height }, hasTouch: true, isMobile: width < 500 });
    await small.addCookies(cookies);
    const p = await small.newPage();
    p.on('pageerror', (e) => errors.push(e.message));
    for (const [path, name] of [[`/estimates/${id}`, 'estimate'], ['/reports', 'reports'], ['/estimates', 'estimates'], [`/payment-plans/${plan}`, 'payment-plan']]) {
      await p.goto(`${base}${path}`);
      await p.locator('main h1').waitFor({ timeout: 5000 });
      await p.screenshot({ path: `${dir}/${name}-${width}.png`, fullPage: true });
    }
    await small.close();
  }
  check(errors.length === 0, `page errors: ${errors.join('; ')}`);
  console.log(JSON.stringify({ ok: true, estimate: id, invoice }));
} finally {
  await browser.close();
}
