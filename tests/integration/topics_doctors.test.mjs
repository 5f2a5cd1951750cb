// Taxonomy: listTopics, createTopic, getTopic, patchTopic, deleteTopic,
// listDoctors, getDoctor, and listDepartments (its question_count).
//
// Error-status tests (one test each; some loop over several inputs):
//   listTopics      400 ×2 (unknown parameter; prefix or limit out of range)
//   getTopic        400 ×1 (slug pattern), 404 ×1 (unknown; hidden is
//                   checked in the deleteTopic test)
//   createTopic     400 ×4 (malformed JSON; unknown or server-owned field;
//                   bad slug; wrong type or empty name), 401 ×1, 403 ×1
//                   (app and doctor), 409 ×3 (explicit slug; slug from the
//                   name; Idempotency-Key with another body) plus the slug
//                   of a hidden topic in a deleteTopic test, 413 ×1,
//                   415 ×1, 422 ×1 (department)
//   patchTopic      400 ×2 (slug or unknown field; empty patch), 401 ×1,
//                   403 ×1 (partner), 404 ×1, 412 ×1, 413 ×1, 415 ×1,
//                   422 ×1 (department)
//   deleteTopic     401 ×1, 403 ×1 (app), 404 ×1 (unknown, already hidden)
//   listDoctors     400 ×1 (unknown parameter, bad department)
//   getDoctor       400 ×1 (bad UUID), 404 ×1
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { req, assertProblem, psql } from './lib/medqa.mjs';
import {
  demoServer, DEMO, IDS, NO_SUCH_ID, auth, createQuestion, createReply,
  createTopic, walk, oversized, rawStatus, assertEtag, TOPIC_KEYS, DOCTOR_KEYS,
} from './lib/fixtures.mjs';

let db;
let app;
let editor;
let partner;
let lan;

const m = demoServer({ keys: { app: 'app', editor: 'editor', partner: 'partner', lan: ['doctor', IDS.lan] } });
before(async () => ({ db, keys: { app, editor, partner, lan } } = await m.ready));

