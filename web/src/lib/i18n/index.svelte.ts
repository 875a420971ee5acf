// The message catalogue in use: English is bundled, Chinese catalogues load on demand. Every UI string goes
// through `t('area.key', values)`; keys are checked against en.json at compile time.
import en from './en.json';
import { flatten, formatMessage, type Values } from './format';

export const LOCALES = ['en', 'zh-CN', 'zh-TW'] as const;
export type Locale = (typeof LOCALES)[number];

type Leaves<T, Prefix extends string = ''> = {
  [K in keyof T & string]: T[K] extends string ? `${Prefix}${K}` : Leaves<T[K], `${Prefix}${K}.`>;
}[keyof T & string];

/** Every message key, e.g. `ticket.reply.send`. */
export type MessageKey = Leaves<typeof en>;

const english = flatten(en);
const loaders: Record<Exclude<Locale, 'en'>, () => Promise<{ default: Record<string, unknown> }>> = {
  'zh-CN': () => import('./zh-CN.json'),
  'zh-TW': () => import('./zh-TW.json'),
};

/** The locale for a browser's language list: Traditional Chinese for zh-TW/HK/MO/Hant, Simplified for other zh. */
export function pickLocale(languages: readonly string[]): Locale {
  for (const language of languages) {
    const lower = language.toLowerCase();
    if (/^zh-(tw|hk|mo)|^zh-hant/.test(lower)) return 'zh-TW';
    if (lower.startsWith('zh')) return 'zh-CN';
    if (lower.startsWith('en')) return 'en';
  }
  return 'en';
}

const STORAGE_KEY = 'kefu.locale';

class I18n {
  locale = $state<Locale>('en');
  #messages = $state<Record<string, string>>(english);

  /** Loads the saved or browser locale. */
  async init() {
    const saved = globalThis.localStorage?.getItem(STORAGE_KEY) as Locale | null;
    const wanted = saved && LOCALES.includes(saved) ? saved : pickLocale(globalThis.navigator?.languages ?? []);
    await this.use(wanted, false);
  }

  /** Switches the language (and remembers the choice when `save`). */
  async use(locale: Locale, save = true) {
    const messages = locale === 'en' ? english : { ...english, ...flatten((await loaders[locale]()).default) };
    this.#messages = messages;
    this.locale = locale;
    if (save) globalThis.localStorage?.setItem(STORAGE_KEY, locale);
    if (typeof document !== 'undefined') document.documentElement.lang = locale;
  }

  t = (key: MessageKey, values?: Values): string => {
    const message = this.#messages[key] ?? english[key] ?? key;
    return formatMessage(message, values, this.locale);
  };

  // Intl formatters are slow to build (a list of 50 rows would build 100): one of each per locale.
  #formats = new Map<string, Intl.DateTimeFormat | Intl.RelativeTimeFormat | Intl.NumberFormat>();
  #format<T extends Intl.DateTimeFormat | Intl.RelativeTimeFormat | Intl.NumberFormat>(kind: string, make: () => T): T {
    const key = `${this.locale}|${kind}`;
    let format = this.#formats.get(key) as T | undefined;
    if (!format) this.#formats.set(key, (format = make()));
    return format;
  }

  /** A date and time, short. */
  dateTime = (iso: string): string =>
    this.#format('dateTime', () => new Intl.DateTimeFormat(this.locale, { dateStyle: 'medium', timeStyle: 'short' })).format(
      new Date(iso),
    );

  /** "3 minutes ago", localized; `now` for tests. */
  relative = (iso: string, now = Date.now()): string => {
    const seconds = Math.round((new Date(iso).getTime() - now) / 1000);
    const format = this.#format('relative', () => new Intl.RelativeTimeFormat(this.locale, { numeric: 'auto', style: 'short' }));
    const abs = Math.abs(seconds);
    if (abs < 60) return format.format(seconds, 'second');
    if (abs < 3600) return format.format(Math.round(seconds / 60), 'minute');
    if (abs < 86400) return format.format(Math.round(seconds / 3600), 'hour');
    return format.format(Math.round(seconds / 86400), 'day');
  };

  number = (value: number): string => this.#format('number', () => new Intl.NumberFormat(this.locale)).format(value);

  bytes = (size: number): string => {
    const units = ['byte', 'kilobyte', 'megabyte', 'gigabyte'] as const;
    let value = size;
    let unit = 0;
    while (value >= 1024 && unit < units.length - 1) {
      value /= 1024;
      unit += 1;
    }
    return new Intl.NumberFormat(this.locale, {
      style: 'unit',
      unit: units[unit],
      unitDisplay: 'short',
      maximumFractionDigits: unit === 0 ? 0 : 1,
    }).format(value);
  };
}

export const i18n = new I18n();
export const t = i18n.t;
