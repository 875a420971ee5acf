// Inbox views and filters: which tickets a view shows, as API query parameters and as a predicate that live
// updates use to decide whether a changed ticket belongs in the list on screen.
import type { Status, Ticket } from '../api/client';

export type ViewId = 'mine' | 'unassigned' | 'open' | 'breaching' | 'pending' | 'solved' | 'all';
export type Sort = '-updated_at' | 'updated_at' | '-created_at' | 'created_at';

/** The query a list shows: a view plus the filters an agent added. */
export interface TicketQuery {
  status?: Status[];
  /** `me`, `none` or an agent id. */
  assignee?: string;
  /** `none` or a group id. */
  group?: string;
  tag?: string;
  /** Only tickets whose next SLA deadline is within this many minutes (or already past and still running). */
  slaDueWithinMinutes?: number;
  sort?: Sort;
}

const OPEN: Status[] = ['new', 'open', 'pending', 'on_hold'];

export const VIEWS: { id: ViewId; query: TicketQuery }[] = [
  { id: 'mine', query: { status: OPEN, assignee: 'me' } },
  { id: 'unassigned', query: { status: ['new', 'open'], assignee: 'none' } },
  { id: 'open', query: { status: OPEN } },
  { id: 'breaching', query: { status: OPEN, slaDueWithinMinutes: 60 } },
  { id: 'pending', query: { status: ['pending', 'on_hold'] } },
  { id: 'solved', query: { status: ['solved'] } },
  { id: 'all', query: {} },
];

export function viewQuery(id: string): TicketQuery | undefined {
  return VIEWS.find((view) => view.id === id)?.query;
}

/** A view's query narrowed by extra filters (a filter's status replaces the view's). */
export function combine(view: TicketQuery, filters: TicketQuery): TicketQuery {
  const combined: TicketQuery = { ...view };
  for (const [key, value] of Object.entries(filters) as [keyof TicketQuery, unknown][]) {
    if (value === undefined || value === '' || (Array.isArray(value) && value.length === 0)) continue;
    (combined as Record<string, unknown>)[key] = value;
  }
  return combined;
}

/** The API query parameters for a ticket query (list and count share them), SLA windows counted from `now`. */
export function toParams(query: TicketQuery, now: number = Date.now()): Record<string, string> {
  const params: Record<string, string> = {};
  if (query.status?.length) params.status = query.status.join(',');
  if (query.assignee) params.assignee = query.assignee;
  if (query.group) params.group = query.group;
  if (query.tag) params.tag = query.tag;
  if (query.slaDueWithinMinutes !== undefined)
    params.sla_due_before = new Date(now + query.slaDueWithinMinutes * 60_000).toISOString();
  if (query.sort) params.sort = query.sort;
  return params;
}

/**
 * Whether only the server can tell which tickets belong in the list: tickets carry no SLA due times, so an
 * SLA window is evaluated by reloading, not by `matches`.
 */
export function serverFiltered(query: TicketQuery): boolean {
  return query.slaDueWithinMinutes !== undefined;
}

/** Whether a ticket belongs in a list with this query, for the agent `me` (SLA windows aside). */
export function matches(ticket: Ticket, query: TicketQuery, me: number): boolean {
  if (ticket.merged_into_id !== null && ticket.merged_into_id !== undefined && !query.status?.includes('closed'))
    if (query.status?.length) return false;
  if (query.status?.length && !query.status.includes(ticket.status)) return false;
  if (query.assignee) {
    const wanted = query.assignee === 'me' ? me : query.assignee === 'none' ? null : Number(query.assignee);
    if ((ticket.assignee_id ?? null) !== wanted) return false;
  }
  if (query.group) {
    const wanted = query.group === 'none' ? null : Number(query.group);
    if ((ticket.group_id ?? null) !== wanted) return false;
  }
  if (query.tag && !ticket.tags.includes(query.tag.toLowerCase())) return false;
  return true;
}

function sortKey(ticket: Ticket, sort: Sort): [number, number] {
  const at = sort.endsWith('updated_at') ? ticket.updated_at : ticket.created_at;
  return [new Date(at).getTime(), ticket.id];
}

/** Whether `a` comes before `b` in this sort. */
export function before(a: Ticket, b: Ticket, sort: Sort): boolean {
  const [aAt, aId] = sortKey(a, sort);
  const [bAt, bId] = sortKey(b, sort);
  const descending = sort.startsWith('-');
  if (aAt !== bAt) return descending ? aAt > bAt : aAt < bAt;
  return descending ? aId > bId : aId < bId;
}

/**
 * The list after a live change to `ticket`: replaced in place, moved to its sorted place, added (when it
 * sorts inside the loaded part of the list), or removed when it no longer matches.
 */
export function upsert(
  list: Ticket[],
  ticket: Ticket,
  query: TicketQuery,
  me: number,
  complete: boolean,
): Ticket[] {
  const sort = query.sort ?? '-updated_at';
  const rest = list.filter((item) => item.id !== ticket.id);
  if (!matches(ticket, query, me)) return rest;
  const index = rest.findIndex((item) => before(ticket, item, sort));
  if (index === -1) {
    // It sorts after everything loaded: only show it when the whole list is loaded.
    return complete ? [...rest, ticket] : rest;
  }
  return [...rest.slice(0, index), ticket, ...rest.slice(index)];
}
