// Stored Similar Q&A (issue 17): each question's page result kept in
// related_store by the refresh worker, with bounded staleness; a hidden
// question never shows, and a missing or overdue result is computed live.
// The live computation (mq_related, unchanged) is the reference: what the
// store serves must equal it byte for byte.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { req, psql, createDb } from './lib/medqa.mjs';
import { demoServer, seedDemo } from './lib/fixtures.mjs';

const STALENESS = 3; // seconds: RELATED_MAX_STALENESS for this server
let db;
let editor;
let app;
const byTitle = {};

const m = demoServer({
  keys: { editor: 'editor', app: 'app' },
  env: { RELATED_MAX_STALENESS: String(STALENESS) },
});

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Waits (up to `ms`) until fn() is truthy; returns its value. */
async function until(fn, ms, what) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) assert.fail(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

/** Whether qid's stored result exists and nothing about it is queued. */
function storedCurrent(qid) {
  return psql(db, `SELECT EXISTS (SELECT 1 FROM related_store WHERE question_id = '${qid}')
    AND NOT EXISTS (SELECT 1 FROM related_queue WHERE question_id = '${qid}')`) === 't';
}

/** The live computation, as the service ran it before the store. */
function live(qid) {
  return psql(db, `SELECT mq_related('${qid}', NULL, NULL, 4, NULL)::text`);
}

async function ask(title, body, department, topics = []) {
  const r = await req(m.base, '/questions', {
    method: 'POST', headers: { authorization: `Bearer ${app}` },
    json: { title, body, department, language: 'en', topics, asker: { name: 'T', age_band: '30-39', gender: 'other' } },
  });
  assert.equal(r.status, 201, r.text);
  return r.body.id;
}

before(async () => {
  ({ db, keys: { editor, app } } = await m.ready);
  const list = await req(m.base, '/questions?limit=100');
  for (const q of list.body.data) byTitle[q.title] = q.id;
  // The worker computes every demo question (queued by the seed's writes,
  // or found by its backfill walk).
  await until(() => psql(db, `SELECT count(*) FROM questions q WHERE q.deleted_at IS NULL
      AND NOT EXISTS (SELECT 1 FROM related_store s WHERE s.question_id = q.id)`) === '0',
  60000, 'every demo question to be stored');
});

test('stored and live results are the same, byte for byte, on both paths', async () => {
  const ids = Object.values(byTitle);
  for (const id of ids) {
    await until(() => storedCurrent(id), 30000, `${id} to be current`);
    const stored = psql(db, `SELECT result::text FROM related_store WHERE question_id = '${id}'`);
    assert.equal(stored, live(id), `stored result of ${id}`);
    const alone = await req(m.base, `/related?question_id=${id}`);
    assert.equal(alone.status, 200);
    assert.equal(alone.text, stored);
    const page = await req(m.base, `/questions/${id}?include=replies,related`);
    assert.deepEqual(page.body.related, JSON.parse(stored));
  }
});

test('a newly posted question appears in its neighbours\' Similar Q&A within RELATED_MAX_STALENESS', async () => {
  const a = byTitle['Lip twitching'];
  await until(() => storedCurrent(a), 30000, 'the lip-twitching page to be current');
  const src = await req(m.base, `/questions/${a}`);
  // A near-copy of the page's question: its closest neighbour by far.
  const posted = Date.now();
  const n = await ask(src.body.title, src.body.body, src.body.department.slug,
    src.body.topics.map((t) => t.slug));
  // Within the bound, both paths show it (from the store, or computed
  // live once the refresh is overdue).
  await sleep(Math.max(0, STALENESS * 1000 + 100 - (Date.now() - posted)));
  const alone = await req(m.base, `/related?question_id=${a}`);
  assert.equal(alone.body.questions[0].id, n, alone.text);
  const page = await req(m.base, `/questions/${a}?include=related`);
  assert.equal(page.body.related.questions[0].id, n);
  // The new question's own result was computed by the worker within
  // seconds, and the neighbour's refreshed: both stored now.
  await until(() => storedCurrent(n), 20000, 'the new question to be stored');
  await until(() => storedCurrent(a) && psql(db, `SELECT '${n}' = ANY (neighbours) FROM related_store
    WHERE question_id = '${a}'`) === 't', 20000, 'the neighbour\'s stored result to show it');
  assert.equal(psql(db, `SELECT result::text FROM related_store WHERE question_id = '${a}'`), live(a));
});

test('a question hidden by an editor disappears from every page at once', async () => {
  const a = byTitle['Eyelid twitching for two weeks'] ?? byTitle['Lip twitching'];
  await until(() => storedCurrent(a), 30000, 'the page to be current');
  const h = JSON.parse(psql(db, `SELECT result::text FROM related_store WHERE question_id = '${a}'`)).questions[0].id;
  const showing = psql(db, `SELECT string_agg(question_id::text, ',') FROM related_store
    WHERE '${h}' = ANY (neighbours)`).split(',');
  assert.ok(showing.length >= 1);
  const del = await req(m.base, `/questions/${h}`, { method: 'DELETE', headers: { authorization: `Bearer ${editor}` } });
  assert.equal(del.status, 204);
  // At once: no wait for the worker.
  for (const p of showing) {
    const alone = await req(m.base, `/related?question_id=${p}`);
    assert.equal(alone.status, 200);
    assert.ok(!alone.body.questions.some((q) => q.id === h), `/related?question_id=${p}`);
    const page = await req(m.base, `/questions/${p}?include=replies,related`);
    assert.ok(!page.body.related.questions.some((q) => q.id === h), `/questions/${p}`);
    // What is served meanwhile is what the live computation gives.
    assert.equal(alone.text, live(p));
  }
  // And the worker redoes them without it.
  await until(() => psql(db, `SELECT count(*) FROM related_store WHERE '${h}' = ANY (neighbours)`) === '0',
    30000, 'stored results without the hidden question');
});

test('a page whose stored result is missing is computed live, with the same results', async () => {
  const a = byTitle['Lip twitching'];
  await until(() => storedCurrent(a), 30000, 'the page to be current');
  const fromStore = await req(m.base, `/related?question_id=${a}`);
  const pageStore = await req(m.base, `/questions/${a}?include=replies,related`);
  psql(db, `DELETE FROM related_store WHERE question_id = '${a}'`);
  const fromLive = await req(m.base, `/related?question_id=${a}`);
  assert.equal(fromLive.status, 200);
  assert.equal(fromLive.text, fromStore.text);
  const pageLive = await req(m.base, `/questions/${a}?include=replies,related`);
  assert.equal(pageLive.text, pageStore.text);
});

test('a claim is exclusive until its lease ends: two workers never get the same question', async () => {
  // A database of its own, with no medqa (so no worker) claiming meanwhile.
  const other = createDb();
  await seedDemo(other);
  psql(other, 'SELECT mq_related_backfill(NULL, 10000)');
  const n = Number(psql(other, 'SELECT count(*) FROM related_queue'));
  assert.ok(n >= 8, `queued: ${n}`);
  const claim = (k) => psql(other, `SELECT coalesce(string_agg(question_id::text, ','), '')
    FROM mq_related_claim(${k}, 60)`).split(',').filter((x) => x);
  const a = claim(3);
  const b = claim(3);
  assert.equal(a.length, 3);
  assert.equal(b.length, 3);
  for (const id of a) assert.ok(!b.includes(id), `${id} claimed twice`);
  assert.equal(claim(100000).length, n - 6);
  assert.deepEqual(claim(100000), []);
  // A worker that died: once its lease ends, its questions are claimed again.
  psql(other, `UPDATE related_queue SET claimed_until = now() - interval '1 second'
    WHERE question_id IN (${a.map((x) => `'${x}'`).join(',')})`);
  assert.deepEqual(claim(100000).sort(), [...a].sort());
  // A refresh with a stale mark (re-marked meanwhile) stores the result but
  // leaves the question queued.
  psql(other, `UPDATE related_queue SET mark = mark + 1 WHERE question_id = '${b[0]}'`);
  assert.equal(psql(other, `SELECT mq_related_refresh('${b[0]}', -1)`), 't');
  assert.equal(psql(other, `SELECT count(*) FROM related_queue WHERE question_id = '${b[0]}'`), '1');
  assert.equal(psql(other, `SELECT count(*) FROM related_store WHERE question_id = '${b[0]}'`), '1');
});

test('other limits and drafts stay live', async () => {
  const a = byTitle['Lip twitching'];
  const r = await req(m.base, `/related?question_id=${a}&limit=7`);
  assert.equal(r.text, psql(db, `SELECT mq_related('${a}', NULL, NULL, 7, NULL)::text`));
});

test('a result stored by another ranking is never served, and the backfill walk requeues it', async () => {
  const a = byTitle['Lip twitching'];
  // (The test before deleted its stored result: the walk brings it back.)
  psql(db, 'SELECT mq_related_backfill(NULL, 10000)');
  await until(() => storedCurrent(a), 30000, 'the page to be current');
  const current = psql(db, `SELECT ranking FROM related_store WHERE question_id = '${a}'`);
  assert.equal(current, psql(db, 'SELECT mq__related_ranking()'));
  // As if sql/related.sql (or the vocabulary) had changed since it was
  // stored: an older ranking, with a result the live one would not give.
  psql(db, `UPDATE related_store SET ranking = 'older', result = '{"questions":[],"topics":[]}'
    WHERE question_id = '${a}'`);
  const alone = await req(m.base, `/related?question_id=${a}`);
  assert.equal(alone.status, 200);
  assert.equal(alone.text, live(a));
  const page = await req(m.base, `/questions/${a}?include=related`);
  assert.deepEqual(page.body.related, JSON.parse(live(a)));
  // The walk (each instance runs it at start) queues it; the worker redoes it.
  psql(db, 'SELECT mq_related_backfill(NULL, 10000)');
  await until(() => storedCurrent(a) && psql(db, `SELECT ranking FROM related_store
    WHERE question_id = '${a}'`) === current, 30000, 'the result to be redone by the ranking in force');
  assert.equal(psql(db, `SELECT result::text FROM related_store WHERE question_id = '${a}'`), live(a));
});
