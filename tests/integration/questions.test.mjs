// Questions: listQuestions, createQuestion, getQuestion, patchQuestion,
// deleteQuestion, against the demo data plus questions made here, with
// PUBLIC_BASE_URL set so url and Location can be checked exactly.
//
// Error-status tests (one test each; some loop over several inputs):
//   listQuestions   400 ×7 (unknown parameter; limit out of range; filter
//                   values outside their schemas; year 0000; relevance
//                   without q; forged cursor; cursor from another sort),
//                   401 ×1 (malformed key on a public read)
//   createQuestion  400 ×8 (malformed JSON; wrong type; unknown field;
//                   server-owned fields; missing field; bad e-mail; bad
//                   Idempotency-Key; blank title, body or asker name), 401 ×2 (no key; malformed, unknown
//                   or non-Bearer key), 403 ×2 (partner; doctor), 409 ×1
//                   (Idempotency-Key with another body), 413 ×1, 415 ×1,
//                   422 ×2 (department; topic)
//   getQuestion     400 ×2 (bad UUID; bad include), 404 ×2 (unknown; hidden)
//   patchQuestion   400 ×4 (unknown field; server-owned fields; empty
//                   patch; blank text), 401 ×1, 403 ×2 (app key; doctor key), 404 ×2
//                   (unknown; hidden), 412 ×1, 413 ×1, 415 ×1, 422 ×2
//                   (department; topic)
//   deleteQuestion  400 ×1 (bad UUID), 401 ×1, 403 ×1 (app and partner),
//                   404 ×1 (already deleted, and unknown)
//   /questions/{id} 405 ×1 (PUT)
// Revoked keys are covered in changes_auth.test.mjs, walks and cursor
// binding in pagination.test.mjs, e-mails in logs in secrets.test.mjs.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { req, assertProblem, psql } from './lib/medqa.mjs';
import {
  demoServer, DEMO, IDS, NO_SUCH_ID, demoIds, createKey, auth, questionInput,
  createQuestion, createReply, walk, oversized, rawStatus, assertEtag,
  QUESTION_KEYS, REPLY_KEYS, TS, UUID,
} from './lib/fixtures.mjs';

// url and Location come from PUBLIC_BASE_URL, never from the request.
const PUBLIC = 'https://qa.example.org';

let db;
let app;
let editor;
let partner;
let lan;

const m = demoServer({ env: { PUBLIC_BASE_URL: PUBLIC }, keys: { app: 'app', editor: 'editor', partner: 'partner', lan: ['doctor', IDS.lan] } });
before(async () => ({ db, keys: { app, editor, partner, lan } } = await m.ready));

const ids = (items) => items.map((q) => q.id);
const sorted = (a) => [...a].sort();
const all = (qs) => walk(m.base, `/questions?limit=100${qs ? `&${qs}` : ''}`);
const demoSet = new Set(DEMO.questions.map((q) => q.id));
const onlyDemo = (items) => sorted(ids(items).filter((id) => demoSet.has(id)));
const post = (body, key = app, headers = {}) => req(m.base, '/questions', {
  method: 'POST', headers: auth(key, headers), json: body,
});
const patch = (id, body, key = editor, headers = {}) => req(m.base, `/questions/${id}`, {
  method: 'PATCH', headers: auth(key, headers), json: body,
});

// ---- listQuestions ------------------------------------------------------

test('listQuestions: the demo questions, newest first, in the list envelope', async () => {
  const r = await req(m.base, '/questions?asked_before=2025-01-01T00:00:00Z&limit=100');
  assert.equal(r.status, 200);
  assert.match(r.headers.get('content-type'), /^application\/json/);
  assert.deepEqual(Object.keys(r.body), ['data', 'next_cursor']);
  assert.equal(r.body.next_cursor, null);
  assert.doesNotMatch(r.headers.get('link') || '', /rel="next"/);
  const want = [...DEMO.questions]
    .sort((a, b) => (a.asked_at < b.asked_at ? 1 : -1)).map((q) => q.id);
  assert.deepEqual(ids(r.body.data), want);
});

test('listQuestions: each item has the Question shape, and no replies', async () => {
  const r = await req(m.base, '/questions?limit=5');
  assert.equal(r.status, 200);
  assert.equal(r.body.data.length, 5);
  for (const q of r.body.data) {
    assert.deepEqual(Object.keys(q), QUESTION_KEYS);
    assert.match(q.id, UUID);
    assert.match(q.asked_at, TS);
    assert.match(q.updated_at, TS);
    assert.deepEqual(Object.keys(q.asker), ['name', 'age_band', 'gender']);
    assert.deepEqual(Object.keys(q.department), ['slug', 'name']);
    assert.ok(['open', 'answered'].includes(q.state));
    assert.equal(q.url, `${PUBLIC}/questions/${q.id}`);
  }
});

