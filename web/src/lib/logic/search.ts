// The search screen's state lives in the address (`/search?q=退款&type=ticket&status=open&offset=20`), so a
// search can be shared, survives a reload and the back button walks through pages. These turn the address
// into the API's query and back.
import type { operations } from '../api/schema';

/** The query `GET /api/v1/search` takes. */
export type SearchApiQuery = operations['search']['parameters']['query'];

export const KINDS = ['ticket', 'customer', 'article'] as const;
export type Kind = (typeof KINDS)[number];
export const PAGE_SIZE = 20;
/** The API refuses offsets past this; narrow the search instead. */
export const MAX_OFFSET = 1000;

export interface SearchState {
  q: string;
  /** One kind, or every kind when absent. */
  type?: Kind;
  /** A ticket status. */
  status?: string;
  tag?: string;
  /** A group id (tickets). */
  group?: number;
  /** An assignee's agent id (tickets). */
  assignee?: number;
  /** An article locale. */
  locale?: string;
  /** Created on or after this day (`YYYY-MM-DD`, the agent's own calendar day). */
  from?: string;
  /** Created on or before this day. */
  to?: string;
  offset: number;
}

const DAY = /^\d{4}-\d{2}-\d{2}$/;

/** The state in a query string (with or without its `?`). */
export function parseSearch(query: string): SearchState {
  const params = new URLSearchParams(query.replace(/^\?/, ''));
  const text = (name: string) => params.get(name)?.trim() || undefined;
  const type = text('type');
  const offset = Number(params.get('offset') ?? 0);
  const id = (name: string) => {
    const value = Number(params.get(name));
    return Number.isInteger(value) && value > 0 ? value : undefined;
  };
  const from = text('from');
  const to = text('to');
  return {
    q: params.get('q')?.trim() ?? '',
    type: KINDS.includes(type as Kind) ? (type as Kind) : undefined,
    status: text('status'),
    tag: text('tag'),
    group: id('group'),
    assignee: id('assignee'),
    locale: text('locale'),
    from: from && DAY.test(from) ? from : undefined,
    to: to && DAY.test(to) ? to : undefined,
    offset: Number.isInteger(offset) && offset > 0 ? Math.min(offset, MAX_OFFSET) : 0,
  };
}

/** The address of a search: only what is set, in a stable order. */
export function searchPath(state: SearchState): string {
  const params = new URLSearchParams();
  params.set('q', state.q);
  for (const key of ['type', 'status', 'tag', 'group', 'assignee', 'locale', 'from', 'to'] as const) {
    const value = state[key];
    if (value) params.set(key, String(value));
  }
  if (state.offset > 0) params.set('offset', String(state.offset));
  return `/search?${params}`;
}

/** Midnight at the start of a local calendar day, as RFC 3339 (what the API takes). */
function startOfDay(day: string, dayOffset = 0): string {
  const [year, month, date] = day.split('-').map(Number);
  return new Date(year, month - 1, date + dayOffset).toISOString();
}

/** The API's query parameters. Filters that only apply to one kind are sent only when they make sense. */
export function apiQuery(state: SearchState): SearchApiQuery {
  const query: SearchApiQuery = { q: state.q, limit: PAGE_SIZE, offset: state.offset };
  if (state.type) query.type = state.type;
  // Status narrows tickets; asking for it means tickets (the index would otherwise drop customers and articles).
  if (state.status && state.type !== 'customer' && state.type !== 'article') {
    query.status = state.status;
    query.type = 'ticket';
  }
  // Group and assignee narrow tickets too.
  for (const [value, key] of [[state.group, 'group_id'], [state.assignee, 'assignee_id']] as const) {
    if (value && state.type !== 'customer' && state.type !== 'article') {
      query[key] = value;
      query.type = 'ticket';
    }
  }
  if (state.tag && state.type !== 'customer') query.tag = state.tag;
  if (state.locale && state.type !== 'ticket' && state.type !== 'customer') {
    query.locale = state.locale;
    query.type = 'article';
  }
  if (state.from) query.created_from = startOfDay(state.from);
  // "To" is inclusive on screen: anything before the next day's midnight.
  if (state.to) query.created_to = startOfDay(state.to, 1);
  return query;
}

/** Whether any filter beyond the words is set (the empty state then suggests clearing them). */
export function hasFilters(state: SearchState): boolean {
  return Boolean(
    state.type || state.status || state.tag || state.group || state.assignee || state.locale || state.from || state.to,
  );
}

/** "21–40 of 57": the range a page shows (1-based), or null when there is nothing. */
export function pageRange(offset: number, shown: number, total: number): { first: number; last: number } | null {
  if (shown === 0) return null;
  return { first: offset + 1, last: Math.min(total, offset + shown) };
}

/** The next page's offset, or null on the last page (or past what the API pages to). */
export function nextOffset(offset: number, shown: number, total: number): number | null {
  const next = offset + PAGE_SIZE;
  return shown === PAGE_SIZE && next < total && next <= MAX_OFFSET ? next : null;
}

/** The hit to move to with j/k from `current` (-1: none focused yet), staying within the page. */
export function stepHit(current: number, count: number, step: 1 | -1): number {
  if (count === 0) return -1;
  if (current < 0) return step === 1 ? 0 : count - 1;
  return Math.min(count - 1, Math.max(0, current + step));
}
