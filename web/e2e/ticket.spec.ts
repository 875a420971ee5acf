// The ticket page: reply, an internal note whose @mention reaches the other agent live, assign, solve,
// presence and collision warnings between two agents on one ticket, and a stale edit.
import type { Page } from 'playwright-core';
import { beforeAll, expect, test } from 'vitest';
import { ADMIN, ApiSession, BO, LI, baseUrl, useBrowser, screenshotOnFailure, signedInPage } from './fixtures';

const browser = useBrowser();
let admin: ApiSession;
beforeAll(async () => {
  admin = await ApiSession.signIn(ADMIN.email, ADMIN.password);
});

async function open(page: Page, ticket: { id: number; number: number }) {
  await page.goto(`${baseUrl()}/tickets/${ticket.id}`);
  await page.locator(`[data-test-ticket-page="${ticket.number}"]`).waitFor();
  await page.locator('[data-test-live="on"]').waitFor();
}

test('reply, note with an @mention that reaches the other agent live, assign and solve', async () => {
  const ticket = await admin.createTicket('Refund for order 123');
  const li = await signedInPage(browser(), LI);
  const ana = await signedInPage(browser(), ADMIN);
  screenshotOnFailure('ticket-flow', li.page, ana.page);
  await open(li.page, ticket);

  // Public reply.
  await li.page.locator('#reply-body').fill('We are on it.');
  await li.page.locator('[data-test-send]').click();
  await li.page.locator('[data-test-message][data-test-internal="false"]', { hasText: 'We are on it.' }).waitFor();

  // Internal note with an @mention picked from the autocomplete; Ana hears of it on whatever screen she is.
  await li.page.keyboard.press('n');
  await li.page.locator('#reply-body').pressSequentially('Please approve @ana');
  await li.page.locator('[data-test-mention-list] [role=option]', { hasText: 'Ana Admin' }).waitFor();
  await li.page.keyboard.press('Enter');
  expect(await li.page.locator('#reply-body').inputValue()).toBe('Please approve @ana.admin ');
  await li.page.locator('[data-test-send]').click();
  await li.page.locator('[data-test-message][data-test-internal="true"]', { hasText: '@ana.admin' }).waitFor();
  const toast = ana.page.locator('[data-test-toast]', { hasText: `#${ticket.number}` });
  await toast.waitFor({ timeout: 10_000 });
  expect(await toast.textContent()).toContain('Li Wei mentioned you');

  // Assign to me, then send a reply that solves it.
  await li.page.locator('#ticket-assignee').selectOption({ label: 'Li Wei (Me)' });
  const liId = (await ApiSession.signIn(LI.email, LI.password)).agentId;
  await expect.poll(async () => (await admin.call('GET', `/api/v1/tickets/${ticket.id}`)).assignee_id).toBe(liId);
  await li.page.locator('[data-test-mode="reply"]').click();
  await li.page.locator('#reply-body').fill('Refunded. Anything else?');
  await li.page.locator('[data-test-send-status]').selectOption('solved');
  await li.page.locator('[data-test-send]').click();
  await li.page.locator('header [data-test-status="solved"]').waitFor();
  expect((await admin.call('GET', `/api/v1/tickets/${ticket.id}`)).status).toBe('solved');
  // The assignment shows inline in the timeline as an event.
  await li.page.locator('[data-test-event="field_changed"]', { hasText: 'assignee' }).first().waitFor();
  await li.context.close();
  await ana.context.close();
});