test('listQuestions: ETag, 304 on If-None-Match, public cache when anonymous, private with a key', async () => {
  const a = await req(m.base, '/questions?department=cardiology');
  assert.equal(a.status, 200);
  assertEtag(a);
  assert.equal(a.headers.get('cache-control'), 'public, max-age=60');
  const b = await req(m.base, '/questions?department=cardiology', {
    headers: { 'if-none-match': a.headers.get('etag') },
  });
  assert.equal(b.status, 304);
  const c = await req(m.base, '/questions?department=cardiology', { headers: auth(partner) });
  assert.equal(c.status, 200);
  assert.equal(c.headers.get('cache-control'), 'private, max-age=0');
});

test('listQuestions: department filters', async () => {
  const items = await all('department=dermatology');
  assert.ok(items.every((q) => q.department.slug === 'dermatology'));
  assert.deepEqual(onlyDemo(items), demoIds((q) => q.department === 'dermatology'));
  assert.equal(items.length, 3);
});

test('listQuestions: topic filters', async () => {
  const items = await all('topic=facial-twitching');
  assert.ok(items.every((q) => q.topics.some((t) => t.slug === 'facial-twitching')));
  assert.deepEqual(onlyDemo(items), demoIds((q) => q.topics.includes('facial-twitching')));
  assert.equal(onlyDemo(items).length, 5);
});

test('listQuestions: doctor filters to questions that doctor replied to', async () => {
  const items = await all(`doctor=${IDS.chen}`);
  assert.deepEqual(sorted(ids(items)),
    demoIds((q) => q.replies.some((r) => r.doctor === IDS.chen)));
  assert.equal(items.length, 2);
});

test('listQuestions: state filters', async () => {
  const open = await all('state=open');
  assert.ok(open.every((q) => q.state === 'open'));
  assert.deepEqual(onlyDemo(open), demoIds((q) => !q.replies.some((r) => r.kind === 'doctor')));
  const answered = await all('state=answered');
  assert.ok(answered.every((q) => q.state === 'answered'));
  assert.deepEqual(onlyDemo(answered), demoIds((q) => q.replies.some((r) => r.kind === 'doctor')));
});

test('listQuestions: language filters', async () => {
  const items = await all('language=zh-TW');
  assert.ok(items.length >= 2);
  assert.ok(items.every((q) => q.language === 'zh-TW'));
  assert.deepEqual(onlyDemo(items), demoIds((q) => q.language === 'zh-TW'));
});

test('listQuestions: asked_after filters', async () => {
  const items = await all('asked_after=2024-01-01T00:00:00Z');
  assert.ok(items.every((q) => q.asked_at > '2024-01-01T00:00:00.000Z'));
  assert.deepEqual(onlyDemo(items), demoIds((q) => q.asked_at > '2024-01-01'));
  assert.equal(onlyDemo(items).length, 2);
});

test('listQuestions: asked_before filters', async () => {
  const items = await all('asked_before=2016-01-01T00:00:00Z');
  assert.deepEqual(sorted(ids(items)), demoIds((q) => q.asked_at < '2016-01-01'));
  assert.equal(items.length, 2);
});

test('listQuestions: updated_since filters', async () => {
  const fresh = await createQuestion(m.base, app);
  const touched = await patch(IDS.eczema, { asker: { gender: 'undisclosed' } });
  assert.equal(touched.status, 200, touched.text);
  const items = await all(`updated_since=${encodeURIComponent(fresh.updated_at)}`);
  assert.ok(ids(items).includes(fresh.id));
  assert.ok(ids(items).includes(IDS.eczema));
  assert.ok(!ids(items).includes(IDS.dryEye), 'an untouched 2023 question is older');
  assert.ok(items.every((q) => q.updated_at >= fresh.updated_at));
});

test('listQuestions: q searches title and body in full text', async () => {
  const a = await createQuestion(m.base, app, { title: 'Quillwort rash on my wrist' });
  const b = await createQuestion(m.base, app, { body: 'After gardening among quillworts my wrist itches.' });
  await createQuestion(m.base, app, { title: 'Unrelated knee pain' });
  const items = await all('q=quillwort');
  assert.deepEqual(sorted(ids(items)), sorted([a.id, b.id]));
  const demo = await all('q=heartbeats');
  assert.deepEqual(ids(demo), demoIds((q) => /heartbeat/i.test(q.title + q.body)));
});

test('listQuestions: q finds a zh-TW question by a word inside its title', async () => {
  // 眼皮 ("eyelid") is a word of the demo title 右眼皮一直跳，已經兩個禮拜了.
  const zh = DEMO.questions.find((q) => q.language === 'zh-TW' && q.title.includes('眼皮'));
  const items = await all(`q=${encodeURIComponent('眼皮')}`);
  assert.ok(ids(items).includes(zh.id), `q=眼皮 found ${JSON.stringify(ids(items))}`);
});

