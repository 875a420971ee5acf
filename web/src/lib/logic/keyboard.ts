// Keyboard shortcuts: one key each, ignored while typing in a field (except Escape).

export type Shortcut = 'next' | 'previous' | 'open' | 'reply' | 'note' | 'assign' | 'status' | 'search' | 'help' | 'back';

const KEYS: Record<string, Shortcut> = {
  j: 'next',
  k: 'previous',
  Enter: 'open',
  r: 'reply',
  n: 'note',
  a: 'assign',
  s: 'status',
  '/': 'search',
  '?': 'help',
  Escape: 'back',
};

/** The list shown by `?`, in order. */
export const SHORTCUTS: { keys: string; action: Shortcut }[] = [
  { keys: 'j / k', action: 'next' },
  { keys: 'Enter', action: 'open' },
  { keys: 'r', action: 'reply' },
  { keys: 'n', action: 'note' },
  { keys: 'a', action: 'assign' },
  { keys: 's', action: 'status' },
  { keys: '/', action: 'search' },
  { keys: '?', action: 'help' },
  { keys: 'Esc', action: 'back' },
];

interface KeyLike {
  key: string;
  ctrlKey: boolean;
  metaKey: boolean;
  altKey: boolean;
  target: EventTarget | null;
}

function typing(target: EventTarget | null): boolean {
  if (!target || typeof (target as Element).closest !== 'function') return false;
  const element = target as HTMLElement;
  return Boolean(element.closest('input, textarea, select, [contenteditable="true"]'));
}

/** The shortcut a key press means, or null. */
export function shortcutFor(event: KeyLike): Shortcut | null {
  if (event.ctrlKey || event.metaKey || event.altKey) return null;
  const action = KEYS[event.key] ?? null;
  if (action && action !== 'back' && typing(event.target)) return null;
  if (action === 'open' && event.target && (event.target as Element).closest?.('button, a, summary')) return null;
  return action;
}
