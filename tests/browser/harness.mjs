// What every browser script shares: its settings from the environment (tests/it/browser.rs
// passes them) and the system Chromium, launched so it stays quiet on a closed network.
import { chromium } from 'playwright-core';

/** A setting the test passed, or an error naming the missing one. */
export const env = (k) => {
  const v = process.env[k];
  if (!v) throw new Error(`${k} is not set`);
  return v;
};

/** Throws `what` unless `ok`. */
export const check = (ok, what) => { if (!ok) throw new Error(what); };

/** Debian's Chromium (or $CHROMIUM), headless. */
export const launch = () => chromium.launch({
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  // This machine's network is closed: keep Chromium from calling home.
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync'],
});

/** Signs in as `user` (USER unless given; PASSWORD) through the sign-in page `page` is sent to
 * from `url`, and waits to be back on `url`. */
async function signIn(page, url, user = env('USER')) {
  await page.goto(url);
  await page.waitForURL(/\/signin/);
  await page.getByLabel('Username').fill(user);
  await page.getByLabel('Password').fill(env('PASSWORD'));
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(url);
}

/** Opens `url` on a fresh page of `context`, signed in as `user` (USER unless given; see
 * `signIn`). Page errors go to stderr. */
export async function signedIn(context, url, user = env('USER')) {
  const page = await context.newPage();
  page.on('pageerror', (e) => console.error(`[${user}] page error: ${e.message}`));
  await signIn(page, url, user);
  return page;
}

/**
 * A page of a new context (1280x800 unless `viewport` says otherwise), its script errors
 * pushed to `errors`, opened at `path` and signed in (see `signIn`); returns the context and
 * the page, back at `path`.
 */
export async function signedInPage(browser, base, path, errors, viewport = { width: 1280, height: 800 }) {
  const context = await browser.newContext({ viewport });
  const page = await context.newPage();
  page.on('pageerror', (e) => errors.push(e.message));
  await signIn(page, `${base}${path}`);
  return { context, page };
}
