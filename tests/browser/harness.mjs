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

/** Signs in as `user` with `password` through the sign-in page `page` is sent to from `url`,
 * and waits to be back on `url`. */
async function signIn(page, url, user, password) {
  await page.goto(url);
  await page.waitForURL(/\/signin/);
  await page.getByLabel('Username').fill(user);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(url);
}

/** Opens `url` on a fresh page of `context`, signed in as `user` (USER unless given) with
 * `password` (PASSWORD unless given; see `signIn`). Page errors are pushed to `errors` when
 * given (the script fails on them), else go to stderr. */
export async function signedIn(context, url, user = env('USER'), { password = env('PASSWORD'), errors } = {}) {
  const page = await context.newPage();
  page.on('pageerror', (e) => (errors ? errors.push(e.message) : console.error(`[${user}] page error: ${e.message}`)));
  await signIn(page, url, user, password);
  return page;
}

/**
 * A page of a new context (1280x800 unless `viewport` says otherwise), its script errors
 * pushed to `errors`, opened at `path` and signed in as USER (see `signedIn`); returns the
 * context and the page, back at `path`.
 */
export async function signedInPage(browser, base, path, errors, viewport = { width: 1280, height: 800 }) {
  const context = await browser.newContext({ viewport });
  const page = await signedIn(context, `${base}${path}`, env('USER'), { errors });
  return { context, page };
}
