// The knowledge base from the agent's side: a category and a zh-CN article made through the screens,
// published, found by global search with a Chinese query, suggested on a refund ticket whose reply gets its
// link, the solved ticket turned into a draft, and an earlier revision restored. Then the screens at phone size.
import { beforeAll, expect, test } from 'vitest';
import { ADMIN, ApiSession, baseUrl, useBrowser, screenshotOnFailure, signedInPage, untilShown } from './fixtures';

const browser = useBrowser();
let admin: ApiSession;
beforeAll(async () => {
  admin = await ApiSession.signIn(ADMIN.email, ADMIN.password);
});

test('category, zh-CN article, publish, search 退款, related on a ticket with its link in the reply, draft, restore', async () => {
  const unique = Date.now().toString(36);
  const categoryName = `退款与发票 ${unique}`;
  const title = `如何申请退款 ${unique}`;
  const firstBody = '退款将在七个工作日内退回原支付方式。';
  const secondBody = '退款将在三个工作日内退回原支付方式。\n\n第二版：请在订单详情页点击“申请退款”。';
  const { context, page } = await signedInPage(browser(), ADMIN);
  screenshotOnFailure('knowledge-base', page);

  // A category, through the tree screen.
  await page.locator('[data-test-nav-kb]').click();
  await page.locator('[data-test-kb-nav="categories"]').click();
  await page.locator('[data-test-category-name="zh-CN"]').fill(categoryName);
  await page.locator('[data-test-new-category] button[type=submit]').click();
  await page.locator(`[data-test-category-row="${categoryName}"]`).waitFor();

  // A zh-CN article in it, saved as a draft first.
  await page.locator('[data-test-kb-nav="articles"]').click();
  await page.locator('[data-test-new-article]').click();
  await page.locator('[data-test-locale-tab="zh-CN"]').click();
  await page.locator('[data-test-article-title]').fill(title);
  await page.locator('[data-test-article-body]').fill(firstBody);
  await page.locator('[data-test-article-category]').selectOption({ label: categoryName });
  await page.locator('[data-test-save-article]').click();
  await page.waitForURL(/\/kb\/articles\/\d+$/);
  const articleId = Number(new URL(page.url()).pathname.split('/').pop());
  await page.locator(`[data-test-article-editor="${articleId}"] [data-test-article-preview]`).waitFor();

  // A second version, published.
  await page.locator('[data-test-article-body]').fill(secondBody);
  await page.locator('[data-test-article-status]').selectOption('published');
  await page.locator('[data-test-save-article]').click();
  await page.locator('[data-test-revision="1"]').waitFor();
  let article = await admin.call('GET', `/api/v1/kb/articles/${articleId}`);
  expect(article.status).toBe('published');
  expect(article.translations[0].locale).toBe('zh-CN');
  expect(article.translations[0].body_markdown).toBe(secondBody);

  // Global search from the top bar (/ focuses it) with a Chinese query, on the articles tab.
  await page.locator('body').press('/');
  await page.keyboard.type('退款');
  await page.keyboard.press('Enter');
  await page.waitForURL(/\/search\?q=/);
  await page.locator('[data-test-search-tab="article"]').click();
  await page.waitForURL(/type=article/);
  const hit = await untilShown(page, new URL(page.url()).pathname + new URL(page.url()).search, '[data-test-hit-kind="article"]', title);
  expect(await hit.locator('b').count()).toBeGreaterThan(0);
  // j moves through the hits and Enter opens the focused one.
  const titles = await page.locator('[data-test-search-hit] [data-test-hit-link]').allTextContents();
  const position = titles.findIndex((text) => text.includes(title));
  for (let step = 0; step <= position; step += 1) await page.keyboard.press('j');
  expect(await page.evaluate(() => document.activeElement?.textContent)).toContain(title);
  await page.keyboard.press('Enter');
  await page.locator(`[data-test-article-editor="${articleId}"]`).waitFor();

  // A ticket about a refund suggests it; its public link goes into the reply.
  const ticket = await admin.createTicket('申请退款', { message: { body: '你好，我想申请退款，订单号 8812。', internal: false } });
  const related = await untilShown(page, `/tickets/${ticket.id}`, `[data-test-related-article="${articleId}"]`);
  await page.locator('#reply-body').fill('您好，请参考这篇文章：');
  await related.locator('[data-test-insert-link]').click();
  const reply = await page.locator('#reply-body').inputValue();
  expect(reply).toContain('您好，请参考这篇文章：\n[');
  expect(reply).toMatch(new RegExp(`\\(${baseUrl().replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}/help/zh-CN/articles/${articleId}-[^)]*\\)$`));

  // Sent and solved, the ticket can become an article draft, which opens in the editor.
  await page.locator('[data-test-send-status]').selectOption('solved');
  await page.locator('[data-test-send]').click();
  await page.locator('header [data-test-status="solved"]').waitFor();
  await page.locator('#draft-locale').selectOption('zh-CN');
  await page.locator('[data-test-draft-article]').click();
  await page.waitForURL(/\/kb\/articles\/\d+$/);
  const draftId = Number(new URL(page.url()).pathname.split('/').pop());
  expect(draftId).not.toBe(articleId);
  await page.locator(`[data-test-article-editor="${draftId}"]`).waitFor();
  expect(await page.locator('[data-test-article-title]').inputValue()).toBe('申请退款');
  expect(await page.locator('[data-test-article-body]').inputValue()).toContain(`/help/zh-CN/articles/${articleId}-`);
  expect(await page.locator('[data-test-article-status]').inputValue()).toBe('draft');

  // Back in the editor: compare the first version with the current text, then restore it.
  await page.goto(`${baseUrl()}/kb/articles/${articleId}`);
  const first = page.locator('[data-test-revision="1"]');
  await first.locator('[data-test-revision-diff]').click();
  await page.locator('[data-test-diff] .added', { hasText: '第二版' }).waitFor();
  await first.locator('[data-test-revision-restore]').click();
  await expect.poll(() => page.locator('[data-test-article-body]').inputValue()).toBe(firstBody);
  await page.locator('[data-test-revision="2"]').waitFor();
  article = await admin.call('GET', `/api/v1/kb/articles/${articleId}`);
  expect(article.translations[0].body_markdown).toBe(firstBody);
  expect(article.status).toBe('published');
  await context.close();
});

test('search, the article list and the editor fit a phone', async () => {
  const { context, page } = await signedInPage(browser(), ADMIN, { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
  screenshotOnFailure('knowledge-base-phone', page);
  // Against the device width itself: a mobile browser widens its layout viewport to content that overflows.
  const fits = () => page.evaluate(() => document.documentElement.scrollWidth <= 390 && window.innerWidth <= 390);
  for (const path of ['/search?q=%E9%80%80%E6%AC%BE', '/kb', '/kb/articles/new', '/kb/categories', '/kb/analytics', '/kb/branding']) {
    await page.goto(`${baseUrl()}${path}`);
    await page.locator('main#main').waitFor();
    await page.waitForLoadState('networkidle');
    expect(await fits(), path).toBe(true);
  }
  await context.close();
});
