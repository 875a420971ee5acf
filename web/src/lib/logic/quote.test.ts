import { describe, expect, it } from 'vitest';
import { splitQuoted } from './quote';

describe('splitQuoted', () => {
  it('cuts at an attribution line followed by history', () => {
    const text = 'Thanks, that worked.\n\nOn Mon, 2 Mar 2026 Ana <ana@example.com> wrote:\n> Try restarting it.';
    expect(splitQuoted(text)).toEqual({
      visible: 'Thanks, that worked.',
      quoted: 'On Mon, 2 Mar 2026 Ana <ana@example.com> wrote:\n> Try restarting it.',
    });
  });

  it('cuts at a trailing block of > lines and at Chinese attributions', () => {
    expect(splitQuoted('ok\n> old\n>\n> older').visible).toBe('ok');
    expect(splitQuoted('收到，谢谢\n在 2026年3月2日 李伟 写道：\n> 请重启').visible).toBe('收到，谢谢');
  });

  it('leaves text without history alone, and never hides everything', () => {
    expect(splitQuoted('no quote here')).toEqual({ visible: 'no quote here', quoted: '' });
    expect(splitQuoted('> only a quote').visible).toBe('> only a quote');
    expect(splitQuoted('a\n> inline\nreply below').quoted).toBe('');
  });
});
