import { describe, expect, test } from 'vitest';
import { apiQuery, hasFilters, nextOffset, pageRange, parseSearch, searchPath, stepHit } from './search';

describe('search state in the address', () => {
  test('round-trips through the address', () => {
    const state = parseSearch('?q=%E9%80%80%E6%AC%BE&type=ticket&status=open&tag=vip&offset=20');
    expect(state).toEqual({ q: '退款', type: 'ticket', status: 'open', tag: 'vip', locale: undefined, from: undefined, to: undefined, offset: 20 });
    expect(parseSearch(searchPath(state).split('?')[1])).toEqual(state);
  });

  test('ignores what it does not know', () => {
    const state = parseSearch('q=x&type=order&offset=-5&from=yesterday');
    expect(state.type).toBeUndefined();
    expect(state.offset).toBe(0);
    expect(state.from).toBeUndefined();
    expect(parseSearch('q=x&offset=99999').offset).toBe(1000);
    expect(searchPath({ q: 'a b', offset: 0 })).toBe('/search?q=a+b');
  });

  test('knows when filters are set', () => {
    expect(hasFilters(parseSearch('q=x'))).toBe(false);
    expect(hasFilters(parseSearch('q=x&tag=vip'))).toBe(true);
  });
});

describe('the API query', () => {
  test('pages with offset and sends only filters that fit the kind', () => {
    expect(apiQuery(parseSearch('q=refund'))).toEqual({ q: 'refund', limit: 20, offset: 0 });
    expect(apiQuery(parseSearch('q=refund&status=open'))).toMatchObject({ type: 'ticket', status: 'open' });
    expect(apiQuery(parseSearch('q=refund&type=customer&status=open&tag=vip'))).toEqual({ q: 'refund', type: 'customer', limit: 20, offset: 0 });
    expect(apiQuery(parseSearch('q=refund&locale=zh-TW'))).toMatchObject({ type: 'article', locale: 'zh-TW' });
  });

  test('group and assignee narrow tickets', () => {
    const state = parseSearch('q=refund&group=3&assignee=9');
    expect(state).toMatchObject({ group: 3, assignee: 9 });
    expect(searchPath(state)).toBe('/search?q=refund&group=3&assignee=9');
    expect(apiQuery(state)).toMatchObject({ type: 'ticket', group_id: 3, assignee_id: 9 });
    expect(apiQuery(parseSearch('q=refund&type=article&group=3'))).toEqual({ q: 'refund', type: 'article', limit: 20, offset: 0 });
    expect(parseSearch('q=x&group=abc').group).toBeUndefined();
  });

  test('turns calendar days into an inclusive range of instants', () => {
    const query = apiQuery(parseSearch('q=x&from=2026-03-01&to=2026-03-31'));
    expect(new Date(query.created_from as string).getTime()).toBe(new Date(2026, 2, 1).getTime());
    expect(new Date(query.created_to as string).getTime()).toBe(new Date(2026, 3, 1).getTime());
  });
});

describe('paging', () => {
  test('says which results a page shows and where the next starts', () => {
    expect(pageRange(20, 20, 57)).toEqual({ first: 21, last: 40 });
    expect(pageRange(40, 17, 57)).toEqual({ first: 41, last: 57 });
    expect(pageRange(0, 0, 0)).toBeNull();
    expect(nextOffset(0, 20, 57)).toBe(20);
    expect(nextOffset(40, 17, 57)).toBeNull();
    expect(nextOffset(20, 20, 40)).toBeNull();
    expect(nextOffset(1000, 20, 5000)).toBeNull();
  });
});

describe('j and k through the hits', () => {
  test('start at the first (or last) and stop at the ends', () => {
    expect(stepHit(-1, 3, 1)).toBe(0);
    expect(stepHit(-1, 3, -1)).toBe(2);
    expect(stepHit(0, 3, 1)).toBe(1);
    expect(stepHit(2, 3, 1)).toBe(2);
    expect(stepHit(0, 3, -1)).toBe(0);
    expect(stepHit(-1, 0, 1)).toBe(-1);
  });
});
