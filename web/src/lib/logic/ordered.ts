// Ordered admin lists (SLA policies, triggers, automations): shown by position, new entries go last, and a
// move up or down renumbers the list and saves only the entries whose position changed.
import { reorder } from './rules';

/** A list entry with its server-assigned id and its (optional) position. */
export type Positioned = { id: number; position?: number | null };

/** The list sorted by position, then by id for equal positions (sorts in place and returns it). */
export function byPosition<T extends Positioned>(list: T[]): T[] {
  return list.sort((a, b) => (a.position ?? 0) - (b.position ?? 0) || a.id - b.id);
}

/** The position for a new entry: 10 after the last one. */
export function nextPosition(list: Positioned[]): number {
  return (list.at(-1)?.position ?? 0) + 10;
}

/** The entries to save, with their new positions, when the one at `index` moves by one place. */
export function moves<T extends Positioned>(list: T[], index: number, by: -1 | 1): { item: T; position: number }[] {
  return reorder(list, index, by).flatMap(({ id, position }) => {
    const item = list.find((candidate) => candidate.id === id);
    return item && item.position !== position ? [{ item, position }] : [];
  });
}