test('two agents on one ticket see each other, a reply in progress, and a stale edit', async () => {
  const ticket = await admin.createTicket('Two agents, one ticket');
  const li = await signedInPage(browser(), LI);
  const bo = await signedInPage(browser(), BO);
  const liInbox = await li.context.newPage();
  screenshotOnFailure('ticket-collision', li.page, bo.page, liInbox);
  await liInbox.goto(`${baseUrl()}/views/all`);
  await liInbox.locator(`[data-test-ticket="${ticket.number}"]`).waitFor();
  await liInbox.locator('[data-test-live="on"]').waitFor({ state: 'attached' });
  await open(li.page, ticket);
  await open(bo.page, ticket);

  await li.page.locator('[data-test-presence]', { hasText: 'Bo Chen is viewing' }).waitFor({ timeout: 10_000 });
  await bo.page.locator('[data-test-presence]', { hasText: 'Li Wei is viewing' }).waitFor({ timeout: 10_000 });

  await bo.page.locator('#reply-body').fill('Drafting an answer');
  await li.page.locator('[data-test-collision]', { hasText: 'Bo Chen is also replying' }).waitFor({ timeout: 10_000 });

  // Bo changes the priority; Li's screen says so instead of silently keeping stale values.
  await bo.page.locator('#ticket-priority').selectOption('urgent');
  const stale = li.page.locator('[data-test-stale]');
  await stale.waitFor({ timeout: 10_000 });
  expect(await stale.textContent()).toContain('Changed by Bo Chen');
  // An edit from the stale screen is refused by If-Match, not written over Bo's.
  await li.page.locator('#ticket-status').selectOption('pending');
  await expect.poll(async () => (await admin.call('GET', `/api/v1/tickets/${ticket.id}`)).status).toBe('new');
  await stale.locator('button').click();
  await stale.waitFor({ state: 'detached' });
  expect(await li.page.locator('#ticket-priority').inputValue()).toBe('urgent');

  // Li's inbox (open in another tab since before Bo came) shows Bo on that ticket's row too.
  await liInbox.locator(`[data-test-ticket="${ticket.number}"] [data-test-row-presence]`, { hasText: 'Bo Chen' }).waitFor({ timeout: 10_000 });
  await liInbox.close();

  // Leaving the ticket clears the presence on the other screen.
  await bo.page.goto(`${baseUrl()}/`);
  await li.page.locator('[data-test-presence]').waitFor({ state: 'detached', timeout: 10_000 });
  await li.context.close();
  await bo.context.close();
});

test('attachments upload by picker and by drag and drop, images show previews', async () => {
  const ticket = await admin.createTicket('Screenshot attached');
  const li = await signedInPage(browser(), LI);
  screenshotOnFailure('ticket-attachment', li.page);
  await open(li.page, ticket);
  // A 1x1 PNG.
  const png = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==', 'base64');
  await li.page.locator('[data-test-reply] input[type=file]').setInputFiles({ name: 'screen.png', mimeType: 'image/png', buffer: png });
  await li.page.locator('[data-test-reply] .files li', { hasText: 'screen.png' }).waitFor();
  // A second file dropped onto the reply box.
  await li.page.evaluate(() => {
    const transfer = new DataTransfer();
    transfer.items.add(new File(['order 123'], 'order.txt', { type: 'text/plain' }));
    document.querySelector('[data-test-reply]')!.dispatchEvent(new DragEvent('drop', { dataTransfer: transfer, bubbles: true, cancelable: true }));
  });
  await li.page.locator('[data-test-reply] .files li', { hasText: 'order.txt' }).waitFor();
  await li.page.locator('#reply-body').fill('See the screenshot');
  await li.page.locator('[data-test-send]').click();
  const preview = li.page.locator('[data-test-message] .preview img[alt="screen.png"]');
  await preview.waitFor();
  await expect.poll(() => preview.evaluate((image: HTMLImageElement) => image.naturalWidth)).toBe(1);
  await li.page.locator('[data-test-message] a.file', { hasText: 'order.txt' }).waitFor();
  await li.context.close();
});

test('email HTML renders in a sandboxed frame with quoted history collapsed', async () => {
  const ticket = await admin.createTicket('HTML mail', {
    message: {
      body: 'Where is my parcel?',
      html: '<p>Where is my <b>parcel</b>?</p><script>parent.document.title="pwned"</script><blockquote>On Monday you wrote: shipped</blockquote>',
      internal: false,
    },
  });
  const li = await signedInPage(browser(), LI);
  screenshotOnFailure('ticket-html', li.page);
  await open(li.page, ticket);
  const frame = li.page.locator('[data-test-html-frame]');
  await frame.waitFor();
  expect(await frame.getAttribute('sandbox')).not.toContain('allow-scripts');
  const content = li.page.frameLocator('[data-test-html-frame]');
  await content.locator('b', { hasText: 'parcel' }).waitFor();
  expect(await content.locator('details summary').textContent()).toBe('Show quoted history');
  expect(await content.locator('details').getAttribute('open')).toBeNull();
  expect(await li.page.title()).not.toBe('pwned');
  await li.context.close();
});