test('listQuestions: sort=relevance ranks the best match first', async () => {
  const strong = await createQuestion(m.base, app, {
    title: 'Zorblaxitis zorblaxitis in both hands',
    body: 'Zorblaxitis again: the zorblaxitis flares every morning.',
  });
  const weak = await createQuestion(m.base, app, {
    title: 'Stiff fingers in the morning',
    body: 'A friend thinks it might be zorblaxitis, but it is probably just the cold.',
  });
  const newest = await req(m.base, '/questions?q=zorblaxitis');
  assert.deepEqual(ids(newest.body.data), [weak.id, strong.id]);
  const rel = await req(m.base, '/questions?q=zorblaxitis&sort=relevance');
  assert.equal(rel.status, 200, rel.text);
  assert.deepEqual(ids(rel.body.data), [strong.id, weak.id]);
});

test('listQuestions: sort=oldest and sort=updated order their keys', async () => {
  const oldest = await req(m.base, '/questions?sort=oldest&limit=3');
  const want = [...DEMO.questions].sort((a, b) => (a.asked_at < b.asked_at ? -1 : 1))
    .slice(0, 3).map((q) => q.id);
  assert.deepEqual(ids(oldest.body.data), want);
  const q = await createQuestion(m.base, app);
  await patch(IDS.hba1c, { title: 'HbA1c of 6.1 at my annual check-up (edited)' });
  const upd = await req(m.base, '/questions?sort=updated&limit=2');
  assert.deepEqual(ids(upd.body.data), [IDS.hba1c, q.id]);
});

test('listQuestions 400: an unknown query parameter', async () => {
  const r = await req(m.base, '/questions?dept=neurology');
  assertProblem(r, 400);
  assert.equal(r.body.errors[0].parameter, 'dept');
  assert.equal(r.body.errors[0].in, 'query');
});

test('listQuestions 400: limit outside 1..100 or not an integer', async () => {
  for (const l of ['0', '101', '-1', 'ten', '1.5']) {
    const r = await req(m.base, `/questions?limit=${l}`);
    assertProblem(r, 400);
    assert.equal(r.body.errors[0].parameter, 'limit', l);
  }
});

test('listQuestions 400: filter values outside their schemas', async () => {
  for (const [p, v] of [['state', 'closed'], ['language', 'English'],
    ['asked_after', 'yesterday'], ['updated_since', '2020-13-01T00:00:00Z'],
    ['doctor', 'lan'], ['department', 'Neuro Logy'], ['sort', 'popular']]) {
    const r = await req(m.base, `/questions?${p}=${encodeURIComponent(v)}`);
    assertProblem(r, 400);
    assert.equal(r.body.errors[0].parameter, p, `${p}=${v}`);
  }
});

test('listQuestions 400: a valid RFC 3339 instant PostgreSQL cannot hold (year 0000) is bad input, not a 500', async () => {
  for (const p of ['asked_after', 'asked_before', 'updated_since']) {
    const r = await req(m.base, `/questions?${p}=0000-01-01T00:00:00Z`);
    assertProblem(r, 400);
    assert.equal(r.body.errors[0].parameter, p);
  }
});

test('PUT /questions/{id} 405: the methods it takes are in Allow', async () => {
  const r = await req(m.base, `/questions/${IDS.lip}`, { method: 'PUT', headers: auth(editor), json: { title: 'x' } });
  assertProblem(r, 405);
  for (const verb of ['GET', 'PATCH', 'DELETE']) assert.match(r.headers.get('allow'), new RegExp(verb));
});

test('listQuestions 400: sort=relevance without q', async () => {
  const r = await req(m.base, '/questions?sort=relevance');
  assertProblem(r, 400);
  assert.equal(r.body.errors[0].parameter, 'sort');
});

test('listQuestions 400: a forged cursor', async () => {
  const first = await req(m.base, '/questions?limit=2');
  const c = first.body.next_cursor;
  assert.equal(typeof c, 'string');
  const flip = (ch) => (ch === 'A' ? 'B' : 'A');
  const i = Math.floor(c.length / 2);
  for (const forged of [c.slice(0, i) + flip(c[i]) + c.slice(i + 1), 'abc', c + 'x']) {
    const r = await req(m.base, `/questions?limit=2&cursor=${encodeURIComponent(forged)}`);
    assertProblem(r, 400);
    assert.equal(r.body.errors[0].parameter, 'cursor');
  }
});

test('listQuestions 400: a cursor from another sort', async () => {
  const first = await req(m.base, '/questions?limit=2&sort=newest');
  const r = await req(m.base, `/questions?limit=2&sort=oldest&cursor=${encodeURIComponent(first.body.next_cursor)}`);
  assertProblem(r, 400);
  assert.equal(r.body.errors[0].parameter, 'cursor');
});

test('listQuestions 401: a malformed key on a public read is refused, not ignored', async () => {
  const r = await req(m.base, '/questions', { headers: { authorization: 'Bearer not-a-key' } });
  assertProblem(r, 401);
  assert.match(r.headers.get('www-authenticate'), /^Bearer/);
});

// ---- getQuestion ---------------------------------------------------------

