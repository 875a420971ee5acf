// The help center from the customer's side, server-rendered at /help/{locale}: a category and published
// public articles seeded through the API, the home page in zh-CN and en, an article, search with a Chinese
// query, a "was this helpful" vote, the request form end to end (live suggestions while typing the subject, a
// refused post showing its error, a valid post with a file becoming a ticket), the pages at phone size, the
// article page with JavaScript off, and an image an agent uploads in the article editor shown to customers.
import type { Page } from 'playwright-core';
import { beforeAll, expect, test } from 'vitest';
import { ADMIN, ApiSession, baseUrl, screenshotOnFailure, signedInPage, untilShown, useBrowser } from './fixtures';

const browser = useBrowser();
const unique = Date.now().toString(36);
const categoryNames = { 'zh-CN': `账单与退款 ${unique}`, en: `Billing ${unique}`, 'zh-TW': `帳單與退款 ${unique}` };
const refund = {
  'zh-CN': { title: `如何申请退款 ${unique}`, body: '打开**订单**页面，点击“申请退款”。退款三到五个工作日到账。' },
  en: { title: `How do I get a refund ${unique}`, body: 'Open **Orders** and choose *Refund*. Refunds reach your card in 3-5 days.' },
};
const invoiceTitle = `如何开具发票 ${unique}`;
let admin: ApiSession;
let articleId = 0;
/** The zh-CN translation's id (what feedback counts hang on). */
let zhTranslationId = 0;

beforeAll(async () => {
  admin = await ApiSession.signIn(ADMIN.email, ADMIN.password);
  const category = await admin.call('POST', '/api/v1/kb/categories', { id: 0, parent_id: null, names: categoryNames, position: 1 });
  const article = await admin.call('POST', '/api/v1/kb/articles', {
    category_id: category.id,
    status: 'published',
    visibility: 'public',
    translations: [
      { locale: 'zh-CN', title: refund['zh-CN'].title, body_markdown: refund['zh-CN'].body },
      { locale: 'en', title: refund.en.title, body_markdown: refund.en.body },
    ],
  });
  articleId = article.id;
  zhTranslationId = article.translations.find((translation: { locale: string }) => translation.locale === 'zh-CN').id;
  await admin.call('POST', '/api/v1/kb/articles', {
    category_id: category.id,
    status: 'published',
    visibility: 'public',
    translations: [{ locale: 'zh-CN', title: invoiceTitle, body_markdown: '在订单详情页点击“开具发票”。' }],
  });
  // Never shown to customers.
  await admin.call('POST', '/api/v1/kb/articles', {
    category_id: category.id,
    status: 'draft',
    visibility: 'public',
    translations: [{ locale: 'zh-CN', title: `退款草稿 ${unique}`, body_markdown: '内部退款计划' }],
  });
});

/** Script errors and CSP refusals on a page (a refused form post's 422 and the missing favicon are not problems). */
function watchProblems(page: Page): string[] {
  const problems: string[] = [];
  page.on('pageerror', (error) => problems.push(error.message));
  page.on('console', (message) => {
    if (message.type() === 'error' && !message.text().startsWith('Failed to load resource')) problems.push(message.text());
  });
  return problems;
}

