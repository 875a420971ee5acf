// Browser specs (e2e/*.spec.ts): playwright-core drives Debian's chromium against a real `kefu serve`
// started by e2e/global-setup.ts on a free port with a throwaway data directory.
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['e2e/**/*.spec.ts'],
    globalSetup: ['e2e/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    fileParallelism: false,
    environment: 'node',
  },
});
