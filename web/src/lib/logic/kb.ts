// The knowledge base's client-side rules: the category tree from the flat list the API sends, names and
// titles in the best locale available, the article list's filters in the address, the editor's per-locale
// drafts turned into what the API takes, a reply's article link, and the help-center branding checks
// (the same ones the server makes, so a mistake shows beside its field before saving).

/** The locales an article can be written in, in tab order. */
export const ARTICLE_LOCALES = ['zh-CN', 'zh-TW', 'en'] as const;
export type ArticleLocale = (typeof ARTICLE_LOCALES)[number];
export const ARTICLE_STATUSES = ['draft', 'published', 'archived'] as const;
export type ArticleStatus = (typeof ARTICLE_STATUSES)[number];
export const VISIBILITIES = ['public', 'internal'] as const;

/** The order to try locales in for a reader of `preferred` (the UI's locale), then the rest. */
export function localeOrder(preferred: string): string[] {
  const first = ARTICLE_LOCALES.includes(preferred as ArticleLocale) ? [preferred] : [];
  // A Chinese reader would rather see the other Chinese script than English.
  const chinese = preferred.startsWith('zh') ? ['zh-CN', 'zh-TW'] : [];
  return [...new Set([...first, ...chinese, ...ARTICLE_LOCALES])];
}

/** A name from a `{locale: name}` map in the best locale for the reader, or '' when there is none. */
export function pickName(names: Record<string, string>, preferred: string): string {
  for (const locale of localeOrder(preferred)) if (names[locale]?.trim()) return names[locale];
  return Object.values(names).find((name) => name.trim()) ?? '';
}

/** The translation an article is best shown by for a reader of `preferred`. */
export function pickTranslation<T extends { locale: string }>(translations: T[], preferred: string): T | undefined {
  for (const locale of localeOrder(preferred)) {
    const found = translations.find((translation) => translation.locale === locale);
    if (found) return found;
  }
  return translations[0];
}

export interface CategoryLike {
  id: number;
  parent_id?: number | null;
  position?: number;
  names: Record<string, string>;
}

export interface TreeRow<T extends CategoryLike> {
  category: T;
  /** 0 for a category, 1 for a section. */
  depth: number;
}

/** Categories in display order, each followed by its sections (by position, then id). Sections whose
 *  category is gone are listed at the top level so they can still be moved or deleted. */
export function categoryTree<T extends CategoryLike>(categories: T[]): TreeRow<T>[] {
  const byOrder = (a: T, b: T) => (a.position ?? 0) - (b.position ?? 0) || a.id - b.id;
  const ids = new Set(categories.map((category) => category.id));
  const roots = categories.filter((category) => !category.parent_id || !ids.has(category.parent_id)).sort(byOrder);
  const rows: TreeRow<T>[] = [];
  for (const root of roots) {
    rows.push({ category: root, depth: 0 });
    for (const section of categories.filter((category) => category.parent_id === root.id).sort(byOrder)) {
      rows.push({ category: section, depth: 1 });
    }
  }
  return rows;
}

/** The article list's filters, kept in the address (`/kb?category=3&status=draft&review=1`). */
export interface ArticleFilters {
  category?: number;
  status?: ArticleStatus;
  needsReview: boolean;
}

export function parseArticleFilters(query: string): ArticleFilters {
  const params = new URLSearchParams(query.replace(/^\?/, ''));
  const category = Number(params.get('category'));
  const status = params.get('status') as ArticleStatus | null;
  return {
    category: Number.isInteger(category) && category > 0 ? category : undefined,
    status: status && ARTICLE_STATUSES.includes(status) ? status : undefined,
    needsReview: params.get('review') === '1',
  };
}

export function articleFiltersPath(filters: ArticleFilters): string {
  const params = new URLSearchParams();
  if (filters.category) params.set('category', String(filters.category));
  if (filters.status) params.set('status', filters.status);
  if (filters.needsReview) params.set('review', '1');
  const query = params.toString();
  return query ? `/kb?${query}` : '/kb';
}

/** One locale's text in the editor. */
export interface DraftText {
  title: string;
  body: string;
}

export interface SavedText {
  locale: string;
  title: string;
  body_markdown: string;
}

/** The locale variants to send: the ones with a title that are new or changed since `saved`. A locale
 *  left completely empty is not sent; one with a body but no title is reported so the agent can fix it. */
