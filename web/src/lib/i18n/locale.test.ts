import { expect, it } from 'vitest';
import { i18n, pickLocale } from './index.svelte';

it('picks the catalogue from the browser languages', () => {
  expect(pickLocale(['zh-CN', 'en'])).toBe('zh-CN');
  expect(pickLocale(['zh'])).toBe('zh-CN');
  expect(pickLocale(['zh-TW'])).toBe('zh-TW');
  expect(pickLocale(['zh-HK'])).toBe('zh-TW');
  expect(pickLocale(['zh-Hant-TW'])).toBe('zh-TW');
  expect(pickLocale(['fr-FR', 'en-GB'])).toBe('en');
  expect(pickLocale(['fr-FR'])).toBe('en');
});

it('switches catalogues and formats with the locale', async () => {
  await i18n.use('zh-CN', false);
  expect(i18n.t('nav.inbox')).toBe('收件箱');
  expect(i18n.t('inbox.selected', { count: 3 })).toBe('已选 3 个');
  await i18n.use('zh-TW', false);
  expect(i18n.t('nav.inbox')).toBe('收件匣');
  await i18n.use('en', false);
  expect(i18n.t('inbox.selected', { count: 1 })).toBe('1 selected');
  expect(i18n.relative('2026-01-01T00:00:00Z', Date.parse('2026-01-01T00:05:00Z'))).toBe('5 min. ago');
});
