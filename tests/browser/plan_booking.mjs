// Booking a treatment-plan step from the offered slots, in headless Chromium. Run by
// tests/it/browser.rs, which puts a vet on shift on the step's day, applies a plan whose
// step 1 has an appointment type and passes: BASE_URL, USER, PASSWORD, PLAN, SLOT (the button
// of the slot to book, "2027-02-02 09:00"), BOOKED_AT (how the page writes its start),
// ARTIFACTS, and SLOT2 (another free start). Three tabs ask for the slots; the first books
// SLOT and the step shows as booked for that time; the second, still offering it, is refused
// (409 appointment_conflict) and redrawn from the server: the step booked, the error kept at
// the top of the plan. The third books SLOT2 for the step already booked: the server books,
// the step refuses the link (409 plan_step_already_booked) and that appointment is withdrawn;
// the tab is redrawn the same way. tests/it/browser.rs then checks the calendar.
import { check, env, launch, signedIn } from './harness.mjs';

const url = `${env('BASE_URL')}/treatment-plans/${env('PLAN')}`;
const slot = env('SLOT');
const dir = env('ARTIFACTS');
const browser = await launch();
try {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await signedIn(context, url);
  const stale = await context.newPage();
  await stale.goto(url);
  const third = await context.newPage();
  await third.goto(url);

  // Both tabs ask for the step's slots before either books.
  const offered = async (p, name) => {
    const step = p.locator('li.step[data-step="1"]');
    await step.getByRole('button', { name: 'Offer slots' }).click();
    const b = step.locator('[data-role=slots]').getByRole('button', { name, exact: true });
    await b.waitFor({ timeout: 5000 });
    return b;
  };
  const mine = await offered(page, slot);
  const theirs = await offered(stale, slot);
  const other = await offered(third, env('SLOT2'));
  check(await page.locator('li.step[data-step="2"]').getByRole('button', { name: 'Offer slots' }).count() === 0,
    'a step without an appointment type offers no slots');

  await mine.click();
  const booked = page.locator('li.step[data-step="1"][data-state="booked"]');
  await booked.waitFor({ timeout: 5000 });
  const at = await booked.locator('[data-role=appointment] time').innerText();
  check(at === env('BOOKED_AT'), `booked for ${at}, expected ${env('BOOKED_AT')}`);
  check((await booked.locator('[data-role=step-status]').innerText()) === 'Booked', 'the badge says Booked');
  check(await booked.getByRole('button', { name: 'Offer slots' }).count() === 0, 'no more slots offered');
  check((await page.locator('#plan-history').innerText()).includes('Step booked'), 'the history lists it');
  await page.screenshot({ path: `${dir}/plan-booked-1280.png`, fullPage: true });

  // The stale tab still shows the slot; booking it now is refused, and the tab is drawn again
  // from the server: the step booked by the first tab, the error kept where it can be read.
  const refusedAndRedrawn = async (p, button, code) => {
    await button.click();
    const err = p.locator('#plan-error:not([hidden])');
    await err.waitFor({ timeout: 5000 });
    check(await err.getAttribute('data-code') === code, `the 409: ${await err.getAttribute('data-code')}, expected ${code}`);
    check((await err.innerText()).length > 0, 'says why');
    const step = p.locator('li.step[data-step="1"]');
    check(await step.getAttribute('data-state') === 'booked', 'redrawn: the step shows as booked');
    check(await step.locator('[data-role=appointment] time').innerText() === env('BOOKED_AT'), 'redrawn: for its time');
    check(await step.getByRole('button', { name: 'Offer slots' }).count() === 0, 'redrawn: no slots offered');
    check((await p.locator('#plan-history').innerText()).includes('Step booked'), 'redrawn: the history lists it');
  };
  await refusedAndRedrawn(stale, theirs, 'appointment_conflict');
  await stale.screenshot({ path: `${dir}/plan-slot-taken-1280.png`, fullPage: true });

  // Another free slot for the step booked meanwhile: the server books it, the step refuses
  // it, and the appointment is withdrawn before the answer.
  await refusedAndRedrawn(third, other, 'plan_step_already_booked');
  await third.screenshot({ path: `${dir}/plan-step-booked-meanwhile-1280.png`, fullPage: true });
  console.log(JSON.stringify({ ok: true }));
} finally {
  await browser.close();
}