test('getQuestion: the lip-twitching demo question, field by field', async () => {
  const r = await req(m.base, `/questions/${IDS.lip}`);
  assert.equal(r.status, 200);
  assert.match(r.headers.get('content-type'), /^application\/json/);
  assertEtag(r);
  assert.equal(r.headers.get('cache-control'), 'public, max-age=60');
  const q = r.body;
  assert.deepEqual(Object.keys(q), QUESTION_KEYS);
  const demo = DEMO.questions.find((x) => x.id === IDS.lip);
  assert.equal(q.title, 'Lip twitching');
  assert.equal(q.body, demo.body);
  assert.equal(q.language, 'en');
  assert.deepEqual(q.asker, { name: 'A Xu', age_band: '20-29', gender: 'female' });
  assert.deepEqual(q.department, { slug: 'neurology', name: 'Neurology' });
  assert.deepEqual(q.topics, [{ slug: 'facial-twitching', name: 'Facial Twitching' },
    { slug: 'muscle-twitching', name: 'Muscle Twitching' }]);
  assert.equal(q.state, 'answered');
  assert.equal(q.reply_count, 2);
  assert.equal(q.asked_at, '2016-09-05T00:00:00.000Z');
  assert.equal(q.url, `${PUBLIC}/questions/${IDS.lip}`);
  assert.equal('replies' in q, false);
});

test('getQuestion: If-None-Match gives 304; a key makes the cache private', async () => {
  const a = await req(m.base, `/questions/${IDS.acne}`);
  const b = await req(m.base, `/questions/${IDS.acne}`, { headers: { 'if-none-match': a.headers.get('etag') } });
  assert.equal(b.status, 304);
  assert.equal(b.text, '');
  const c = await req(m.base, `/questions/${IDS.acne}`, { headers: auth(app) });
  assert.equal(c.status, 200);
  assert.equal(c.headers.get('cache-control'), 'private, max-age=0');
});

test('getQuestion: include=replies embeds the replies oldest first', async () => {
  const r = await req(m.base, `/questions/${IDS.lip}?include=replies`);
  assert.equal(r.status, 200);
  assertEtag(r);
  const reps = r.body.replies;
  assert.deepEqual(reps.map((x) => x.id), [IDS.lipDoctorReply, IDS.lipEditorial]);
  for (const x of reps) assert.deepEqual(Object.keys(x), REPLY_KEYS);
  assert.equal(reps[0].kind, 'doctor');
  assert.deepEqual(reps[0].doctor, { id: IDS.lan, name: 'Lan Shengxing',
    department: { slug: 'neurology', name: 'Neurology' } });
  assert.equal(reps[0].replied_at, '2016-09-05T08:00:00.000Z');
  assert.equal(reps[1].kind, 'editorial');
  assert.equal(reps[1].doctor, null);
  assert.ok(reps[0].replied_at < reps[1].replied_at);
  const plain = await req(m.base, `/questions/${IDS.lip}`);
  const { replies, ...rest } = r.body;
  assert.deepEqual(rest, plain.body);
});

test('getQuestion: include=replies on a question without replies is an empty list', async () => {
  const r = await req(m.base, `/questions/${IDS.dryEye}?include=replies`);
  assert.equal(r.status, 200);
  assert.deepEqual(r.body.replies, []);
});

test('getQuestion 400: a path id that is not a UUID', async () => {
  for (const bad of ['123', 'not-a-uuid', `${IDS.lip}0`]) {
    const r = await req(m.base, `/questions/${bad}`);
    assertProblem(r, 400);
    assert.equal(r.body.errors[0].parameter, 'id');
    assert.equal(r.body.errors[0].in, 'path');
  }
});

test('getQuestion 400: include with a value outside its enum', async () => {
  const r = await req(m.base, `/questions/${IDS.lip}?include=comments`);
  assertProblem(r, 400);
  assert.equal(r.body.errors[0].parameter, 'include');
});

test('getQuestion 404: an unknown id', async () => {
  const r = await req(m.base, `/questions/${NO_SUCH_ID}`);
  assertProblem(r, 404);
});

// ---- createQuestion ------------------------------------------------------

test('createQuestion: 201 with Location, ETag and the new question', async () => {
  const input = questionInput({ topics: ['muscle-twitching', 'eyelid-muscle-twitching'] });
  const before0 = new Date().toISOString();
  const r = await post(input, app, { 'x-forwarded-host': 'evil.example', forwarded: 'host=evil.example' });
  assert.equal(r.status, 201, r.text);
  assert.match(r.headers.get('content-type'), /^application\/json/);
  assertEtag(r);
  const q = r.body;
  assert.deepEqual(Object.keys(q), QUESTION_KEYS);
  assert.equal(r.headers.get('location'), `${PUBLIC}/questions/${q.id}`);
  assert.equal(q.url, `${PUBLIC}/questions/${q.id}`);
  assert.equal(q.title, input.title);
  assert.equal(q.body, input.body);
  assert.deepEqual(q.asker, input.asker);
  assert.deepEqual(q.department, { slug: 'neurology', name: 'Neurology' });
  assert.deepEqual(q.topics, [
    { slug: 'eyelid-muscle-twitching', name: 'Eyelid Muscle Twitching' },
    { slug: 'muscle-twitching', name: 'Muscle Twitching' }]);
  assert.equal(q.state, 'open');
  assert.equal(q.reply_count, 0);
  assert.match(q.asked_at, TS);
  assert.ok(q.asked_at.slice(0, 16) >= before0.slice(0, 16));
  const g = await req(m.base, new URL(r.headers.get('location')).pathname);
  assert.equal(g.status, 200);
  assert.deepEqual(g.body, q);
});

