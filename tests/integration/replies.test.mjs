// Replies: listQuestionReplies, createReply, listReplies, getReply,
// patchReply, deleteReply, and what replies do to their question
// (state, reply_count, updated_at) and their doctor (reply_count).
//
// Error-status tests (one test each; some loop over several inputs):
//   listQuestionReplies  400 ×2 (bad UUID; limit), 404 ×1 (unknown
//                        question; a hidden one is checked in createReply
//                        404)
//   createReply          400 ×5 (malformed JSON; wrong type; a `doctor`
//                        field; server-owned fields; empty/missing body or
//                        bad kind), 401 ×1 (no key, unknown key), 403 ×3
//                        (doctor writing editorial; editor writing doctor;
//                        app and partner), 404 ×2 (unknown; hidden
//                        question), 409 ×1 (Idempotency-Key with another
//                        body), 413 ×1, 415 ×1
//   listReplies          400 ×4 (unknown parameter; bad doctor or sort;
//                        year 0000; forged cursor)
//   getReply             400 ×1, 404 ×2 (unknown; reply of a hidden
//                        question)
//   patchReply           400 ×3 (unknown field; server-owned fields; no or
//                        empty body), 401 ×1, 403 ×2 (another doctor's
//                        reply; app and partner), 404 ×2 (unknown; under a
//                        hidden question), 412 ×1, 413 ×1, 415 ×1
//   deleteReply          400 ×1, 401 ×1, 403 ×2 (another doctor's reply;
//                        app key), 404 ×2 (unknown and already hidden;
//                        under a hidden question)
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { req, assertProblem, psql } from './lib/medqa.mjs';
import {
  demoServer, DEMO, IDS, NO_SUCH_ID, auth, createQuestion, createReply, walk,
  oversized, rawStatus, assertEtag, REPLY_KEYS, TS, UUID,
} from './lib/fixtures.mjs';

let db;
let app;
let editor;
let partner;
let lan;
let jiang;
let chen;

const m = demoServer({
  keys: {
    app: 'app', editor: 'editor', partner: 'partner', lan: ['doctor', IDS.lan],
    jiang: ['doctor', IDS.jiang], chen: ['doctor', IDS.chen],
  },
});
before(async () => ({ db, keys: { app, editor, partner, lan, jiang, chen } } = await m.ready));

const ids = (items) => items.map((x) => x.id);
const LAN_REF = { id: IDS.lan, name: 'Lan Shengxing', department: { slug: 'neurology', name: 'Neurology' } };
const postReply = (qid, json, key) => req(m.base, `/questions/${qid}/replies`, {
  method: 'POST', headers: auth(key), json,
});
const getQ = async (id) => (await req(m.base, `/questions/${id}`)).body;
const patchReply = (id, json, key, headers = {}) => req(m.base, `/replies/${id}`, {
  method: 'PATCH', headers: auth(key, headers), json,
});
const delReply = (id, key) => req(m.base, `/replies/${id}`, { method: 'DELETE', headers: auth(key) });
const newQuestion = (over) => createQuestion(m.base, app, over);

// ---- listQuestionReplies -------------------------------------------------

test('listQuestionReplies: the lip-twitching replies, oldest first, with ETag and public cache', async () => {
  const r = await req(m.base, `/questions/${IDS.lip}/replies`);
  assert.equal(r.status, 200);
  assert.match(r.headers.get('content-type'), /^application\/json/);
  assertEtag(r);
  assert.equal(r.headers.get('cache-control'), 'public, max-age=60');
  assert.deepEqual(Object.keys(r.body), ['data', 'next_cursor']);
  assert.equal(r.body.next_cursor, null);
  assert.deepEqual(ids(r.body.data), [IDS.lipDoctorReply, IDS.lipEditorial]);
  for (const x of r.body.data) {
    assert.deepEqual(Object.keys(x), REPLY_KEYS);
    assert.equal(x.question_id, IDS.lip);
    assert.match(x.replied_at, TS);
  }
  const k = await req(m.base, `/questions/${IDS.lip}/replies`, { headers: auth(partner) });
  assert.equal(k.headers.get('cache-control'), 'private, max-age=0');
});

