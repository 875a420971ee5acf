// Business-hours calendars as an admin types them: a day's hours as `09:00-12:00, 13:30-18:00` (split
// shifts), dates one per line, and extra working days as `2026-10-10 09:00-18:00` lines. Parsed here into the
// API's form with an error naming the bad part, so a typo is pointed out before saving.

/** A parse result: the value, or what is wrong (`bad` is the offending text). */
export type Parsed<T> = { ok: true; value: T } | { ok: false; bad: string };

const RANGE = /^(\d{1,2}):(\d{2})\s*[-–~]\s*(\d{1,2}):(\d{2})$/;

function minutes(hours: string, mins: string): number | null {
  const h = Number(hours);
  const m = Number(mins);
  if (m >= 60 || h > 24 || (h === 24 && m > 0)) return null;
  return h * 60 + m;
}

const pad = (n: number) => String(n).padStart(2, '0');
const clock = (minute: number) => `${pad(Math.floor(minute / 60))}:${pad(minute % 60)}`;

/** One `HH:MM-HH:MM` range, normalized (`9:00-18:00` becomes `09:00-18:00`). */
export function parseRange(text: string): Parsed<string> {
  const match = RANGE.exec(text.trim());
  if (!match) return { ok: false, bad: text.trim() };
  const start = minutes(match[1], match[2]);
  const end = minutes(match[3], match[4]);
  if (start === null || end === null || start >= end) return { ok: false, bad: text.trim() };
  return { ok: true, value: `${clock(start)}-${clock(end)}` };
}

/** A day's hours: comma- or space-separated ranges in order, not overlapping; empty is a day off. */
export function parseDay(text: string): Parsed<string[]> {
  const parts = text
    .split(/\s*[,，;]\s*|(?<=\d)\s+(?=\d)/)
    .map((part) => part.trim())
    .filter(Boolean);
  const ranges: string[] = [];
  for (const part of parts) {
    const range = parseRange(part);
    if (!range.ok) return range;
    if (ranges.length && ranges[ranges.length - 1].slice(6) > range.value.slice(0, 5)) return { ok: false, bad: part };
    ranges.push(range.value);
  }
  return { ok: true, value: ranges };
}

/** A day's hours as typed. */
export function formatDay(ranges: string[]): string {
  return ranges.join(', ');
}

const DATE = /^\d{4}-\d{2}-\d{2}$/;

function isDate(text: string): boolean {
  if (!DATE.test(text)) return false;
  const date = new Date(`${text}T00:00:00Z`);
  return !Number.isNaN(date.getTime()) && date.toISOString().slice(0, 10) === text;
}

/** Dates (`YYYY-MM-DD`), separated by lines, commas or spaces; sorted, without repeats. */
export function parseDates(text: string): Parsed<string[]> {
  const dates = text.split(/[\s,，]+/).filter(Boolean);
  for (const date of dates) if (!isDate(date)) return { ok: false, bad: date };
  return { ok: true, value: [...new Set(dates)].sort() };
}

/** Extra working days, one per line: a date, then its hours (`2026-10-10 09:00-12:00, 13:00-18:00`). */
export function parseExtraWorkdays(text: string): Parsed<Record<string, string[]>> {
  const days: Record<string, string[]> = {};
  for (const line of text.split('\n').map((l) => l.trim()).filter(Boolean)) {
    const [date, ...rest] = line.split(/\s+/);
    if (!isDate(date)) return { ok: false, bad: date };
    const hours = parseDay(rest.join(' '));
    if (!hours.ok) return hours;
    if (!hours.value.length) return { ok: false, bad: line };
    days[date] = hours.value;
  }
  return { ok: true, value: days };
}

/** Extra working days as typed. */
export function formatExtraWorkdays(days: Record<string, string[]> | null | undefined): string {
  return Object.entries(days ?? {})
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([date, hours]) => `${date} ${formatDay(hours)}`)
    .join('\n');
}

/** Monday-first weekday names in a locale (the calendar's week starts on Monday). */
export function weekdayNames(locale: string): string[] {
  const format = new Intl.DateTimeFormat(locale, { weekday: 'long', timeZone: 'UTC' });
  // 2024-01-01 was a Monday.
  return Array.from({ length: 7 }, (_, day) => format.format(new Date(Date.UTC(2024, 0, 1 + day))));
}
