// Writes a gzipped twin (x.js.gz) of every script and stylesheet in dist/assets; the server sends it to
// browsers that accept gzip, so the binary never compresses at request time.
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

const assets = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist', 'assets');
for (const name of readdirSync(assets)) {
  if (!/\.(js|css)$/.test(name)) continue;
  writeFileSync(join(assets, `${name}.gz`), gzipSync(readFileSync(join(assets, name)), { level: 9 }));
}