test('createQuestion: an editor key may ask too; language defaults to en and other tags stay', async () => {
  const a = await post(questionInput({ language: undefined, topics: undefined }), editor);
  assert.equal(a.status, 201, a.text);
  assert.equal(a.body.language, 'en');
  assert.deepEqual(a.body.topics, []);
  const b = await post(questionInput({ language: 'zh-TW', title: '眼皮跳了一個月' }));
  assert.equal(b.status, 201, b.text);
  assert.equal(b.body.language, 'zh-TW');
  assert.equal(b.body.title, '眼皮跳了一個月');
});

test('createQuestion: contact_email is accepted and stored but never returned', async () => {
  const email = 'k.lin+eyelid@example.org';
  const r = await post(questionInput({ contact_email: email }));
  assert.equal(r.status, 201, r.text);
  assert.equal('contact_email' in r.body, false);
  assert.ok(!r.text.includes(email));
  // Stored sealed (AES-256-GCM), never in the clear (issue 15).
  assert.equal(psql(db, `SELECT (email IS NULL AND ciphertext IS NOT NULL)::text FROM question_contacts WHERE question_id = '${r.body.id}'`), 'true');
  for (const path of [`/questions/${r.body.id}`, `/questions/${r.body.id}?include=replies`,
    '/questions?limit=100', `/questions?q=eyelid&limit=100`]) {
    const g = await req(m.base, path, { headers: auth(editor) });
    assert.equal(g.status, 200, path);
    assert.ok(!g.text.includes(email), path);
    assert.ok(!g.text.includes('contact_email'), path);
  }
});

test('createQuestion: a retry with the same Idempotency-Key and body returns the first answer and creates one row', async () => {
  const input = questionInput({ title: 'Idempotent eyelid question' });
  const h = { 'idempotency-key': 'retry-0001' };
  const a = await post(input, app, h);
  assert.equal(a.status, 201, a.text);
  const b = await post(input, app, h);
  assert.equal(b.status, 201, b.text);
  assert.equal(b.text, a.text);
  assert.equal(b.headers.get('location'), a.headers.get('location'));
  assert.equal(psql(db, "SELECT count(*) FROM questions WHERE title = 'Idempotent eyelid question'"), '1');
});

test('createQuestion: concurrent retries with one Idempotency-Key create one row', async () => {
  const input = questionInput({ title: 'Racing idempotent question' });
  const h = { 'idempotency-key': 'race-0001' };
  const rs = await Promise.all(Array.from({ length: 6 }, () => post(input, app, h)));
  for (const r of rs) assert.equal(r.status, 201, r.text);
  assert.equal(new Set(rs.map((r) => r.body.id)).size, 1);
  assert.equal(psql(db, "SELECT count(*) FROM questions WHERE title = 'Racing idempotent question'"), '1');
});

test('createQuestion: an Idempotency-Key belongs to one API key; another key with the same one creates anew', async () => {
  const other = await createKey(db, 'app');
  const input = questionInput({ title: 'Same idempotency key, two apps' });
  const h = { 'idempotency-key': 'shared-0001' };
  const a = await post(input, app, h);
  const b = await post(input, other, h);
  assert.equal(a.status, 201, a.text);
  assert.equal(b.status, 201, b.text);
  assert.notEqual(a.body.id, b.body.id);
  assert.equal(psql(db, "SELECT count(*) FROM questions WHERE title = 'Same idempotency key, two apps'"), '2');
});

test('createQuestion 400: an Idempotency-Key outside its pattern', async () => {
  const r = await post(questionInput({ title: 'Bad idempotency key' }), app, { 'idempotency-key': 'has space' });
  assertProblem(r, 400);
  assert.equal(r.body.errors[0].parameter, 'Idempotency-Key');
  assert.equal(r.body.errors[0].in, 'header');
});

test('createQuestion 409: an Idempotency-Key reused with another body', async () => {
  const h = { 'idempotency-key': 'reuse-0001' };
  const a = await post(questionInput({ title: 'First use of a key' }), app, h);
  assert.equal(a.status, 201, a.text);
  const b = await post(questionInput({ title: 'Second use of a key' }), app, h);
  assertProblem(b, 409);
  assert.equal(psql(db, "SELECT count(*) FROM questions WHERE title = 'Second use of a key'"), '0');
});

test('createQuestion 400: malformed JSON', async () => {
  const r = await req(m.base, '/questions', {
    method: 'POST', headers: auth(app, { 'content-type': 'application/json' }),
    body: '{"title": "Lip", "body": ',
  });
  assertProblem(r, 400);
});

test('createQuestion 400: a field of the wrong type names its pointer', async () => {
  const r = await post(questionInput({ title: 42 }));
  assertProblem(r, 400);
  assert.equal(r.body.errors[0].pointer, '/title');
});

