import { describe, expect, it } from 'vitest';
import { handleOf, insertMention, mentionAt, suggest } from './mentions';

describe('mentions', () => {
  it('finds the handle being typed', () => {
    expect(mentionAt('hi @li', 6)).toEqual({ start: 3, query: 'li' });
    expect(mentionAt('@', 1)).toEqual({ start: 0, query: '' });
    expect(mentionAt('请@zh', 4)).toEqual({ start: 1, query: 'zh' });
    expect(mentionAt('mail a@b', 8)).toBeNull();
    expect(mentionAt('hi @li wei', 10)).toBeNull();
  });

  it('inserts the chosen handle and moves the caret past it', () => {
    expect(insertMention('hi @li please', 3, 6, 'li.wei')).toEqual({ text: 'hi @li.wei  please', caret: 11 });
  });

  it('suggests active agents by handle or name', () => {
    const agents = [
      { name: 'Li Wei', email: 'li.wei@example.com', active: true },
      { name: 'Ana Lima', email: 'ana@example.com', active: true },
      { name: 'Old Li', email: 'li.old@example.com', active: false },
    ];
    expect(suggest(agents, 'li').map((a) => a.name)).toEqual(['Li Wei', 'Ana Lima']);
    expect(handleOf('li.wei@example.com')).toBe('li.wei');
  });
});
