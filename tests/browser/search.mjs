// The staff search box in headless Chromium: from the Today board `/` focuses it; typos, a
// name with a cat's name, and a phone's last four digits find records as they are typed; the
// keyboard opens a cat's page (its name, its owner's link), and there the empty box offers the
// records viewed last. Run by tests/it/browser.rs, which starts the server and passes:
// BASE_URL, USER, PASSWORD, CLIENT (John Smith's id), PATIENT (Mittens's id), ARTIFACTS.
import { check, env, launch, signedIn } from './harness.mjs';

const base = env('BASE_URL');
const dir = env('ARTIFACTS');
const browser = await launch();
const errors = [];
try {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await signedIn(context, `${base}/board`);
  // From here on, with a session, a page must not throw (before it, the board's first call
  // ends in "signed out" on its way to the sign-in page).
  page.on('pageerror', (e) => errors.push(e.message));

  const input = page.locator('#search-input');
  // The options answering `q` (not the recent records the empty box offers).
  const results = (q) => page.locator(`#search-list[data-query="${q}"] [role="option"]`);
  await input.waitFor({ timeout: 5000 });
  await page.keyboard.press('/');
  check(await input.evaluate((e) => e === document.activeElement), '`/` did not focus the search box');
  check(await input.getAttribute('role') === 'combobox', 'the search box is not a combobox');

  // Misspelt, one key at a time: the results follow as the words are typed. The index is
  // updated in the background, so wait for the answer with a deadline.
  await page.keyboard.type('jon smyth', { delay: 40 });
  await results('jon smyth').filter({ hasText: 'Smith, John' }).first().waitFor({ timeout: 5000 });
  check(await input.getAttribute('aria-expanded') === 'true', 'the listbox is not marked expanded');
  check(await page.locator('#search-list mark').count() > 0, 'no matched words are marked');
  await page.screenshot({ path: `${dir}/search-results.png` });

  // A name and a cat's name together find the cat, shown with its owner.
  await input.fill('');
  await page.keyboard.type('smith mitt', { delay: 40 });
  const cat = results('smith mitt').first();
  await cat.filter({ hasText: 'Mittens' }).waitFor({ timeout: 5000 });
  await cat.filter({ hasText: 'Smith, John' }).waitFor({ timeout: 1000 });
  check((await cat.locator('.search-kind').textContent()) === 'Cat', 'the cat has no Cat badge');
  await page.screenshot({ path: `${dir}/search-cat.png` });
  await page.keyboard.press('ArrowDown');
  check(await cat.getAttribute('aria-selected') === 'true', 'ArrowDown did not make the first result active');
  check(await input.getAttribute('aria-activedescendant') === await cat.getAttribute('id'), 'aria-activedescendant does not name the active option');
  await page.keyboard.press('Enter');

  // The cat's page: its name, breed and a link to its owner.
  const patient = env('PATIENT');
  await page.waitForURL(`${base}/patients/${patient}`, { timeout: 5000 });
  await page.locator('#record-name', { hasText: 'Mittens' }).waitFor({ timeout: 5000 });
  await page.locator('#facts', { hasText: 'Maine Coon' }).waitFor({ timeout: 5000 });
  await page.locator('#alerts li', { hasText: 'penicillin' }).waitFor({ timeout: 5000 });
  await page.locator('#alerts li', { hasText: 'Pays cash only' }).waitFor({ timeout: 5000 });
  await page.locator('#handling li', { hasText: 'Towel wrap' }).waitFor({ timeout: 5000 });
  const owner = page.getByRole('link', { name: 'Smith, John' });
  await owner.waitFor({ timeout: 5000 });
  check(await owner.getAttribute('href') === `/clients/${env('CLIENT')}`, 'the owner link goes elsewhere');
  await page.screenshot({ path: `${dir}/search-record.png`, fullPage: true });

  // There, `/` and the empty box: the records viewed last, the cat on top (its page also
  // read the owner, in passing, which does not count as opening the owner).
  await page.locator('#record-name').click();
  await page.keyboard.press('/');
  check(await input.evaluate((e) => e === document.activeElement), '`/` did not focus the search box on the record page');
  const recent = page.locator('#search-list [role="group"]', { hasText: 'Recently viewed' });
  await recent.locator('[role="option"]', { hasText: 'Mittens' }).waitFor({ timeout: 5000 });
  const firstRecent = await recent.locator('[role="option"]').first().textContent();
  check(firstRecent.includes('Mittens'), `the cat is not first in Recently viewed: ${firstRecent}`);
  await page.screenshot({ path: `${dir}/search-recent.png` });

  // The last four digits of a phone number find its client.
  await page.keyboard.type('7788', { delay: 40 });
  const byPhone = results('7788').filter({ hasText: 'Smith, John' }).first();
  await byPhone.waitFor({ timeout: 5000 });
  await byPhone.locator('mark', { hasText: '7788' }).waitFor({ timeout: 1000 });
  await page.screenshot({ path: `${dir}/search-phone.png` });

  // Escape closes the list; a query the API refuses (too long) shows a quiet message.
  await page.keyboard.press('Escape');
  check(await input.getAttribute('aria-expanded') === 'false', 'Escape did not close the list');
  const long = 'x'.repeat(300);
  await input.fill(long);
  await page.locator(`#search-list[data-query="${long}"] .search-message`).waitFor({ timeout: 5000 });
  check(await page.locator('#search-list [role="option"]').count() === 0, 'a refused query still shows options');

  // The owner's page: their alert, phone, and their cat linked.
  await page.goto(`${base}/clients/${env('CLIENT')}`);
  await page.locator('#record-name', { hasText: 'John Smith' }).waitFor({ timeout: 5000 });
  await page.locator('#alerts li', { hasText: 'Pays cash only' }).waitFor({ timeout: 5000 });
  await page.locator('#facts', { hasText: '7788' }).waitFor({ timeout: 5000 });
  const catLink = page.locator('#cats a', { hasText: 'Mittens' });
  await catLink.waitFor({ timeout: 5000 });
  check(await catLink.getAttribute('href') === `/patients/${patient}`, 'the cat link goes elsewhere');
  await page.screenshot({ path: `${dir}/search-client.png`, fullPage: true });

  // A record that does not exist says so.
  await page.goto(`${base}/clients/not-a-record`);
  await page.locator('#problem', { hasText: 'not found' }).waitFor({ timeout: 5000 });

  if (errors.length) throw new Error(`page errors: ${errors.join('; ')}`);
  console.log(JSON.stringify({ ok: true }));
} finally {
  await browser.close();
}