test('createQuestion 400: an unknown field', async () => {
  const r = await post({ ...questionInput(), colour: 'blue' });
  assertProblem(r, 400);
  assert.ok(r.body.errors.some((e) => /colour/.test(e.pointer + e.detail)), r.text);
});

test('createQuestion 400: server-owned fields (id, state, reply_count, asked_at, updated_at, url)', async () => {
  for (const [k, v] of [['id', NO_SUCH_ID], ['state', 'answered'], ['reply_count', 3],
    ['asked_at', '2016-09-05T00:00:00Z'], ['updated_at', '2016-09-05T00:00:00Z'],
    ['url', 'http://x/questions/1']]) {
    const r = await post({ ...questionInput({ title: `read-only ${k}` }), [k]: v });
    assertProblem(r, 400);
    assert.equal(psql(db, `SELECT count(*) FROM questions WHERE title = 'read-only ${k}'`), '0');
  }
});

test('createQuestion 400: a missing required field', async () => {
  const r = await post(questionInput({ asker: undefined }));
  assertProblem(r, 400);
  assert.ok(r.body.errors.length >= 1);
});

test('createQuestion 400: a contact_email that is not an e-mail address', async () => {
  const r = await post(questionInput({ contact_email: 'not an address' }));
  assertProblem(r, 400);
  assert.equal(r.body.errors[0].pointer, '/contact_email');
});

test('createQuestion 401: no key', async () => {
  const r = await req(m.base, '/questions', { method: 'POST', json: questionInput() });
  assertProblem(r, 401);
  assert.match(r.headers.get('www-authenticate'), /^Bearer/);
});

test('createQuestion 401: a malformed key, and a well-formed key nobody issued', async () => {
  const bad = await post(questionInput(), 'mq_short');
  assertProblem(bad, 401);
  const unknown = `mq_${'0'.repeat(12)}_${'A'.repeat(43)}`;
  const r = await post(questionInput(), unknown);
  assertProblem(r, 401);
  const basic = await req(m.base, '/questions', {
    method: 'POST', headers: { authorization: `Basic ${Buffer.from('a:b').toString('base64')}` },
    json: questionInput(),
  });
  assertProblem(basic, 401);
});

test('createQuestion 403: a partner key may not ask', async () => {
  assertProblem(await post(questionInput(), partner), 403);
});

test('createQuestion 403: a doctor key may not ask', async () => {
  assertProblem(await post(questionInput(), lan), 403);
});

test('createQuestion 413: a body over 1 MiB', async () => {
  const out = await oversized(m.port, 'POST', '/questions', auth(app));
  assert.equal(rawStatus(out), 413, out.slice(0, 200));
  assert.match(out, /application\/problem\+json/);
});

test('createQuestion 415: a text/plain body', async () => {
  const r = await req(m.base, '/questions', {
    method: 'POST', headers: auth(app, { 'content-type': 'text/plain' }),
    body: JSON.stringify(questionInput()),
  });
  assertProblem(r, 415);
});

test('createQuestion 422: an unknown department, pointer /department', async () => {
  const r = await post(questionInput({ department: 'neurologgy', title: 'Unknown department' }));
  assertProblem(r, 422);
  assert.equal(r.body.errors[0].pointer, '/department');
  assert.equal(psql(db, "SELECT count(*) FROM questions WHERE title = 'Unknown department'"), '0');
});

test('createQuestion 422: an unknown topic, pointer /topics/N', async () => {
  const r = await post(questionInput({ topics: ['facial-twitching', 'no-such-topic'] }));
  assertProblem(r, 422);
  assert.equal(r.body.errors[0].pointer, '/topics/1');
});

// ---- patchQuestion -------------------------------------------------------

test('patchQuestion: an editor edits the title; 200 with ETag and a later updated_at', async () => {
  const q = await createQuestion(m.base, app);
  const r = await patch(q.id, { title: 'Lower eyelid twitching for two weeks' });
  assert.equal(r.status, 200, r.text);
  assertEtag(r);
  assert.deepEqual(Object.keys(r.body), QUESTION_KEYS);
  assert.equal(r.body.title, 'Lower eyelid twitching for two weeks');
  assert.equal(r.body.body, q.body);
  assert.equal(r.body.asked_at, q.asked_at);
  assert.ok(r.body.updated_at > q.updated_at, `${r.body.updated_at} > ${q.updated_at}`);
  const g = await req(m.base, `/questions/${q.id}`);
  assert.deepEqual(g.body, r.body);
  assert.equal(g.headers.get('etag').replace('-gzip', ''), r.headers.get('etag').replace('-gzip', ''));
});

