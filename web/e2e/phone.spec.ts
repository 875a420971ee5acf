// A phone-sized screen (390x844): the inbox, the ticket page and the reply box fit and work.
import { expect, test } from 'vitest';
import { ADMIN, ApiSession, LI, useBrowser, screenshotOnFailure, signedInPage } from './fixtures';

const browser = useBrowser();

test('inbox, ticket and reply work at 390x844 without sideways scrolling', async () => {
  const admin = await ApiSession.signIn(ADMIN.email, ADMIN.password);
  const ticket = await admin.createTicket('Sent from my phone with a rather long subject line that must wrap or truncate');
  const { context, page } = await signedInPage(browser(), LI, { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
  screenshotOnFailure('phone', page);
  const fits = () => page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth);

  await page.locator('[data-test-view="open"]').click();
  const row = page.locator(`[data-test-ticket="${ticket.number}"]`);
  await row.waitFor();
  expect(await fits()).toBe(true);
  const box = await row.boundingBox();
  expect(box!.y).toBeLessThan(844);

  await row.locator('.subject').tap();
  await page.locator(`[data-test-ticket-page="${ticket.number}"]`).waitFor();
  expect(await fits()).toBe(true);
  const reply = page.locator('#reply-body');
  await reply.scrollIntoViewIfNeeded();
  await reply.fill('Replying from the train');
  await page.locator('[data-test-send]').tap();
  await page.locator('[data-test-message]', { hasText: 'Replying from the train' }).waitFor();
  expect(await fits()).toBe(true);
  await context.close();
});
