// The automation admin screens: business hours, an SLA policy and a trigger made through the forms (with the
// server's reason shown next to a bad rule), a trigger dry run on a ticket, a mailbox edited on a phone
// without its password ever coming back, and the built-in "Breaching soon" view with its count.
import { beforeAll, expect, test } from 'vitest';
import { ADMIN, ApiSession, baseUrl, useBrowser, screenshotOnFailure, signedInPage } from './fixtures';

const browser = useBrowser();
let admin: ApiSession;
beforeAll(async () => {
  admin = await ApiSession.signIn(ADMIN.email, ADMIN.password);
});

test('an admin sets up business hours, an SLA policy and a trigger, and tries the trigger on a ticket', async () => {
  // Made before the trigger exists, so the trigger has not changed it yet.
  const ticket = await admin.createTicket('退款 for order 778', { priority: 'normal' });
  const { context, page } = await signedInPage(browser(), ADMIN);
  screenshotOnFailure('automation-admin', page);

  // A calendar with split shifts, a holiday and a make-up working day; a typo is pointed out before saving.
  await page.goto(`${baseUrl()}/admin/calendars`);
  await page.locator('button', { hasText: 'New calendar' }).click();
  await page.locator('#calendar-name').fill('Shanghai office');
  await page.locator('#calendar-zone').fill('Asia/Shanghai');
  await page.locator('#calendar-day-0').fill('09:00-12:00, 13:00-18:00');
  await page.locator('#calendar-day-5').fill('9am');
  expect(await page.locator('#calendar-day-5-error').textContent()).toContain('9am');
  expect(await page.locator('[data-test-calendar-form] button[type=submit]').isDisabled()).toBe(true);
  await page.locator('#calendar-day-5').fill('');
  await page.locator('#calendar-holidays').fill('2026-10-01\n2026-10-02');
  await page.locator('#calendar-extra').fill('2026-10-11 09:00-18:00');
  await page.locator('[data-test-calendar-form] button[type=submit]').click();
  await page.locator('[data-test-calendar-row="Shanghai office"]').waitFor();
  const calendar = (await admin.call('GET', '/api/v1/calendars')).find((c: { name: string }) => c.name === 'Shanghai office');
  expect(calendar.time_zone).toBe('Asia/Shanghai');
  expect(calendar.weekly[0]).toEqual(['09:00-12:00', '13:00-18:00']);
  expect(calendar.weekly[5]).toEqual([]);
  expect(calendar.holidays).toEqual(['2026-10-01', '2026-10-02']);
  expect(calendar.extra_workdays).toEqual({ '2026-10-11': ['09:00-18:00'] });

  // An SLA policy for urgent tickets on that calendar.
  await page.goto(`${baseUrl()}/admin/sla`);
  await page.locator('button', { hasText: 'New SLA policy' }).click();
  await page.locator('#sla-name').fill('Urgent tickets');
  await page.locator('[data-test-add-condition="all"]').click();
  await page.locator('#sla-conditions-all-0-field').selectOption('priority');
  await page.locator('#sla-conditions-all-0-operator').selectOption('is');
  await page.locator('#sla-conditions-all-0-value').selectOption('urgent');
  await page.locator('#sla-first').fill('30');
  await page.locator('#sla-resolution').fill('480');
  await page.locator('label', { hasText: 'Count business hours only' }).locator('input').check();
  await page.locator('#sla-calendar').selectOption({ label: 'Shanghai office' });
  await page.locator('[data-test-sla-form] button[type=submit]').click();
  await page.locator('[data-test-sla-row="Urgent tickets"]').waitFor();
  const policy = (await admin.call('GET', '/api/v1/sla-policies')).find((p: { name: string }) => p.name === 'Urgent tickets');
  expect(policy.conditions).toMatchObject({ all: [{ field: 'priority', operator: 'is', value: 'urgent' }] });
  expect(policy.targets).toMatchObject({ first_response_minutes: 30, resolution_minutes: 480, business_hours: true });
  expect(policy.calendar_id).toBe(calendar.id);

  // A trigger: the server refuses a bad value and says which part is wrong; fixed, it saves.
  await page.goto(`${baseUrl()}/admin/triggers`);
  await page.locator('button', { hasText: 'New trigger' }).click();
  await page.locator('#rule-name').fill('Refunds are urgent');
  await page.locator('[data-test-add-condition="all"]').click();
  await page.locator('#rule-conditions-all-0-field').selectOption('subject');
  await page.locator('#rule-conditions-all-0-operator').selectOption('contains');
  await page.locator('#rule-conditions-all-0-value').fill('退款');
  await page.locator('[data-test-add-condition="all"]').click();
  await page.locator('#rule-conditions-all-1-field').selectOption('priority');
  await page.locator('#rule-conditions-all-1-operator').selectOption('in');
  await page.locator('#rule-conditions-all-1-value').fill('normal, critical');
  await page.locator('[data-test-add-action]').click();
  await page.locator('#rule-actions-0-type').selectOption('set_priority');
  await page.locator('#rule-actions-0-value').selectOption('urgent');
  await page.locator('[data-test-rule-form] button[type=submit]').click();
  const problem = page.locator('[data-test-problem]');
  await problem.waitFor();
  expect(await problem.getAttribute('data-test-problem')).toBe('validation.invalid');
  expect(await problem.getAttribute('data-test-problem-field')).toBe('value');
  expect(await problem.textContent()).toContain('priority');
  await page.locator('#rule-conditions-all-1-value').fill('normal, high');
  await page.locator('[data-test-rule-form] button[type=submit]').click();
  await page.locator('[data-test-rule-row="Refunds are urgent"]').waitFor();
  expect(await problem.count()).toBe(0);
  const trigger = (await admin.call('GET', '/api/v1/triggers')).find((r: { name: string }) => r.name === 'Refunds are urgent');
  expect(trigger.events).toEqual(['ticket_created']);
  expect(trigger.conditions.all[1]).toEqual({ field: 'priority', operator: 'in', value: ['normal', 'high'] });
  expect(trigger.actions).toEqual([{ type: 'set_priority', value: 'urgent' }]);

  // The dry run says it would fire on the ticket, condition by condition, and changes nothing.
  await page.locator('#dry-run-ticket').fill(String(ticket.id));
  await page.locator('#dry-run-event').selectOption('ticket_created');
  await page.locator('[data-test-dry-run] button[type=submit]').click();
  const outcome = page.locator('[data-test-dry-run-rule="Refunds are urgent"]');
  await outcome.waitFor();
  expect(await outcome.getAttribute('data-test-would-fire')).toBe('true');
  expect(await outcome.textContent()).toContain('Would fire');
  expect(await outcome.textContent()).toContain('holds');
  await page.locator('#dry-run-event').selectOption('note_added');
  await page.locator('[data-test-dry-run] button[type=submit]').click();
  await page.locator('[data-test-dry-run-rule="Refunds are urgent"][data-test-would-fire="false"]').waitFor();
  expect(await page.locator('[data-test-dry-run-rule="Refunds are urgent"]').textContent()).toContain('does not run on this event');
  expect((await admin.call('GET', `/api/v1/tickets/${ticket.id}`)).priority).toBe('normal');

  // Turning it off from the list.
  await page.locator('[data-test-rule-row="Refunds are urgent"] input[type=checkbox]').uncheck();
  await expect
    .poll(async () => (await admin.call('GET', '/api/v1/triggers')).find((r: { name: string }) => r.name === 'Refunds are urgent').active, { timeout: 10_000 })
    .toBe(false);
  await context.close();
});