const slugs = (items) => items.map((t) => t.slug);
const byName = (a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
const postTopic = (json, key = editor, headers = {}) => req(m.base, '/topics', {
  method: 'POST', headers: auth(key, headers), json,
});
const patchTopic = (slug, json, key = editor, headers = {}) => req(m.base, `/topics/${slug}`, {
  method: 'PATCH', headers: auth(key, headers), json,
});
const delTopic = (slug, key = editor) => req(m.base, `/topics/${slug}`, { method: 'DELETE', headers: auth(key) });
const demoTopicCount = (slug) => DEMO.questions.filter((q) => q.topics.includes(slug)).length;

// ---- every taxonomy read ---------------------------------------------------

test('every taxonomy read: 200 JSON with ETag; public cache anonymously, private with a key', async () => {
  for (const path of ['/topics', '/topics/acne', '/doctors', `/doctors/${IDS.chen}`, '/departments']) {
    const anon = await req(m.base, path);
    assert.equal(anon.status, 200, path);
    assert.match(anon.headers.get('content-type'), /^application\/json/, path);
    assertEtag(anon);
    assert.equal(anon.headers.get('cache-control'), 'public, max-age=60', path);
    const keyed = await req(m.base, path, { headers: auth(app) });
    assert.equal(keyed.status, 200, path);
    assert.equal(keyed.headers.get('cache-control'), 'private, max-age=0', path);
    assert.equal(keyed.text, anon.text, path);
  }
});

// ---- listTopics ------------------------------------------------------------

test('listTopics: every demo topic by name, with the Topic shape, ETag and cache headers', async () => {
  const r = await req(m.base, '/topics?limit=100');
  assert.equal(r.status, 200);
  assert.match(r.headers.get('content-type'), /^application\/json/);
  assertEtag(r);
  assert.equal(r.headers.get('cache-control'), 'public, max-age=60');
  assert.equal(r.body.next_cursor, null);
  const want = [...DEMO.topics].sort(byName).map((t) => t.slug);
  assert.deepEqual(slugs(r.body.data), want);
  for (const t of r.body.data) {
    assert.deepEqual(Object.keys(t), TOPIC_KEYS);
    assert.deepEqual(Object.keys(t.department), ['slug', 'name']);
    assert.equal(t.question_count, demoTopicCount(t.slug), t.slug);
  }
  const k = await req(m.base, '/topics?limit=1', { headers: auth(partner) });
  assert.equal(k.headers.get('cache-control'), 'private, max-age=0');
});

test('listTopics: department filters', async () => {
  const r = await req(m.base, '/topics?department=dermatology');
  assert.deepEqual(slugs(r.body.data), ['acne', 'eczema', 'hair-loss']);
});

test('listTopics: prefix matches the start of the name, case-insensitively', async () => {
  for (const p of ['facial', 'FACIAL', 'FaCi']) {
    const r = await req(m.base, `/topics?prefix=${p}`);
    assert.equal(r.status, 200);
    assert.deepEqual(slugs(r.body.data), ['facial-and-hand-numbness', 'facial-nerve-palsy', 'facial-twitching'], p);
  }
  const face = await req(m.base, '/topics?prefix=face');
  assert.deepEqual(slugs(face.body.data), ['face']);
  const mid = await req(m.base, '/topics?prefix=twitching');
  assert.deepEqual(slugs(mid.body.data), [], 'prefix is not a substring search');
});

test('listTopics: LIKE wildcards in prefix are plain characters', async () => {
  for (const p of ['%', '_', 'F%', '%twitch']) {
    const r = await req(m.base, `/topics?prefix=${encodeURIComponent(p)}`);
    assert.equal(r.status, 200);
    assert.deepEqual(r.body.data, [], p);
  }
});

test('listTopics: limit=4 pages through every topic once, in name order', async () => {
  const items = await walk(m.base, '/topics?limit=4');
  const want = (await req(m.base, '/topics?limit=100')).body.data.map((t) => t.slug);
  assert.deepEqual(slugs(items), want);
});

test('listTopics 400: an unknown query parameter', async () => {
  const r = await req(m.base, '/topics?q=face');
  assertProblem(r, 400);
  assert.equal(r.body.errors[0].parameter, 'q');
});

test('listTopics 400: an empty prefix or a limit out of range', async () => {
  assertProblem(await req(m.base, '/topics?prefix='), 400);
  assertProblem(await req(m.base, `/topics?prefix=${'a'.repeat(101)}`), 400);
  assertProblem(await req(m.base, '/topics?limit=0'), 400);
});

// ---- getTopic ------------------------------------------------------------

test('getTopic: facial-twitching with its description and question_count', async () => {
  const r = await req(m.base, '/topics/facial-twitching');
  assert.equal(r.status, 200);
  assertEtag(r);
  const demo = DEMO.topics.find((t) => t.slug === 'facial-twitching');
  assert.deepEqual(r.body, {
    slug: 'facial-twitching', name: 'Facial Twitching',
    department: { slug: 'neurology', name: 'Neurology' },
    description: demo.description, question_count: 5,
  });
  const again = await req(m.base, '/topics/facial-twitching', { headers: { 'if-none-match': r.headers.get('etag') } });
  assert.equal(again.status, 304);
});

test("getTopic: question_count follows the questions that carry it", async () => {
  const before0 = (await req(m.base, '/topics/dry-eye')).body.question_count;
  const q = await createQuestion(m.base, app, { department: 'ophthalmology', topics: ['dry-eye'] });
  assert.equal((await req(m.base, '/topics/dry-eye')).body.question_count, before0 + 1);
  assert.equal((await req(m.base, `/questions/${q.id}`, { method: 'DELETE', headers: auth(editor) })).status, 204);
  assert.equal((await req(m.base, '/topics/dry-eye')).body.question_count, before0);
});

test('getTopic 400: a slug outside the pattern', async () => {
  const r = await req(m.base, '/topics/Facial_Twitching');
  assertProblem(r, 400);
  assert.equal(r.body.errors[0].parameter, 'slug');
});

test('getTopic 404: an unknown slug', async () => {
  assertProblem(await req(m.base, '/topics/no-such-topic'), 404);
});

// ---- createTopic -----------------------------------------------------------

test('createTopic: 201 with Location and ETag; the slug comes from the name', async () => {
  const r = await postTopic({ name: 'Eyelid Spasm, Hemifacial & Co.', department: 'neurology',
    description: 'Brief, involuntary flickers.' });
  assert.equal(r.status, 201, r.text);
  assert.match(r.headers.get('content-type'), /^application\/json/);
  assertEtag(r);
  assert.deepEqual(r.body, {
    slug: 'eyelid-spasm-hemifacial-co', name: 'Eyelid Spasm, Hemifacial & Co.',
    department: { slug: 'neurology', name: 'Neurology' },
    description: 'Brief, involuntary flickers.', question_count: 0,
  });
  assert.equal(r.headers.get('location'), `http://localhost:${m.port}/topics/eyelid-spasm-hemifacial-co`);
  const g = await req(m.base, '/topics/eyelid-spasm-hemifacial-co');
  assert.deepEqual(g.body, r.body);
});

test('createTopic: an explicit slug is kept; no description is null; it shows in the list', async () => {
  const r = await postTopic({ name: 'Tinnitus', department: 'otolaryngology', slug: 'ringing-ears' });
  assert.equal(r.status, 201, r.text);
  assert.equal(r.body.slug, 'ringing-ears');
  assert.equal(r.body.description, null);
  const l = await req(m.base, '/topics?department=otolaryngology');
  assert.deepEqual(slugs(l.body.data), ['ringing-ears']);
  const q = await createQuestion(m.base, app, { department: 'otolaryngology', topics: ['ringing-ears'] });
  assert.deepEqual(q.topics, [{ slug: 'ringing-ears', name: 'Tinnitus' }]);
});

test('createTopic 409: a slug that exists', async () => {
  const r = await postTopic({ name: 'Acne again', department: 'dermatology', slug: 'acne' });
  assertProblem(r, 409);
  assert.equal((await req(m.base, '/topics/acne')).body.name, 'Acne');
});

test('createTopic 409: a name whose slug exists', async () => {
  assertProblem(await postTopic({ name: 'Dry  Eye!', department: 'ophthalmology' }), 409);
});

test('createTopic 409: an Idempotency-Key reused with another body', async () => {
  const h = { 'idempotency-key': 'topic-key-1' };
  const a = await postTopic({ name: 'Vertigo', department: 'neurology' }, editor, h);
  assert.equal(a.status, 201, a.text);
  const again = await postTopic({ name: 'Vertigo', department: 'neurology' }, editor, h);
  assert.equal(again.status, 201, 'the same body replays');
  assert.equal(again.text, a.text);
  assertProblem(await postTopic({ name: 'Dizziness', department: 'neurology' }, editor, h), 409);
  assertProblem(await req(m.base, '/topics/dizziness'), 404);
});

test('createTopic 400: malformed JSON', async () => {
  const r = await req(m.base, '/topics', {
    method: 'POST', headers: auth(editor, { 'content-type': 'application/json' }), body: "{'name': 'x'}",
  });
  assertProblem(r, 400);
});

test('createTopic 400: an unknown field or a server-owned one (question_count)', async () => {
  assertProblem(await postTopic({ name: 'Hiccups', department: 'neurology', question_count: 5 }), 400);
  assertProblem(await postTopic({ name: 'Hiccups', department: 'neurology', colour: 'red' }), 400);
  assertProblem(await req(m.base, '/topics/hiccups'), 404);
});

test('createTopic 400: a slug outside the pattern', async () => {
  const r = await postTopic({ name: 'Hiccups', department: 'neurology', slug: 'Hic Cups' });
  assertProblem(r, 400);
  assert.equal(r.body.errors[0].pointer, '/slug');
});

test('createTopic 400: a name of the wrong type or empty', async () => {
  assertProblem(await postTopic({ name: 7, department: 'neurology' }), 400);
  assertProblem(await postTopic({ name: '', department: 'neurology' }), 400);
  assertProblem(await postTopic({ name: '  ', department: 'neurology' }), 400);
});

test('createTopic 401: no key', async () => {
  assertProblem(await req(m.base, '/topics', { method: 'POST', json: { name: 'Nope', department: 'neurology' } }), 401);
});

test('createTopic 403: app and doctor keys may not create topics', async () => {
  assertProblem(await postTopic({ name: 'App topic', department: 'neurology' }, app), 403);
  assertProblem(await postTopic({ name: 'Doctor topic', department: 'neurology' }, lan), 403);
  assertProblem(await req(m.base, '/topics/app-topic'), 404);
});

test('createTopic 413: a body over 1 MiB', async () => {
  const out = await oversized(m.port, 'POST', '/topics', auth(editor));
  assert.equal(rawStatus(out), 413, out.slice(0, 200));
});

test('createTopic 415: a text/plain body', async () => {
  const r = await req(m.base, '/topics', {
    method: 'POST', headers: auth(editor, { 'content-type': 'text/plain' }),
    body: JSON.stringify({ name: 'Plain', department: 'neurology' }),
  });
  assertProblem(r, 415);
});

test('createTopic 422: an unknown department, pointer /department', async () => {
  const r = await postTopic({ name: 'Star signs', department: 'astrology' });
  assertProblem(r, 422);
  assert.equal(r.body.errors[0].pointer, '/department');
});

// ---- patchTopic ------------------------------------------------------------

test('patchTopic: an editor edits the description and name; 200 with ETag', async () => {
  const t = await createTopic(m.base, editor, { name: 'Cluster Headache', description: 'Old text.' });
  const r = await req(m.base, `/topics/${t.slug}`, {
    method: 'PATCH', headers: auth(editor, { 'content-type': 'application/merge-patch+json' }),
    body: JSON.stringify({ description: 'Severe one-sided headaches in bouts.' }),
  });
  assert.equal(r.status, 200, r.text);
  assertEtag(r);
  assert.equal(r.body.description, 'Severe one-sided headaches in bouts.');
  assert.equal(r.body.slug, t.slug);
  const n = await patchTopic(t.slug, { name: 'Cluster Headaches', description: null, department: 'neurology' });
  assert.equal(n.status, 200, n.text);
  assert.equal(n.body.name, 'Cluster Headaches');
  assert.equal(n.body.description, null);
  assert.equal(n.body.slug, t.slug, 'a new name keeps the slug');
  assert.deepEqual((await req(m.base, `/topics/${t.slug}`)).body, n.body);
});

test('patchTopic: a renamed topic is renamed on its questions', async () => {
  const t = await createTopic(m.base, editor, { name: 'Night Sweats' });
  const q = await createQuestion(m.base, app, { topics: [t.slug] });
  assert.equal((await patchTopic(t.slug, { name: 'Night Sweating' })).status, 200);
  assert.deepEqual((await req(m.base, `/questions/${q.id}`)).body.topics, [{ slug: t.slug, name: 'Night Sweating' }]);
});

test('patchTopic 412: a stale If-Match; the current one works', async () => {
  const t = await createTopic(m.base, editor, { name: 'Restless Legs' });
  const g = await req(m.base, `/topics/${t.slug}`);
  const ok = await patchTopic(t.slug, { description: 'First.' }, editor, { 'if-match': g.headers.get('etag') });
  assert.equal(ok.status, 200, ok.text);
  const stale = await patchTopic(t.slug, { description: 'Second.' }, editor, { 'if-match': g.headers.get('etag') });
  assertProblem(stale, 412);
  assert.equal((await req(m.base, `/topics/${t.slug}`)).body.description, 'First.');
});

test('patchTopic 400: the slug or an unknown field is not editable', async () => {
  assertProblem(await patchTopic('acne', { slug: 'spots' }), 400);
  assertProblem(await patchTopic('acne', { question_count: 0 }), 400);
  assert.equal((await req(m.base, '/topics/acne')).status, 200);
});

test('patchTopic 400: an empty patch, or a blank name', async () => {
  assertProblem(await patchTopic('acne', {}), 400);
  assertProblem(await patchTopic('acne', { name: ' ' }), 400);
});

test('patchTopic 401: no key', async () => {
  assertProblem(await req(m.base, '/topics/acne', { method: 'PATCH', json: { name: 'x' } }), 401);
});

test('patchTopic 403: a partner key may not edit topics', async () => {
  assertProblem(await patchTopic('acne', { name: 'Spots' }, partner), 403);
});

test('patchTopic 404: an unknown slug', async () => {
  assertProblem(await patchTopic('no-such-topic', { name: 'x' }), 404);
});

test('patchTopic 413: a body over 1 MiB', async () => {
  const out = await oversized(m.port, 'PATCH', '/topics/acne', auth(editor));
  assert.equal(rawStatus(out), 413, out.slice(0, 200));
});

test('patchTopic 415: a text/plain body', async () => {
  const r = await req(m.base, '/topics/acne', {
    method: 'PATCH', headers: auth(editor, { 'content-type': 'text/plain' }), body: '{"name":"x"}',
  });
  assertProblem(r, 415);
});

test('patchTopic 422: an unknown department, pointer /department', async () => {
  const r = await patchTopic('acne', { department: 'astrology' });
  assertProblem(r, 422);
  assert.equal(r.body.errors[0].pointer, '/department');
});

// ---- deleteTopic -----------------------------------------------------------

test('deleteTopic: 204; the topic leaves GET, the list, its questions and the topic filter', async () => {
  const t = await createTopic(m.base, editor, { name: 'Bruxism' });
  const q = await createQuestion(m.base, app, { topics: [t.slug, 'facial-twitching'] });
  const r = await delTopic(t.slug);
  assert.equal(r.status, 204);
  assert.equal(r.text, '');
  assertProblem(await req(m.base, `/topics/${t.slug}`), 404);
  assert.ok(!slugs(await walk(m.base, '/topics?limit=100')).includes(t.slug));
  assert.deepEqual((await req(m.base, '/topics?prefix=brux')).body.data, []);
  assert.deepEqual((await req(m.base, `/questions/${q.id}`)).body.topics,
    [{ slug: 'facial-twitching', name: 'Facial Twitching' }]);
  assert.deepEqual((await req(m.base, `/questions?topic=${t.slug}`)).body.data, []);
});

test('deleteTopic: a hidden topic cannot be used on a question (422) nor its slug reused (409)', async () => {
  const t = await createTopic(m.base, editor, { name: 'Jaw Clicking' });
  assert.equal((await delTopic(t.slug)).status, 204);
  const q = await req(m.base, '/questions', {
    method: 'POST', headers: auth(app),
    json: { title: 'Clicking jaw', body: 'My jaw clicks.', asker: { name: 'J', age_band: '40-49', gender: 'other' },
      department: 'neurology', topics: [t.slug] },
  });
  assertProblem(q, 422);
  assert.equal(q.body.errors[0].pointer, '/topics/0');
  assertProblem(await postTopic({ name: 'Jaw Clicking', department: 'neurology' }), 409);
});

test('deleteTopic 404: unknown, and already hidden', async () => {
  assertProblem(await delTopic('no-such-topic'), 404);
  const t = await createTopic(m.base, editor, { name: 'Hiccup Fits' });
  assert.equal((await delTopic(t.slug)).status, 204);
  assertProblem(await delTopic(t.slug), 404);
  assertProblem(await patchTopic(t.slug, { name: 'Back' }), 404);
});

test('deleteTopic 401: no key', async () => {
  assertProblem(await req(m.base, '/topics/acne', { method: 'DELETE' }), 401);
});

test('deleteTopic 403: an app key may not hide topics', async () => {
  assertProblem(await delTopic('acne', app), 403);
  assert.equal((await req(m.base, '/topics/acne')).status, 200);
});

// ---- listDoctors / getDoctor -------------------------------------------------

test('listDoctors: every demo doctor by name with reply_count', async () => {
  const r = await req(m.base, '/doctors?limit=100');
  assert.equal(r.status, 200);
  assertEtag(r);
  assert.equal(r.headers.get('cache-control'), 'public, max-age=60');
  assert.equal(r.body.next_cursor, null);
  const demo = DEMO.questions.flatMap((q) => q.replies);
  const ours = r.body.data.filter((d) => DEMO.doctors.some((x) => x.id === d.id));
  assert.deepEqual(ours.map((d) => d.id), [...DEMO.doctors].sort(byName).map((d) => d.id));
  for (const d of r.body.data) assert.deepEqual(Object.keys(d), DOCTOR_KEYS);
  const ye = r.body.data.find((d) => d.id === IDS.ye);
  assert.deepEqual(ye, { id: IDS.ye, name: 'Ye Boshou', department: { slug: 'neurology', name: 'Neurology' },
    reply_count: demo.filter((x) => x.doctor === IDS.ye).length });
});

test('listDoctors: department filters; limit=3 pages through all once', async () => {
  const r = await req(m.base, '/doctors?department=neurology');
  assert.deepEqual(r.body.data.map((d) => d.name), ['Jiang Junyi', 'Lan Shengxing', 'Ye Boshou']);
  const all = await walk(m.base, '/doctors?limit=3');
  assert.deepEqual(all.map((d) => d.name), [...DEMO.doctors].sort(byName).map((d) => d.name));
});

test('listDoctors 400: an unknown parameter, a department outside the pattern', async () => {
  assertProblem(await req(m.base, '/doctors?name=Lan'), 400);
  assertProblem(await req(m.base, '/doctors?department=Neuro%20Logy'), 400);
});

test('getDoctor: Lan Shengxing, ETag, 304, private with a key', async () => {
  const r = await req(m.base, `/doctors/${IDS.lan}`);
  assert.equal(r.status, 200);
  assertEtag(r);
  const n = DEMO.questions.flatMap((q) => q.replies).filter((x) => x.doctor === IDS.lan).length;
  assert.deepEqual(r.body, { id: IDS.lan, name: 'Lan Shengxing',
    department: { slug: 'neurology', name: 'Neurology' }, reply_count: n });
  const again = await req(m.base, `/doctors/${IDS.lan}`, { headers: { 'if-none-match': r.headers.get('etag') } });
  assert.equal(again.status, 304);
  const k = await req(m.base, `/doctors/${IDS.lan}`, { headers: auth(lan) });
  assert.equal(k.headers.get('cache-control'), 'private, max-age=0');
});

test('getDoctor: reply_count counts only visible doctor replies on visible questions', async () => {
  const start = (await req(m.base, `/doctors/${IDS.lan}`)).body.reply_count;
  const q = await createQuestion(m.base, app);
  await createReply(m.base, lan, q.id);
  await createReply(m.base, editor, q.id, { body: 'Editorial does not count for Lan.' });
  assert.equal((await req(m.base, `/doctors/${IDS.lan}`)).body.reply_count, start + 1);
  assert.equal((await req(m.base, `/questions/${q.id}`, { method: 'DELETE', headers: auth(editor) })).status, 204);
  assert.equal((await req(m.base, `/doctors/${IDS.lan}`)).body.reply_count, start);
});

test('getDoctor 400: a bad UUID', async () => {
  assertProblem(await req(m.base, '/doctors/lan-shengxing'), 400);
});

test('getDoctor 404: an unknown id', async () => {
  assertProblem(await req(m.base, `/doctors/${NO_SUCH_ID}`), 404);
});

// ---- listDepartments -------------------------------------------------------

test('listDepartments: question_count counts visible questions per department', async () => {
  const count = async (slug) => (await req(m.base, '/departments')).body.data.find((d) => d.slug === slug).question_count;
  const r = await req(m.base, '/departments');
  assert.equal(r.status, 200);
  for (const d of r.body.data) assert.deepEqual(Object.keys(d), ['slug', 'name', 'question_count']);
  assert.equal(await count('endocrinology'), DEMO.questions.filter((q) => q.department === 'endocrinology').length);
  const before0 = await count('urology');
  const q = await createQuestion(m.base, app, { department: 'urology', topics: [] });
  assert.equal(await count('urology'), before0 + 1);
  const moved = await req(m.base, `/questions/${q.id}`, { method: 'PATCH', headers: auth(editor), json: { department: 'pediatrics' } });
  assert.equal(moved.status, 200, moved.text);
  assert.equal(await count('urology'), before0);
  const ped = await count('pediatrics');
  assert.equal((await req(m.base, `/questions/${q.id}`, { method: 'DELETE', headers: auth(editor) })).status, 204);
  assert.equal(await count('pediatrics'), ped - 1);
});

test('listDepartments: neurology counts the six demo questions (plus any made in this file)', async () => {
  const r = await req(m.base, '/departments');
  const neuro = r.body.data.find((d) => d.slug === 'neurology');
  const visible = Number(psql(db, "SELECT count(*) FROM questions WHERE department_slug = 'neurology' AND deleted_at IS NULL"));
  assert.equal(neuro.question_count, visible);
  assert.ok(visible >= DEMO.questions.filter((q) => q.department === 'neurology').length);
});