export function changedTranslations(
  drafts: Record<string, DraftText>,
  saved: SavedText[],
): { translations: { locale: string; title: string; body_markdown: string }[]; untitled: string[] } {
  const translations: { locale: string; title: string; body_markdown: string }[] = [];
  const untitled: string[] = [];
  for (const locale of ARTICLE_LOCALES) {
    const draft = drafts[locale];
    if (!draft) continue;
    const title = draft.title.trim();
    const before = saved.find((translation) => translation.locale === locale);
    if (!title) {
      if (draft.body.trim() || before) untitled.push(locale);
      continue;
    }
    if (before && before.title === title && before.body_markdown === draft.body) continue;
    translations.push({ locale, title, body_markdown: draft.body });
  }
  return { translations, untitled };
}

/** Tags typed as "退款, 发票  vip": split on commas, Chinese commas and spaces, without repeats. */
export function parseTags(text: string): string[] {
  return [...new Set(text.split(/[,，、\s]+/).map((tag) => tag.trim()).filter(Boolean))];
}

/** The address a customer opens for an article path from the API (which is relative to the site). */
export function publicUrl(path: string, origin: string): string {
  return new URL(path, origin).toString();
}

/** The Markdown link to put in a reply. Brackets in the title would end the link text early. */
export function articleLink(title: string, url: string): string {
  const text = title.replace(/[[\]]/g, (bracket) => `\\${bracket}`);
  return `[${text}](${url})`;
}

/** Inserts `text` at the caret (replacing the selection) on a line of its own when the caret is mid-text;
 *  returns the new text and where the caret goes. */
export function insertAt(body: string, start: number, end: number, text: string): { text: string; caret: number } {
  const from = Math.max(0, Math.min(start, body.length));
  const to = Math.max(from, Math.min(end, body.length));
  const before = body.slice(0, from);
  const after = body.slice(to);
  const lead = before && !before.endsWith('\n') ? '\n' : '';
  const trail = after && !after.startsWith('\n') ? '\n' : '';
  const inserted = `${lead}${text}${trail}`;
  return { text: before + inserted + after, caret: before.length + lead.length + text.length };
}

/** Whether a review-by day has come, on the agent's calendar (`today` as `YYYY-MM-DD`). */
export function reviewDue(reviewBy: string | null | undefined, today: string): boolean {
  return Boolean(reviewBy && reviewBy <= today);
}

/** Today on the local calendar, as `YYYY-MM-DD`. */
export function localDay(now = new Date()): string {
  const pad = (value: number) => String(value).padStart(2, '0');
  return `${now.getFullYear()}-${pad(now.getMonth() + 1)}-${pad(now.getDate())}`;
}

export interface Branding {
  name: string;
  logo_url: string;
  primary_color: string;
  custom_css: string;
}

export type BrandingField = keyof Branding;

/** The fields the server would refuse, with the reason's message key suffix. */
export function brandingProblems(branding: Branding): Partial<Record<BrandingField, 'name' | 'logo' | 'color' | 'css'>> {
  const problems: Partial<Record<BrandingField, 'name' | 'logo' | 'color' | 'css'>> = {};
  if (!branding.name.trim() || [...branding.name].length > 100) problems.name = 'name';
  const logo = branding.logo_url.trim();
  if (logo && !logo.startsWith('https://') && !logo.startsWith('/')) problems.logo_url = 'logo';
  if (branding.primary_color && !/^#[0-9a-fA-F]{6}$/.test(branding.primary_color)) problems.primary_color = 'color';
  if (new TextEncoder().encode(branding.custom_css).length > 20 * 1024 || /<\/style/i.test(branding.custom_css)) {
    problems.custom_css = 'css';
  }
  return problems;
}

/** What to send: only the settings that are set (the API takes no nulls; a left-out setting is unset). */
export function brandingBody(branding: Branding): Partial<Branding> {
  const body: Partial<Branding> = { name: branding.name.trim() };
  if (branding.logo_url.trim()) body.logo_url = branding.logo_url.trim();
  if (branding.primary_color) body.primary_color = branding.primary_color.toLowerCase();
  if (branding.custom_css.trim()) body.custom_css = branding.custom_css;
  return body;
}

/** A share (0.375) as a whole percentage for display (38). */
export function percent(rate: number): number {
  return Number.isFinite(rate) ? Math.round(rate * 100) : 0;
}
