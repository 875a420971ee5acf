// Starts the real `kefu serve` for the browser specs: the binary built by cargo (KEFU_BIN, or
// ../target/debug/kefu), a throwaway data directory, a free port, and two agents created with the CLI.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { TestProject } from 'vitest/node';
import { AGENTS } from './fixtures';

async function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const server = createServer();
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => done(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

let server: ChildProcess | undefined;
let dataDir = '';

export default async function setup(project: TestProject) {
  const binary = resolve(process.env.KEFU_BIN ?? join(import.meta.dirname, '..', '..', 'target', 'debug', 'kefu'));
  if (!existsSync(binary)) throw new Error(`no kefu binary at ${binary}: run \`cargo build -p kefu\` first (after \`npm run build\`)`);
  if (!existsSync('/usr/bin/chromium')) throw new Error('Debian chromium is missing: apt-get install -y chromium');
  dataDir = mkdtempSync(join(tmpdir(), 'kefu-e2e-'));
  const port = await freePort();
  const env: NodeJS.ProcessEnv = { ...process.env, KEFU_DATA_DIR: dataDir, KEFU_LISTEN: `127.0.0.1:${port}`, KEFU_LOG: 'warn', KEFU_LOGIN_ATTEMPTS_PER_MINUTE: '10000' };
  delete env.KEFU_DATABASE_URL;
  for (const agent of AGENTS) {
    const created = spawnSync(
      binary,
      ['user', 'create', '--email', agent.email, '--name', agent.name, '--role', agent.role],
      { env: { ...env, KEFU_PASSWORD: agent.password }, encoding: 'utf8' },
    );
    if (created.status !== 0) throw new Error(`kefu user create failed: ${created.stderr}`);
  }
  server = spawn(binary, ['serve'], { env, stdio: ['ignore', 'inherit', 'inherit'] });
  const base = `http://127.0.0.1:${port}`;
  const started = Date.now();
  for (;;) {
    try {
      if ((await fetch(`${base}/readyz`)).ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() - started > 60_000) throw new Error('kefu did not become ready within 60 s');
    await new Promise((wait) => setTimeout(wait, 100));
  }
  project.provide('baseUrl', base);
  return async () => {
    server?.kill('SIGTERM');
    await new Promise((wait) => setTimeout(wait, 300));
    rmSync(dataDir, { recursive: true, force: true });
  };
}

declare module 'vitest' {
  export interface ProvidedContext {
    baseUrl: string;
  }
}
