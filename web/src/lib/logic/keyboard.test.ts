import { expect, it } from 'vitest';
import { shortcutFor } from './keyboard';

const press = (key: string, extra: Partial<{ ctrlKey: boolean; target: unknown }> = {}) => ({
  key,
  ctrlKey: false,
  metaKey: false,
  altKey: false,
  target: null,
  ...extra,
}) as Parameters<typeof shortcutFor>[0];

it('maps single keys to shortcuts and ignores modified keys and typing', () => {
  expect(shortcutFor(press('j'))).toBe('next');
  expect(shortcutFor(press('?'))).toBe('help');
  expect(shortcutFor(press('x'))).toBeNull();
  expect(shortcutFor(press('r', { ctrlKey: true }))).toBeNull();
  const field = { closest: (selector: string) => (selector.startsWith('input') ? {} : null) };
  expect(shortcutFor(press('r', { target: field }))).toBeNull();
  expect(shortcutFor(press('Escape', { target: field }))).toBe('back');
});
