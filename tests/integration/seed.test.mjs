// `medqa seed --synthetic N [--seed S]`: the bulk loader behind `make bench`
// and the million-question measurements. These tests pin what a
// user of the loader relies on: the same seed gives the same data, the
// counters and indexes are as if every row had gone through the API, a
// second load of the same seed changes nothing, and loading into a
// database that already holds questions keeps them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runMedqa, dbUrl, createDb, psql, startMedqa, req, TMP } from './lib/medqa.mjs';

const N = 400;

async function seed(db, args) {
  const r = await runMedqa(['seed', ...args], { DATABASE_URL: dbUrl(db) });
  assert.equal(r.code, 0, r.stderr);
  return r;
}

// Everything the loader writes, as one digest per table.
function digest(db) {
  return psql(db, `
    SELECT (SELECT md5(string_agg(concat_ws('|', id, title, body, language, asker_name,
                  asker_age_band, asker_gender, department_slug, state, reply_count,
                  asked_at, related_terms, reply_terms), ',' ORDER BY id)) FROM questions)
      || (SELECT md5(string_agg(concat_ws('|', question_id, topic_id), ',' ORDER BY question_id, topic_id))
            FROM question_topics)
      || (SELECT md5(string_agg(concat_ws('|', id, question_id, kind, doctor_id, body, replied_at),
                  ',' ORDER BY id)) FROM replies)`);
}

function indexes(db) {
  return psql(db, `SELECT string_agg(indexdef, E'\\n' ORDER BY indexdef) FROM pg_indexes
                   WHERE tablename IN ('questions', 'replies', 'question_topics')`);
}

test('a synthetic load is deterministic, plausible and consistent with its counters', async () => {
  const a = createDb();
  const b = createDb();
  const before = indexes(a);
  await seed(a, ['--synthetic', String(N), '--seed', '7']);
  await seed(b, ['--synthetic', String(N), '--seed', '7']);
  assert.equal(digest(a), digest(b), 'the same seed gives the same rows');

  assert.equal(Number(psql(a, 'SELECT count(*) FROM questions')), N);
  // Age bands the API would accept on a write (issue 15: 80+ is refused).
  assert.equal(psql(a, "SELECT count(*) FROM questions WHERE asker_age_band NOT IN ('0-9', '10-19', '20-29', '30-39', '40-49', '50-59', '60-69', '70-79', '80-89', '90+')"), '0');
  assert.notEqual(psql(a, "SELECT count(*) FROM questions WHERE asker_age_band = '80-89'"), '0');
  // About 1.2 replies per question, 1 to 3 topics each.
  const replies = Number(psql(a, 'SELECT count(*) FROM replies'));
  assert.ok(replies > N * 0.9 && replies < N * 1.6, `${replies} replies`);
  assert.equal(psql(a, `SELECT count(*) FROM (SELECT question_id, count(*) AS n FROM question_topics
                        GROUP BY question_id) x WHERE n BETWEEN 1 AND 3`), String(N));
  // Counters and states equal what the per-row triggers would have kept.
  assert.equal(psql(a, `SELECT count(*) FROM questions q WHERE reply_count <>
      (SELECT count(*) FROM replies r WHERE r.question_id = q.id AND r.deleted_at IS NULL)
      OR (state = 'answered') <> EXISTS (SELECT 1 FROM replies r WHERE r.question_id = q.id
                                         AND r.kind = 'doctor' AND r.deleted_at IS NULL)`), '0');
  assert.equal(psql(a, `SELECT count(*) FROM departments d WHERE question_count <>
      (SELECT count(*) FROM questions q WHERE q.department_slug = d.slug)`), '0');
  // Reply terms, computed on the loader's second connection, are what the
  // per-reply trigger would have made of the same replies.
  assert.equal(psql(a, 'SELECT count(*) FROM questions WHERE reply_terms IS DISTINCT FROM mq_reply_terms(id)'), '0');
  assert.ok(Number(psql(a, "SELECT count(*) FROM questions WHERE reply_terms <> ''")) > N / 2);
  // The full-text indexes set aside during the load are all back, as defined.
  assert.equal(indexes(a), before);
  const c = createDb();
  await seed(c, ['--synthetic', String(N), '--seed', '8']);
  assert.notEqual(digest(c), digest(a), 'another seed gives other rows');
});

test('loading the same seed twice changes nothing; another seed adds to what is there', async () => {
  const db = createDb();
  await seed(db, ['--demo']);
  const demoTitles = psql(db, 'SELECT string_agg(title, \'|\' ORDER BY title) FROM questions');
  const demoCount = Number(psql(db, 'SELECT count(*) FROM questions'));
  assert.ok(demoCount > 0);

  await seed(db, ['--synthetic', String(N), '--seed', '3']);
  const once = digest(db);
  assert.equal(Number(psql(db, 'SELECT count(*) FROM questions')), demoCount + N);
  const again = await seed(db, ['--synthetic', String(N), '--seed', '3']);
  assert.match(again.stderr, /already loaded/);
  assert.equal(digest(db), once, 'a repeated seed wrote nothing');

  await seed(db, ['--synthetic', String(N), '--seed', '4']);
  assert.equal(Number(psql(db, 'SELECT count(*) FROM questions')), demoCount + 2 * N);
  // The demo questions survived the loads that came after them.
  assert.equal(psql(db, `SELECT count(*) FROM questions WHERE title = ANY (string_to_array($$${demoTitles}$$, '|'))`),
    String(demoCount));

  // And the loaded questions are served: searchable through the rebuilt
  // full-text index, with their department counts.
  const m = await startMedqa({ db });
  try {
    const r = await req(m.base, '/questions?q=pain&sort=relevance&limit=5');
    assert.equal(r.status, 200);
    assert.ok(r.body.data.length > 0, 'search finds synthetic questions');
    const d = await req(m.base, '/departments');
    const total = d.body.data.reduce((s, x) => s + x.question_count, 0);
    assert.equal(total, demoCount + 2 * N);
  } finally {
    await m.stop();
  }
});

test('--labels names the condition of every question the same load writes, without a database', async () => {
  const db = createDb();
  await seed(db, ['--synthetic', '120', '--seed', '5']);
  const file = join(TMP, `labels-${process.pid}.tsv`);
  const r = await runMedqa(['seed', '--synthetic', '120', '--seed', '5', '--labels', file],
    { DATABASE_URL: 'postgresql:///no-such-db?host=/nonexistent' });
  assert.equal(r.code, 0, r.stderr);
  const rows = readFileSync(file, 'utf8').trim().split('\n').map((l) => l.split('\t'));
  assert.equal(rows.length, 120);
  // The ids are the loaded ones, and each key's department is the row's
  // (zh/ keys: any department of the zh-TW vocabulary).
  const loaded = new Map(psql(db, "SELECT string_agg(id || ' ' || department_slug, ',') FROM questions")
    .split(',').map((x) => x.split(' ')));
  for (const [id, key, medical] of rows) {
    assert.ok(loaded.has(id), `labelled id ${id} was not loaded`);
    assert.ok(medical.length > 0);
    if (!key.startsWith('zh/')) assert.equal(key.split('/')[0], loaded.get(id), key);
  }
  assertUsage(await runMedqa(['seed', '--demo', '--labels', file]));
});

function assertUsage(r) {
  assert.equal(r.code, 2);
  assert.match(r.stderr, /usage: medqa seed/);
}
