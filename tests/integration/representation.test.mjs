// What a republisher must show with every question and reply (issue 14):
// canonical_url from PUBLIC_WEB_URL (absent when unset, never invented),
// license, attribution and disclaimer from configuration, on
// GET /questions/{id}, the lists, include=replies, GET /replies/{id}, the
// reply lists and the answers of POST and PATCH; and ETag / If-Match
// keep working with them: the settings are part of what the tag covers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { req, startMedqa, createDb, assertProblem, psql } from './lib/medqa.mjs';
import {
  demoServer, seedDemo, createKey, auth, IDS,
  QUESTION_KEYS, REPLY_KEYS,
} from './lib/fixtures.mjs';

const WEB = 'https://qa.example.org/q/{id}?from=api';
const CONFIG = {
  PUBLIC_WEB_URL: WEB,
  CONTENT_LICENSE_NAME: 'CC BY 4.0 "with" <notes>',
  CONTENT_LICENSE_URL: 'https://creativecommons.org/licenses/by/4.0',
  SITE_NAME: 'Clinic Q&A',
  DISCLAIMER_TEXT: 'Not advice; see a doctor.',
  DISCLAIMER_URL: 'https://qa.example.org/disclaimer',
};
const page = (id) => WEB.replace('{id}', id);

const m = demoServer({
  env: CONFIG,
  keys: { editor: 'editor', app: 'app', lan: ['doctor', IDS.lan], jiang: ['doctor', IDS.jiang] },
});
// The same data under the defaults: no PUBLIC_WEB_URL, no DISCLAIMER_URL.
const plain = demoServer({ keys: {} });

function assertQuestion(q) {
  assert.deepEqual(Object.keys(q).slice(0, QUESTION_KEYS.length + 1),
    [...QUESTION_KEYS.slice(0, 14), 'canonical_url', ...QUESTION_KEYS.slice(14)]);
  assert.equal(q.canonical_url, page(q.id));
  assert.deepEqual(q.license, { name: CONFIG.CONTENT_LICENSE_NAME, url: CONFIG.CONTENT_LICENSE_URL });
  assert.deepEqual(q.attribution, { text: CONFIG.SITE_NAME, url: page(q.id) });
  assert.deepEqual(q.disclaimer, { text: CONFIG.DISCLAIMER_TEXT, url: CONFIG.DISCLAIMER_URL });
  assert.notEqual(q.url, q.canonical_url, 'url stays the API address');
}

function assertReply(x) {
  assert.deepEqual(Object.keys(x),
    [...REPLY_KEYS.slice(0, 7), 'canonical_url', ...REPLY_KEYS.slice(7)]);
  const at = `${page(x.question_id)}#reply-${x.id}`;
  assert.equal(x.canonical_url, at);
  assert.deepEqual(x.license, { name: CONFIG.CONTENT_LICENSE_NAME, url: CONFIG.CONTENT_LICENSE_URL });
  assert.deepEqual(x.attribution, { text: CONFIG.SITE_NAME, url: at });
  assert.deepEqual(x.disclaimer, { text: CONFIG.DISCLAIMER_TEXT, url: CONFIG.DISCLAIMER_URL });
}

test('every question and reply carries canonical_url, license, attribution and disclaimer', async () => {
  await m.ready;
  const one = await req(m.base, `/questions/${IDS.lip}`);
  assert.equal(one.status, 200);
  assertQuestion(one.body);

  const withReplies = await req(m.base, `/questions/${IDS.lip}?include=replies`);
  assertQuestion(withReplies.body);
  assert.ok(withReplies.body.replies.length >= 2);
  withReplies.body.replies.forEach(assertReply);

  const list = await req(m.base, '/questions?department=neurology&limit=5');
  assert.ok(list.body.data.length > 0);
  list.body.data.forEach(assertQuestion);

  const search = await req(m.base, '/questions?q=twitching&sort=relevance&limit=3');
  assert.ok(search.body.data.length > 0);
  for (const q of search.body.data) {
    assert.equal(q.canonical_url, page(q.id));
    assert.deepEqual(q.attribution, { text: CONFIG.SITE_NAME, url: page(q.id) });
  }

  const replies = await req(m.base, `/questions/${IDS.lip}/replies`);
  replies.body.data.forEach(assertReply);
  const all = await req(m.base, '/replies?limit=5');
  all.body.data.forEach(assertReply);
  const reply = await req(m.base, `/replies/${replies.body.data[0].id}`);
  assertReply(reply.body);
});

