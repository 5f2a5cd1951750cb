// Keyset pagination: walking every question with next_cursor and with the
// Link header while another client writes, for each sort; cursors bound to
// their sort, filters, path and list.
//
// Operations: listQuestions (walks for newest, oldest, updated and
// relevance; ties; filters; Link), listTopics, listDoctors, listReplies
// and listQuestionReplies (cursors from elsewhere).
// Error-status tests: listQuestions 400 ×3 (cursor with another filter;
// with another sort; with another q); listDoctors 400 ×1 (a /topics
// cursor); listReplies 400 ×1 (a /questions cursor); listQuestionReplies
// 400 ×1 (another question's cursor).
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { req, assertProblem, psql } from './lib/medqa.mjs';
import { demoServer, IDS, createQuestion, createReply } from './lib/fixtures.mjs';

let db;
let app;
let editor;
let lan;
const created = [];

const N = 60;
const TIES = 12;

const m = demoServer({ keys: { app: 'app', editor: 'editor', lan: ['doctor', IDS.lan] } });
before(async () => {
  ({ db, keys: { app, editor, lan } } = await m.ready);
  for (let i = 0; i < N; i++) {
    const words = Array.from({ length: (i % 5) + 1 }, () => 'pagewalk').join(' ');
    created.push(await createQuestion(m.base, app, {
      title: `Paging question ${i}`,
      body: `Question ${i} for the paging walk: ${words}.`,
      department: i % 3 === 0 ? 'cardiology' : 'neurology',
      topics: [],
    }));
  }
  // Questions asked at the very same instant: only the id breaks the tie.
  psql(db, `INSERT INTO questions (title, body, language, asker_name, asker_age_band,
      asker_gender, department_slug, asked_at, updated_at)
    SELECT 'Tied question ' || g, 'Asked at the same instant as the others.', 'en', 'T',
      '40-49', 'other', 'urology', '2021-06-01T12:00:00Z', '2021-06-01T12:00:00Z'
    FROM generate_series(1, ${TIES}) g`);
});

const visibleIds = () => psql(db, 'SELECT id FROM questions WHERE deleted_at IS NULL').split('\n').filter(Boolean);
const enc = encodeURIComponent;

/** Walks `path` following next_cursor; between page fetches (and while
 * each is in flight) another client asks a new question. Returns
 * {ids, items, pages, inserted}. */
async function walkWhileWriting(path, { viaLink = false } = {}) {
  const items = [];
  const pages = [];
  const inserted = [];
  let url = path;
  for (let i = 0; i < 200; i++) {
    const [r, q] = await Promise.all([
      req(m.base, url),
      createQuestion(m.base, app, { title: `Concurrent question ${i}`, topics: [] }),
    ]);
    inserted.push(q.id);
    assert.equal(r.status, 200, `${url}: ${r.text}`);
    pages.push(r);
    items.push(...r.body.data);
    const link = r.headers.get('link');
    if (r.body.next_cursor === null) {
      // The last page has no next link (the feed's rel="alternate" stays).
      assert.doesNotMatch(link || '', /rel="next"/, 'no next Link on the last page');
      return { ids: items.map((x) => x.id), items, pages, inserted };
    }
    if (viaLink) {
      const mm = /<([^>]+)>; rel="next"$/.exec(link || '');
      assert.ok(mm, `Link header: ${link}`);
      const u = new URL(mm[1]);
      assert.equal(u.origin, `http://localhost:${m.port}`, 'Link uses PUBLIC_BASE_URL');
      assert.equal(u.searchParams.get('cursor'), r.body.next_cursor);
      url = u.pathname + u.search;
    } else {
      url = `${path}&cursor=${enc(r.body.next_cursor)}`;
    }
  }
  throw new Error('walk did not end');
}

function assertEachOnce(seen, expected) {
  const counts = new Map();
  for (const id of seen) counts.set(id, (counts.get(id) || 0) + 1);
  const dups = [...counts].filter(([, n]) => n > 1).map(([id]) => id);
  assert.deepEqual(dups, [], 'no question twice');
  const missing = expected.filter((id) => !counts.has(id));
  assert.deepEqual(missing, [], 'every pre-existing question seen');
}

