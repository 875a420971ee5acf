// Replying with a macro: pick it, preview it for this ticket (placeholders filled, changes listed), edit it
// in the reply box, and send; its changes apply with the reply. Also saved views: listing one, and saving the
// filtered list as one (the way to a "breaching soon" view).
import { beforeAll, expect, test } from 'vitest';
import { ADMIN, ApiSession, LI, baseUrl, useBrowser, screenshotOnFailure, signedInPage } from './fixtures';

const browser = useBrowser();
let admin: ApiSession;
beforeAll(async () => {
  admin = await ApiSession.signIn(ADMIN.email, ADMIN.password);
});

test('reply with a macro: preview, edit, send, and its changes apply', async () => {
  await admin.call('POST', '/api/v1/macros', {
    title: 'Refund sent',
    bodies: { en: 'Hi {{ customer.name }}, your refund for #{{ ticket.number }} is on its way.', 'zh-CN': '您好 {{ customer.name }}，退款已发出。' },
    actions: [
      { type: 'set_status', value: 'pending' },
      { type: 'add_tags', value: ['refund_sent'] },
    ],
    shared: true,
  });
  const ticket = await admin.createTicket('Where is my refund?');
  const { context, page } = await signedInPage(browser(), LI);
  screenshotOnFailure('macro', page);
  await page.goto(`${baseUrl()}/tickets/${ticket.id}`);
  await page.locator(`[data-test-ticket-page="${ticket.number}"]`).waitFor();

  await page.locator('[data-test-macros]').click();
  await page.locator('[data-test-macro="Refund sent"]').click();
  const preview = page.locator('[data-test-macro-preview]');
  await preview.waitFor();
  expect(await preview.textContent()).toBe(`Hi 王芳, your refund for #${ticket.number} is on its way.`);
  expect(await page.locator('[data-test-macro-changes]').textContent()).toContain('Pending');
  await page.locator('[data-test-macro-use]').click();

  const body = page.locator('#reply-body');
  expect(await body.inputValue()).toContain('your refund for');
  expect(await page.locator('[data-test-send-status]').inputValue()).toBe('pending');
  await body.fill(`${await body.inputValue()} Thanks for waiting.`);
  await page.locator('[data-test-send]').click();
  await page.locator('[data-test-message]', { hasText: 'Thanks for waiting.' }).waitFor();
  await page.locator('header [data-test-status="pending"]').waitFor();
  const after = await admin.call('GET', `/api/v1/tickets/${ticket.id}`);
  expect(after.status).toBe('pending');
  expect(after.tags).toContain('refund_sent');
  await context.close();
});

test('a saved view lists its tickets with a count', async () => {
  const ticket = await admin.createTicket('VIP escalation', { tags: ['vip_escalation'] });
  const view = await admin.call('POST', '/api/v1/views', { name: 'VIP escalations', filters: { tag: 'vip_escalation' }, shared: true });
  const { context, page } = await signedInPage(browser(), LI);
  screenshotOnFailure('saved-view', page);
  const link = page.locator(`[data-test-view="saved-${view.id}"]`);
  await link.waitFor();
  expect(await link.textContent()).toContain('VIP escalations');
  await link.click();
  await page.locator(`[data-test-ticket="${ticket.number}"]`).waitFor();
  expect(await page.locator('tbody tr').count()).toBe(1);
  await context.close();
});

test('an admin writes a macro in three languages on the macros screen', async () => {
  const { context, page } = await signedInPage(browser(), ADMIN);
  screenshotOnFailure('macro-admin', page);
  await page.goto(`${baseUrl()}/admin/macros`);
  await page.locator('button', { hasText: 'New macro' }).click();
  await page.locator('#macro-title').fill('Closing thanks');
  await page.locator('#macro-body-en').fill('Thanks {{ customer.name }}!');
  await page.locator('#macro-body-zh-CN').fill('谢谢 {{ customer.name }}！');
  await page.locator('#macro-status').selectOption('solved');
  await page.locator('[data-test-macro-form] button[type=submit]').click();
  const row = page.locator('[data-test-macro-row="Closing thanks"]');
  await row.waitFor();
  expect(await row.textContent()).toContain('set_status');
  const stored = (await admin.call('GET', '/api/v1/macros')).find((macro: { title: string }) => macro.title === 'Closing thanks');
  expect(stored.bodies).toEqual({ en: 'Thanks {{ customer.name }}!', 'zh-CN': '谢谢 {{ customer.name }}！' });
  expect(stored.actions).toEqual([{ type: 'set_status', value: 'solved' }]);
  await context.close();
});

test('an agent saves the filtered list as a view, optionally only what breaches SLA soon', async () => {
  const ticket = await admin.createTicket('Saved from the inbox', { tags: ['saved_here'] });
  const { context, page } = await signedInPage(browser(), LI);
  screenshotOnFailure('save-view', page);
  await page.goto(`${baseUrl()}/views/open?tag=saved_here`);
  await page.locator(`[data-test-ticket="${ticket.number}"]`).waitFor();
  await page.locator('[data-test-save-view]').click();
  await page.locator('#save-view-name').fill('My saved tag');
  await page.locator('form.save-view button[type=submit]').click();
  await page.waitForURL(/\/views\/saved-\d+$/);
  await page.locator(`[data-test-ticket="${ticket.number}"]`).waitFor();
  expect(await page.locator('#inbox-title').textContent()).toBe('My saved tag');
  const views = await (await ApiSession.signIn(LI.email, LI.password)).call('GET', '/api/v1/views');
  const saved = views.find((view: { name: string }) => view.name === 'My saved tag');
  expect(saved.filters).toEqual({ status: ['new', 'open', 'pending', 'on_hold'], tag: 'saved_here' });
  await context.close();
});