test('listQuestionReplies: a question without replies gives an empty page', async () => {
  const r = await req(m.base, `/questions/${IDS.dryEye}/replies`);
  assert.equal(r.status, 200);
  assert.deepEqual(r.body, { data: [], next_cursor: null });
});

test('listQuestionReplies: limit=1 pages through both replies in order', async () => {
  const first = await req(m.base, `/questions/${IDS.lip}/replies?limit=1`);
  assert.deepEqual(ids(first.body.data), [IDS.lipDoctorReply]);
  assert.equal(typeof first.body.next_cursor, 'string');
  const second = await req(m.base, `/questions/${IDS.lip}/replies?limit=1&cursor=${encodeURIComponent(first.body.next_cursor)}`);
  assert.equal(second.status, 200, second.text);
  assert.deepEqual(ids(second.body.data), [IDS.lipEditorial]);
  assert.equal(second.body.next_cursor, null);
});

test('listQuestionReplies 400: a bad UUID', async () => {
  const r = await req(m.base, '/questions/lip/replies');
  assertProblem(r, 400);
  assert.equal(r.body.errors[0].parameter, 'id');
});

test('listQuestionReplies 400: limit out of range', async () => {
  const r = await req(m.base, `/questions/${IDS.lip}/replies?limit=101`);
  assertProblem(r, 400);
  assert.equal(r.body.errors[0].parameter, 'limit');
});

test('listQuestionReplies 404: an unknown question', async () => {
  assertProblem(await req(m.base, `/questions/${NO_SUCH_ID}/replies`), 404);
});

// ---- createReply ---------------------------------------------------------

test('createReply: a doctor key replies as its own doctor; the question becomes answered', async () => {
  const q = await newQuestion();
  assert.equal(q.state, 'open');
  const r = await postReply(q.id, { body: 'Sleep more and cut down on coffee.' }, lan);
  assert.equal(r.status, 201, r.text);
  assert.match(r.headers.get('content-type'), /^application\/json/);
  assertEtag(r);
  assert.deepEqual(Object.keys(r.body), REPLY_KEYS);
  assert.match(r.body.id, UUID);
  assert.equal(r.headers.get('location'), `http://localhost:${m.port}/replies/${r.body.id}`);
  assert.equal(r.body.question_id, q.id);
  assert.equal(r.body.kind, 'doctor');
  assert.equal(r.body.body, 'Sleep more and cut down on coffee.');
  assert.deepEqual(r.body.doctor, LAN_REF);
  assert.match(r.body.replied_at, TS);
  const after1 = await getQ(q.id);
  assert.equal(after1.state, 'answered');
  assert.equal(after1.reply_count, 1);
  assert.ok(after1.updated_at > q.updated_at, 'a new reply bumps the question');
  const g = await req(m.base, new URL(r.headers.get('location')).pathname);
  assert.deepEqual(g.body, r.body);
});

test('createReply: a doctor key may say kind doctor explicitly', async () => {
  const q = await newQuestion();
  const r = await postReply(q.id, { body: 'Explicitly a doctor reply.', kind: 'doctor' }, jiang);
  assert.equal(r.status, 201, r.text);
  assert.equal(r.body.kind, 'doctor');
  assert.equal(r.body.doctor.id, IDS.jiang);
  assert.equal(r.body.doctor.name, 'Jiang Junyi');
});

test('createReply: an editorial reply alone leaves the question open; a doctor reply then answers it', async () => {
  const q = await newQuestion();
  const e = await postReply(q.id, { body: 'More info: eyelid twitching is common.', kind: 'editorial' }, editor);
  assert.equal(e.status, 201, e.text);
  assert.equal(e.body.kind, 'editorial');
  assert.equal(e.body.doctor, null);
  let cur = await getQ(q.id);
  assert.equal(cur.state, 'open');
  assert.equal(cur.reply_count, 1);
  const d = await postReply(q.id, { body: 'Doctor says: harmless.' }, lan);
  assert.equal(d.status, 201, d.text);
  cur = await getQ(q.id);
  assert.equal(cur.state, 'answered');
  assert.equal(cur.reply_count, 2);
  const page = await req(m.base, `/questions/${q.id}?include=replies`);
  assert.deepEqual(page.body.replies.map((x) => x.id), [e.body.id, d.body.id]);
});

