// Benchmark: navigation to the first inbox page in Chromium, beside the API's own latency for that page.
//
//   node scripts/bench-first-inbox.mjs [--tickets 1000000] [--runs 15] [--data-dir DIR]
//
// Seeds a data directory with kefu-bench-seed (unless it already holds a database), starts the release
// `kefu serve` (which embeds web/dist) on a free 127.0.0.1 port, then:
//  - API: times GET /api/v1/auth/session and the exact list request the "All open" view sends, from Node
//    over keep-alive, `runs` times each (after a warm-up), and reports medians;
//  - browser: signs in once, then opens /views/open in a new tab `runs` times (HTTP cache warm, as an agent's
//    browser is) and `runs` times in a fresh browser context (cold cache), recording performance.now() (time
//    since navigation start) when the first ticket row is in the DOM.
// Prints the medians and the fixed render cost: browser time minus the two API calls the page waits for.
// Timings never gate anything.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { chromium } from 'playwright-core';

const args = Object.fromEntries(
  process.argv.slice(2).reduce((pairs, value, index, all) => (index % 2 ? pairs : [...pairs, [value.replace(/^--/, ''), all[index + 1]]]), []),
);
const root = resolve(import.meta.dirname, '..', '..');
const tickets = Number(args.tickets ?? 1_000_000);
const runs = Number(args.runs ?? 15);
const dataDir = resolve(args['data-dir'] ?? `/tmp/kefu-web-bench/${tickets}`);
const kefu = resolve(process.env.KEFU_BIN ?? join(root, 'target', 'release', 'kefu'));
const seeder = resolve(process.env.KEFU_SEED_BIN ?? join(root, 'target', 'release', 'kefu-bench-seed'));
const email = 'bench.admin@example.com';
const password = 'bench password 123';
const LIST = '/api/v1/tickets?status=new%2Copen%2Cpending%2Con_hold&sort=-updated_at&limit=50';

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
};
const ms = (value) => `${value.toFixed(1)} ms`;

if (!existsSync(join(dataDir, 'kefu.db'))) {
  mkdirSync(dataDir, { recursive: true });
  console.log(`seeding ${tickets} tickets into ${dataDir} …`);
  const seeded = spawnSync(seeder, ['--data-dir', dataDir, '--tickets', String(tickets)], { stdio: 'inherit' });
  if (seeded.status !== 0) process.exit(1);
  spawnSync(kefu, ['user', 'create', '--email', email, '--name', 'Bench Admin', '--role', 'admin'], {
    env: { ...process.env, KEFU_DATA_DIR: dataDir, KEFU_PASSWORD: password },
    stdio: 'inherit',
  });
}

const port = await new Promise((done) => {
  const server = createServer().listen(0, '127.0.0.1', () => {
    const { port } = server.address();
    server.close(() => done(port));
  });
});
const base = `http://127.0.0.1:${port}`;
const server = spawn(kefu, ['serve'], {
  env: { ...process.env, KEFU_DATA_DIR: dataDir, KEFU_LISTEN: `127.0.0.1:${port}`, KEFU_LOG: 'warn' },
  stdio: 'inherit',
});
try {
  for (let tries = 0; ; tries += 1) {
    const ready = await fetch(`${base}/readyz`).then((r) => r.ok).catch(() => false);
    if (ready) break;
    if (tries > 600) throw new Error('kefu did not start');
    await new Promise((wait) => setTimeout(wait, 100));
  }
  const login = await fetch(`${base}/api/v1/auth/login`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ email, password }),
  });
  if (!login.ok) throw new Error(`sign-in failed: ${await login.text()}`);
  const cookie = login.headers.get('set-cookie').split(';')[0];

  async function time(path) {
    const samples = [];
    for (let index = 0; index < runs + 3; index += 1) {
      const started = performance.now();
      const response = await fetch(`${base}${path}`, { headers: { Cookie: cookie } });
      await response.arrayBuffer();
      if (!response.ok) throw new Error(`${path}: ${response.status}`);
      if (index >= 3) samples.push(performance.now() - started);
    }
    return median(samples);
  }
  const sessionMs = await time('/api/v1/auth/session');
  const listMs = await time(LIST);
  const countMs = await time('/api/v1/tickets/count?status=new%2Copen%2Cpending%2Con_hold');

  const browser = await chromium.launch({
    executablePath: process.env.KEFU_CHROMIUM ?? '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const [name, value] = cookie.split('=');
  const firstRow = () => {
    new MutationObserver((_, observer) => {
      if (document.querySelector('tbody tr[data-test-ticket]')) {
        window.__firstRow = performance.now();
        observer.disconnect();
      }
    }).observe(document, { childList: true, subtree: true });
  };
  async function open(context) {
    const page = await context.newPage();
    await page.addInitScript(firstRow);
    await page.goto(`${base}/views/open`);
    await page.waitForFunction(() => window.__firstRow !== undefined, null, { timeout: 60_000 });
    const at = await page.evaluate(() => {
      const list = performance
        .getEntriesByType('resource')
        .find((entry) => entry.name.includes('/api/v1/tickets?'));
      const script = performance.getEntriesByType('resource').find((entry) => entry.name.includes('/assets/index-'));
      return {
        firstRow: window.__firstRow,
        listStart: list?.startTime ?? NaN,
        listEnd: list?.responseEnd ?? NaN,
        scriptEnd: script?.responseEnd ?? NaN,
      };
    });
    await page.close();
    return at;
  }
  const newContext = async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    await context.addCookies([{ name, value, url: base }]);
    return context;
  };
  const warmContext = await newContext();
  await open(warmContext);
  const warm = [];
  for (let index = 0; index < runs; index += 1) warm.push(await open(warmContext));
  const cold = [];
  for (let index = 0; index < runs; index += 1) {
    const context = await newContext();
    cold.push(await open(context));
    await context.close();
  }
  await browser.close();

  const warmMs = median(warm.map((run) => run.firstRow));
  const coldMs = median(cold.map((run) => run.firstRow));
  const phase = (runs, key) => median(runs.map((run) => run[key]));
  const apiMs = sessionMs + listMs;
  console.log(`\n${tickets} tickets, ${runs} runs each, medians`);
  console.log(`API  GET /api/v1/auth/session          ${ms(sessionMs)}`);
  console.log(`API  GET ${LIST}  ${ms(listMs)}`);
  console.log(`API  GET /api/v1/tickets/count (open)    ${ms(countMs)}  (not awaited before the list shows)`);
  console.log(`browser: navigation → first row, warm cache  ${ms(warmMs)}`);
  console.log(`browser: navigation → first row, cold cache  ${ms(coldMs)}`);
  console.log(`  warm: script loaded ${ms(phase(warm, 'scriptEnd'))}, list request sent ${ms(phase(warm, 'listStart'))}, answered ${ms(phase(warm, 'listEnd'))}`);
  console.log(`  cold: script loaded ${ms(phase(cold, 'scriptEnd'))}, list request sent ${ms(phase(cold, 'listStart'))}, answered ${ms(phase(cold, 'listEnd'))}`);
  console.log(`fixed render cost (warm) = ${ms(warmMs)} − (session + list ${ms(apiMs)}) = ${ms(warmMs - apiMs)}`);
  console.log(`ratio browser(warm) / API(list) = ${(warmMs / listMs).toFixed(2)}`);
} finally {
  server.kill('SIGTERM');
}
