import { describe, expect, it } from 'vitest';
import { MessageSyntaxError, flatten, formatMessage, validateMessage } from './format';

describe('formatMessage', () => {
  it('fills arguments and formats numbers', () => {
    expect(formatMessage('Hello {name}', { name: 'Li' })).toBe('Hello Li');
    expect(formatMessage('{n, number} tickets', { n: 12345 }, 'en')).toBe('12,345 tickets');
  });

  it('chooses plural forms per locale, exact matches first', () => {
    const message = '{count, plural, =0 {no tickets} one {# ticket} other {# tickets}}';
    expect(formatMessage(message, { count: 0 })).toBe('no tickets');
    expect(formatMessage(message, { count: 1 })).toBe('1 ticket');
    expect(formatMessage(message, { count: 1200 })).toBe('1,200 tickets');
    expect(formatMessage('{count, plural, other {# 个工单}}', { count: 3 }, 'zh-CN')).toBe('3 个工单');
  });

  it('selects and nests', () => {
    const message = '{state, select, typing {{name} is replying} other {{name} is viewing}}';
    expect(formatMessage(message, { state: 'typing', name: 'Ana' })).toBe('Ana is replying');
    expect(formatMessage(message, { state: 'viewing', name: 'Ana' })).toBe('Ana is viewing');
  });

  it('keeps quoted braces literal', () => {
    expect(formatMessage("Type '{'name'}' or it''s fine")).toBe("Type {name} or it's fine");
  });

  it('rejects malformed messages', () => {
    expect(() => validateMessage('{oops')).toThrow(MessageSyntaxError);
    expect(() => validateMessage('{n, plural, one {x}}')).toThrow(MessageSyntaxError);
    expect(() => validateMessage('a } b')).toThrow(MessageSyntaxError);
  });
});

describe('flatten', () => {
  it('joins nested keys with dots', () => {
    expect(flatten({ a: { b: 'x', c: { d: 'y' } }, e: 'z' })).toEqual({ 'a.b': 'x', 'a.c.d': 'y', e: 'z' });
  });
});