test('createReply: an editor key without kind writes editorial', async () => {
  const q = await newQuestion();
  const r = await postReply(q.id, { body: 'Editorial by default.' }, editor);
  assert.equal(r.status, 201, r.text);
  assert.equal(r.body.kind, 'editorial');
  assert.equal((await getQ(q.id)).state, 'open');
});

test("createReply: the doctor's reply_count rises", async () => {
  const before0 = (await req(m.base, `/doctors/${IDS.chen}`)).body.reply_count;
  const q = await newQuestion({ department: 'dermatology', topics: ['acne'] });
  await createReply(m.base, chen, q.id, { body: 'Try a gentle cleanser.' });
  const after1 = (await req(m.base, `/doctors/${IDS.chen}`)).body.reply_count;
  assert.equal(after1, before0 + 1);
});

test('createReply: a retry with the same Idempotency-Key and body creates one reply', async () => {
  const q = await newQuestion();
  const send = (body) => req(m.base, `/questions/${q.id}/replies`, {
    method: 'POST', headers: auth(lan, { 'idempotency-key': 'reply-retry-1' }), json: { body },
  });
  const a = await send('Only once, please.');
  assert.equal(a.status, 201, a.text);
  const b = await send('Only once, please.');
  assert.equal(b.status, 201, b.text);
  assert.equal(b.text, a.text);
  assert.equal(psql(db, `SELECT count(*) FROM replies WHERE question_id = '${q.id}'`), '1');
  assert.equal((await getQ(q.id)).reply_count, 1);
});

test('createReply 409: an Idempotency-Key reused with another body', async () => {
  const q = await newQuestion();
  const send = (body) => req(m.base, `/questions/${q.id}/replies`, {
    method: 'POST', headers: auth(lan, { 'idempotency-key': 'reply-reuse-1' }), json: { body },
  });
  assert.equal((await send('First body.')).status, 201);
  assertProblem(await send('Second body.'), 409);
  assert.equal(psql(db, `SELECT count(*) FROM replies WHERE question_id = '${q.id}'`), '1');
});

test('createReply 400: malformed JSON', async () => {
  const r = await req(m.base, `/questions/${IDS.eczema}/replies`, {
    method: 'POST', headers: auth(lan, { 'content-type': 'application/json' }), body: '{"body": "x",}',
  });
  assertProblem(r, 400);
});

test('createReply 400: a body of the wrong type', async () => {
  const r = await postReply(IDS.eczema, { body: ['not', 'text'] }, lan);
  assertProblem(r, 400);
  assert.equal(r.body.errors[0].pointer, '/body');
});

test('createReply 400: a doctor key cannot name another doctor', async () => {
  const r = await postReply(IDS.eczema, { body: 'Signed by Chen.', doctor: IDS.chen }, lan);
  assertProblem(r, 400);
  assert.equal(psql(db, `SELECT count(*) FROM replies WHERE question_id = '${IDS.eczema}'`), '0');
});

test('createReply 400: server-owned fields (id, question_id, replied_at, updated_at)', async () => {
  for (const [k, v] of [['id', NO_SUCH_ID], ['question_id', IDS.lip],
    ['replied_at', '2016-09-05T08:00:00Z'], ['updated_at', '2016-09-05T08:00:00Z']]) {
    assertProblem(await postReply(IDS.eczema, { body: `read-only ${k}`, [k]: v }, lan), 400);
  }
  assert.equal(psql(db, `SELECT count(*) FROM replies WHERE question_id = '${IDS.eczema}'`), '0');
});

test('createReply 400: an empty or missing body, or a kind outside the enum', async () => {
  for (const json of [{ body: '' }, { body: ' \n\t ' }, {}, { body: 'x', kind: 'nurse' }]) {
    assertProblem(await postReply(IDS.eczema, json, lan), 400);
  }
});

