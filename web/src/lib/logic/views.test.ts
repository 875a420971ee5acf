import { describe, expect, it } from 'vitest';
import type { Ticket } from '../api/client';
import { combine, matches, serverFiltered, toParams, upsert, viewQuery } from './views';

function ticket(id: number, extra: Partial<Ticket> = {}): Ticket {
  return {
    id,
    number: 1000 + id,
    subject: `t${id}`,
    status: 'open',
    priority: 'normal',
    channel: 'api',
    requester_id: 1,
    assignee_id: null,
    group_id: null,
    category_id: null,
    tags: [],
    custom_fields: {},
    merged_into_id: null,
    version: 1,
    created_at: `2026-01-01T00:00:0${id}Z`,
    updated_at: `2026-01-01T00:00:0${id}Z`,
    solved_at: null,
    closed_at: null,
    ...extra,
  };
}

describe('views', () => {
  it('turns queries into API parameters', () => {
    expect(toParams(viewQuery('mine')!)).toEqual({ status: 'new,open,pending,on_hold', assignee: 'me' });
    expect(toParams(combine(viewQuery('open')!, { tag: 'vip', status: [] }))).toEqual({
      status: 'new,open,pending,on_hold',
      tag: 'vip',
    });
  });

  it('matches tickets the way the server filters them', () => {
    const mine = viewQuery('mine')!;
    expect(matches(ticket(1, { assignee_id: 7 }), mine, 7)).toBe(true);
    expect(matches(ticket(1, { assignee_id: 8 }), mine, 7)).toBe(false);
    expect(matches(ticket(1, { assignee_id: 7, status: 'solved' }), mine, 7)).toBe(false);
    expect(matches(ticket(1), viewQuery('unassigned')!, 7)).toBe(true);
    expect(matches(ticket(1, { group_id: 3 }), { group: '3' }, 7)).toBe(true);
    expect(matches(ticket(1, { tags: ['vip'] }), { tag: 'VIP' }, 7)).toBe(true);
  });

  it('upserts live changes in sort order and drops tickets that left the view', () => {
    const list = [ticket(5), ticket(3), ticket(1)];
    const query = { status: ['open' as const], sort: '-updated_at' as const };
    expect(upsert(list, ticket(4), query, 7, false).map((t) => t.id)).toEqual([5, 4, 3, 1]);
    expect(upsert(list, ticket(1, { updated_at: '2026-01-01T00:00:09Z' }), query, 7, false).map((t) => t.id)).toEqual([
      1, 5, 3,
    ]);
    expect(upsert(list, ticket(3, { status: 'solved' }), query, 7, false).map((t) => t.id)).toEqual([5, 1]);
    expect(upsert(list, ticket(0), query, 7, false).map((t) => t.id)).toEqual([5, 3, 1]);
    expect(upsert(list, ticket(0), query, 7, true).map((t) => t.id)).toEqual([5, 3, 1, 0]);
  });

  it('asks the server for tickets breaching SLA within the hour', () => {
    const breaching = viewQuery('breaching')!;
    const now = Date.parse('2026-03-01T08:00:00Z');
    expect(toParams(breaching, now)).toEqual({
      status: 'new,open,pending,on_hold',
      sla_due_before: '2026-03-01T09:00:00.000Z',
    });
    expect(serverFiltered(breaching)).toBe(true);
    expect(serverFiltered(viewQuery('open')!)).toBe(false);
    expect(toParams(combine(breaching, { tag: 'vip' }), now).tag).toBe('vip');
  });
});
