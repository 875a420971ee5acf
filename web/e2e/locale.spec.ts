// Languages: the browser's Chinese is used from the first screen, and the switch is remembered.
import { expect, test } from 'vitest';
import { ADMIN, ApiSession, LI, baseUrl, useBrowser, screenshotOnFailure } from './fixtures';

const browser = useBrowser();

test('renders in Simplified Chinese for a zh-CN browser and switches to Traditional', async () => {
  const admin = await ApiSession.signIn(ADMIN.email, ADMIN.password);
  const ticket = await admin.createTicket('打印机无法连接');
  const context = await browser().newContext({ locale: 'zh-CN' });
  const page = await context.newPage();
  screenshotOnFailure('locale', page);
  await page.goto(baseUrl());
  expect(await page.locator('h1').textContent()).toBe('登录客服');
  expect(await page.locator('html').getAttribute('lang')).toBe('zh-CN');
  await page.locator('#sign-in-email').fill(LI.email);
  await page.locator('#sign-in-password').fill(LI.password);
  await page.locator('[data-test-sign-in] button[type=submit]').click();
  await page.locator('[data-test-live="on"]').waitFor();
  expect(await page.locator('[data-test-view="open"]').textContent()).toContain('全部未解决');
  await page.locator('[data-test-view="open"]').click();
  const row = page.locator(`[data-test-ticket="${ticket.number}"]`);
  await row.waitFor();
  expect(await row.textContent()).toContain('新建');
  // The CJK font stack is the one in force.
  const font = await page.evaluate(() => getComputedStyle(document.body).fontFamily);
  expect(font).toContain('PingFang SC');

  await page.locator('[data-test-language]').selectOption('zh-TW');
  await expect.poll(() => page.locator('[data-test-view="open"]').textContent()).toContain('全部未解決');
  await page.reload();
  await page.locator('[data-test-live="on"]').waitFor();
  expect(await page.locator('[data-test-view="open"]').textContent()).toContain('全部未解決');
  await context.close();
});