test('POST and PATCH answer with the fields, and their ETag is the one GET gives', async () => {
  await m.ready;
  const created = await req(m.base, '/questions', {
    method: 'POST', headers: auth(m.keys.app),
    json: {
      title: 'Jaw clicks', body: 'My jaw clicks when I chew.', department: 'neurology',
      asker: { name: 'R', age_band: '40-49', gender: 'female' },
    },
  });
  assert.equal(created.status, 201);
  assertQuestion(created.body);
  const id = created.body.id;
  const got = await req(m.base, `/questions/${id}`);
  assert.equal(got.headers.get('etag'), created.headers.get('etag'));
  assert.equal(got.text, created.text, 'the same bytes whichever way they were built');

  const patched = await req(m.base, `/questions/${id}`, {
    method: 'PATCH', headers: auth(m.keys.editor, { 'if-match': got.headers.get('etag') }),
    json: { headline: 'Why a jaw clicks' },
  });
  assert.equal(patched.status, 200, patched.text);
  assertQuestion(patched.body);
  const again = await req(m.base, `/questions/${id}`);
  assert.equal(again.headers.get('etag'), patched.headers.get('etag'));
  assert.equal(again.text, patched.text);

  // The tag read before the PATCH is stale now; a weak or gzip variant of
  // the current one still matches.
  const stale = await req(m.base, `/questions/${id}`, {
    method: 'PATCH', headers: auth(m.keys.editor, { 'if-match': got.headers.get('etag') }),
    json: { headline: 'Jaw clicking' },
  });
  assertProblem(stale, 412);
  const tag = again.headers.get('etag');
  const weak = await req(m.base, `/questions/${id}`, {
    method: 'PATCH', headers: auth(m.keys.editor, { 'if-match': `"nope", W/${tag.slice(0, -1)}-gzip"` }),
    json: { headline: 'Jaw clicking' },
  });
  assert.equal(weak.status, 200, weak.text);

  const reply = await req(m.base, `/questions/${id}/replies`, {
    method: 'POST', headers: auth(m.keys.lan), json: { body: 'Often the joint; see a dentist.' },
  });
  assert.equal(reply.status, 201);
  assertReply(reply.body);
  const rget = await req(m.base, `/replies/${reply.body.id}`);
  assert.equal(rget.headers.get('etag'), reply.headers.get('etag'));
  const redit = await req(m.base, `/replies/${reply.body.id}`, {
    method: 'PATCH', headers: auth(m.keys.lan, { 'if-match': rget.headers.get('etag') }),
    json: { body: 'Often the jaw joint; see a dentist.' },
  });
  assert.equal(redit.status, 200, redit.text);
  assertReply(redit.body);
  const rstale = await req(m.base, `/replies/${reply.body.id}`, {
    method: 'PATCH', headers: auth(m.keys.lan, { 'if-match': rget.headers.get('etag') }),
    json: { body: 'Again.' },
  });
  assertProblem(rstale, 412);
  // If-Match does not turn a 403 into a 412: the write still says why.
  const notHers = await req(m.base, `/replies/${reply.body.id}`, {
    method: 'PATCH', headers: auth(m.keys.jiang, { 'if-match': rget.headers.get('etag') }),
    json: { body: 'Not mine.' },
  });
  assertProblem(notHers, 403);
});

test('with PUBLIC_WEB_URL and DISCLAIMER_URL unset, no URL is invented', async () => {
  await plain.ready;
  const q = await req(plain.base, `/questions/${IDS.lip}?include=replies`);
  assert.equal(q.status, 200);
  assert.deepEqual(Object.keys(q.body).slice(0, QUESTION_KEYS.length), QUESTION_KEYS);
  assert.equal('canonical_url' in q.body, false);
  assert.deepEqual(q.body.license, { name: 'CC BY-SA 4.0', url: 'https://creativecommons.org/licenses/by-sa/4.0' });
  assert.deepEqual(q.body.attribution, { text: 'medqa' });
  assert.deepEqual(q.body.disclaimer, { text: 'General information only, not medical advice.' });
  for (const x of q.body.replies) {
    assert.deepEqual(Object.keys(x), REPLY_KEYS);
    assert.deepEqual(x.attribution, { text: 'medqa' });
  }
});