test('createReply 401: no key, or a key nobody issued', async () => {
  const r = await req(m.base, `/questions/${IDS.eczema}/replies`, { method: 'POST', json: { body: 'Anonymous.' } });
  assertProblem(r, 401);
  assertProblem(await postReply(IDS.eczema, { body: 'Unknown.' }, `mq_${'a'.repeat(12)}_${'B'.repeat(43)}`), 401);
});

test('createReply 403: a doctor key may not post kind editorial', async () => {
  const r = await postReply(IDS.eczema, { body: 'More info.', kind: 'editorial' }, lan);
  assertProblem(r, 403);
  assert.equal(psql(db, `SELECT count(*) FROM replies WHERE question_id = '${IDS.eczema}'`), '0');
});

test('createReply 403: an editor key may not post kind doctor', async () => {
  assertProblem(await postReply(IDS.eczema, { body: 'As a doctor.', kind: 'doctor' }, editor), 403);
});

test('createReply 403: app and partner keys may not reply', async () => {
  for (const key of [app, partner]) {
    assertProblem(await postReply(IDS.eczema, { body: 'Not allowed.' }, key), 403);
  }
  assert.equal(psql(db, `SELECT count(*) FROM replies WHERE question_id = '${IDS.eczema}'`), '0');
});

test('createReply 404: an unknown question', async () => {
  assertProblem(await postReply(NO_SUCH_ID, { body: 'To nobody.' }, lan), 404);
});

test('createReply 404: a hidden question', async () => {
  const q = await newQuestion();
  assert.equal((await req(m.base, `/questions/${q.id}`, { method: 'DELETE', headers: auth(editor) })).status, 204);
  assertProblem(await postReply(q.id, { body: 'Too late.' }, lan), 404);
  assertProblem(await req(m.base, `/questions/${q.id}/replies`), 404);
});

test('createReply 413: a body over 1 MiB', async () => {
  const out = await oversized(m.port, 'POST', `/questions/${IDS.eczema}/replies`, auth(lan));
  assert.equal(rawStatus(out), 413, out.slice(0, 200));
});

test('createReply 415: a text/plain body', async () => {
  const r = await req(m.base, `/questions/${IDS.eczema}/replies`, {
    method: 'POST', headers: auth(lan, { 'content-type': 'text/plain' }), body: '{"body":"plain"}',
  });
  assertProblem(r, 415);
});

// ---- listReplies -----------------------------------------------------------

test('listReplies: newest first with the reply shape, ETag and cache headers', async () => {
  const r = await req(m.base, '/replies?limit=100');
  assert.equal(r.status, 200);
  assertEtag(r);
  assert.equal(r.headers.get('cache-control'), 'public, max-age=60');
  const times = r.body.data.map((x) => x.replied_at);
  assert.deepEqual(times, [...times].sort().reverse());
  for (const x of r.body.data) assert.deepEqual(Object.keys(x), REPLY_KEYS);
  const demoReplies = DEMO.questions.flatMap((q) => q.replies.map((x) => x.id));
  for (const id of demoReplies) assert.ok(ids(r.body.data).includes(id), id);
  const k = await req(m.base, '/replies?limit=1', { headers: auth(app) });
  assert.equal(k.headers.get('cache-control'), 'private, max-age=0');
});

test('listReplies: doctor filters', async () => {
  const items = await walk(m.base, `/replies?doctor=${IDS.ye}&limit=100`);
  const want = DEMO.questions.flatMap((q) => q.replies).filter((x) => x.doctor === IDS.ye).map((x) => x.id);
  assert.deepEqual(ids(items).sort(), want.sort());
  assert.equal(items.length, 2);
});

test('listReplies: department filters by the question\'s department', async () => {
  const items = await walk(m.base, '/replies?department=cardiology&limit=100');
  const want = DEMO.questions.filter((q) => q.department === 'cardiology')
    .flatMap((q) => q.replies.map((x) => x.id));
  assert.deepEqual(ids(items).sort(), want.sort());
});

