// Prints the gzipped size of what the first inbox screen loads (the entry script, its static imports and
// the CSS linked from index.html) and fails when it is over the budget: 150 KB of JavaScript gzipped.
// Lazy chunks (ticket page, admin, macros, Chinese catalogues) are listed apart; they load on demand.
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

const BUDGET_JS_GZIP = 150 * 1024;
const dist = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist');
const html = readFileSync(join(dist, 'index.html'), 'utf8');
const gz = (file) => gzipSync(readFileSync(join(dist, file)), { level: 9 }).length;

// The entry and every chunk it imports statically (modulepreload links, and `import … from "./x.js"`).
const initial = new Set([...html.matchAll(/(?:src|href)="\/(assets\/[^"]+\.(?:js|css))"/g)].map((m) => m[1]));
for (const file of [...initial]) {
  if (!file.endsWith('.js')) continue;
  const code = readFileSync(join(dist, file), 'utf8');
  for (const match of code.matchAll(/^import[^"']*["']\.\/([^"']+\.js)["']/gm)) initial.add(`assets/${match[1]}`);
}
const rows = readdirSync(join(dist, 'assets'))
  .filter((name) => !name.endsWith('.gz'))
  .map((name) => `assets/${name}`)
  .map((file) => ({ file, gzip: gz(file), first: initial.has(file) }));
const kb = (bytes) => `${(bytes / 1024).toFixed(1)} KB`;
for (const row of rows.sort((a, b) => Number(b.first) - Number(a.first) || b.gzip - a.gzip)) {
  console.log(`${row.first ? 'first screen' : 'lazy        '}  ${kb(row.gzip).padStart(9)}  ${row.file}`);
}
const firstJs = rows.filter((row) => row.first && row.file.endsWith('.js')).reduce((sum, row) => sum + row.gzip, 0);
const firstCss = rows.filter((row) => row.first && row.file.endsWith('.css')).reduce((sum, row) => sum + row.gzip, 0);
console.log(`first inbox screen: ${kb(firstJs)} JavaScript + ${kb(firstCss)} CSS gzipped (budget ${kb(BUDGET_JS_GZIP)} JavaScript)`);
if (firstJs > BUDGET_JS_GZIP) {
  console.error('error: the first screen is over its JavaScript budget; load the heavy part lazily (import())');
  process.exit(1);
}
