// Fails when src/lib/api/schema.ts no longer matches the OpenAPI snapshot: run `npm run gen:api`.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';

it('schema.ts is generated from the current OpenAPI snapshot', () => {
  const web = join(import.meta.dirname, '..', '..', '..');
  const out = join(mkdtempSync(join(tmpdir(), 'kefu-schema-')), 'schema.ts');
  execFileSync(
    process.execPath,
    [
      join(web, 'node_modules', 'openapi-typescript', 'bin', 'cli.js'),
      join(web, '..', 'crates', 'kefu-http', 'tests', 'snapshots', 'openapi.json'),
      '-o',
      out,
    ],
    { stdio: 'pipe' },
  );
  const fresh = readFileSync(out, 'utf8');
  const committed = readFileSync(join(web, 'src', 'lib', 'api', 'schema.ts'), 'utf8');
  expect(committed === fresh, 'schema.ts is stale: run `npm run gen:api` in web/').toBe(true);
  // Generating takes a few seconds, more on a busy two-core machine than vitest's default 5 s.
}, 60_000);
