// Runs every tests/integration/*.test.mjs with node's test runner and ends
// with "integration: N passed, N failed" for scripts/test.sh to add up.
// Arguments choose suites: an argument that is a suite's name (`related`
// for related.test.mjs) selects that suite alone; any other is a fragment
// of file names (`outa` runs outage and outage_load). `make test
// T=NAME` passes one exact name.
import { run } from 'node:test';
import { spec } from 'node:test/reporters';
import { readdirSync, readFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const only = process.argv.slice(2);
const suites = readdirSync(here).filter((f) => f.endsWith('.test.mjs'));
const picks = (o) => (suites.includes(`${o}.test.mjs`)
  ? (f) => f === `${o}.test.mjs` : (f) => f.includes(o));
const files = suites
  .filter((f) => only.length === 0 || only.some((o) => picks(o)(f)))
  .sort()
  .map((f) => join(here, f));

let passed = 0;
let failed = 0;
// A hang's guard, per file: client.test.mjs runs tsc twice, which on a
// loaded 2-core machine alone can pass three minutes.
const stream = run({ files, concurrency: 2, timeout: 300_000 });
stream.on('test:pass', (ev) => {
  if (ev.details?.type !== 'suite') passed++;
});
stream.on('test:fail', (ev) => {
  if (ev.details?.type !== 'suite') failed++;
});
stream.compose(spec).pipe(process.stderr);
stream.on('end', () => {
  try {
    contractSummary();
  } catch (e) {
    // The counts are a report; the last line below must come regardless.
    process.stdout.write(`contract: no summary (${e.message})\n`);
  }
  process.stdout.write(`integration: ${passed} passed, ${failed} failed\n`);
  process.exitCode = failed === 0 ? 0 : 1;
});

// The contract checks' counts (lib/contract.mjs), which each test process
// left in $MEDQA_TMP: how many responses were held to the spec, how many
// broke it (each such test has failed already), and which operations no
// test exercised.
function contractSummary() {
  const dir = process.env.MEDQA_TMP;
  if (!dir) return;
  const total = { checked: 0, violations: 0, noOperation: 0, skipped: 0, operations: {}, list: [] };
  for (const f of readdirSync(dir).filter((n) => /^contract-\d+\.json$/.test(n))) {
    const s = JSON.parse(readFileSync(join(dir, f), 'utf8'));
    for (const k of ['checked', 'violations', 'noOperation', 'skipped']) total[k] += s[k];
    for (const [op, n] of Object.entries(s.operations)) total.operations[op] = (total.operations[op] || 0) + n;
    total.list.push(...s.list);
  }
  const spec = readFileSync(join(here, '../../openapi/openapi.yaml'), 'utf8');
  const all = [...spec.matchAll(/^\s+operationId:\s*(\S+)/gm)].map((m) => m[1]);
  const missed = all.filter((op) => !total.operations[op]);
  const lines = [
    `contract: ${total.checked} responses checked against openapi/openapi.yaml, ` +
      `${total.violations} violations; ${all.length - missed.length} of ${all.length} operations exercised` +
      (total.noOperation ? `; ${total.noOperation} for paths or methods outside the spec (checked as problems)` : '') +
      (total.skipped ? `; ${total.skipped} OPTIONS not checked` : ''),
  ];
  if (missed.length) lines.push(`contract: not exercised: ${missed.join(', ')}`);
  for (const v of total.list) lines.push(`contract violation: ${v}`);
  // One-line summaries other suites left (the negative sweep's counts).
  for (const f of readdirSync(dir).filter((n) => /^summary-.+\.txt$/.test(n)).sort())
    lines.push(readFileSync(join(dir, f), 'utf8').trim());
  process.stdout.write(lines.join('\n') + '\n');
}
