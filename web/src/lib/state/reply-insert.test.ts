import { expect, test } from 'vitest';
import { insertIntoReply, onReplyInsert } from './reply-insert';

test('text reaches only the reply box of its ticket, while it listens', () => {
  const got: string[] = [];
  const stop = onReplyInsert(7, (text) => got.push(text));
  expect(insertIntoReply(8, 'elsewhere')).toBe(false);
  expect(insertIntoReply(7, 'link')).toBe(true);
  stop();
  expect(insertIntoReply(7, 'late')).toBe(false);
  expect(got).toEqual(['link']);
});
