// The change feed (listChanges) and API keys across operations: who may
// read the feed, which events each write appends, what a deletion hides,
// that a slow concurrent writer cannot be skipped, keys made, listed and
// revoked with the CLI; and a newcomer's first curl session.
//
// Error-status tests (one test each; some loop over several inputs):
//   listChanges     400 ×3 (forged cursor; cursor from another list; bad
//                   limit or unknown parameter), 401 ×2 (no key; malformed
//                   key, another scheme, empty Bearer), 403 ×1 (app and
//                   doctor keys)
//   keys (401)      ×4: revoked app key on createQuestion and listQuestions;
//                   revoked doctor key on createReply; right prefix with a
//                   wrong secret on createQuestion; CLI refusals (doctor
//                   key without or with an unknown doctor)
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { req, assertProblem, runMedqa, dbUrl, psql, PG_SOCK, PG_PORT } from './lib/medqa.mjs';
import {
  demoServer, DEMO, IDS, seedDemo, createKey, listKeys, revokeKeyNamed, auth,
  questionInput, createQuestion, createReply, createTopic, assertEtag,
  CHANGE_KEYS, TS,
} from './lib/fixtures.mjs';

let db;
let app;
let editor;
let partner;
let lan;

const m = demoServer({ keys: { app: 'app', editor: 'editor', partner: 'partner', lan: ['doctor', IDS.lan] } });
before(async () => ({ db, keys: { app, editor, partner, lan } } = await m.ready));

/** Reads the feed from `cursor` (the beginning when omitted) until a page
 * comes back empty; returns the events and the cursor to poll with. */
async function feed(key, cursor) {
  const events = [];
  let c = cursor;
  for (let i = 0; i < 500; i++) {
    const r = await req(m.base, `/changes?limit=100${c ? `&cursor=${encodeURIComponent(c)}` : ''}`, { headers: auth(key) });
    assert.equal(r.status, 200, r.text);
    assert.equal(typeof r.body.next_cursor, 'string', 'the feed always gives a cursor');
    c = r.body.next_cursor;
    if (r.body.data.length === 0) return { events, cursor: c };
    events.push(...r.body.data);
  }
  throw new Error('feed did not end');
}
const about = (events, id) => events.filter((e) => e.id === id).map((e) => e.type);

// ---- listChanges -----------------------------------------------------------

test('listChanges: a partner reads every demo event, oldest first, with the Change shape', async () => {
  const { events } = await feed(partner);
  const seqs = events.map((e) => e.seq);
  assert.deepEqual(seqs, [...seqs].sort((a, b) => a - b));
  assert.equal(new Set(seqs).size, seqs.length);
  for (const e of events) {
    assert.deepEqual(Object.keys(e), CHANGE_KEYS);
    assert.ok(Number.isInteger(e.seq) && e.seq >= 1);
    assert.match(e.at, TS);
  }
  const count = (t) => events.filter((e) => e.type === t).length;
  assert.equal(count('topic.created'), DEMO.topics.length);
  assert.equal(count('question.created'), DEMO.questions.length);
  assert.equal(count('reply.created'), DEMO.questions.flatMap((q) => q.replies).length);
  assert.deepEqual(about(events, IDS.lip), ['question.created']);
  assert.deepEqual(about(events, 'facial-twitching'), ['topic.created']);
  assert.deepEqual(about(events, IDS.lipEditorial), ['reply.created']);
});

test('listChanges: 200 with ETag, Link rel="next", and a private cache', async () => {
  const r = await req(m.base, '/changes?limit=5', { headers: auth(partner) });
  assert.equal(r.status, 200);
  assert.match(r.headers.get('content-type'), /^application\/json/);
  assertEtag(r);
  assert.equal(r.headers.get('cache-control'), 'private, max-age=0');
  assert.equal(r.body.data.length, 5);
  const link = /^<([^>]+)>; rel="next"$/.exec(r.headers.get('link'));
  assert.ok(link, r.headers.get('link'));
  const next = await req(m.base, new URL(link[1]).pathname + new URL(link[1]).search, { headers: auth(partner) });
  assert.equal(next.status, 200, next.text);
  assert.ok(next.body.data[0].seq > r.body.data[4].seq);
});