test('patchQuestion: merge patch — asker merged field by field, topics replaced, department moved', async () => {
  const q = await createQuestion(m.base, app, { topics: ['facial-twitching', 'muscle-twitching'] });
  const r = await req(m.base, `/questions/${q.id}`, {
    method: 'PATCH', headers: auth(editor, { 'content-type': 'application/merge-patch+json' }),
    body: JSON.stringify({ asker: { gender: 'undisclosed' }, topics: ['dry-eye'], department: 'ophthalmology' }),
  });
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.body.asker, { name: 'K. Lin', age_band: '30-39', gender: 'undisclosed' });
  assert.deepEqual(r.body.topics, [{ slug: 'dry-eye', name: 'Dry Eye' }]);
  assert.deepEqual(r.body.department, { slug: 'ophthalmology', name: 'Ophthalmology' });
  assert.equal(r.body.title, q.title);
});

test('patchQuestion: If-Match with the current ETag (from GET or the last PATCH) succeeds', async () => {
  const q = await createQuestion(m.base, app);
  const g = await req(m.base, `/questions/${q.id}`);
  const a = await patch(q.id, { title: 'Edited once' }, editor, { 'if-match': g.headers.get('etag') });
  assert.equal(a.status, 200, a.text);
  const b = await patch(q.id, { title: 'Edited twice' }, editor, { 'if-match': a.headers.get('etag') });
  assert.equal(b.status, 200, b.text);
  const c = await patch(q.id, { title: 'Edited thrice' }, editor, { 'if-match': '*' });
  assert.equal(c.status, 200, c.text);
});

test('patchQuestion: contact_email can be replaced and removed, and is never returned', async () => {
  const q = await createQuestion(m.base, app, { contact_email: 'first@example.org' });
  const a = await patch(q.id, { contact_email: 'second@example.org' });
  assert.equal(a.status, 200, a.text);
  assert.ok(!a.text.includes('second@example.org') && !a.text.includes('contact_email'));
  // Sealed again (issue 15): `medqa contacts show` opens it (privacy suite).
  const sealed = () => psql(db, `SELECT encode(ciphertext, 'hex') FROM question_contacts WHERE question_id = '${q.id}' AND email IS NULL`);
  const first = sealed();
  assert.match(first, /^[0-9a-f]+$/);
  assert.equal((await patch(q.id, { contact_email: 'third@example.org' })).status, 200);
  assert.notEqual(sealed(), first);
  const b = await patch(q.id, { contact_email: null });
  assert.equal(b.status, 200, b.text);
  assert.equal(psql(db, `SELECT count(*) FROM question_contacts WHERE question_id = '${q.id}'`), '0');
});

test('patchQuestion 412: a stale If-Match leaves the question unchanged', async () => {
  const q = await createQuestion(m.base, app);
  const g = await req(m.base, `/questions/${q.id}`);
  const stale = g.headers.get('etag');
  assert.equal((await patch(q.id, { title: 'Someone else was first' })).status, 200);
  const r = await patch(q.id, { title: 'Lost update' }, editor, { 'if-match': stale });
  assertProblem(r, 412);
  assert.equal((await req(m.base, `/questions/${q.id}`)).body.title, 'Someone else was first');
});

test('patchQuestion 400: an unknown field', async () => {
  const q = await createQuestion(m.base, app);
  assertProblem(await patch(q.id, { colour: 'blue' }), 400);
});

test('patchQuestion 400: server-owned fields (state, reply_count, id, asked_at)', async () => {
  const q = await createQuestion(m.base, app);
  for (const [k, v] of [['state', 'answered'], ['reply_count', 9], ['id', NO_SUCH_ID],
    ['asked_at', '2016-09-05T00:00:00Z']]) {
    assertProblem(await patch(q.id, { [k]: v }), 400);
  }
  const g = await req(m.base, `/questions/${q.id}`);
  assert.equal(g.body.state, 'open');
  assert.equal(g.body.reply_count, 0);
});

test('createQuestion 400: a title, body or asker name of only white space names its pointer', async () => {
  for (const [over, pointer] of [[{ title: '   ' }, '/title'], [{ title: '\u3000\u3000' }, '/title'],
    [{ body: '\n\t \u00a0\ufeff' }, '/body'],
    [{ asker: { name: ' ', age_band: '30-39', gender: 'male' } }, '/asker/name']]) {
    const r = await post(questionInput(over));
    assertProblem(r, 400);
    assert.equal(r.body.errors[0].pointer, pointer, r.text);
  }
});

test('createQuestion 201: white space around or inside real text is kept as sent', async () => {
  const r = await post(questionInput({ title: '\u3000嘴角抽動\u3000兩週', language: 'zh-TW' }));
  assert.equal(r.status, 201, r.text);
  assert.equal(r.body.title, '\u3000嘴角抽動\u3000兩週');
});

test('patchQuestion 400: a blank title or body; the question keeps its text', async () => {
  const q = await createQuestion(m.base, app);
  for (const json of [{ title: '  ' }, { title: '\u3000' }, { body: '\t\n' }, { asker: { name: '   ' } }]) {
    assertProblem(await patch(q.id, json), 400);
  }
  const g = await req(m.base, `/questions/${q.id}`);
  assert.equal(g.body.title, q.title);
  assert.equal(g.body.body, q.body);
});

test('patchQuestion 400: an empty patch', async () => {
  const q = await createQuestion(m.base, app);
  assertProblem(await patch(q.id, {}), 400);
});