test('listReplies: updated_since filters and sort=updated runs oldest change first', async () => {
  const q = await newQuestion();
  const a = await createReply(m.base, lan, q.id, { body: 'First answer.' });
  const b = await createReply(m.base, editor, q.id, { body: 'Then more info.' });
  const edited = await patchReply(IDS.lipDoctorReply, { body: 'Edited by its doctor.' }, lan);
  assert.equal(edited.status, 200, edited.text);
  const items = await walk(m.base, `/replies?sort=updated&updated_since=${encodeURIComponent(a.updated_at)}&limit=100`);
  assert.deepEqual(ids(items), [a.id, b.id, IDS.lipDoctorReply]);
});

test('listReplies 400: an unknown query parameter', async () => {
  const r = await req(m.base, '/replies?question=1');
  assertProblem(r, 400);
  assert.equal(r.body.errors[0].parameter, 'question');
});

test('listReplies 400: a doctor that is not a UUID, a sort outside the enum', async () => {
  assertProblem(await req(m.base, '/replies?doctor=lan'), 400);
  assertProblem(await req(m.base, '/replies?sort=oldest'), 400);
});

test('listReplies 400: an updated_since PostgreSQL cannot hold (year 0000) is bad input, not a 500', async () => {
  const r = await req(m.base, '/replies?updated_since=0000-01-01T00:00:00Z');
  assertProblem(r, 400);
  assert.equal(r.body.errors[0].parameter, 'updated_since');
});

test('listReplies 400: a forged cursor', async () => {
  const r = await req(m.base, '/replies?cursor=eyJzb3J0IjoibmV3ZXN0In0');
  assertProblem(r, 400);
  assert.equal(r.body.errors[0].parameter, 'cursor');
});

// ---- getReply ------------------------------------------------------------

test('getReply: the editorial reply of the lip-twitching page', async () => {
  const r = await req(m.base, `/replies/${IDS.lipEditorial}`);
  assert.equal(r.status, 200);
  assertEtag(r);
  assert.equal(r.headers.get('cache-control'), 'public, max-age=60');
  const demo = DEMO.questions.find((q) => q.id === IDS.lip).replies.find((x) => x.id === IDS.lipEditorial);
  assert.deepEqual(r.body, {
    id: IDS.lipEditorial, question_id: IDS.lip, kind: 'editorial', body: demo.body,
    doctor: null, replied_at: '2016-09-06T00:00:00.000Z', updated_at: r.body.updated_at,
    // issue 14: what a republisher shows; the default settings, no
    // PUBLIC_WEB_URL, so no canonical_url and no attribution.url.
    license: { name: 'CC BY-SA 4.0', url: 'https://creativecommons.org/licenses/by-sa/4.0' },
    attribution: { text: 'medqa' },
    disclaimer: { text: 'General information only, not medical advice.' },
  });
  assert.deepEqual(Object.keys(r.body), REPLY_KEYS);
  const again = await req(m.base, `/replies/${IDS.lipEditorial}`, { headers: { 'if-none-match': r.headers.get('etag') } });
  assert.equal(again.status, 304);
  const keyed = await req(m.base, `/replies/${IDS.lipEditorial}`, { headers: auth(lan) });
  assert.equal(keyed.headers.get('cache-control'), 'private, max-age=0');
});

test('getReply 400: a bad UUID', async () => {
  assertProblem(await req(m.base, '/replies/42'), 400);
});

test('getReply 404: an unknown id', async () => {
  assertProblem(await req(m.base, `/replies/${NO_SUCH_ID}`), 404);
});

test('getReply 404: the reply of a hidden question, which also leaves /replies', async () => {
  const q = await newQuestion();
  const rep = await createReply(m.base, lan, q.id, { body: 'Soon hidden with its question.' });
  assert.equal((await req(m.base, `/questions/${q.id}`, { method: 'DELETE', headers: auth(editor) })).status, 204);
  assertProblem(await req(m.base, `/replies/${rep.id}`), 404);
  const items = await walk(m.base, `/replies?doctor=${IDS.lan}&limit=100`);
  assert.ok(!ids(items).includes(rep.id));
});

// ---- patchReply ----------------------------------------------------------