const key = (q, k) => [q[k], q.id];
const cmp = ([a1, b1], [a2, b2]) => (a1 < a2 ? -1 : a1 > a2 ? 1 : b1 < b2 ? -1 : b1 > b2 ? 1 : 0);

test('newest: following next_cursor while another client writes sees every question once', async () => {
  const pre = visibleIds();
  assert.ok(pre.length >= N + TIES);
  const w = await walkWhileWriting('/questions?limit=7');
  assertEachOnce(w.ids, pre);
  for (const p of w.pages.slice(0, -1)) assert.equal(p.body.data.length, 7);
  assert.ok(w.pages.at(-1).body.data.length <= 7);
  for (let i = 1; i < w.items.length; i++) {
    assert.ok(cmp(key(w.items[i - 1], 'asked_at'), key(w.items[i], 'asked_at')) > 0, `order at ${i}`);
  }
  assert.equal(w.pages.at(-1).body.next_cursor, null);
});

test('newest: following the Link header rel="next" sees every question once', async () => {
  const pre = visibleIds();
  const w = await walkWhileWriting('/questions?limit=7', { viaLink: true });
  assertEachOnce(w.ids, pre);
  assert.equal(w.pages.at(-1).body.next_cursor, null);
});

test('oldest: following next_cursor while another client writes sees every question once, in order', async () => {
  const pre = visibleIds();
  const w = await walkWhileWriting('/questions?limit=7&sort=oldest');
  assertEachOnce(w.ids, pre);
  for (let i = 1; i < w.items.length; i++) {
    assert.ok(cmp(key(w.items[i - 1], 'asked_at'), key(w.items[i], 'asked_at')) < 0, `order at ${i}`);
  }
  assert.equal(w.pages.at(-1).body.next_cursor, null);
});

test('oldest: following the Link header sees every question once', async () => {
  const pre = visibleIds();
  const w = await walkWhileWriting('/questions?sort=oldest&limit=7', { viaLink: true });
  assertEachOnce(w.ids, pre);
});

test('updated: a walk sees every question once, latest change first', async () => {
  const pre = visibleIds();
  const items = [];
  let url = '/questions?sort=updated&limit=7';
  for (;;) {
    const r = await req(m.base, url);
    assert.equal(r.status, 200, r.text);
    items.push(...r.body.data);
    if (!r.body.next_cursor) break;
    url = `/questions?sort=updated&limit=7&cursor=${enc(r.body.next_cursor)}`;
  }
  assertEachOnce(items.map((x) => x.id), pre);
  assert.equal(items.length, pre.length);
  for (let i = 1; i < items.length; i++) {
    assert.ok(cmp(key(items[i - 1], 'updated_at'), key(items[i], 'updated_at')) > 0, `order at ${i}`);
  }
});

test('relevance: a q walk sees every match once, best first', async () => {
  const want = created.map((q) => q.id);
  const items = [];
  let url = '/questions?q=pagewalk&sort=relevance&limit=7';
  for (;;) {
    const r = await req(m.base, url);
    assert.equal(r.status, 200, r.text);
    items.push(...r.body.data);
    if (!r.body.next_cursor) break;
    url = `/questions?q=pagewalk&sort=relevance&limit=7&cursor=${enc(r.body.next_cursor)}`;
  }
  assertEachOnce(items.map((x) => x.id), want);
  assert.equal(items.length, N);
  // Five repetitions of the word outrank one.
  const reps = (q) => (q.body.match(/pagewalk/g) || []).length;
  assert.equal(reps(items[0]), 5);
  assert.equal(reps(items.at(-1)), 1);
  for (let i = 1; i < items.length; i++) assert.ok(reps(items[i - 1]) >= reps(items[i]), `rank order at ${i}`);
});

test('questions asked at the same instant page by id, each once', async () => {
  const items = [];
  let url = '/questions?department=urology&limit=5';
  for (;;) {
    const r = await req(m.base, url);
    assert.equal(r.status, 200, r.text);
    items.push(...r.body.data);
    if (!r.body.next_cursor) break;
    url = `/questions?department=urology&limit=5&cursor=${enc(r.body.next_cursor)}`;
  }
  const got = items.map((x) => x.id);
  assert.equal(got.length, TIES);
  assert.equal(new Set(got).size, TIES);
  assert.deepEqual(got, [...got].sort().reverse());
});

