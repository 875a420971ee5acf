// Shared by the browser specs: the agents the server starts with, a Node-side API client for setting up
// data, a TOTP code generator, and a Chromium launcher that leaves a screenshot when a test fails.
import { createHmac } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, inject, onTestFailed } from 'vitest';

export const AGENTS = [
  { email: 'ana.admin@example.com', name: 'Ana Admin', role: 'admin', password: 'correct horse battery' },
  { email: 'li.wei@example.com', name: 'Li Wei', role: 'agent', password: 'correct horse battery' },
  { email: 'bo.chen@example.com', name: 'Bo Chen', role: 'agent', password: 'correct horse battery' },
  // Turns two-factor on in the sign-in spec; used nowhere else.
  { email: 'mei.lin@example.com', name: 'Mei Lin', role: 'agent', password: 'correct horse battery' },
] as const;
export const [ADMIN, LI, BO, MEI] = AGENTS;

export const baseUrl = () => inject('baseUrl');

/** A signed-in API session for setting up data from the test (cookie + CSRF, like the browser). */
export class ApiSession {
  constructor(
    private cookie: string,
    private csrf: string,
    readonly agentId: number,
  ) {}

  static async signIn(email: string, password: string, totp?: string): Promise<ApiSession> {
    const response = await fetch(`${baseUrl()}/api/v1/auth/login`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ email, password, totp }),
    });
    const body = await response.json();
    if (!response.ok) throw new Error(`sign-in failed: ${JSON.stringify(body)}`);
    const cookie = (response.headers.get('set-cookie') ?? '').split(';')[0];
    return new ApiSession(cookie, body.csrf_token, body.agent.id);
  }

  async call<T = any>(method: string, path: string, body?: unknown): Promise<T> {
    const response = await fetch(`${baseUrl()}${path}`, {
      method,
      headers: { Cookie: this.cookie, 'X-CSRF-Token': this.csrf, 'Content-Type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${text}`);
    return (text ? JSON.parse(text) : undefined) as T;
  }

  createTicket(subject: string, extra: Record<string, unknown> = {}) {
    return this.call('POST', '/api/v1/tickets', {
      subject,
      requester: { email: 'wang.fang@example.com', name: '王芳' },
      message: { body: `Hello, ${subject}`, internal: false },
      ...extra,
    });
  }
}

/** The current RFC 6238 code (SHA-1, 30 s, 6 digits) for a base32 secret. */
export function totpCode(secret: string, at = Date.now()): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = '';
  for (const character of secret.replace(/=+$/, '').toUpperCase()) bits += alphabet.indexOf(character).toString(2).padStart(5, '0');
  const key = Buffer.from(bits.match(/.{8}/g)!.map((byte) => parseInt(byte, 2)));
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(at / 30_000)));
  const hmac = createHmac('sha1', key).update(counter).digest();
  const offset = hmac[hmac.length - 1] & 0xf;
  return String((hmac.readUInt32BE(offset) & 0x7fffffff) % 1_000_000).padStart(6, '0');
}

/** One Chromium for the spec file: launched before its tests, closed after; call the result to get it. */
export function useBrowser(): () => Browser {
  let browser: Browser | undefined;
  beforeAll(async () => {
    browser = await launch();
  });
  afterAll(async () => {
    await browser?.close();
  });
  return () => browser!;
}

export async function launch(): Promise<Browser> {
  return chromium.launch({
    executablePath: process.env.KEFU_CHROMIUM ?? '/usr/bin/chromium',
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

const SCREENSHOTS = join(import.meta.dirname, 'screenshots');

/** Saves a screenshot of each page when the current test fails (into e2e/screenshots, gitignored). */
export function screenshotOnFailure(name: string, ...pages: Page[]) {
  onTestFailed(async () => {
    mkdirSync(SCREENSHOTS, { recursive: true });
    for (const [index, page] of pages.entries()) {
      await page.screenshot({ path: join(SCREENSHOTS, `${name}-${index + 1}.png`), fullPage: true }).catch(() => {});
    }
  });
}

/** A new browser context (own cookies) with a page signed in as `agent` through the sign-in form. */
export async function signedInPage(
  browser: Browser,
  agent: { email: string; password: string },
  options: Parameters<Browser['newContext']>[0] = {},
): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ locale: 'en-US', viewport: { width: 1280, height: 800 }, ...options });
  const page = await context.newPage();
  await page.goto(baseUrl());
  await page.locator('#sign-in-email').fill(agent.email);
  await page.locator('#sign-in-password').fill(agent.password);
  await page.locator('[data-test-sign-in] button[type=submit]').click();
  await page.locator('[data-test-live="on"]').waitFor({ state: 'attached' });
  return { context, page };
}

/** Reloads `path` until `selector` shows: the search index catches up within a second or two. */
export async function untilShown(page: Page, path: string, selector: string, hasText?: string) {
  const deadline = Date.now() + 20_000;
  for (;;) {
    await page.goto(`${baseUrl()}${path}`);
    const found = page.locator(selector, hasText ? { hasText } : {});
    try {
      await found.first().waitFor({ timeout: 2_000 });
      return found.first();
    } catch (error) {
      if (Date.now() > deadline) throw error;
    }
  }
}
