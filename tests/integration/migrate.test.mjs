// `medqa migrate`: versioned migrations (migrations/, once each, never
// edited after) and repeatable files (sql/, again whenever they change),
// both recorded with their SHA-256 in schema_migrations (see
// internal/migrate/migrate.c for the rule).
//
// The binary carries the files it applies (embedded at build time), so an
// edit cannot be made to the binary's copy here; the tests make the other
// side of the same comparison disagree instead: the database records the
// checksum of an edited scratch copy of a file, which is what a database
// looks like when the file it applied is not the file the binary carries.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runMedqa, dbUrl, createDb, psql, TMP } from './lib/medqa.mjs';

const ROOT = new URL('../../', import.meta.url).pathname;
const sha256 = (bytes) => createHash('sha256').update(bytes).digest('hex');
const files = (dir) => readdirSync(join(ROOT, dir)).filter((f) => f.endsWith('.sql')).sort();
const MIGRATIONS = files('migrations');
const SQL = files('sql');
const read = (dir, f) => readFileSync(join(ROOT, dir, f));

async function migrate(db) {
  return runMedqa(['migrate'], { DATABASE_URL: dbUrl(db), LOG_LEVEL: 'info' });
}

function recorded(db) {
  return Object.fromEntries(psql(db,
    `SELECT version || ' ' || coalesce(checksum, '-') || ' ' || applied_at
     FROM schema_migrations ORDER BY version`)
    .split('\n').map((l) => { const [v, sum, ...at] = l.split(' '); return [v, { sum, at: at.join(' ') }]; }));
}

test('every file is recorded with the SHA-256 of its text in the repository', () => {
  const db = createDb();
  const rows = recorded(db);
  for (const f of MIGRATIONS) assert.equal(rows[f]?.sum, sha256(read('migrations', f)), f);
  for (const f of SQL) assert.equal(rows[`sql/${f}`]?.sum, sha256(read('sql', f)), `sql/${f}`);
  assert.equal(Object.keys(rows).length, MIGRATIONS.length + SQL.length);
});

test('a second migrate is a no-op', async () => {
  const db = createDb();
  const before = recorded(db);
  const r = await migrate(db);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /migrate: 0 applied/);
  assert.doesNotMatch(r.stderr, /applied","/);
  assert.deepEqual(recorded(db), before);
});

test('an applied migration whose file was edited stops migrate, naming the file', async () => {
  const db = createDb();
  // A scratch copy of 0003 with an edit, as if the database had applied it.
  const edited = Buffer.concat([read('migrations', '0003_related.sql'),
    Buffer.from('CREATE INDEX questions_title_idx ON questions (title);\n')]);
  const scratch = join(TMP, `0003_related.${process.pid}.sql`);
  writeFileSync(scratch, edited);
  psql(db, `UPDATE schema_migrations SET checksum = '${sha256(readFileSync(scratch))}'
            WHERE version = '0003_related.sql'`);
  // And a repeatable file out of date, which must not be applied either.
  psql(db, `UPDATE schema_migrations SET checksum = 'stale' WHERE version = 'sql/search.sql'`);
  const before = recorded(db);
  const r = await migrate(db);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /migrations\/0003_related\.sql has changed since it was applied/);
  assert.doesNotMatch(r.stderr, /repeatable migration applied/);
  assert.deepEqual(recorded(db), before);
});

test('rows from before checksums get the file\'s checksum once, then edits are refused', async () => {
  const db = createDb();
  // The migrations a medqa older than issue 12 applied: 0001..0009.
  const old = MIGRATIONS.filter((f) => f < '0010');
  psql(db, `UPDATE schema_migrations SET checksum = NULL
            WHERE version NOT LIKE 'sql/%' AND version < '0010'`);
  const r = await migrate(db);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /migrate: 0 applied/);
  assert.equal((r.stderr.match(/migration checksum recorded/g) || []).length, old.length);
  const rows = recorded(db);
  for (const f of old) assert.equal(rows[f].sum, sha256(read('migrations', f)), f);
  psql(db, `UPDATE schema_migrations SET checksum = repeat('0', 64) WHERE version = '0008_terms_load.sql'`);
  const again = await migrate(db);
  assert.notEqual(again.code, 0);
  assert.match(again.stderr, /migrations\/0008_terms_load\.sql has changed/);
  // Only the files that predate checksums may lack one: 0010 came with
  // checksums, so a row of it without one is not taken on trust.
  psql(db, `UPDATE schema_migrations SET checksum = NULL
            WHERE version IN ('0008_terms_load.sql', '0010_dead_functions.sql')`);
  const late = await migrate(db);
  assert.notEqual(late.code, 0);
  assert.match(late.stderr, /migrations\/0010_dead_functions\.sql has changed since it was applied \(it predates checksums/);
});

test('a changed sql/ file is applied again, and its new checksum recorded', async () => {
  const db = createDb();
  // The database as an older sql/search.sql left it: another checksum, and
  // (to see the file run) one of its functions missing.
  psql(db, `UPDATE schema_migrations SET checksum = repeat('a', 64) WHERE version = 'sql/search.sql';
            DROP FUNCTION mq_html_escape(text)`);
  const before = recorded(db);
  const r = await migrate(db);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /"repeatable migration applied","file":"sql\/search\.sql"/);
  assert.match(r.stderr, /migrate: 1 applied/);
  const after = recorded(db);
  assert.equal(after['sql/search.sql'].sum, sha256(read('sql', 'search.sql')));
  assert.notEqual(after['sql/search.sql'].at, before['sql/search.sql'].at);
  for (const v of Object.keys(before)) {
    if (v !== 'sql/search.sql') assert.deepEqual(after[v], before[v], v);
  }
  assert.equal(psql(db, `SELECT mq_html_escape('<a & b>')`), '&lt;a &amp; b&gt;');
  const again = await migrate(db);
  assert.match(again.stderr, /migrate: 0 applied/);
});

test('a new database gets sql/terms.sql before the migration whose column needs it', async () => {
  const db = createDb();
  psql(db, `DROP SCHEMA public CASCADE; CREATE SCHEMA public`);
  const r = await migrate(db);
  assert.equal(r.code, 0, r.stderr);
  const order = [...r.stderr.matchAll(/"(?:version|file)":"([^"]+)"/g)].map((m) => m[1]);
  assert.ok(order.indexOf('sql/terms.sql') >= 0, r.stderr);
  assert.ok(order.indexOf('sql/terms.sql') < order.indexOf('0003_related.sql'), order.join(' '));
  assert.equal(order.length, MIGRATIONS.length + SQL.length, order.join(' '));
  assert.equal(new Set(order).size, order.length, 'each file applied once');
});

test('every function and trigger is defined once, in sql/, none in migrations/', () => {
  const def = /CREATE\s+(?:OR\s+REPLACE\s+)?(FUNCTION|TRIGGER)\s+(\w+)/gi;
  for (const f of MIGRATIONS) {
    assert.equal([...read('migrations', f).toString().matchAll(def)].length, 0, f);
  }
  const seen = new Map();
  for (const f of SQL) {
    for (const m of read('sql', f).toString().matchAll(def)) {
      const name = m[2].toLowerCase();
      assert.ok(!seen.has(name), `${name} in ${seen.get(name)} and ${f}`);
      seen.set(name, f);
    }
  }
  assert.ok(seen.has('mq_related') && seen.has('mq_synonym_map'));
});