test('listChanges: an editor reads the feed too', async () => {
  const r = await req(m.base, '/changes?limit=1', { headers: auth(editor) });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.data.length, 1);
});

test('listChanges: polling with the last cursor gives nothing, then exactly the new events', async () => {
  const { cursor } = await feed(partner);
  const idle = await req(m.base, `/changes?cursor=${encodeURIComponent(cursor)}`, { headers: auth(partner) });
  assert.equal(idle.status, 200);
  assert.deepEqual(idle.body.data, []);
  assert.equal(typeof idle.body.next_cursor, 'string');
  const q = await createQuestion(m.base, app);
  const rep = await createReply(m.base, lan, q.id);
  const { events } = await feed(partner, idle.body.next_cursor);
  assert.deepEqual(events.map((e) => [e.type, e.id]), [['question.created', q.id], ['reply.created', rep.id]]);
});

test('listChanges: every write appends its event (question, reply and topic; created, updated, deleted)', async () => {
  const { cursor } = await feed(editor);
  const q = await createQuestion(m.base, app);
  assert.equal((await req(m.base, `/questions/${q.id}`, { method: 'PATCH', headers: auth(editor), json: { title: 'Edited for the feed' } })).status, 200);
  const rep = await createReply(m.base, lan, q.id);
  assert.equal((await req(m.base, `/replies/${rep.id}`, { method: 'PATCH', headers: auth(lan), json: { body: 'Edited reply' } })).status, 200);
  assert.equal((await req(m.base, `/replies/${rep.id}`, { method: 'DELETE', headers: auth(lan) })).status, 204);
  const t = await createTopic(m.base, editor, { name: 'Feed Topic' });
  assert.equal((await req(m.base, `/topics/${t.slug}`, { method: 'PATCH', headers: auth(editor), json: { description: 'x' } })).status, 200);
  assert.equal((await req(m.base, `/topics/${t.slug}`, { method: 'DELETE', headers: auth(editor) })).status, 204);
  const { events } = await feed(editor, cursor);
  assert.deepEqual(events.map((e) => [e.type, e.id]), [
    ['question.created', q.id], ['question.updated', q.id],
    ['reply.created', rep.id], ['reply.updated', rep.id], ['reply.deleted', rep.id],
    ['topic.created', t.slug], ['topic.updated', t.slug], ['topic.deleted', t.slug],
  ]);
});

test('listChanges: a deleted question shows as question.deleted; partners lose its earlier events, editors keep them', async () => {
  const q = await createQuestion(m.base, app);
  assert.equal((await req(m.base, `/questions/${q.id}`, { method: 'PATCH', headers: auth(editor), json: { title: 'About to go' } })).status, 200);
  const rep = await createReply(m.base, lan, q.id);
  assert.equal((await req(m.base, `/questions/${q.id}`, { method: 'DELETE', headers: auth(editor) })).status, 204);
  const p = (await feed(partner)).events;
  assert.deepEqual(about(p, q.id), ['question.deleted']);
  assert.deepEqual(about(p, rep.id), []);
  const del = p.find((e) => e.id === q.id);
  assert.deepEqual(Object.keys(del), CHANGE_KEYS, 'a deleted event carries nothing of the content');
  const e = (await feed(editor)).events;
  assert.deepEqual(about(e, q.id), ['question.created', 'question.updated', 'question.deleted']);
  assert.deepEqual(about(e, rep.id), ['reply.created']);
});

test('listChanges: a deleted demo question hides its demo events from partners', async () => {
  assert.equal((await req(m.base, `/questions/${IDS.acne}`, { method: 'DELETE', headers: auth(editor) })).status, 204);
  const acneReplies = DEMO.questions.find((q) => q.id === IDS.acne).replies.map((r) => r.id);
  const p = (await feed(partner)).events;
  assert.deepEqual(about(p, IDS.acne), ['question.deleted']);
  for (const id of acneReplies) assert.deepEqual(about(p, id), []);
  const e = (await feed(editor)).events;
  assert.deepEqual(about(e, IDS.acne), ['question.created', 'question.deleted']);
});

