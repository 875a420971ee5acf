// Builds the agent workspace into dist/ (embedded in the kefu binary). `npm run dev` proxies the API to a
// running `kefu serve` on $KEFU_DEV_API (default http://127.0.0.1:8080).
import { defineConfig } from 'vite';
import { svelte } from '@sveltejs/vite-plugin-svelte';

const api = process.env.KEFU_DEV_API ?? 'http://127.0.0.1:8080';

export default defineConfig({
  plugins: [svelte()],
  build: {
    outDir: 'dist',
    // dist/vendor holds the vendored API docs bundle, written after this build by scripts/vendor.mjs.
    emptyOutDir: true,
    target: 'es2022',
    reportCompressedSize: false,
    chunkSizeWarningLimit: 300,
  },
  server: {
    proxy: { '/api': { target: api, ws: true, changeOrigin: false } },
  },
  test: {
    include: ['src/**/*.test.ts'],
    environment: 'node',
  },
});