test('home in zh-CN and en, an article, search 退款, and a helpful vote', async () => {
  const context = await browser().newContext({ locale: 'zh-CN', viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  screenshotOnFailure('help-center', page);
  const problems = watchProblems(page);

  // /help picks the browser's language.
  await page.goto(`${baseUrl()}/help`);
  await page.waitForURL(/\/help\/zh-CN$/);
  expect(await page.locator('html').getAttribute('lang')).toBe('zh-CN');
  const card = page.locator('[data-test-category]', { hasText: categoryNames['zh-CN'] });
  await card.locator('a', { hasText: refund['zh-CN'].title }).waitFor();
  await card.locator('a', { hasText: invoiceTitle }).waitFor();
  expect(await page.locator('main').textContent()).not.toContain(`退款草稿 ${unique}`);
  await page.locator('[data-test-nav="new-request"]', { hasText: '提交请求' }).waitFor();

  // The language switcher leads to the English home.
  await page.locator('footer .languages a[hreflang="en"]').click();
  await page.waitForURL(/\/help\/en$/);
  expect(await page.locator('html').getAttribute('lang')).toBe('en');
  const englishCard = page.locator('[data-test-category]', { hasText: categoryNames.en });
  await englishCard.locator('a', { hasText: refund.en.title }).waitFor();
  expect(await englishCard.textContent()).not.toContain(invoiceTitle);

  // An article page: title, rendered Markdown, breadcrumbs, a link to the other language.
  await englishCard.locator('a', { hasText: refund.en.title }).click();
  await page.waitForURL(new RegExp(`/help/en/articles/${articleId}-`));
  await page.locator(`[data-test-article] h1`, { hasText: refund.en.title }).waitFor();
  expect(await page.locator('[data-test-article] .body strong').textContent()).toBe('Orders');
  await page.locator('.crumbs a', { hasText: categoryNames.en }).waitFor();
  await page.locator('.others a[hreflang="zh-CN"]').click();
  await page.waitForURL(new RegExp(`/help/zh-CN/articles/${articleId}-`));
  await page.locator('[data-test-article] h1', { hasText: refund['zh-CN'].title }).waitFor();

  // Search with a Chinese query finds it, highlighted.
  const hit = await untilShown(page, `/help/zh-CN/search?q=${encodeURIComponent('退款')}`, '[data-test-result]', refund['zh-CN'].title);
  expect(await hit.locator('b').count()).toBeGreaterThan(0);
  expect(await page.locator('main').textContent()).not.toContain(`退款草稿 ${unique}`);
  // The search box on the home page leads to the same results.
  await page.goto(`${baseUrl()}/help/zh-CN`);
  await page.locator('#q').fill('退款');
  await page.locator('#q').press('Enter');
  await page.waitForURL(/\/help\/zh-CN\/search\?q=/);
  await page.locator('[data-test-result] a', { hasText: refund['zh-CN'].title }).click();
  await page.waitForURL(new RegExp(`/help/zh-CN/articles/${articleId}-`));

  // "Was this helpful?" — yes, counted once, thanked.
  await page.locator('[data-test-vote="yes"]').click();
  await page.locator('[data-test-feedback] .thanks', { hasText: '感谢您的反馈' }).waitFor();
  await expect
    .poll(async () => {
      const article = await admin.call('GET', `/api/v1/kb/articles/${articleId}`);
      return article.translations.find((translation: { id: number }) => translation.id === zhTranslationId).helpful;
    })
    .toBe(1);
  expect(problems).toEqual([]);
  await context.close();
});

test('the request form suggests articles while typing, shows what is missing, and opens a ticket with a file', async () => {
  const context = await browser().newContext({ locale: 'en-US', viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  screenshotOnFailure('help-center-request', page);
  const problems = watchProblems(page);
  const email = `zhou.${unique}@example.com`;
  const subject = `退款 ${unique}`;

  await page.goto(`${baseUrl()}/help/zh-CN/requests/new`);
  // Suggestions appear as the subject is typed (the page asks /help/api/suggest); the index may still be catching up.
  const suggestion = page.locator('[data-test-suggestions] a', { hasText: refund['zh-CN'].title });
  const deadline = Date.now() + 20_000;
  for (;;) {
    const asked = page.waitForResponse((response) => response.url().includes('/help/api/suggest'));
    await page.locator('#subject').fill('');
    await page.locator('#subject').pressSequentially('申请退款', { delay: 30 });
    expect((await asked).ok()).toBe(true);
    try {
      await suggestion.waitFor({ timeout: 2_000 });
      break;
    } catch (error) {
      if (Date.now() > deadline) throw error;
    }
  }
  expect(await page.locator('[data-test-suggestions]').isVisible()).toBe(true);
  expect(await suggestion.getAttribute('href')).toMatch(/^\/help\/zh-CN\/search\/click\?search=\d+&article=\d+$/);
  // Something unrelated hides them again.
  await page.locator('#subject').fill('');
  await page.locator('#subject').pressSequentially('zzqx', { delay: 30 });
  await expect.poll(() => page.locator('[data-test-suggestions]').isHidden()).toBe(true);

  // The browser refuses an empty required field before sending anything.
  await page.locator('#subject').fill(subject);
  await page.locator('#name').fill('周杰');
  await page.locator('#email').fill(email);
  await page.locator('[data-test-submit]').click();
  expect(await page.locator('#description').evaluate((field: HTMLTextAreaElement) => field.validity.valueMissing)).toBe(true);
  expect(new URL(page.url()).pathname).toBe('/help/zh-CN/requests/new');
  // A description of blanks passes the browser but not the server: the form comes back with the error and the values.
  await page.locator('#description').fill('   ');
  await page.locator('[data-test-submit]').click();
  const errors = page.locator('[data-test-errors]');
  await errors.waitFor();
  expect(await errors.getAttribute('role')).toBe('alert');
  await errors.locator('a[href="#description"]').waitFor();
  await page.locator('#description ~ .field-error').waitFor();
  expect(await page.locator('#subject').inputValue()).toBe(subject);
  expect(await page.locator('#email').inputValue()).toBe(email);

  // A valid post with a file.
  await page.locator('#description').fill('订单 8812 申请退款，附上收据。');
  await page.locator('#attachments').setInputFiles({ name: '收据.txt', mimeType: 'text/plain', buffer: Buffer.from('receipt 8812') });
  await page.locator('[data-test-submit]').click();
  await page.waitForURL(/\/help\/zh-CN\/requests\/received\?number=\d+/);
  const number = Number(new URL(page.url()).searchParams.get('number'));
  await page.locator('main', { hasText: `您的请求 #${number} 已收到。` }).waitFor();

  // The ticket, as agents see it.
  const tickets = await admin.call('GET', '/api/v1/tickets?limit=100');
  const ticket = tickets.items.find((item: { number: number }) => item.number === number);
  expect(ticket).toBeDefined();
  expect([ticket.subject, ticket.channel, ticket.status]).toEqual([subject, 'web', 'new']);
  const customer = await admin.call('GET', `/api/v1/customers/${ticket.requester_id}`);
  expect(customer.name).toBe('周杰');
  const messages = await admin.call('GET', `/api/v1/tickets/${ticket.id}/messages`);
  const first = messages.items[0];
  expect(first.body).toBe('订单 8812 申请退款，附上收据。');
  expect(first.attachments.map((file: { filename: string }) => file.filename)).toEqual(['收据.txt']);
  expect(problems).toEqual([]);
  await context.close();
});

test('the help center fits a phone', async () => {
  const context = await browser().newContext({ locale: 'zh-CN', viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
  const page = await context.newPage();
  screenshotOnFailure('help-center-phone', page);
  const fits = () => page.evaluate(() => document.documentElement.scrollWidth <= 390 && window.innerWidth <= 390);
  for (const path of [
    '/help/zh-CN',
    '/help/en',
    `/help/zh-CN/articles/${articleId}`,
    `/help/zh-CN/search?q=${encodeURIComponent('退款')}`,
    '/help/zh-CN/requests/new',
    '/help/zh-CN/sign-in',
  ]) {
    await page.goto(`${baseUrl()}${path}`);
    await page.locator('main#main').waitFor();
    expect(await fits(), path).toBe(true);
  }
  // The form can be used there: the suggestions show under the subject.
  await page.goto(`${baseUrl()}/help/zh-CN/requests/new`);
  await page.locator('#subject').tap();
  await page.locator('#subject').pressSequentially('申请退款', { delay: 30 });
  await page.locator('[data-test-suggestions] a', { hasText: refund['zh-CN'].title }).waitFor();
  expect(await fits()).toBe(true);
  const box = await page.locator('[data-test-submit]').boundingBox();
  expect(box && box.x + box.width <= 390).toBe(true);
  await context.close();
});

test('an article reads and takes a vote with JavaScript off', async () => {
  const context = await browser().newContext({ locale: 'en-US', javaScriptEnabled: false, viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  screenshotOnFailure('help-center-no-js', page);
  await page.goto(`${baseUrl()}/help/en/articles/${articleId}`);
  // An address without the slug moves to the one with it.
  await page.waitForURL(new RegExp(`/help/en/articles/${articleId}-`));
  await page.locator('[data-test-article] h1', { hasText: refund.en.title }).waitFor();
  expect(await page.locator('[data-test-article] .body').textContent()).toContain('Refunds reach your card in 3-5 days.');
  await page.locator('[data-test-vote="no"]').click();
  await page.locator('[data-test-feedback] .thanks', { hasText: 'Thank you for your feedback!' }).waitFor();
  const article = await admin.call('GET', `/api/v1/kb/articles/${articleId}`);
  const english = article.translations.find((translation: { locale: string }) => translation.locale === 'en');
  expect(english.not_helpful).toBe(1);
  // Search is a plain form too.
  await page.locator('header a.brand').click();
  await page.locator('#q').fill('refund');
  await page.locator('#q').press('Enter');
  await page.locator('[data-test-result] a', { hasText: refund.en.title }).waitFor();
  await context.close();
});

/** A 2×2 red PNG. */
const PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAIAAAACCAIAAAD91JpzAAAAEElEQVR4nGP4z8AARAwQCgAf7gP9i18U1AAAAABJRU5ErkJggg==',
  'base64',
);

test('an image uploaded in the article editor shows in the help center once the article is published', async () => {
  const title = `Router lights ${unique}`;
  const created = await admin.call('POST', '/api/v1/kb/articles', {
    status: 'draft',
    visibility: 'public',
    translations: [{ locale: 'en', title, body_markdown: 'The lights mean:' }],
  });
  const { context, page } = await signedInPage(browser(), ADMIN);
  screenshotOnFailure('help-center-image', page);
  await page.goto(`${baseUrl()}/kb/articles/${created.id}`);
  await page.locator('[data-test-locale-tab="en"]').click();
  const body = page.locator('[data-test-article-body]');
  await body.waitFor();
  // The caret at the end of the text: the image goes on a line of its own there.
  await body.focus();
  await body.press('End');
  await page.locator('[data-test-article-upload]').setInputFiles({ name: 'lights.png', mimeType: 'image/png', buffer: PNG });
  const file = page.locator('[data-test-article-file]', { hasText: 'lights.png' });
  await file.waitFor();
  const fileId = Number(await file.getAttribute('data-test-article-file'));
  const markdown = `![lights.png](/help/files/${fileId}/lights.png)`;
  await expect.poll(() => body.inputValue()).toBe(`The lights mean:\n${markdown}`);
  const files = await admin.call('GET', `/api/v1/kb/articles/${created.id}/attachments`);
  expect(files.map((entry: { id: number }) => entry.id)).toEqual([fileId]);

  // A draft's image is not for customers yet.
  expect((await fetch(`${baseUrl()}/help/files/${fileId}/lights.png`)).status).toBe(404);
  await page.locator('[data-test-article-status]').selectOption('published');
  await page.locator('[data-test-save-article]').click();
  await expect.poll(async () => (await admin.call('GET', `/api/v1/kb/articles/${created.id}`)).status).toBe('published');

  // Published: the help center page shows it (its CSP allows its own images).
  const reader = await browser().newContext({ locale: 'en-US' });
  const help = await reader.newPage();
  screenshotOnFailure('help-center-image-reader', help);
  const problems = watchProblems(help);
  await help.goto(`${baseUrl()}/help/en/articles/${created.id}`);
  const image = help.locator(`[data-test-article] .body img[alt="lights.png"]`);
  await image.waitFor();
  await expect.poll(() => image.evaluate((element: HTMLImageElement) => element.complete && element.naturalWidth)).toBe(2);
  const served = await fetch(`${baseUrl()}/help/files/${fileId}/lights.png`);
  expect([served.status, served.headers.get('content-type'), served.headers.get('x-content-type-options')]).toEqual([200, 'image/png', 'nosniff']);
  expect(problems).toEqual([]);
  await reader.close();
  await context.close();
});
