// Runs every tests/integration/*.test.mjs with node's test runner and ends
// with "integration: N passed, N failed" for scripts/test.sh to add up.
import { run } from 'node:test';
import { spec } from 'node:test/reporters';
import { readdirSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const only = process.argv.slice(2);
const files = readdirSync(here)
  .filter((f) => f.endsWith('.test.mjs'))
  .filter((f) => only.length === 0 || only.some((o) => f.includes(o)))
  .sort()
  .map((f) => join(here, f));

let passed = 0;
let failed = 0;
const stream = run({ files, concurrency: 2, timeout: 180_000 });
stream.on('test:pass', (ev) => {
  if (ev.details?.type !== 'suite') passed++;
});
stream.on('test:fail', (ev) => {
  if (ev.details?.type !== 'suite') failed++;
});
stream.compose(spec).pipe(process.stderr);
stream.on('end', () => {
  process.stdout.write(`integration: ${passed} passed, ${failed} failed\n`);
  process.exitCode = failed === 0 ? 0 : 1;
});