test('listChanges: a hidden reply or topic shows to partners only as its deleted event', async () => {
  const q = await createQuestion(m.base, app);
  const rep = await createReply(m.base, lan, q.id);
  assert.equal((await req(m.base, `/replies/${rep.id}`, { method: 'PATCH', headers: auth(lan), json: { body: 'Changed.' } })).status, 200);
  assert.equal((await req(m.base, `/replies/${rep.id}`, { method: 'DELETE', headers: auth(editor) })).status, 204);
  const t = await createTopic(m.base, editor, { name: 'Short Lived Topic' });
  assert.equal((await req(m.base, `/topics/${t.slug}`, { method: 'DELETE', headers: auth(editor) })).status, 204);
  const p = (await feed(partner)).events;
  assert.deepEqual(about(p, rep.id), ['reply.deleted']);
  assert.deepEqual(about(p, t.slug), ['topic.deleted']);
  assert.deepEqual(about(p, q.id), ['question.created'], 'the question itself stays');
  const e = (await feed(editor)).events;
  assert.deepEqual(about(e, rep.id), ['reply.created', 'reply.updated', 'reply.deleted']);
});

test('listChanges: loading the demo data again adds no events', async () => {
  const { cursor } = await feed(editor);
  await seedDemo(db);
  const { events } = await feed(editor, cursor);
  assert.deepEqual(events, []);
});

test('listChanges: a slow writer that started first cannot be skipped by a partner polling meanwhile', async () => {
  // Another writer (a second medqa, here psql calling the same write
  // function) appends its event and then takes 3 s to commit (time for a
  // loaded machine's polling below to see it holding the lock). A write
  // through the API meanwhile (another department, no topics: no row in
  // common) must not become visible before it: a partner whose cursor
  // moved past the API's event would never see the slow one.
  const { cursor } = await feed(partner);
  const input = JSON.stringify(questionInput({ title: 'Slow writer question', topics: [] })).replace(/'/g, "''");
  const slow = spawn('psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-h', PG_SOCK, '-p', String(PG_PORT),
    '-U', 'medqa', '-d', db, '-c',
    `BEGIN; SELECT mq_create_question('${input}'::jsonb, 'http://x'); SELECT pg_sleep(3); COMMIT;`]);
  const slowDone = new Promise((resolve) => slow.on('close', resolve));
  let slowExited = false;
  slowDone.then(() => { slowExited = true; });
  // Wait until the slow transaction has written its event (it then holds
  // a row-exclusive lock on the changes table until it commits).
  let holding = false;
  for (let i = 0; i < 250 && !slowExited && !holding; i++) {
    holding = psql(db, `SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
      WHERE l.relation = 'changes'::regclass AND a.query LIKE '%Slow writer question%'
        AND a.pid <> pg_backend_pid()`) !== '0';
    if (!holding) await new Promise((r) => setTimeout(r, 20));
  }
  assert.ok(holding, 'the slow writer never wrote its event');
  const fast = req(m.base, '/questions', { method: 'POST', headers: auth(app), json: questionInput({ title: 'Fast writer question', department: 'cardiology', topics: [] }) });
  const seen = [];
  let c = cursor;
  while (!slowExited) {
    const r = await req(m.base, `/changes?cursor=${encodeURIComponent(c)}`, { headers: auth(partner) });
    seen.push(...r.body.data);
    c = r.body.next_cursor;
    await new Promise((r2) => setTimeout(r2, 50));
  }
  assert.equal(await slowDone, 0, 'psql failed');
  const f = await fast;
  assert.equal(f.status, 201, f.text);
  seen.push(...(await feed(partner, c)).events);
  const slowId = psql(db, "SELECT id FROM questions WHERE title = 'Slow writer question'");
  assert.deepEqual(seen.map((e) => [e.type, e.id]),
    [['question.created', slowId], ['question.created', f.body.id]]);
});

