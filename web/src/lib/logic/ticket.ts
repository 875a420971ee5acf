// Ticket page logic: what counts as someone else's edit, the timeline of messages and events, and turning a
// macro's actions into what the reply box and the ticket fields understand.
import type { Message, Ticket, TicketEvent } from '../api/client';

const FIELDS: (keyof Ticket)[] = [
  'subject',
  'status',
  'priority',
  'assignee_id',
  'group_id',
  'category_id',
  'requester_id',
  'tags',
  'custom_fields',
  'merged_into_id',
];

/** The fields that differ between two versions of a ticket (ignoring version and timestamps). */
export function changedFields(mine: Ticket, theirs: Ticket): (keyof Ticket)[] {
  return FIELDS.filter((field) => JSON.stringify(mine[field] ?? null) !== JSON.stringify(theirs[field] ?? null));
}

export type TimelineItem =
  | { kind: 'message'; at: string; key: string; message: Message }
  | { kind: 'event'; at: string; key: string; event: TicketEvent };

/** Events the timeline shows inline (messages show themselves; `created` is the header). */
const INLINE_EVENTS = new Set([
  'field_changed',
  'merged_into',
  'merged_from',
  'split_off',
  'follower_added',
  'follower_removed',
  'link_added',
  'link_removed',
  'rule_fired',
]);

/** Messages and the events worth showing, in the order they happened. */
export function timeline(messages: Message[], events: TicketEvent[]): TimelineItem[] {
  const items: TimelineItem[] = [
    ...messages.map((message) => ({ kind: 'message' as const, at: message.created_at, key: `m${message.id}`, message })),
    ...events
      .filter((event) => INLINE_EVENTS.has(event.kind))
      .map((event) => ({ kind: 'event' as const, at: event.created_at, key: `e${event.id}`, event })),
  ];
  return items.sort((a, b) => {
    const byTime = new Date(a.at).getTime() - new Date(b.at).getTime();
    if (byTime !== 0) return byTime;
    // Same instant: the message before the events its change wrote.
    return a.kind === b.kind ? a.key.localeCompare(b.key, 'en', { numeric: true }) : a.kind === 'message' ? -1 : 1;
  });
}

/** What a macro preview's `changes` mean for the reply box (status) and the ticket patch (the rest). */
export interface MacroEffect {
  status?: string;
  patch: Record<string, unknown>;
}

/** Splits a macro preview's changes: the status goes with the message ("send and set"), the rest is a patch. */
export function macroEffect(changes: Record<string, unknown>): MacroEffect {
  const { status, ...rest } = changes;
  const patch: Record<string, unknown> = {};
  for (const key of ['priority', 'group_id', 'assignee_id', 'category_id', 'tags', 'custom_fields'])
    if (key in rest) patch[key] = rest[key];
  return { status: typeof status === 'string' ? status : undefined, patch };
}
