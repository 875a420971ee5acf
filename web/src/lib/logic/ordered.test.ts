import { describe, expect, test } from 'vitest';
import { byPosition, moves, nextPosition } from './ordered';

describe('ordered lists', () => {
  test('sort by position, then id', () => {
    const list = [
      { id: 3, position: 20 },
      { id: 2, position: 10 },
      { id: 1, position: 20 },
      { id: 4 },
    ];
    expect(byPosition(list).map((item) => item.id)).toEqual([4, 2, 1, 3]);
  });

  test('a new entry goes 10 after the last', () => {
    expect(nextPosition([])).toBe(10);
    expect(nextPosition([{ id: 1, position: 10 }, { id: 2, position: 35 }])).toBe(45);
    expect(nextPosition([{ id: 1, position: null }])).toBe(10);
  });

  test('a move saves only the entries whose position changed', () => {
    const list = [
      { id: 1, position: 10, name: 'a' },
      { id: 2, position: 20, name: 'b' },
      { id: 3, position: 30, name: 'c' },
    ];
    expect(moves(list, 1, 1)).toEqual([
      { item: list[2], position: 20 },
      { item: list[1], position: 30 },
    ]);
    expect(moves(list, 0, -1)).toEqual([]);
    expect(moves(list, 2, 1)).toEqual([]);
  });

  test('a move renumbers entries that had no or uneven positions', () => {
    const list = [{ id: 7 }, { id: 5, position: 10 }, { id: 6, position: 25 }];
    expect(moves(list, 0, 1)).toEqual([
      { item: list[0], position: 20 },
      { item: list[2], position: 30 },
    ]);
  });
});
