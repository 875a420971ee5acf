import { describe, expect, it } from 'vitest';
import type { Message, Ticket, TicketEvent } from '../api/client';
import { changedFields, macroEffect, timeline } from './ticket';

const base = {
  id: 1, number: 1001, subject: 's', status: 'open', priority: 'normal', channel: 'api', requester_id: 1,
  assignee_id: null, group_id: null, category_id: null, tags: ['a'], custom_fields: {}, merged_into_id: null,
  version: 3, created_at: '2026-01-01T00:00:00Z', updated_at: '2026-01-01T00:00:00Z', solved_at: null, closed_at: null,
} as Ticket;

describe('ticket logic', () => {
  it('tells field edits from version bumps', () => {
    expect(changedFields(base, { ...base, version: 4, updated_at: '2026-02-01T00:00:00Z' })).toEqual([]);
    expect(changedFields(base, { ...base, version: 4, status: 'pending', tags: ['a', 'b'] })).toEqual(['status', 'tags']);
  });

  it('interleaves messages and shown events by time', () => {
    const message = (id: number, at: string) => ({ id, created_at: at }) as Message;
    const event = (id: number, kind: string, at: string) => ({ id, kind, created_at: at }) as TicketEvent;
    const items = timeline(
      [message(1, '2026-01-01T00:00:00Z'), message(2, '2026-01-01T00:02:00Z')],
      [event(1, 'created', '2026-01-01T00:00:00Z'), event(2, 'field_changed', '2026-01-01T00:01:00Z'), event(3, 'message_added', '2026-01-01T00:02:00Z'), event(4, 'rule_fired', '2026-01-01T00:03:00Z'), event(5, 'field_changed', '2026-01-01T00:03:00Z')],
    );
    expect(items.map((item) => item.key)).toEqual(['m1', 'e2', 'm2', 'e4', 'e5']);
  });

  it('splits macro changes into the send status and a patch', () => {
    expect(macroEffect({ status: 'pending', priority: 'high', tags: ['refund'], unknown: 1 })).toEqual({
      status: 'pending',
      patch: { priority: 'high', tags: ['refund'] },
    });
    expect(macroEffect({})).toEqual({ status: undefined, patch: {} });
  });
});