test('listChanges 401: no key', async () => {
  const r = await req(m.base, '/changes');
  assertProblem(r, 401);
  assert.match(r.headers.get('www-authenticate'), /^Bearer/);
});

test('listChanges 401: a malformed key or another scheme', async () => {
  assertProblem(await req(m.base, '/changes', { headers: { authorization: 'Bearer mq_nothex_xyz' } }), 401);
  assertProblem(await req(m.base, '/changes', { headers: { authorization: `Token ${partner}` } }), 401);
  assertProblem(await req(m.base, '/changes', { headers: { authorization: 'Bearer' } }), 401);
});

test('listChanges 403: app and doctor keys may not read the feed', async () => {
  assertProblem(await req(m.base, '/changes', { headers: auth(app) }), 403);
  assertProblem(await req(m.base, '/changes', { headers: auth(lan) }), 403);
});

test('listChanges 400: a forged cursor', async () => {
  const r0 = await req(m.base, '/changes?limit=2', { headers: auth(partner) });
  const c = r0.body.next_cursor;
  const forged = c.slice(0, -2) + (c.endsWith('AA') ? 'BB' : 'AA');
  for (const bad of [forged, 'MTAwMA', '0']) {
    const r = await req(m.base, `/changes?cursor=${encodeURIComponent(bad)}`, { headers: auth(partner) });
    assertProblem(r, 400);
    assert.equal(r.body.errors[0].parameter, 'cursor');
  }
});

test('listChanges 400: a cursor from another list', async () => {
  const q = await req(m.base, '/questions?limit=1');
  const r = await req(m.base, `/changes?cursor=${encodeURIComponent(q.body.next_cursor)}`, { headers: auth(partner) });
  assertProblem(r, 400);
});

test('listChanges 400: a limit out of range, an unknown parameter', async () => {
  assertProblem(await req(m.base, '/changes?limit=0', { headers: auth(partner) }), 400);
  assertProblem(await req(m.base, '/changes?limit=1000', { headers: auth(partner) }), 400);
  const r = await req(m.base, '/changes?since=5', { headers: auth(partner) });
  assertProblem(r, 400);
  assert.equal(r.body.errors[0].parameter, 'since');
});

// ---- keys ------------------------------------------------------------------

test('keys: a revoked key is refused (401) on writes and reads; keys list shows it revoked', async () => {
  const key = await createKey(db, 'app', { name: 'to-revoke-app' });
  assert.equal((await req(m.base, '/questions', { method: 'POST', headers: auth(key), json: questionInput() })).status, 201);
  const id = await revokeKeyNamed(db, 'to-revoke-app');
  const w = await req(m.base, '/questions', { method: 'POST', headers: auth(key), json: questionInput({ title: 'After revocation' }) });
  assertProblem(w, 401);
  assertProblem(await req(m.base, '/questions', { headers: auth(key) }), 401);
  const row = (await listKeys(db)).find((k) => k.id === id);
  assert.equal(row.status, 'revoked');
  assert.equal(row.role, 'app');
});

test('keys: a revoked doctor key may no longer reply', async () => {
  const key = await createKey(db, 'doctor', { doctor: IDS.jiang, name: 'to-revoke-doctor' });
  assert.equal((await req(m.base, `/questions/${IDS.eczema}/replies`, { method: 'POST', headers: auth(key), json: { body: 'Before.' } })).status, 201);
  await revokeKeyNamed(db, 'to-revoke-doctor');
  assertProblem(await req(m.base, `/questions/${IDS.eczema}/replies`, { method: 'POST', headers: auth(key), json: { body: 'After.' } }), 401);
});

test('keys: the right prefix with a wrong secret is 401', async () => {
  const wrong = app.slice(0, 16) + (app[16] === 'A' ? 'B' : 'A') + app.slice(17);
  assert.notEqual(wrong, app);
  assertProblem(await req(m.base, '/questions', { method: 'POST', headers: auth(wrong), json: questionInput() }), 401);
});

