// Signing in (with the two-factor step), signing out, and an ended session handled in place.
import { expect, test } from 'vitest';
import { ApiSession, LI, MEI, baseUrl, useBrowser, screenshotOnFailure, signedInPage, totpCode } from './fixtures';

const browser = useBrowser();

test('signs in, refuses a wrong password, and signs out', async () => {
  const context = await browser().newContext({ locale: 'en-US' });
  const page = await context.newPage();
  screenshotOnFailure('sign-in', page);
  await page.goto(baseUrl());
  await page.locator('#sign-in-email').fill(LI.email);
  await page.locator('#sign-in-password').fill('not the password');
  await page.locator('[data-test-sign-in] button[type=submit]').click();
  await expect.poll(() => page.locator('[role=alert]').textContent()).toContain('Wrong email or password');

  await page.locator('#sign-in-password').fill(LI.password);
  await page.locator('[data-test-sign-in] button[type=submit]').click();
  await page.locator('[data-test-live="on"]').waitFor();
  expect(await page.locator('header.top').textContent()).toContain(LI.name);

  await page.locator('[data-test-sign-out]').click();
  await page.locator('#sign-in-email').waitFor();
  const session = await page.evaluate(async () => (await fetch('/api/v1/auth/session')).status);
  expect(session).toBe(401);
  await context.close();
});

test('asks for the authenticator code when two-factor is on', async () => {
  const api = await ApiSession.signIn(MEI.email, MEI.password);
  const setup = await api.call<{ secret: string }>('POST', '/api/v1/auth/totp/setup');
  await api.call('POST', '/api/v1/auth/totp/confirm', { code: totpCode(setup.secret) });

  const context = await browser().newContext({ locale: 'en-US' });
  const page = await context.newPage();
  screenshotOnFailure('sign-in-2fa', page);
  await page.goto(baseUrl());
  await page.locator('#sign-in-email').fill(MEI.email);
  await page.locator('#sign-in-password').fill(MEI.password);
  await page.locator('[data-test-sign-in] button[type=submit]').click();
  const code = page.locator('#sign-in-totp');
  await code.waitFor();
  // Each step's code is accepted once: wait for a fresh step if the confirm above used this one.
  const step = Math.floor(Date.now() / 30_000);
  const fresh = () => Math.floor(Date.now() / 30_000) > step;
  await expect.poll(fresh, { timeout: 31_000, interval: 500 }).toBe(true);
  await code.fill(totpCode(setup.secret));
  await page.locator('[data-test-sign-in] button[type=submit]').click();
  await page.locator('[data-test-live="on"]').waitFor();
  await context.close();
}, 60_000);

test('an ended session shows the sign-in form over the screen and carries on after', async () => {
  const { context, page } = await signedInPage(browser(), LI);
  screenshotOnFailure('sign-in-expired', page);
  await page.locator('[data-test-view="all"]').click();
  await context.clearCookies();
  // A DOM click: a live refresh may already have found the session gone and covered the screen.
  await page.evaluate(() => document.querySelector<HTMLElement>('[data-test-view="open"]')!.click());
  const dialog = page.locator('[role=dialog] [data-test-sign-in]');
  await dialog.waitFor();
  expect(await page.locator('#sign-in-email').inputValue()).toBe(LI.email);
  await page.locator('#sign-in-password').fill(LI.password);
  await page.locator('[data-test-sign-in] button[type=submit]').click();
  await dialog.waitFor({ state: 'detached' });
  expect(new URL(page.url()).pathname).toBe('/views/open');
  await context.close();
});
