// Copies third-party browser bundles that Kefu serves itself (never from a CDN) into dist/vendor.
// Today: Scalar's standalone API reference, used by /api/v1/docs.
import { copyFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, '..', 'dist', 'vendor');
mkdirSync(out, { recursive: true });

const scalarPackage = join(here, '..', 'node_modules', '@scalar', 'api-reference');
copyFileSync(join(scalarPackage, 'dist', 'browser', 'standalone.js'), join(out, 'scalar.js'));
console.log('vendored @scalar/api-reference -> dist/vendor/scalar.js');