test('patchReply: the owning doctor edits the body; 200 with ETag, later updated_at', async () => {
  const q = await newQuestion();
  const rep = await createReply(m.base, lan, q.id, { body: 'Original answer.' });
  const r = await req(m.base, `/replies/${rep.id}`, {
    method: 'PATCH', headers: auth(lan, { 'content-type': 'application/merge-patch+json' }),
    body: JSON.stringify({ body: 'Corrected answer.' }),
  });
  assert.equal(r.status, 200, r.text);
  assertEtag(r);
  assert.deepEqual(Object.keys(r.body), REPLY_KEYS);
  assert.equal(r.body.body, 'Corrected answer.');
  assert.equal(r.body.replied_at, rep.replied_at);
  assert.ok(r.body.updated_at > rep.updated_at);
  assert.deepEqual(r.body.doctor, LAN_REF);
  assert.deepEqual((await req(m.base, `/replies/${rep.id}`)).body, r.body);
});

test("patchReply: an editor may edit any doctor's reply", async () => {
  const q = await newQuestion();
  const rep = await createReply(m.base, jiang, q.id, { body: 'Jiang wrote this.' });
  const r = await patchReply(rep.id, { body: 'Editor tidied this.' }, editor);
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.body, 'Editor tidied this.');
  assert.equal(r.body.kind, 'doctor');
  assert.equal(r.body.doctor.id, IDS.jiang);
});

test('patchReply: If-Match with the current ETag succeeds', async () => {
  const q = await newQuestion();
  const rep = await createReply(m.base, lan, q.id);
  const g = await req(m.base, `/replies/${rep.id}`);
  const r = await patchReply(rep.id, { body: 'Guarded edit.' }, lan, { 'if-match': g.headers.get('etag') });
  assert.equal(r.status, 200, r.text);
});

test('patchReply 412: a stale If-Match', async () => {
  const q = await newQuestion();
  const rep = await createReply(m.base, lan, q.id);
  const g = await req(m.base, `/replies/${rep.id}`);
  assert.equal((await patchReply(rep.id, { body: 'First edit.' }, editor)).status, 200);
  const r = await patchReply(rep.id, { body: 'Lost edit.' }, lan, { 'if-match': g.headers.get('etag') });
  assertProblem(r, 412);
  assert.equal((await req(m.base, `/replies/${rep.id}`)).body.body, 'First edit.');
});

test("patchReply 403: a doctor may not edit another doctor's reply", async () => {
  const r = await patchReply(IDS.lipDoctorReply, { body: 'Jiang overwrites Lan.' }, jiang);
  assertProblem(r, 403);
  assert.notEqual((await req(m.base, `/replies/${IDS.lipDoctorReply}`)).body.body, 'Jiang overwrites Lan.');
  assertProblem(await patchReply(IDS.lipEditorial, { body: 'Doctor edits editorial.' }, lan), 403);
});

test('patchReply 403: app and partner keys may not edit replies', async () => {
  for (const key of [app, partner]) assertProblem(await patchReply(IDS.lipEditorial, { body: 'x' }, key), 403);
});

test('patchReply 401: no key', async () => {
  assertProblem(await req(m.base, `/replies/${IDS.lipEditorial}`, { method: 'PATCH', json: { body: 'x' } }), 401);
});

test('patchReply 400: an unknown field', async () => {
  assertProblem(await patchReply(IDS.lipEditorial, { body: 'x', mood: 'calm' }, editor), 400);
});

test('patchReply 400: server-owned fields (kind, doctor, question_id, replied_at)', async () => {
  for (const [k, v] of [['kind', 'doctor'], ['doctor', IDS.lan], ['question_id', IDS.eczema],
    ['replied_at', '2020-01-01T00:00:00Z']]) {
    assertProblem(await patchReply(IDS.lipEditorial, { body: 'x', [k]: v }, editor), 400);
  }
  const g = await req(m.base, `/replies/${IDS.lipEditorial}`);
  assert.equal(g.body.kind, 'editorial');
  assert.equal(g.body.question_id, IDS.lip);
});