test('a filtered walk equals the filtered list, and Link keeps the filters', async () => {
  const full = await req(m.base, '/questions?department=cardiology&limit=100');
  const ids = [];
  let url = '/questions?department=cardiology&limit=4';
  for (;;) {
    const r = await req(m.base, url);
    assert.equal(r.status, 200, r.text);
    ids.push(...r.body.data.map((x) => x.id));
    if (!r.body.next_cursor) break;
    const u = new URL(/<([^>]+)>; rel="next"/.exec(r.headers.get('link'))[1]);
    assert.equal(u.searchParams.get('department'), 'cardiology');
    assert.equal(u.searchParams.get('limit'), '4');
    url = u.pathname + u.search;
  }
  assert.deepEqual(ids, full.body.data.map((x) => x.id));
  assert.ok(ids.length > 20);
});

test('a cursor works with another limit (limit is not a filter)', async () => {
  const a = await req(m.base, '/questions?limit=3');
  const b = await req(m.base, `/questions?limit=10&cursor=${enc(a.body.next_cursor)}`);
  assert.equal(b.status, 200, b.text);
  const whole = await req(m.base, '/questions?limit=13');
  assert.deepEqual([...a.body.data, ...b.body.data].map((x) => x.id), whole.body.data.map((x) => x.id));
});

test('listQuestions 400: a cursor reused with a different filter', async () => {
  const a = await req(m.base, '/questions?department=neurology&limit=3');
  for (const qs of ['department=cardiology', '', 'department=neurology&state=open', 'language=en']) {
    const r = await req(m.base, `/questions?${qs ? `${qs}&` : ''}limit=3&cursor=${enc(a.body.next_cursor)}`);
    assertProblem(r, 400);
    assert.equal(r.body.errors[0].parameter, 'cursor', qs);
  }
});

test('listQuestions 400: a cursor reused with another sort', async () => {
  const a = await req(m.base, '/questions?sort=oldest&limit=3');
  for (const s of ['newest', 'updated']) {
    assertProblem(await req(m.base, `/questions?sort=${s}&limit=3&cursor=${enc(a.body.next_cursor)}`), 400);
  }
  const rel = await req(m.base, '/questions?q=pagewalk&sort=relevance&limit=3');
  assertProblem(await req(m.base, `/questions?q=pagewalk&limit=3&cursor=${enc(rel.body.next_cursor)}`), 400);
});

test('listQuestions 400: a relevance cursor reused with another q', async () => {
  const rel = await req(m.base, '/questions?q=pagewalk&sort=relevance&limit=3');
  assertProblem(await req(m.base, `/questions?q=paging&sort=relevance&limit=3&cursor=${enc(rel.body.next_cursor)}`), 400);
});

test('listDoctors 400: a cursor made by /topics', async () => {
  const t = await req(m.base, '/topics?limit=2');
  assert.equal(typeof t.body.next_cursor, 'string');
  const r = await req(m.base, `/doctors?limit=2&cursor=${enc(t.body.next_cursor)}`);
  assertProblem(r, 400);
});

test('listReplies 400: a cursor made by /questions', async () => {
  const q = await req(m.base, '/questions?limit=2');
  const r = await req(m.base, `/replies?limit=2&cursor=${enc(q.body.next_cursor)}`);
  assertProblem(r, 400);
});

test("listQuestionReplies 400: another question's cursor", async () => {
  const [a, b] = created;
  await createReply(m.base, lan, a.id, { body: 'One.' });
  await createReply(m.base, lan, a.id, { body: 'Two.' });
  await createReply(m.base, editor, b.id, { body: 'Three.' });
  await createReply(m.base, editor, b.id, { body: 'Four.' });
  const pa = await req(m.base, `/questions/${a.id}/replies?limit=1`);
  assert.equal(typeof pa.body.next_cursor, 'string');
  const ok = await req(m.base, `/questions/${a.id}/replies?limit=1&cursor=${enc(pa.body.next_cursor)}`);
  assert.equal(ok.status, 200, ok.text);
  assert.deepEqual(ok.body.data.map((x) => x.body), ['Two.']);
  assertProblem(await req(m.base, `/questions/${b.id}/replies?limit=1&cursor=${enc(pa.body.next_cursor)}`), 400);
});
