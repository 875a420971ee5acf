import { expect, it } from 'vitest';
import { parseRoute } from './router.svelte';

it('parses the app paths', () => {
  expect(parseRoute('/')).toEqual({ name: 'inbox', view: 'mine' });
  expect(parseRoute('/views/unassigned?tag=vip')).toEqual({ name: 'inbox', view: 'unassigned' });
  expect(parseRoute('/views/saved-7')).toEqual({ name: 'inbox', view: 'saved-7' });
  expect(parseRoute('/tickets/42')).toEqual({ name: 'ticket', id: 42 });
  expect(parseRoute('/admin')).toEqual({ name: 'admin', section: 'agents' });
  expect(parseRoute('/admin/fields/')).toEqual({ name: 'admin', section: 'fields' });
  expect(parseRoute('/admin/nope')).toEqual({ name: 'not_found' });
  expect(parseRoute('/tickets/abc')).toEqual({ name: 'not_found' });
  expect(parseRoute('/search?q=%E9%80%80%E6%AC%BE')).toEqual({ name: 'search' });
  expect(parseRoute('/kb?status=draft')).toEqual({ name: 'kb', section: 'articles' });
  expect(parseRoute('/kb/articles/new')).toEqual({ name: 'kb', section: 'article' });
  expect(parseRoute('/kb/articles/12')).toEqual({ name: 'kb', section: 'article', id: 12 });
  expect(parseRoute('/kb/categories')).toEqual({ name: 'kb', section: 'categories' });
  expect(parseRoute('/kb/branding/')).toEqual({ name: 'kb', section: 'branding' });
  expect(parseRoute('/kb/nope')).toEqual({ name: 'not_found' });
});