test('patchReply 400: a patch without body, or an empty body', async () => {
  assertProblem(await patchReply(IDS.lipEditorial, {}, editor), 400);
  assertProblem(await patchReply(IDS.lipEditorial, { body: '' }, editor), 400);
  assertProblem(await patchReply(IDS.lipEditorial, { body: '   ' }, editor), 400);
});

test('patchReply 404: an unknown id', async () => {
  assertProblem(await patchReply(NO_SUCH_ID, { body: 'x' }, editor), 404);
});

test('patchReply 413: a body over 1 MiB', async () => {
  const out = await oversized(m.port, 'PATCH', `/replies/${IDS.lipEditorial}`, auth(editor));
  assert.equal(rawStatus(out), 413, out.slice(0, 200));
});

test('patchReply 415: a text/plain body', async () => {
  const r = await req(m.base, `/replies/${IDS.lipEditorial}`, {
    method: 'PATCH', headers: auth(editor, { 'content-type': 'text/plain' }), body: '{"body":"x"}',
  });
  assertProblem(r, 415);
});

// ---- deleteReply -----------------------------------------------------------

test('deleteReply: the owning doctor hides it; the question is open again and counts drop', async () => {
  const q = await newQuestion();
  const e = await createReply(m.base, editor, q.id, { body: 'Editorial stays.' });
  const d = await createReply(m.base, lan, q.id, { body: 'Doctor reply goes.' });
  const docBefore = (await req(m.base, `/doctors/${IDS.lan}`)).body.reply_count;
  assert.equal((await getQ(q.id)).state, 'answered');
  const r = await delReply(d.id, lan);
  assert.equal(r.status, 204);
  assert.equal(r.text, '');
  assertProblem(await req(m.base, `/replies/${d.id}`), 404);
  const cur = await getQ(q.id);
  assert.equal(cur.state, 'open');
  assert.equal(cur.reply_count, 1);
  assert.deepEqual(ids((await req(m.base, `/questions/${q.id}/replies`)).body.data), [e.id]);
  assert.ok(!ids(await walk(m.base, `/replies?doctor=${IDS.lan}&limit=100`)).includes(d.id));
  assert.equal((await req(m.base, `/doctors/${IDS.lan}`)).body.reply_count, docBefore - 1);
});

test('deleteReply: an editor hides an editorial reply', async () => {
  const q = await newQuestion();
  const e = await createReply(m.base, editor, q.id, { body: 'Editorial to hide.' });
  assert.equal((await delReply(e.id, editor)).status, 204);
  assert.equal((await getQ(q.id)).reply_count, 0);
});

test("deleteReply 403: a doctor may not hide another doctor's reply", async () => {
  assertProblem(await delReply(IDS.lipDoctorReply, chen), 403);
  assert.equal((await req(m.base, `/replies/${IDS.lipDoctorReply}`)).status, 200);
});

test('deleteReply 403: an app key may not hide replies', async () => {
  assertProblem(await delReply(IDS.lipEditorial, app), 403);
});

test('deleteReply 401: no key', async () => {
  assertProblem(await req(m.base, `/replies/${IDS.lipEditorial}`, { method: 'DELETE' }), 401);
});

test('deleteReply 404: unknown, and already hidden (also for patch and get)', async () => {
  assertProblem(await delReply(NO_SUCH_ID, editor), 404);
  const q = await newQuestion();
  const rep = await createReply(m.base, lan, q.id);
  assert.equal((await delReply(rep.id, lan)).status, 204);
  assertProblem(await delReply(rep.id, lan), 404);
  assertProblem(await patchReply(rep.id, { body: 'Revive.' }, lan), 404);
});

test('patchReply 404 and deleteReply 404: a reply whose question is hidden', async () => {
  const q = await newQuestion();
  const rep = await createReply(m.base, lan, q.id);
  assert.equal((await req(m.base, `/questions/${q.id}`, { method: 'DELETE', headers: auth(editor) })).status, 204);
  assertProblem(await patchReply(rep.id, { body: 'Edit under a hidden question.' }, lan), 404);
  assertProblem(await delReply(rep.id, editor), 404);
});

test('deleteReply 400: a bad UUID', async () => {
  assertProblem(await delReply('first-reply', editor), 400);
});
