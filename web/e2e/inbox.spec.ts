// The inbox: tickets created elsewhere appear live with their counts, keyboard navigation, filters in the
// address, keyset paging, and bulk assign.
import { beforeAll, expect, test } from 'vitest';
import { ADMIN, ApiSession, LI, useBrowser, screenshotOnFailure, signedInPage } from './fixtures';

const browser = useBrowser();
let admin: ApiSession;
beforeAll(async () => {
  admin = await ApiSession.signIn(ADMIN.email, ADMIN.password);
});

const count = (page: import('playwright-core').Page, view: string) =>
  page.locator(`[data-test-count="${view}"]`).textContent().then((text) => Number(text || -1));

test('a ticket created through the API appears live, with the view counts', async () => {
  const { context, page } = await signedInPage(browser(), LI);
  screenshotOnFailure('inbox-live', page);
  await page.locator('[data-test-view="open"]').click();
  await expect.poll(() => count(page, 'open')).toBeGreaterThanOrEqual(0);
  const before = await count(page, 'open');

  const ticket = await admin.createTicket('Live: the printer is on fire');
  const row = page.locator(`[data-test-ticket="${ticket.number}"]`);
  await row.waitFor({ timeout: 10_000 });
  expect(await page.locator('tbody tr').first().getAttribute('data-test-ticket')).toBe(String(ticket.number));
  await expect.poll(() => count(page, 'open'), { timeout: 10_000 }).toBe(before + 1);

  // It leaves the view live when solved elsewhere.
  await admin.call('PATCH', `/api/v1/tickets/${ticket.id}`, { status: 'solved' });
  await row.waitFor({ state: 'detached', timeout: 10_000 });
  await context.close();
});

test('j/k move, Enter opens, Escape goes back; filters live in the address', async () => {
  const first = await admin.createTicket('Keyboard one', { tags: ['kbd'] });
  const second = await admin.createTicket('Keyboard two', { tags: ['kbd'] });
  const { context, page } = await signedInPage(browser(), LI);
  screenshotOnFailure('inbox-keyboard', page);
  await page.goto(`${new URL(page.url()).origin}/views/all?tag=kbd`);
  await page.locator(`[data-test-ticket="${second.number}"]`).waitFor();
  expect(await page.locator('tbody tr').count()).toBe(2);
  await page.keyboard.press('j');
  await page.keyboard.press('k');
  await page.keyboard.press('j');
  await page.keyboard.press('Enter');
  await page.locator(`[data-test-ticket-page="${first.number}"]`).waitFor();
  await page.keyboard.press('Escape');
  await page.locator(`[data-test-ticket="${first.number}"]`).waitFor();
  expect(new URL(page.url()).search).toBe('?tag=kbd');
  await page.keyboard.press('?');
  await page.locator('[data-test-shortcuts]').waitFor();
  await page.keyboard.press('Escape');
  await context.close();
});

test('pages through a long list with the cursor and bulk-assigns the selection', async () => {
  const tag = 'bulk';
  for (let index = 0; index < 53; index += 1) await admin.createTicket(`Bulk ${index}`, { tags: [tag] });
  const { context, page } = await signedInPage(browser(), LI);
  screenshotOnFailure('inbox-bulk', page);
  await page.goto(`${new URL(page.url()).origin}/views/all?tag=${tag}`);
  await expect.poll(() => page.locator('tbody tr').count()).toBe(50);
  await page.locator('[data-test-more]').click();
  await expect.poll(() => page.locator('tbody tr').count()).toBe(53);
  await page.locator('[data-test-more]').waitFor({ state: 'detached' });

  const rows = page.locator('tbody tr input[type=checkbox]');
  await rows.nth(0).check();
  await rows.nth(1).check();
  await page.locator('[data-test-bulk] select').first().selectOption({ label: 'Me' });
  await page.locator('[data-test-bulk]').waitFor({ state: 'detached' });
  const mine = await admin.call('GET', `/api/v1/tickets?tag=${tag}&assignee=${(await ApiSession.signIn(LI.email, LI.password)).agentId}`);
  expect(mine.items.length).toBe(2);
  await context.close();
});
