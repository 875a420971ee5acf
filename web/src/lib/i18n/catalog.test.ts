// Every catalogue has the same keys as English, and every message parses as ICU.
import { describe, expect, it } from 'vitest';
import en from './en.json';
import zhCN from './zh-CN.json';
import zhTW from './zh-TW.json';
import { flatten, formatMessage, validateMessage } from './format';

const english = flatten(en);

describe.each([
  ['zh-CN', zhCN],
  ['zh-TW', zhTW],
])('%s catalogue', (locale, catalogue) => {
  const messages = flatten(catalogue);
  it('has exactly the English keys', () => {
    expect(Object.keys(messages).sort()).toEqual(Object.keys(english).sort());
  });
  it('uses only placeholders English has (plural counts may go unused)', () => {
    for (const [key, message] of Object.entries(messages)) {
      const names = (text: string) => [...new Set([...text.matchAll(/\{(\w+)\s*[,}]/g)].map((m) => m[1]))].sort();
      expect(names(english[key]), key).toEqual(expect.arrayContaining(names(message)));
    }
  });
  it('formats every message', () => {
    for (const message of Object.values(messages)) {
      expect(() => validateMessage(message)).not.toThrow();
      formatMessage(message, { count: 2, name: 'x', state: 'typing' }, locale);
    }
  });
});

it('English messages parse', () => {
  for (const message of Object.values(english)) expect(() => validateMessage(message)).not.toThrow();
});