test('patchQuestion 401: no key', async () => {
  const r = await req(m.base, `/questions/${IDS.lip}`, { method: 'PATCH', json: { title: 'x' } });
  assertProblem(r, 401);
});

test('patchQuestion 403: an app key may ask but not edit', async () => {
  const q = await createQuestion(m.base, app);
  assertProblem(await patch(q.id, { title: 'App edit' }, app), 403);
  assert.equal((await req(m.base, `/questions/${q.id}`)).body.title, q.title);
});

test('patchQuestion 403: a doctor key may not edit questions', async () => {
  assertProblem(await patch(IDS.lip, { title: 'Doctor edit' }, lan), 403);
});

test('patchQuestion 404: an unknown id', async () => {
  assertProblem(await patch(NO_SUCH_ID, { title: 'Nobody' }), 404);
});

test('patchQuestion 413: a body over 1 MiB', async () => {
  const out = await oversized(m.port, 'PATCH', `/questions/${IDS.lip}`, auth(editor));
  assert.equal(rawStatus(out), 413, out.slice(0, 200));
});

test('patchQuestion 415: a text/plain body', async () => {
  const r = await req(m.base, `/questions/${IDS.lip}`, {
    method: 'PATCH', headers: auth(editor, { 'content-type': 'text/plain' }),
    body: '{"title":"Plain"}',
  });
  assertProblem(r, 415);
});

test('patchQuestion 422: an unknown department, pointer /department', async () => {
  const q = await createQuestion(m.base, app);
  const r = await patch(q.id, { department: 'astrology' });
  assertProblem(r, 422);
  assert.equal(r.body.errors[0].pointer, '/department');
});

test('patchQuestion 422: an unknown topic, pointer /topics/N', async () => {
  const q = await createQuestion(m.base, app);
  const r = await patch(q.id, { topics: ['dry-eye', 'eye-floaters', 'no-such-topic'] });
  assertProblem(r, 422);
  assert.equal(r.body.errors[0].pointer, '/topics/2');
  assert.deepEqual((await req(m.base, `/questions/${q.id}`)).body.topics,
    [{ slug: 'eyelid-muscle-twitching', name: 'Eyelid Muscle Twitching' }]);
});

// ---- deleteQuestion ------------------------------------------------------

test('deleteQuestion: 204, then hidden from GET, lists, search and its replies', async () => {
  const q = await createQuestion(m.base, app, {
    title: 'Vanishing xylophonist cramp', department: 'orthopedics', topics: [],
  });
  await createReply(m.base, lan, q.id);
  const r = await req(m.base, `/questions/${q.id}`, { method: 'DELETE', headers: auth(editor) });
  assert.equal(r.status, 204);
  assert.equal(r.text, '');
  for (const key of [null, app, partner]) {
    const g = await req(m.base, `/questions/${q.id}`, { headers: key ? auth(key) : {} });
    assertProblem(g, 404);
  }
  assert.ok(!ids(await all('')).includes(q.id));
  assert.deepEqual(ids(await all('department=orthopedics')), []);
  assert.deepEqual(ids(await all('q=xylophonist')), []);
  assert.deepEqual(ids(await all(`doctor=${IDS.lan}`)).includes(q.id), false);
  assertProblem(await req(m.base, `/questions/${q.id}/replies`), 404);
  assertProblem(await req(m.base, `/questions/${q.id}?include=replies`), 404);
});

test('deleteQuestion 404: already deleted, and unknown', async () => {
  const q = await createQuestion(m.base, app);
  const del = () => req(m.base, `/questions/${q.id}`, { method: 'DELETE', headers: auth(editor) });
  assert.equal((await del()).status, 204);
  assertProblem(await del(), 404);
  assertProblem(await req(m.base, `/questions/${NO_SUCH_ID}`, { method: 'DELETE', headers: auth(editor) }), 404);
});

test('getQuestion 404 and patchQuestion 404: a hidden question', async () => {
  const q = await createQuestion(m.base, app);
  assert.equal((await req(m.base, `/questions/${q.id}`, { method: 'DELETE', headers: auth(editor) })).status, 204);
  assertProblem(await req(m.base, `/questions/${q.id}`), 404);
  assertProblem(await patch(q.id, { title: 'Back from the dead' }), 404);
});

test('deleteQuestion 400: a path id that is not a UUID', async () => {
  const r = await req(m.base, '/questions/lip-twitching', { method: 'DELETE', headers: auth(editor) });
  assertProblem(r, 400);
  assert.equal(r.body.errors[0].parameter, 'id');
});

test('deleteQuestion 401: no key', async () => {
  assertProblem(await req(m.base, `/questions/${IDS.lip}`, { method: 'DELETE' }), 401);
});

test('deleteQuestion 403: app and partner keys may not hide questions', async () => {
  for (const key of [app, partner]) {
    assertProblem(await req(m.base, `/questions/${IDS.lip}`, { method: 'DELETE', headers: auth(key) }), 403);
  }
  assert.equal((await req(m.base, `/questions/${IDS.lip}`)).status, 200);
});
