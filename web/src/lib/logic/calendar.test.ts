import { describe, expect, it } from 'vitest';
import { formatDay, formatExtraWorkdays, parseDates, parseDay, parseExtraWorkdays, parseRange, weekdayNames } from './calendar';

describe('business hours as typed', () => {
  it('parses and normalizes one range', () => {
    expect(parseRange('9:00-18:00')).toEqual({ ok: true, value: '09:00-18:00' });
    expect(parseRange('09:00 – 24:00')).toEqual({ ok: true, value: '09:00-24:00' });
    expect(parseRange('18:00-09:00')).toEqual({ ok: false, bad: '18:00-09:00' });
    expect(parseRange('09:60-10:00').ok).toBe(false);
    expect(parseRange('nine to five').ok).toBe(false);
  });

  it('parses split shifts in order and refuses overlaps', () => {
    expect(parseDay('09:00-12:00, 13:30-18:00')).toEqual({ ok: true, value: ['09:00-12:00', '13:30-18:00'] });
    expect(parseDay('09:00-12:00 13:30-18:00')).toEqual({ ok: true, value: ['09:00-12:00', '13:30-18:00'] });
    expect(parseDay('09:00 - 12:00；13:00-14:00'.replace('；', ';'))).toEqual({ ok: true, value: ['09:00-12:00', '13:00-14:00'] });
    expect(parseDay('')).toEqual({ ok: true, value: [] });
    expect(parseDay('09:00-12:00, 11:00-18:00')).toEqual({ ok: false, bad: '11:00-18:00' });
    expect(parseDay('09:00-12:00, 9am')).toEqual({ ok: false, bad: '9am' });
    expect(formatDay(['09:00-12:00', '13:30-18:00'])).toBe('09:00-12:00, 13:30-18:00');
  });

  it('parses holidays and extra working days', () => {
    expect(parseDates('2026-10-02\n2026-10-01, 2026-10-01')).toEqual({ ok: true, value: ['2026-10-01', '2026-10-02'] });
    expect(parseDates('2026-02-30')).toEqual({ ok: false, bad: '2026-02-30' });
    const extra = parseExtraWorkdays('2026-10-10 09:00-12:00, 13:00-18:00\n\n2026-09-28 09:00-18:00');
    expect(extra).toEqual({ ok: true, value: { '2026-10-10': ['09:00-12:00', '13:00-18:00'], '2026-09-28': ['09:00-18:00'] } });
    expect(parseExtraWorkdays('2026-10-10')).toEqual({ ok: false, bad: '2026-10-10' });
    expect(parseExtraWorkdays('10/10 09:00-18:00')).toEqual({ ok: false, bad: '10/10' });
    expect(formatExtraWorkdays(extra.ok ? extra.value : {})).toBe('2026-09-28 09:00-18:00\n2026-10-10 09:00-12:00, 13:00-18:00');
  });

  it('names weekdays Monday first', () => {
    expect(weekdayNames('en')[0]).toBe('Monday');
    expect(weekdayNames('en')[6]).toBe('Sunday');
  });
});
