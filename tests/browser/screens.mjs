// The server-rendered staff screens in headless Chromium: sign in (sent there by the Clients
// page itself), the Clients list, its name filter updating the list as it is typed (and the
// address with it), a client's record, one of their cats; then the same screens on a 10"
// tablet held upright and on a phone (the bar folds behind Menu, the table turns into cards),
// and Sign out; then, as a practice manager, the template editor, a failed text's alert on the
// board, the message log, the bulk sender, the dashboard, analytics and the (empty) segments and campaigns; as the administrator, the jobs page. Run by tests/it/browser.rs, which starts the server and passes:
// BASE_URL, USER, PASSWORD, CLIENT (John Smith's id), PATIENT (Mittens's id), MANAGER (a
// practice manager with the same password), TEMPLATE (an SMS template's id), ADMIN_PASSWORD,
// ARTIFACTS.
import { check, env, launch, signedIn } from './harness.mjs';

const base = env('BASE_URL');
const dir = env('ARTIFACTS');
const client = env('CLIENT');
const patient = env('PATIENT');
const browser = await launch();
const errors = [];
try {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  page.on('pageerror', (e) => errors.push(e.message));

  // Without a session the list sends the browser to sign in, and sign-in comes back to it.
  await page.goto(`${base}/clients`);
  await page.waitForURL(/\/signin\?next=%2Fclients$/);
  await page.getByLabel('Username').fill(env('USER'));
  await page.getByLabel('Password').fill(env('PASSWORD'));
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(`${base}/clients`);
  const nav = page.getByRole('navigation', { name: 'Main' });
  check(await nav.getByRole('link', { name: 'Clients' }).getAttribute('aria-current') === 'page', 'Clients is not the current section');
  await nav.getByText(env('USER'), { exact: true }).waitFor({ timeout: 5000 });
  await page.getByRole('link', { name: 'Next page' }).waitFor({ timeout: 5000 });
  await page.screenshot({ path: `${dir}/screens-clients-1280.png`, fullPage: true });

  // The filter, typed: the list follows without a reload, and the address with it.
  const marker = await page.evaluate(() => { window.notReloaded = true; return true; });
  await page.getByLabel('Name').pressSequentially('smi', { delay: 60 });
  await page.locator('#results[data-query="smi"]').waitFor({ timeout: 5000 });
  const rows = page.locator('#results tbody tr');
  check(await rows.count() === 1, `the filter left ${await rows.count()} rows`);
  check((await rows.first().textContent()).includes('Smith, John'), 'John Smith is not the row left');
  check(await page.evaluate(() => window.notReloaded === true) && marker, 'the page reloaded');
  check(page.url() === `${base}/clients?name=smi`, `the address is ${page.url()}`);
  await page.getByLabel('Status').selectOption('all');
  await page.waitForURL(`${base}/clients?name=smi&status=all`);
  await page.screenshot({ path: `${dir}/screens-filtered-1280.png` });

  // The client's record: the alert banner, the cats.
  await page.getByRole('link', { name: 'Smith, John' }).click();
  await page.waitForURL(`${base}/clients/${client}`);
  await page.locator('#record-name', { hasText: 'John Smith' }).waitFor({ timeout: 5000 });
  await page.locator('#alerts li', { hasText: 'Pays cash only' }).waitFor({ timeout: 5000 });
  await page.screenshot({ path: `${dir}/screens-client-1280.png`, fullPage: true });

  // The front desk writes to the client from their page: an email needs a subject (said
  // under the field), then the history shows the message.
  await page.locator('#messages-section .hint', { hasText: 'No messages sent yet.' }).waitFor({ timeout: 5000 });
  await page.getByLabel('Message', { exact: true }).fill('Your cat food order is in.');
  await page.getByRole('button', { name: 'Send', exact: true }).click();
  await page.locator('#subject-error', { hasText: 'is required' }).waitFor({ timeout: 5000 });
  await page.getByLabel('Subject (email only)').fill('Your order');
  await page.getByRole('button', { name: 'Send', exact: true }).click();
  await page.locator('#messages-section tbody tr', { hasText: 'Your order' }).waitFor({ timeout: 5000 });
  check((await page.locator('#messages-section tbody tr').textContent()).includes('john.smith@example.com'), 'sent to the wrong address');
  // The referral panel: the client's code, read aloud at the desk.
  check(/^[0-9A-Z]{4}-[0-9A-Z]{4}$/.test(await page.locator('#referral-code').textContent()), 'no referral code on the client page');

  // One of the cats: allergy and handling in the banner, the owner linked back.
  await page.locator('#cats').getByRole('link', { name: 'Mittens' }).click();
  await page.waitForURL(`${base}/patients/${patient}`);
  await page.locator('#alerts li', { hasText: 'Allergy: penicillin' }).waitFor({ timeout: 5000 });
  await page.locator('#handling li', { hasText: 'Towel wrap' }).waitFor({ timeout: 5000 });
  check(await page.getByRole('link', { name: 'Smith, John' }).getAttribute('href') === `/clients/${client}`, 'the owner link');
  check(await nav.getByRole('link', { name: 'Cats' }).getAttribute('aria-current') === 'page', 'Cats is not the current section');
  await page.screenshot({ path: `${dir}/screens-cat-1280.png`, fullPage: true });

  // The Today board has the same bar.
  await nav.getByRole('link', { name: 'Today' }).click();
  await page.waitForURL(`${base}/board`);
  await page.locator('#connection[data-state="live"]').waitFor({ timeout: 5000 });
  check(await nav.getByRole('link', { name: 'Today' }).getAttribute('aria-current') === 'page', 'Today is not current');
  await page.screenshot({ path: `${dir}/screens-board-1280.png` });

  // A 10" tablet upright and a phone, on the same session.
  const cookies = await context.cookies();
  for (const [width, height] of [[800, 1280], [390, 844]]) {
    const small = await browser.newContext({ viewport: { width, height }, hasTouch: true, isMobile: width < 500 });
    await small.addCookies(cookies);
    const p = await small.newPage();
    p.on('pageerror', (e) => errors.push(e.message));
    await p.goto(`${base}/clients`);
    const menu = p.locator('#nav-menu');
    const toggle = p.getByRole('button', { name: 'Menu' });
    if (width < 700) {
      // The bar folds: the links appear behind Menu.
      check(!(await menu.isVisible()), `${width}px: the menu is open before Menu is pressed`);
      await toggle.click();
      await menu.getByRole('link', { name: 'Cats' }).waitFor({ state: 'visible', timeout: 2000 });
      check(await toggle.getAttribute('aria-expanded') === 'true', 'Menu does not say it is open');
      await p.screenshot({ path: `${dir}/screens-menu-${width}.png` });
      await toggle.click();
      // The table turns into cards.
      const display = await p.locator('#results tbody tr').first().evaluate((e) => getComputedStyle(e).display);
      check(display === 'block', `${width}px: rows are ${display}, not cards`);
    } else {
      check(!(await toggle.isVisible()) && await menu.isVisible(), `${width}px: the bar should not fold`);
    }
    // Nothing sticks out sideways.
    const overflow = await p.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    check(overflow <= 0, `${width}px: the list is ${overflow}px wider than the screen`);
    await p.screenshot({ path: `${dir}/screens-clients-${width}.png`, fullPage: true });
    const screens = [[`/clients/${client}`, 'client'], [`/patients/${patient}`, 'cat'], ['/board', 'board'],
      ['/messages', 'messages'], [`/messages/templates/${env('TEMPLATE')}`, 'template'], ['/messages/dashboard', 'delivery'],
      ['/messages/bulk', 'bulk'], ['/messages/analytics', 'analytics']];
    for (const [path, name] of screens) {
      await p.goto(`${base}${path}`);
      await p.locator('h1').first().waitFor({ timeout: 5000 });
      const wide = await p.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      check(wide <= 0, `${width}px: ${path} is ${wide}px wider than the screen`);
      await p.screenshot({ path: `${dir}/screens-${name}-${width}.png`, fullPage: true });
    }
    await small.close();
  }

  // Sign out ends the session: the next page asks to sign in again.
  await nav.getByRole('button', { name: 'Sign out' }).click();
  await page.waitForURL(/\/signin$/);
  await page.goto(`${base}/patients`);
  await page.waitForURL(/\/signin\?next=%2Fpatients$/);

  // A `next` that a browser would resolve to another site is not followed after sign-in.
  await page.goto(`${base}/signin?next=%2F%5Cexample.com%2Fphish`);
  await page.getByLabel('Username').fill(env('USER'));
  await page.getByLabel('Password').fill(env('PASSWORD'));
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(`${base}/board`);

  // The Messages section, as a practice manager: the template editor's preview and SMS
  // segment count follow the text as it is typed, an unknown variable is shown next to the
  // field, Save makes a new version; a text that cannot be sent raises an alert on the
  // board; the log lists it.
  const manager = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const template = env('TEMPLATE');
  const m = await signedIn(manager, `${base}/messages/templates/${template}`, env('MANAGER'), { errors });
  await m.locator('#preview-text', { hasText: 'Whiskers Cat Clinic: how is Mochi and Biscuit?' }).waitFor({ timeout: 5000 });
  await m.locator('#segments', { hasText: '1 segment (GSM-7' }).waitFor({ timeout: 5000 });
  const text = `Hi {{ client_first_name }}! ${'a'.repeat(200)} ☺`;
  await m.getByLabel('Message', { exact: true }).fill(text);
  await m.locator('#preview-text', { hasText: 'Hi Jane! aaa' }).waitFor({ timeout: 5000 });
  await m.locator('#segments', { hasText: '4 segments (Unicode, 211' }).waitFor({ timeout: 5000 });
  await m.getByLabel('Message', { exact: true }).fill('Hi {{ nobody }}');
  await m.locator('#text_body-error', { hasText: 'unknown variable `nobody`' }).waitFor({ timeout: 5000 });
  await m.screenshot({ path: `${dir}/screens-template-error-1280.png`, fullPage: true });
  await m.getByLabel('Message', { exact: true }).fill(text);
  await m.locator('#text_body-error').waitFor({ state: 'hidden', timeout: 5000 });
  await m.getByRole('button', { name: 'Save' }).click();
  await m.locator('#save-status', { hasText: 'Saved as version 2' }).waitFor({ timeout: 5000 });
  check(await m.locator('#version').textContent() === '2', 'the version did not move to 2');
  await m.screenshot({ path: `${dir}/screens-template-1280.png`, fullPage: true });
  await m.reload();
  check((await m.getByLabel('Message', { exact: true }).inputValue()) === text, 'the saved text is not what was typed');
  check(await m.locator('#versions li').count() === 1, 'version 1 is not listed');

  // An email template's HTML is previewed in a sandboxed frame.
  const emailTemplate = await m.evaluate(async () => {
    const res = await fetch('/api/templates', {
      method: 'POST', credentials: 'same-origin', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ category: 'welcome', channel: 'email', name: 'Welcome (browser test)', subject: 'Welcome to {{ clinic_name }}',
        text_body: 'Hi {{ client_first_name }}', html_body: '<p style="color: #b91c1c">Hi <b>{{ client_first_name }}</b></p>' }),
    });
    const body = await res.json();
    if (!res.ok) throw new Error(`creating the email template: ${res.status} ${JSON.stringify(body)}`);
    return body.id;
  });
  await m.goto(`${base}/messages/templates/${emailTemplate}`);
  await m.locator('#preview-subject', { hasText: 'Welcome to Whiskers Cat Clinic' }).waitFor({ timeout: 5000 });
  await m.frameLocator('#preview-html').locator('b', { hasText: 'Jane' }).waitFor({ timeout: 5000 });
  await m.getByLabel('HTML (optional)').fill('<p>Bye <i>{{ client_name }}</i></p>');
  await m.frameLocator('#preview-html').locator('i', { hasText: 'Jane Doe' }).waitFor({ timeout: 5000 });
  await m.screenshot({ path: `${dir}/screens-template-email-1280.png`, fullPage: true });

  // A text over the provider's segment limit dies: the board shows an alert linking to it.
  const mnav = m.getByRole('navigation', { name: 'Main' });
  await mnav.getByRole('link', { name: 'Today' }).click();
  await m.locator('#connection[data-state="live"]').waitFor({ timeout: 5000 });
  const sent = await m.evaluate(async (clientId) => {
    const res = await fetch('/api/communications/send', {
      method: 'POST', credentials: 'same-origin', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ client_id: clientId, channel: 'sms', text: 'x'.repeat(700) }),
    });
    return res.json();
  }, client);
  const alert = m.locator(`.message-alert[data-message="${sent.message_id}"]`);
  await alert.waitFor({ timeout: 10000 });
  check((await alert.textContent()).includes('A text to +1555***'), `the alert says ${await alert.textContent()}`);
  await m.screenshot({ path: `${dir}/screens-board-alert-1280.png` });
  await alert.getByRole('link', { name: 'Open the message' }).click();
  await m.waitForURL(`${base}/messages/${sent.message_id}`);
  await m.locator('.msg-status[data-status="dead"]').waitFor({ timeout: 5000 });

  // The log, from the bar.
  await mnav.getByRole('link', { name: 'Messages' }).click();
  await m.waitForURL(`${base}/messages`);
  check(await m.locator('#results tbody tr').count() === 2, 'the log does not list the two messages');
  await m.getByLabel('Status').selectOption('dead');
  await m.getByRole('button', { name: 'Filter' }).click();
  await m.waitForURL(/\/messages\?status=dead&/);
  check(await m.locator('#results tbody tr').count() === 1, 'the dead filter does not list the message');
  await m.screenshot({ path: `${dir}/screens-messages-1280.png`, fullPage: true });

  // The bulk sender: the saved template to every active client, its progress to the end.
  await m.getByRole('navigation', { name: 'Messages' }).getByRole('link', { name: 'Bulk send' }).click();
  await m.waitForURL(`${base}/messages/bulk`);
  await m.getByLabel('Template', { exact: true }).selectOption({ label: 'Check-in (Text)' });
  await m.getByRole('button', { name: 'Send' }).click();
  await m.locator('#bulk-summary', { hasText: 'done' }).waitFor({ timeout: 20000 });
  const summary = await m.locator('#bulk-summary').textContent();
  check(summary.startsWith('28 of 28 queued, 0 skipped · sent 28'), `the batch summary says ${summary}`);
  check(await m.locator('#bulk-bar').evaluate((b) => b.value === b.max), 'the progress bar is not full');
  await m.locator('#bulk-report', { hasText: 'No failures.' }).waitFor({ timeout: 2000 });
  await m.screenshot({ path: `${dir}/screens-bulk-1280.png`, fullPage: true });
  // The address names the batch: a reload shows its report again, and it is listed.
  check(m.url().includes('/messages/bulk?batch='), `the address is ${m.url()}`);
  await m.reload();
  await m.locator('#bulk-summary', { hasText: 'done' }).waitFor({ timeout: 5000 });
  check(await m.locator('#recent-batches tbody tr').count() === 1, 'the batch is not listed');
  // The delivery dashboard counts them.
  await m.getByRole('link', { name: 'Delivery' }).click();
  await m.waitForURL(`${base}/messages/dashboard`);
  const sentCell = m.locator('#stats-template tbody tr', { hasText: 'Check-in (Text)' }).locator('td[data-label="Sent"]');
  check(await sentCell.textContent() === '28', `the dashboard counts ${await sentCell.textContent()} sent`);
  await m.screenshot({ path: `${dir}/screens-delivery-1280.png`, fullPage: true });
  // Analytics over the last 30 days: the 28 texts of the batch, in the template's row.
  await m.getByRole('navigation', { name: 'Messages' }).getByRole('link', { name: 'Analytics' }).click();
  await m.waitForURL(`${base}/messages/analytics`);
  const sentTexts = m.locator('#rates-template tbody tr', { hasText: 'Check-in (Text)' }).locator('td[data-label="Sent"]');
  check(await sentTexts.textContent() === '28', `analytics counts ${await sentTexts.textContent()} sent`);
  await m.locator('#no-shows').waitFor({ timeout: 2000 });
  await m.screenshot({ path: `${dir}/screens-analytics-1280.png`, fullPage: true });
  // Segments and campaigns: none saved in this clinic yet, and each list says so.
  await m.getByRole('navigation', { name: 'Messages' }).getByRole('link', { name: 'Segments' }).click();
  await m.waitForURL(`${base}/messages/segments`);
  await m.locator('#no-results', { hasText: 'No segment yet.' }).waitFor({ timeout: 2000 });
  await m.getByRole('navigation', { name: 'Messages' }).getByRole('link', { name: 'Campaigns' }).click();
  await m.waitForURL(`${base}/messages/campaigns`);
  await m.locator('#no-results', { hasText: 'No campaign yet.' }).waitFor({ timeout: 2000 });
  await m.screenshot({ path: `${dir}/screens-campaigns-1280.png`, fullPage: true });
  await manager.close();

  // The jobs page, as the administrator: the dead text's job, retried by its button, runs
  // again (and dies again: the text is still too long).
  const admin = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const a = await signedIn(admin, `${base}/jobs?state=dead`, 'admin', { password: env('ADMIN_PASSWORD'), errors });
  const row = a.locator('#jobs tbody tr', { hasText: 'send_message' });
  check(await row.count() === 1, `${await row.count()} dead send_message jobs`);
  const job = await row.getAttribute('data-job');
  check((await row.locator('td[data-label="Attempts"]').textContent()) === '1 of 8', 'the dead job has not one attempt of 8');
  await a.screenshot({ path: `${dir}/screens-jobs-1280.png`, fullPage: true });
  // The button posts the retry, then reloads the page.
  const retried = a.waitForResponse((r) => r.url().endsWith(`/api/jobs/${job}/retry`) && r.status() === 200);
  const reloaded = a.waitForEvent('load');
  await row.getByRole('button', { name: 'Retry' }).click();
  await retried;
  await reloaded;
  const attempts = a.locator(`#jobs tr[data-job="${job}"] td[data-label="Attempts"]`);
  const deadline = Date.now() + 10000;
  for (;;) {
    await a.goto(`${base}/jobs?state=dead`);
    if ((await attempts.count()) && (await attempts.textContent()) === '2 of 9') break;
    check(Date.now() < deadline, 'the retried job did not run again');
    await a.waitForTimeout(100);
  }
  await admin.close();

  check(errors.length === 0, `page errors: ${errors.join('; ')}`);
  console.log(JSON.stringify({ ok: true }));
} finally {
  await browser.close();
}
