// The inventory screens in headless Chromium. Run by tests/it/browser.rs, which starts the
// server, adds a low product with a lot expiring soon and a submitted order, and passes:
// BASE_URL, USER, PASSWORD, PRODUCT, ORDER, ARTIFACTS.
import { check, env, launch, signedIn } from './harness.mjs';

const base = env('BASE_URL');
const browser = await launch();
try {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await signedIn(context, `${base}/inventory`);
  const row = page.locator(`tr[data-product="${env('PRODUCT')}"]`);
  await row.waitFor({ timeout: 5000 });
  check(await row.locator('li[data-state="soon"]').count() === 1, 'the lot expiring soon is marked');
  await page.locator('#inventory-alerts [data-alert="Expiring soon"]').waitFor({ timeout: 2000 });
  const dir = env('ARTIFACTS');
  await page.screenshot({ path: `${dir}/inventory-stock.png`, fullPage: true });

  // Receiving against the order: its form, then the status and the receipt.
  const order = await context.newPage();
  await order.goto(`${base}/inventory/purchase-orders/${env('ORDER')}`);
  await order.getByLabel('Quantity received on line 1').fill('10');
  await order.getByLabel('Lot number of line 1').fill('G-77');
  await order.getByRole('button', { name: 'Receive' }).click();
  await order.locator('#po-status', { hasText: 'Received' }).waitFor({ timeout: 5000 });
  await order.locator('#receipts td', { hasText: 'G-77' }).waitFor({ timeout: 2000 });
  await order.screenshot({ path: `${dir}/inventory-order.png`, fullPage: true });

  // The stock page (read again: the receipt left the product above its reorder level) then
  // follows a change that leaves the product low, without a reload.
  await page.reload();
  await page.locator('body[data-live="live"]').waitFor({ timeout: 10000 });
  check(await page.locator('#inventory-alerts [data-alert="Low stock"]').count() === 0, 'not low after the receipt (13 > 5)');
  const lotId = await order.evaluate(async (p) => {
    const r = await fetch(`/api/inventory/products/${p}`, { credentials: 'same-origin' });
    return (await r.json()).lots.find((l) => l.lot_number === 'G-77').id;
  }, env('PRODUCT'));
  const status = await order.evaluate(async ([p, lot]) => {
    const r = await fetch(`/api/inventory/products/${p}/damaged`, {
      method: 'POST', credentials: 'same-origin',
      headers: { 'content-type': 'application/json', 'idempotency-key': crypto.randomUUID() },
      body: JSON.stringify({ lot_id: lot, quantity: 9, reason: 'box crushed' }),
    });
    return r.status;
  }, [env('PRODUCT'), lotId]);
  check(status === 200, `damaged answered ${status}`);
  await page.locator('#inventory-alerts [data-alert="Low stock"]').waitFor({ timeout: 5000 });
  await page.screenshot({ path: `${dir}/inventory-low.png`, fullPage: true });
  console.log(JSON.stringify({ ok: true }));
} finally {
  await browser.close();
}