test('keys: the scheme name is case-insensitive', async () => {
  const r = await req(m.base, '/changes?limit=1', { headers: { authorization: `bearer ${partner}` } });
  assert.equal(r.status, 200, r.text);
});

test('keys: each key prints once, is unique, and its text is not stored', async () => {
  const a = await createKey(db, 'partner', { name: 'unique-a' });
  const b = await createKey(db, 'partner', { name: 'unique-b' });
  assert.notEqual(a, b);
  const list = await runMedqa(['keys', 'list'], { DATABASE_URL: dbUrl(db) });
  assert.ok(!list.stdout.includes(a) && !list.stdout.includes(b));
  assert.ok(!list.stdout.includes(a.slice(16)));
});

test('keys: a doctor key needs an existing doctor, and only a doctor key takes --doctor', async () => {
  const none = await runMedqa(['keys', 'create', '--role', 'doctor', '--name', 'x'], { DATABASE_URL: dbUrl(db) });
  assert.notEqual(none.code, 0);
  const unknown = await runMedqa(['keys', 'create', '--role', 'doctor', '--name', 'x',
    '--doctor', '00000000-0000-4000-8000-000000000000'], { DATABASE_URL: dbUrl(db) });
  assert.notEqual(unknown.code, 0);
  assert.equal(unknown.stdout, '');
  const app2 = await runMedqa(['keys', 'create', '--role', 'app', '--name', 'x', '--doctor', IDS.lan], { DATABASE_URL: dbUrl(db) });
  assert.notEqual(app2.code, 0);
});

// ---- the README story --------------------------------------------------------

test("a newcomer's curl session: read the lip-twitching page, browse neurology, ask, answer, see it in /changes", async () => {
  // 1. The page medqa was born from, in one call.
  const page = await req(m.base, `/questions/${IDS.lip}?include=replies`);
  assert.equal(page.status, 200);
  assert.equal(page.body.title, 'Lip twitching');
  assert.deepEqual(page.body.replies.map((r) => [r.kind, r.doctor && r.doctor.name]),
    [['doctor', 'Lan Shengxing'], ['editorial', null]]);
  // 2. More neurology questions.
  const neuro = await req(m.base, '/questions?department=neurology&limit=100');
  assert.equal(neuro.status, 200);
  assert.ok(neuro.body.data.some((q) => q.id === IDS.lip));
  assert.ok(neuro.body.data.every((q) => q.department.slug === 'neurology'));
  // 3. An app key, and a patient's question.
  const appKey = await createKey(db, 'app', { name: 'newcomer-app' });
  const { cursor } = await feed(partner);
  const ask = await req(m.base, '/questions', {
    method: 'POST', headers: auth(appKey),
    json: { title: 'Eyelid keeps jumping', body: 'For two weeks my lower left eyelid has flickered. Should I worry?',
      asker: { name: 'K. Lin', age_band: '30-39', gender: 'male' }, department: 'neurology',
      topics: ['eyelid-muscle-twitching'], contact_email: 'k.lin@example.org' },
  });
  assert.equal(ask.status, 201, ask.text);
  assert.equal(ask.body.state, 'open');
  // 4. Lan Shengxing answers with a doctor key.
  const docKey = await createKey(db, 'doctor', { doctor: IDS.lan, name: 'newcomer-lan' });
  const ans = await req(m.base, `/questions/${ask.body.id}/replies`, {
    method: 'POST', headers: auth(docKey),
    json: { body: 'Brief eyelid twitches like this are usually harmless; sleep well and cut down on coffee.' },
  });
  assert.equal(ans.status, 201, ans.text);
  assert.equal(ans.body.doctor.name, 'Lan Shengxing');
  assert.equal((await req(m.base, `/questions/${ask.body.id}`)).body.state, 'answered');
  // 5. A partner sees both events.
  const partnerKey = await createKey(db, 'partner', { name: 'newcomer-partner' });
  const { events } = await feed(partnerKey, cursor);
  assert.deepEqual(events.map((e) => [e.type, e.id]),
    [['question.created', ask.body.id], ['reply.created', ans.body.id]]);
});
