import { describe, expect, test } from 'vitest';
import {
  articleFiltersPath,
  articleLink,
  brandingBody,
  brandingProblems,
  categoryTree,
  changedTranslations,
  insertAt,
  localDay,
  localeOrder,
  parseArticleFilters,
  parseTags,
  percent,
  pickName,
  pickTranslation,
  publicUrl,
  reviewDue,
} from './kb';

describe('names and titles in the best locale', () => {
  test('prefers the reader’s locale, then the other Chinese script, then any', () => {
    expect(localeOrder('zh-TW')).toEqual(['zh-TW', 'zh-CN', 'en']);
    expect(localeOrder('en')).toEqual(['en', 'zh-CN', 'zh-TW']);
    expect(pickName({ 'zh-CN': '退款', en: 'Refunds' }, 'zh-TW')).toBe('退款');
    expect(pickName({ 'zh-CN': '退款', en: 'Refunds' }, 'en')).toBe('Refunds');
    expect(pickName({ en: '  ', 'zh-TW': '退貨' }, 'en')).toBe('退貨');
    expect(pickName({}, 'en')).toBe('');
    expect(pickTranslation([{ locale: 'en' }, { locale: 'zh-CN' }], 'zh-TW')).toEqual({ locale: 'zh-CN' });
    expect(pickTranslation([], 'en')).toBeUndefined();
  });
});

describe('the category tree', () => {
  test('puts sections under their category, in position order, and keeps orphans visible', () => {
    const rows = categoryTree([
      { id: 1, names: { en: 'B' }, position: 2 },
      { id: 2, names: { en: 'A' }, position: 1 },
      { id: 3, names: { en: 'A2' }, parent_id: 2, position: 2 },
      { id: 4, names: { en: 'A1' }, parent_id: 2, position: 1 },
      { id: 5, names: { en: 'Lost' }, parent_id: 99 },
    ]);
    expect(rows.map((row) => [row.category.id, row.depth])).toEqual([
      [5, 0],
      [2, 0],
      [4, 1],
      [3, 1],
      [1, 0],
    ]);
  });
});

describe('article list filters in the address', () => {
  test('round-trip and ignore nonsense', () => {
    const filters = parseArticleFilters('?category=3&status=draft&review=1');
    expect(filters).toEqual({ category: 3, status: 'draft', needsReview: true });
    expect(articleFiltersPath(filters)).toBe('/kb?category=3&status=draft&review=1');
    expect(parseArticleFilters('category=x&status=gone')).toEqual({ category: undefined, status: undefined, needsReview: false });
    expect(articleFiltersPath({ needsReview: false })).toBe('/kb');
  });
});

describe('what the editor sends', () => {
  const saved = [{ locale: 'zh-CN', title: '退款', body_markdown: '七天内' }];
  test('only new or changed locales with a title', () => {
    const drafts = {
      'zh-CN': { title: '退款', body: '七天内' },
      'zh-TW': { title: ' 退款 ', body: '七天內' },
      en: { title: '', body: '' },
    };
    expect(changedTranslations(drafts, saved)).toEqual({
      translations: [{ locale: 'zh-TW', title: '退款', body_markdown: '七天內' }],
      untitled: [],
    });
    expect(changedTranslations({ ...drafts, 'zh-CN': { title: '退款', body: '十四天内' } }, saved).translations[0]).toEqual({
      locale: 'zh-CN',
      title: '退款',
      body_markdown: '十四天内',
    });
  });
  test('reports a body without a title, and a saved locale whose title was cleared', () => {
    expect(changedTranslations({ en: { title: '', body: 'text' } }, []).untitled).toEqual(['en']);
    expect(changedTranslations({ 'zh-CN': { title: '', body: '' } }, saved).untitled).toEqual(['zh-CN']);
  });
  test('tags split on western and Chinese separators', () => {
    expect(parseTags('退款, 发票，vip  vip、 物流')).toEqual(['退款', '发票', 'vip', '物流']);
    expect(parseTags('  ')).toEqual([]);
  });
});

describe('an article link in a reply', () => {
  test('is absolute and survives brackets in the title', () => {
    expect(publicUrl('/help/zh-CN/articles/7-tui-kuan', 'https://support.example.com')).toBe(
      'https://support.example.com/help/zh-CN/articles/7-tui-kuan',
    );
    expect(articleLink('Refunds [2026]', 'https://x/a')).toBe('[Refunds \\[2026\\]](https://x/a)');
  });
  test('goes at the caret on a line of its own', () => {
    expect(insertAt('', 0, 0, 'L')).toEqual({ text: 'L', caret: 1 });
    expect(insertAt('Hello', 5, 5, 'L')).toEqual({ text: 'Hello\nL', caret: 7 });
    expect(insertAt('Hello\n', 6, 6, 'L')).toEqual({ text: 'Hello\nL', caret: 7 });
    expect(insertAt('ab', 1, 1, 'L')).toEqual({ text: 'a\nL\nb', caret: 3 });
    expect(insertAt('a XX b', 2, 4, 'L')).toEqual({ text: 'a \nL\n b', caret: 4 });
    expect(insertAt('abc', 99, 99, 'L').text).toBe('abc\nL');
  });
});

describe('review dates', () => {
  test('are due on and after the day', () => {
    expect(reviewDue('2026-03-01', '2026-03-01')).toBe(true);
    expect(reviewDue('2026-03-02', '2026-03-01')).toBe(false);
    expect(reviewDue(null, '2026-03-01')).toBe(false);
    expect(localDay(new Date(2026, 0, 5, 23, 30))).toBe('2026-01-05');
  });
});

describe('help-center branding', () => {
  const good = { name: 'Acme 帮助中心', logo_url: '/logo.png', primary_color: '#0A7D5A', custom_css: '' };
  test('finds what the server would refuse', () => {
    expect(brandingProblems(good)).toEqual({});
    expect(
      brandingProblems({ name: ' ', logo_url: 'javascript:alert(1)', primary_color: 'red', custom_css: '</STYLE><script>' }),
    ).toEqual({ name: 'name', logo_url: 'logo', primary_color: 'color', custom_css: 'css' });
    expect(brandingProblems({ ...good, logo_url: 'http://insecure.example/logo.png' }).logo_url).toBe('logo');
    expect(brandingProblems({ ...good, custom_css: 'a'.repeat(20 * 1024 + 1) }).custom_css).toBe('css');
  });
  test('sends only what is set, never null', () => {
    expect(brandingBody(good)).toEqual({ name: 'Acme 帮助中心', logo_url: '/logo.png', primary_color: '#0a7d5a' });
    expect(brandingBody({ name: 'A', logo_url: ' ', primary_color: '', custom_css: 'h1{}' })).toEqual({ name: 'A', custom_css: 'h1{}' });
  });
  test('click-through as a whole percentage', () => {
    expect(percent(0.375)).toBe(38);
    expect(percent(Number.NaN)).toBe(0);
  });
});