test('the ETag covers the settings: same configuration, same tag; other licence, other tag', async () => {
  await m.ready;
  const db = createDb();
  await seedDemo(db);
  const twin = await startMedqa({ db, env: CONFIG });
  const other = await startMedqa({ db, env: { ...CONFIG, CONTENT_LICENSE_NAME: 'CC0 1.0' } });
  try {
    const a = await req(twin.base, `/questions/${IDS.lip}?include=replies`);
    const b = await req(twin.base, `/questions/${IDS.lip}?include=replies`);
    const c = await req(other.base, `/questions/${IDS.lip}?include=replies`);
    assert.equal(a.headers.get('etag'), b.headers.get('etag'));
    assert.notEqual(a.headers.get('etag'), c.headers.get('etag'));
    // An If-Match from the instance with another licence is stale here.
    const key = await createKey(db, 'editor');
    const p = await req(twin.base, `/questions/${IDS.lip}`, {
      method: 'PATCH',
      headers: auth(key, { 'if-match': (await req(other.base, `/questions/${IDS.lip}`)).headers.get('etag') }),
      json: { headline: 'x' },
    });
    assertProblem(p, 412);
  } finally {
    await twin.stop();
    await other.stop();
  }
});

// issue 17: the reads build questions and replies in C from typed columns;
// PostgreSQL's own functions (mq_question_json, mq_reply_json), which the
// writes still use, are the reference: same fields, values and order.
const A_FIELDS = ['canonical_url', 'license', 'attribution', 'disclaimer'];
const strip = (o) => Object.fromEntries(Object.entries(o).filter(([k]) => !A_FIELDS.includes(k)));

