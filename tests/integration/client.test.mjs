// The TypeScript client a partner would generate (issue 14): types from
// openapi-typescript run on openapi/openapi.yaml, calls through
// openapi-fetch with its default settings, compiled by `tsc --strict`,
// then run against a real medqa as a partner's session
// (tests/client/session.ts). A spec that drops the If-None-Match header
// parameter, or makes /changes' next_cursor nullable again, stops the
// client compiling; one that refuses `include=replies&include=related`
// fails the session.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { demoServer } from './lib/fixtures.mjs';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
// Inside the repository so that the client's imports resolve to its
// node_modules; tests/out is ignored by git.
const OUT = fileURLToPath(new URL('../out/client/', import.meta.url));
const BIN = (name) => `${ROOT}node_modules/.bin/${name}`;

const m = demoServer({ keys: { partner: 'partner' } });

// A folder with the session `session`, the tsconfig and the types: made
// by openapi-typescript, or copied from `schemaFrom` when given.
function prepare(dir, session, schemaFrom) {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  writeFileSync(`${dir}/session.ts`, session);
  copyFileSync(`${ROOT}tests/client/tsconfig.json`, `${dir}/tsconfig.json`);
  writeFileSync(`${dir}/package.json`, '{"type":"module"}\n');
  if (schemaFrom) copyFileSync(`${schemaFrom}/schema.d.ts`, `${dir}/schema.d.ts`);
  else execFileSync(BIN('openapi-typescript'), [`${ROOT}openapi/openapi.yaml`, '-o', `${dir}/schema.d.ts`],
    { stdio: 'pipe' });
}

const tsc = (dir) => spawnSync(BIN('tsc'), ['--strict', '-p', `${dir}/tsconfig.json`], { encoding: 'utf8' });

test('the generated client passes tsc --strict and runs a partner\'s session', { timeout: 120_000 }, async () => {
  prepare(OUT, readFileSync(`${ROOT}tests/client/session.ts`, 'utf8'));
  const c = tsc(OUT);
  assert.equal(c.status, 0, `tsc --strict:\n${c.stdout}${c.stderr}`);
  await m.ready;
  const run = spawnSync(process.execPath, [`${OUT}js/session.js`], {
    encoding: 'utf8', timeout: 60_000,
    env: { ...process.env, MEDQA_BASE: m.base, MEDQA_PARTNER_KEY: m.keys.partner },
  });
  assert.equal(run.status, 0, `session:\n${run.stdout}${run.stderr}`);
  const seen = JSON.parse(run.stdout.trim().split('\n').pop());
  assert.ok(seen.listed.length > 0);
  assert.ok(seen.listed.every((d) => d === 'neurology'));
  // openapi-fetch's default serializer repeats the key.
  assert.equal(seen.query, '?include=replies&include=related');
  assert.deepEqual(seen.replies, ['doctor', 'editorial']);
  assert.ok(seen.relatedQuestions > 0);
  assert.equal(seen.revalidated, 304);
  assert.ok(seen.revalidatedEtag);
  assert.ok(seen.highlights.length > 0);
  assert.ok(seen.highlights.every((h) => typeof h === 'string'));
  assert.ok(seen.highlights.some((h) => h.includes('<mark>')));
  assert.ok(seen.changes.events > 0);
  assert.ok(seen.changes.pages >= 2);
  assert.equal(seen.changes.cursorIsString, true);
});

test('tsc refuses the session when it uses a header the spec does not declare', { timeout: 120_000 }, () => {
  // The check above means something only if the types are strict enough
  // to refuse a wrong call: a misspelt header parameter must not compile.
  const src = readFileSync(`${ROOT}tests/client/session.ts`, 'utf8');
  assert.ok(src.includes('"If-None-Match": etag'));
  const dir = `${OUT}-negative`;
  prepare(dir, src.replace('"If-None-Match": etag', '"If-None-Matches": etag'), OUT);
  const c = tsc(dir);
  assert.notEqual(c.status, 0);
  assert.match(c.stdout, /If-None-Matches/);
  rmSync(dir, { recursive: true, force: true });
});