test('a mailbox is edited on a phone and its password never comes back', async () => {
  const secret = 'imap-password-never-shown';
  const mailbox = await admin.call('POST', '/api/v1/mailboxes', {
    address: 'help@e2e.example',
    name: 'Help',
    imap: { host: 'imap.e2e.example', port: 993, security: 'tls', username: 'help', password: secret },
  });
  const { context, page } = await signedInPage(browser(), ADMIN, { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
  screenshotOnFailure('mailbox-admin', page);
  const fits = () => page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth);
  await page.goto(`${baseUrl()}/admin/mailboxes`);
  const row = page.locator('[data-test-mailbox-row="help@e2e.example"]');
  await row.waitFor();
  await row.locator('button', { hasText: 'Edit' }).click();
  const password = page.locator('#mailbox-imap-password');
  await password.waitFor();
  expect(await password.inputValue()).toBe('');
  expect(await page.locator('[data-test-server="imap"] [data-test-password-state]').getAttribute('data-test-password-state')).toBe('set');
  expect(await page.content()).not.toContain(secret);
  expect(await fits()).toBe(true);
  await page.locator('#mailbox-name').fill('Help desk');
  await page.locator('[data-test-mailbox-form] button[type=submit]').click();
  await page.locator('[data-test-mailbox-row="help@e2e.example"]', { hasText: 'Help desk' }).waitFor();
  const stored = await admin.call('GET', `/api/v1/mailboxes/${mailbox.id}`);
  expect(stored.name).toBe('Help desk');
  expect(stored.imap).toMatchObject({ host: 'imap.e2e.example', password_set: true });
  expect(JSON.stringify(stored)).not.toContain(secret);

  // A message without a sender fails and stays visible with its error; Retry processes it again.
  const { cookie, csrf } = admin as unknown as { cookie: string; csrf: string };
  const imported = await fetch(`${baseUrl()}/api/v1/mailboxes/${mailbox.id}/raw`, {
    method: 'POST',
    headers: { Cookie: cookie, 'X-CSRF-Token': csrf, 'Content-Type': 'message/rfc822' },
    body: 'Subject: who am I\r\n\r\nno sender\r\n',
  }).then((response) => response.json());
  expect(imported.inbound.status).toBe('failed');
  await row.locator('button', { hasText: 'Failed messages' }).click();
  const failed = page.locator(`[data-test-failed-inbound] [data-test-inbound="${imported.inbound.id}"]`);
  await failed.waitFor();
  expect(await failed.textContent()).toContain('sender');
  expect(await fits()).toBe(true);
  await failed.locator('button', { hasText: 'Retry' }).click();
  await page.locator(`[data-test-inbound="${imported.inbound.id}"] [data-test-attempts="2"]`).waitFor();
  const [again] = (await admin.call('GET', `/api/v1/mailboxes/${mailbox.id}/inbound?status=failed`)).items;
  expect(again.attempts).toBe(2);
  await context.close();
});

test('the breaching-soon view lists tickets due within the hour, with a count', async () => {
  await admin.call('POST', '/api/v1/sla-policies', {
    name: 'Breach test',
    position: -1,
    conditions: { all: [{ field: 'tags', operator: 'contains', value: 'breach_me' }] },
    targets: { first_response_minutes: 30 },
  });
  const soon = await admin.createTicket('Due in half an hour', { tags: ['breach_me'], status: 'open' });
  const later = await admin.createTicket('No SLA here', { status: 'open' });
  const { context, page } = await signedInPage(browser(), ADMIN);
  screenshotOnFailure('breaching-soon', page);
  await page.locator('[data-test-view="breaching"]').click();
  await page.locator(`[data-test-ticket="${soon.number}"]`).waitFor();
  expect(await page.locator(`[data-test-ticket="${later.number}"]`).count()).toBe(0);
  expect(await page.locator('#inbox-title').textContent()).toBe('Breaching soon');
  await expect.poll(async () => Number(await page.locator('[data-test-count="breaching"]').textContent()), { timeout: 10_000 }).toBeGreaterThanOrEqual(1);
  await context.close();
});