test('what C builds equals PostgreSQL\'s representation, key order included, for every question and reply', async () => {
  await m.ready;
  // Strings every escaper must get right, in every kind of field.
  const odd = 'Quote " back\\slash \u0001\u001f tab\t nl\n </script> & é 𝄞 \u2028\u2029 \u00a0';
  const topic = await req(m.base, '/topics', {
    method: 'POST', headers: auth(m.keys.editor),
    json: { slug: 'odd-topic', name: `Odd ${odd}`, department: 'neurology', description: 'x' },
  });
  assert.equal(topic.status, 201, topic.text);
  const made = await req(m.base, '/questions', {
    method: 'POST', headers: auth(m.keys.app),
    json: {
      title: `Title ${odd}`, body: `Body ${odd}`, department: 'neurology', language: 'zh-TW',
      asker: { name: `N ${odd}`.slice(0, 60), age_band: '40-49', gender: 'other' },
      topics: ['odd-topic', 'eyelid-muscle-twitching'],
    },
  });
  assert.equal(made.status, 201, made.text);
  const rep = await req(m.base, `/questions/${made.body.id}/replies`, {
    method: 'POST', headers: auth(m.keys.lan), json: { body: `Reply ${odd}` },
  });
  assert.equal(rep.status, 201, rep.text);
  assert.equal((await req(m.base, `/questions/${made.body.id}`, {
    method: 'PATCH', headers: auth(m.keys.editor), json: { headline: `H ${odd}` },
  })).status, 200);

  const rows = (await psql(m.db, `SELECT mq_question_json(q, 'http://localhost:${m.port}')::text FROM questions q
      WHERE q.deleted_at IS NULL ORDER BY q.asked_at DESC, q.id DESC`)).trim().split('\n').map((l) => JSON.parse(l));
  assert.ok(rows.length > 10);
  const replies = new Map();
  for (const l of (await psql(m.db, `SELECT mq_reply_json(r)::text FROM replies r
      WHERE r.deleted_at IS NULL ORDER BY r.replied_at, r.id`)).trim().split('\n')) {
    const x = JSON.parse(l);
    if (!replies.has(x.question_id)) replies.set(x.question_id, []);
    replies.get(x.question_id).push(x);
  }
  for (const want of rows) {
    const got = await req(m.base, `/questions/${want.id}?include=replies`);
    assert.equal(got.status, 200);
    const { replies: gotReplies, ...q } = got.body;
    assert.equal(JSON.stringify(strip(q)), JSON.stringify(want), `question ${want.id}`);
    assert.equal(JSON.stringify(gotReplies.map(strip)), JSON.stringify(replies.get(want.id) || []),
      `replies of ${want.id}`);
    const one = await req(m.base, `/questions/${want.id}`);
    assert.equal(JSON.stringify(strip(one.body)), JSON.stringify(want));
    const page = await req(m.base, `/questions/${want.id}/replies`);
    assert.equal(JSON.stringify(page.body.data.map(strip)), JSON.stringify(replies.get(want.id) || []));
  }
  // The whole list, newest first, page by page.
  const listed = [];
  for (let cursor = null, i = 0; i < 100; i++) {
    const page = await req(m.base, `/questions?limit=7${cursor ? `&cursor=${cursor}` : ''}`);
    listed.push(...page.body.data.map(strip));
    cursor = page.body.next_cursor;
    if (!cursor) break;
  }
  assert.equal(JSON.stringify(listed), JSON.stringify(rows));
  const all = await req(m.base, '/replies?limit=100&sort=updated');
  for (const x of all.body.data) {
    const want = replies.get(x.question_id).find((y) => y.id === x.id);
    assert.equal(JSON.stringify(strip(x)), JSON.stringify(want));
  }
  const odd1 = await req(m.base, `/replies/${rep.body.id}`);
  assert.equal(odd1.body.body, `Reply ${odd}`);
  assert.equal(odd1.text, rep.text.replace(/"updated_at":"[^"]*"/, `"updated_at":"${odd1.body.updated_at}"`));
});

test('hidden content is never served: a hidden question, reply or topic leaves every read at once', async () => {
  await m.ready;
  const q = (await req(m.base, '/questions', {
    method: 'POST', headers: auth(m.keys.app),
    json: { title: 'Hide me', body: 'Soon hidden.', department: 'neurology',
      asker: { name: 'H', age_band: '40-49', gender: 'other' }, topics: ['eyelid-muscle-twitching'] },
  })).body;
  const t = await req(m.base, '/topics', {
    method: 'POST', headers: auth(m.keys.editor),
    json: { slug: 'soon-gone', name: 'Soon gone', department: 'neurology', description: 'x' },
  });
  assert.equal(t.status, 201);
  assert.equal((await req(m.base, `/questions/${q.id}`, {
    method: 'PATCH', headers: auth(m.keys.editor), json: { topics: ['soon-gone', 'eyelid-muscle-twitching'] },
  })).status, 200);
  const r1 = (await req(m.base, `/questions/${q.id}/replies`, {
    method: 'POST', headers: auth(m.keys.lan), json: { body: 'Kept reply.' } })).body;
  const r2 = (await req(m.base, `/questions/${q.id}/replies`, {
    method: 'POST', headers: auth(m.keys.lan), json: { body: 'Hidden reply.' } })).body;
  assert.equal((await req(m.base, `/replies/${r2.id}`, { method: 'DELETE', headers: auth(m.keys.editor) })).status, 204);
  assert.equal((await req(m.base, '/topics/soon-gone', { method: 'DELETE', headers: auth(m.keys.editor) })).status, 204);
  const page = await req(m.base, `/questions/${q.id}?include=replies`);
  assert.deepEqual(page.body.topics.map((x) => x.slug), ['eyelid-muscle-twitching']);
  assert.deepEqual(page.body.replies.map((x) => x.id), [r1.id]);
  const list = await req(m.base, '/questions?limit=3');
  assert.deepEqual(list.body.data.find((x) => x.id === q.id).topics.map((x) => x.slug), ['eyelid-muscle-twitching']);
  assertProblem(await req(m.base, `/replies/${r2.id}`), 404);
  assert.deepEqual((await req(m.base, `/questions/${q.id}/replies`)).body.data.map((x) => x.id), [r1.id]);

  assert.equal((await req(m.base, `/questions/${q.id}`, { method: 'DELETE', headers: auth(m.keys.editor) })).status, 204);
  assertProblem(await req(m.base, `/questions/${q.id}`), 404);
  assertProblem(await req(m.base, `/questions/${q.id}/replies`), 404);
  assertProblem(await req(m.base, `/replies/${r1.id}`), 404);
  assert.ok(!(await req(m.base, '/questions?limit=5')).body.data.some((x) => x.id === q.id));
  assert.ok(!(await req(m.base, '/replies?limit=20')).body.data.some((x) => x.question_id === q.id));
  // An editor still sees it, with deleted_at.
  const ed = await req(m.base, `/questions/${q.id}?include=replies`, { headers: auth(m.keys.editor) });
  assert.equal(ed.status, 200);
  assert.match(ed.body.deleted_at, /Z$/);
});
