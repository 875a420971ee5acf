// The app shell as the binary serves it: any client route gets index.html, scripts go out gzipped to
// browsers that take gzip (and plain to others), and nothing is fetched from another origin.
import { expect, test } from 'vitest';
import { ADMIN, baseUrl, screenshotOnFailure, signedInPage, useBrowser } from './fixtures';

const browser = useBrowser();

test('client routes get the shell and scripts are sent gzipped', async () => {
  const shell = await fetch(`${baseUrl()}/views/open?tag=x`);
  expect(shell.headers.get('content-type')).toContain('text/html');
  const html = await shell.text();
  const script = /src="(\/assets\/[^"]+\.js)"/.exec(html)![1];

  const gzipped = await fetch(`${baseUrl()}${script}`, { headers: { 'Accept-Encoding': 'gzip' } });
  expect(gzipped.headers.get('content-encoding')).toBe('gzip');
  expect(gzipped.headers.get('content-type')).toContain('javascript');
  expect(gzipped.headers.get('cache-control')).toContain('immutable');
  const plain = await fetch(`${baseUrl()}${script}`, { headers: { 'Accept-Encoding': 'identity' } });
  expect(plain.headers.get('content-encoding')).toBeNull();
  expect((await gzipped.text()).length).toBe((await plain.text()).length);
  expect((await fetch(`${baseUrl()}/api/v1/nope`)).headers.get('content-type')).toContain('problem+json');
});

test('a signed-in session loads nothing from another origin', async () => {
  const { context, page } = await signedInPage(browser(), ADMIN);
  screenshotOnFailure('shell-origin', page);
  const foreign: string[] = [];
  page.on('request', (request) => {
    if (!request.url().startsWith(baseUrl()) && !request.url().startsWith('data:')) foreign.push(request.url());
  });
  await page.reload();
  await page.locator('[data-test-live="on"]').waitFor({ state: 'attached' });
  await page.locator('[data-test-view="all"]').click();
  expect(foreign).toEqual([]);
  await context.close();
});
