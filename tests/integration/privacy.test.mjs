// Privacy and trust (issue 15): API keys that expire and rotate, last use
// written at most once a minute, and the append-only audit log.
//
// Error-status tests:
//   keys (401 key-expired) ×2: a key past --expires; a rotated key past
//                   its grace period
//   listAudit       401 ×1 (no key), 403 ×1 (partner, app, doctor),
//                   400 ×1 (bad filters)
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { req, assertProblem, runMedqa, dbUrl, psql, startMedqa, createDb, TEST_CONTACT_KEY, PG_SOCK, PG_PORT } from './lib/medqa.mjs';
import {
  demoServer, IDS, seedDemo, createKey, listKeys, auth, questionInput, createQuestion,
  createReply, walk, TS, UUID,
} from './lib/fixtures.mjs';

let db;
let keys;
const m = demoServer({
  keys: { app: 'app', editor: 'editor', partner: 'partner', doctor: ['doctor', IDS.jiang], lan: ['doctor', IDS.lan] },
});
before(async () => ({ db, keys } = await m.ready));

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const cli = (args) => runMedqa(args, { DATABASE_URL: dbUrl(db) });
/** The key text printed last by keys create / rotate. */
const lastLine = (r) => r.stdout.trim().split('\n').pop().trim();
const keyNamed = async (name) => (await listKeys(db)).find((k) => k.name === name);
/** The id of a key, from its text's prefix. */
const keyId = (key) => psql(db, `SELECT id FROM api_keys WHERE prefix = '${key.slice(3, 15)}'`);
const keyRow = async (key) => (await listKeys(db)).find((k) => k.id === keyId(key));

async function metric(name) {
  const r = await req(m.base, '/metrics');
  assert.equal(r.status, 200);
  const line = r.text.split('\n').find((l) => l.startsWith(`${name} `));
  assert.ok(line, `${name} in /metrics`);
  return Number(line.split(' ')[1]);
}

// ---- keys ------------------------------------------------------------------

test('keys: a key made with --expires works until then, then gets 401 key-expired', async () => {
  const name = `short-${randomBytes(3).toString('hex')}`;
  const made = await cli(['keys', 'create', '--role', 'partner', '--name', name, '--expires', '2s']);
  assert.equal(made.code, 0, made.stderr);
  const key = lastLine(made);
  let row = await keyNamed(name);
  assert.match(row.expires, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  assert.equal(row.status, 'active');
  const ok = await req(m.base, '/changes?limit=1', { headers: auth(key) });
  assert.equal(ok.status, 200, ok.text);
  await sleep(2300);
  const r = await req(m.base, '/changes?limit=1', { headers: auth(key) });
  assertProblem(r, 401);
  assert.match(r.body.type, /\/problems\/key-expired$/);
  assert.match(r.headers.get('www-authenticate'), /^Bearer /);
  row = await keyNamed(name);
  assert.equal(row.status, 'expired');
  // Without --expires a key never expires.
  assert.equal((await keyRow(keys.partner)).expires, '-');
});

test('keys: --expires and --grace refuse what is not a duration', async () => {
  for (const bad of ['0d', '90', 'd', '-1d', '5w', '1.5d', '']) {
    const r = await cli(['keys', 'create', '--role', 'app', '--name', 'x', '--expires', bad]);
    assert.equal(r.code, 2, `--expires ${bad}: ${r.stderr}`);
  }
  const id = keyId(keys.app);
  const r = await cli(['keys', 'rotate', id, '--grace', '7x']);
  assert.equal(r.code, 2, r.stderr);
});

test('keys: rotate issues a successor; the old key works through its grace period, then stops', async () => {
  const name = `rot-${randomBytes(3).toString('hex')}`;
  const made = await cli(['keys', 'create', '--role', 'app', '--name', name]);
  assert.equal(made.code, 0, made.stderr);
  const oldKey = lastLine(made);
  const oldId = (await keyNamed(name)).id;
  const rot = await cli(['keys', 'rotate', oldId, '--grace', '3s']);
  assert.equal(rot.code, 0, rot.stderr);
  const newKey = lastLine(rot);
  assert.match(newKey, /^mq_[0-9a-f]{12}_[A-Za-z0-9_-]{43}$/);
  assert.notEqual(newKey, oldKey);
  const rows = (await listKeys(db)).filter((k) => k.name === name);
  assert.equal(rows.length, 2);
  assert.ok(rows.every((k) => k.role === 'app'));
  // Both work during the grace period.
  for (const k of [oldKey, newKey]) {
    const r = await req(m.base, '/questions', { method: 'POST', headers: auth(k), json: { nope: 1 } });
    assert.equal(r.status, 400, r.text);
  }
  // A rotated key cannot be rotated again.
  const again = await cli(['keys', 'rotate', oldId]);
  assert.equal(again.code, 1);
  await sleep(3300);
  const old = await req(m.base, '/questions', { method: 'POST', headers: auth(oldKey), json: { nope: 1 } });
  assertProblem(old, 401);
  assert.match(old.body.type, /\/problems\/key-expired$/);
  const fresh = await req(m.base, '/questions', { method: 'POST', headers: auth(newKey), json: { nope: 1 } });
  assert.equal(fresh.status, 400, fresh.text);
  const audit = psql(db, `SELECT count(*) FROM audit WHERE action = 'key.rotate' AND target_id = '${oldId}' AND actor_role = 'operator'`);
  assert.equal(audit, '1');
});

test('keys: last_used_at is written at most once a minute, even under 1,000 requests', async () => {
  const name = `busy-${randomBytes(3).toString('hex')}`;
  const made = await cli(['keys', 'create', '--role', 'partner', '--name', name]);
  const key = lastLine(made);
  assert.equal((await keyNamed(name)).lastUsed, '-');
  const before0 = await metric('medqa_api_key_last_used_writes_total');
  const xmin0 = psql(db, `SELECT xmin FROM api_keys WHERE name = '${name}'`);
  for (let i = 0; i < 1000; i += 10) {
    const batch = [];
    for (let j = 0; j < 10; j++) batch.push(req(m.base, '/changes?limit=1', { headers: auth(key) }));
    for (const r of await Promise.all(batch)) assert.equal(r.status, 200);
  }
  const after = await metric('medqa_api_key_last_used_writes_total');
  // Other suites' keys do not share this server, and this file's tests
  // run one after the other: the 1,000 requests wrote the row once.
  assert.equal(after - before0, 1, 'one write of last_used_at for 1,000 requests');
  assert.notEqual(psql(db, `SELECT xmin FROM api_keys WHERE name = '${name}'`), xmin0);
  assert.match((await keyNamed(name)).lastUsed, /^\d{4}-/);
  // A minute later (moved back by hand here) the next request writes it again.
  psql(db, `UPDATE api_keys SET last_used_at = now() - interval '61 seconds' WHERE name = '${name}'`);
  await req(m.base, '/changes?limit=1', { headers: auth(key) });
  await req(m.base, '/changes?limit=1', { headers: auth(key) });
  assert.equal(await metric('medqa_api_key_last_used_writes_total') - after, 1);
});

// ---- audit -----------------------------------------------------------------

const rid = () => `t${randomBytes(8).toString('hex')}`;
const auditOf = (requestId) => JSON.parse(psql(db, `SELECT coalesce(json_agg(json_build_object('action', action, 'role', actor_role, 'key_name', actor_key_name, 'key_id', actor_key_id, 'doctor_id', actor_doctor_id, 'target_type', target_type, 'target_id', target_id, 'fields', fields) ORDER BY id), '[]') FROM audit WHERE request_id = '${requestId}'`));

test('audit: each write leaves exactly one record with its actor, action, target and field names', async () => {
  const appId = keyId(keys.app);
  const lanRow = (await listKeys(db)).find((k) => k.doctor === IDS.lan);
  const input = questionInput({ contact_email: 'audit.probe@example.org' });
  const steps = [];
  const send = async (key, method, path, json, extra = {}) => {
    const id = rid();
    const r = await req(m.base, path, { method, headers: auth(key, { 'x-request-id': id, ...extra }), json });
    assert.ok(r.status < 300, `${method} ${path}: ${r.status} ${r.text}`);
    steps.push({ id, r });
    return { id, r };
  };
  const c = await send(keys.app, 'POST', '/questions', input, { 'idempotency-key': 'audit-1' });
  const qid = c.r.body.id;
  let a = auditOf(c.id);
  assert.equal(a.length, 1);
  assert.deepEqual(a[0], {
    action: 'question.create', role: 'app', key_name: (await keyRow(keys.app)).name, key_id: appId, doctor_id: null,
    target_type: 'question', target_id: qid,
    fields: ['asker.age_band', 'asker.gender', 'asker.name', 'body', 'contact_email', 'department', 'language', 'title', 'topics'],
  });
  // A replay changes nothing, so it records nothing.
  const replay = await send(keys.app, 'POST', '/questions', input, { 'idempotency-key': 'audit-1' });
  assert.equal(replay.r.headers.get('idempotent-replayed'), 'true');
  assert.equal(auditOf(replay.id).length, 0);

  const p = await send(keys.editor, 'PATCH', `/questions/${qid}`, { title: 'Audit patched title', asker: { age_band: '40-49' } });
  a = auditOf(p.id);
  assert.equal(a.length, 1);
  assert.equal(a[0].action, 'question.patch');
  assert.equal(a[0].role, 'editor');
  assert.deepEqual(a[0].fields, ['asker.age_band', 'title']);

  const rep = await send(keys.lan, 'POST', `/questions/${qid}/replies`, { body: 'Audit reply body text, please rest.' });
  a = auditOf(rep.id);
  assert.equal(a.length, 1);
  assert.equal(a[0].action, 'reply.create');
  assert.equal(a[0].role, 'doctor');
  assert.equal(a[0].doctor_id, IDS.lan);
  assert.equal(a[0].key_id, lanRow.id);
  assert.equal(a[0].target_id, rep.r.body.id);

  const rp = await send(keys.lan, 'PATCH', `/replies/${rep.r.body.id}`, { body: 'Audit reply body, revised.' });
  assert.deepEqual(auditOf(rp.id).map((x) => [x.action, x.fields]), [['reply.patch', ['body']]]);
  const rd = await send(keys.editor, 'DELETE', `/replies/${rep.r.body.id}`, { reason: 'moderation' });
  assert.deepEqual(auditOf(rd.id).map((x) => [x.action, x.target_id]), [['reply.hide', rep.r.body.id]]);
  assert.equal(psql(db, `SELECT reason FROM audit WHERE request_id = '${rd.id}'`), 'moderation');

  const tc = await send(keys.editor, 'POST', '/topics', { name: `Audit Topic ${randomBytes(3).toString('hex')}`, department: 'neurology' });
  const slug = tc.r.body.slug;
  assert.deepEqual(auditOf(tc.id).map((x) => [x.action, x.target_type, x.target_id, x.fields]),
    [['topic.create', 'topic', slug, ['department', 'name']]]);
  const tp = await send(keys.editor, 'PATCH', `/topics/${slug}`, { description: 'Audit topic description.' });
  assert.deepEqual(auditOf(tp.id).map((x) => [x.action, x.fields]), [['topic.patch', ['description']]]);
  const td = await send(keys.editor, 'DELETE', `/topics/${slug}`);
  assert.deepEqual(auditOf(td.id).map((x) => x.action), ['topic.hide']);

  // A hide's reason is an optional code; free text is refused.
  assertProblem(await req(m.base, `/questions/${qid}`, { method: 'DELETE', headers: auth(keys.editor), json: { reason: 'he was rude to me' } }), 400);
  const qd = await send(keys.editor, 'DELETE', `/questions/${qid}`);
  assert.deepEqual(auditOf(qd.id).map((x) => [x.action, x.target_id]), [['question.hide', qid]]);
  assert.equal(psql(db, `SELECT coalesce(reason, 'none') FROM audit WHERE request_id = '${qd.id}'`), 'none');

  // A refused write records nothing.
  const bad = rid();
  const r = await req(m.base, `/questions/${qid}`, { method: 'PATCH', headers: auth(keys.editor, { 'x-request-id': bad }), json: { title: 'x' } });
  assertProblem(r, 404);
  assert.equal(auditOf(bad).length, 0);

  // The log holds no content: none of the writes' titles, bodies or
  // e-mail addresses appear anywhere in it.
  for (const probe of [input.title, input.body, 'audit.probe@example.org', 'Audit patched title',
    'Audit reply body', 'Audit topic description', input.asker.name]) {
    const n = psql(db, `SELECT count(*) FROM audit a WHERE strpos(a::text, $$${probe}$$) > 0`);
    assert.equal(n, '0', `audit holds "${probe}"`);
  }
});

test('audit: key create and revoke from the CLI are recorded, with the operator as actor', async () => {
  const name = `cli-${randomBytes(3).toString('hex')}`;
  await createKey(db, 'app', { name });
  const id = (await keyNamed(name)).id;
  const rv = await cli(['keys', 'revoke', id]);
  assert.equal(rv.code, 0, rv.stderr);
  const rows = psql(db, `SELECT action || ' ' || actor_role || ' ' || actor_key_name FROM audit WHERE target_id = '${id}' ORDER BY id`);
  assert.deepEqual(rows.split('\n'), ['key.create operator medqa', 'key.revoke operator medqa']);
});

test('audit: UPDATE, DELETE and TRUNCATE are refused to the service\'s own role', async () => {
  // psql connects as the role medqa serves with (DATABASE_URL's user).
  assert.equal(psql(db, 'SELECT current_user'), new URL(dbUrl(db)).searchParams.get('user'));
  assert.ok(Number(psql(db, 'SELECT count(*) FROM audit')) > 0);
  for (const sql of ['UPDATE audit SET reason = NULL', 'DELETE FROM audit', 'TRUNCATE audit']) {
    assert.throws(() => psql(db, sql), /the audit log is append-only/, sql);
  }
});

test('audit: prune deletes only records past AUDIT_RETENTION_DAYS, and records itself', async () => {
  // Back-date one record the only way there is: as prune does.
  psql(db, `BEGIN; SET LOCAL session_replication_role = replica;
    INSERT INTO audit (at, actor_role, action, target_type, target_id) VALUES (now() - interval '3 days', 'operator', 'key.create', 'key', 'old-one');
    COMMIT`);
  const total = Number(psql(db, 'SELECT count(*) FROM audit'));
  const r = await runMedqa(['audit', 'prune'], { DATABASE_URL: dbUrl(db), AUDIT_RETENTION_DAYS: '2' });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /pruned 1 audit records older than 2 days/);
  assert.equal(psql(db, "SELECT count(*) FROM audit WHERE target_id = 'old-one'"), '0');
  assert.equal(Number(psql(db, 'SELECT count(*) FROM audit')), total); // -1 pruned, +1 audit.prune
  assert.equal(psql(db, "SELECT target_id FROM audit WHERE action = 'audit.prune'"), '1');
});

test('listAudit: editors read the log newest first, with filters and cursors', async () => {
  const r = await req(m.base, '/audit?limit=5', { headers: auth(keys.editor) });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.headers.get('cache-control'), 'private, max-age=0');
  assert.equal(r.body.data.length, 5);
  const ids = r.body.data.map((x) => x.id);
  assert.deepEqual(ids, [...ids].sort((a, b) => b - a));
  for (const x of r.body.data) {
    assert.deepEqual(Object.keys(x), ['id', 'at', 'request_id', 'actor', 'action', 'target', 'fields', 'reason']);
    assert.match(x.at, TS);
  }
  const all = await walk(m.base, '/audit?limit=7', auth(keys.editor));
  assert.equal(all.length, Number(psql(db, 'SELECT count(*) FROM audit')));
  const creates = await walk(m.base, '/audit?action=question.create', auth(keys.editor));
  assert.ok(creates.length >= 1);
  assert.ok(creates.every((x) => x.action === 'question.create' && x.target.type === 'question'));
  const appId = keyId(keys.app);
  const mine = await walk(m.base, `/audit?actor=${appId}`, auth(keys.editor));
  assert.ok(mine.length >= 1 && mine.every((x) => x.actor.key_id === appId && x.actor.role === 'app'));
  const target = creates[0].target.id;
  const about = await walk(m.base, `/audit?target=${target}`, auth(keys.editor));
  assert.ok(about.some((x) => x.action === 'question.create'));
  assert.ok(about.every((x) => x.target.id === target));
  const future = await req(m.base, '/audit?since=2999-01-01T00:00:00Z', { headers: auth(keys.editor) });
  assert.deepEqual(future.body.data, []);
  const past = await req(m.base, '/audit?until=2000-01-01T00:00:00Z', { headers: auth(keys.editor) });
  assert.deepEqual(past.body.data, []);
  const now = new Date().toISOString();
  const sinceNow = await walk(m.base, `/audit?until=${now}&since=2000-01-01T00:00:00Z`, auth(keys.editor));
  assert.ok(sinceNow.length > 0);
});

test('listAudit 401, 403: no key; partner, app and doctor keys', async () => {
  assertProblem(await req(m.base, '/audit'), 401);
  for (const k of ['partner', 'app', 'doctor']) {
    assertProblem(await req(m.base, '/audit', { headers: auth(keys[k]) }), 403);
  }
});

test('listAudit 400: a bad actor, action, since or cursor', async () => {
  for (const q of ['actor=nope', 'action=DROP%20TABLE', 'since=yesterday', 'until=2020-13-01T00:00:00Z',
    'cursor=forged', 'target=', 'limit=0']) {
    assertProblem(await req(m.base, `/audit?${q}`, { headers: auth(keys.editor) }), 400);
  }
});

// ---- erasure ---------------------------------------------------------------

/** Every table of the schema but audit, scanned row by row (as text) for
 * each probe; returns the "table: probe" pairs found. */
function scanTables(probes) {
  const tables = psql(db, "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'audit' ORDER BY 1").split('\n');
  assert.ok(tables.includes('idempotency_keys') && tables.includes('question_contacts'));
  const arr = `ARRAY[${probes.map((p) => `$$${p}$$`).join(', ')}]`;
  const q = tables.map((t) => `SELECT '${t}: ' || p FROM unnest(${arr}) AS p WHERE EXISTS (SELECT 1 FROM ${t} x WHERE strpos(lower(x::text), lower(p)) > 0)`).join(' UNION ALL ');
  const out = psql(db, q);
  return out === '' ? [] : out.split('\n');
}

const visibleCount = (sql) => Number(psql(db, sql));

test('erasure: a question with replies, topics, an idempotent create and a contact e-mail leaves no trace but its tombstone', async () => {
  const tag = randomBytes(4).toString('hex');
  const input = questionInput({
    title: `Zorblax tremor ${tag} in my left thumb`,
    body: `Since March my left thumb shakes when I hold a cup (${tag}); my aunt had the same.`,
    asker: { name: `Quill Varnum ${tag}`, age_band: '60-69', gender: 'female' },
    contact_email: `quill.${tag}@example.org`,
    topics: ['eyelid-muscle-twitching', 'facial-twitching'],
  });
  const created = await req(m.base, '/questions', { method: 'POST', headers: auth(keys.app, { 'idempotency-key': `erase-${tag}` }), json: input });
  assert.equal(created.status, 201, created.text);
  const qid = created.body.id;
  const doc = await createReply(m.base, keys.lan, qid, { body: `Doctor reply ${tag}: an essential tremor is likely.` });
  const ed = await createReply(m.base, keys.editor, qid, { body: `Editorial note ${tag} on tremors.` });
  const patched = await req(m.base, `/questions/${qid}`, { method: 'PATCH', headers: auth(keys.editor), json: { body: `${input.body} Update ${tag}.` } });
  assert.equal(patched.status, 200, patched.text);
  assert.equal(psql(db, `SELECT count(*) FROM idempotency_keys WHERE strpos(body, '${qid}') > 0`), '1');
  const deptBefore = visibleCount("SELECT question_count FROM departments WHERE slug = 'neurology'");
  const lanBefore = visibleCount(`SELECT reply_count FROM doctors WHERE id = '${IDS.lan}'`);
  const { cursor } = await (async () => {
    const r = await req(m.base, '/changes?limit=100', { headers: auth(keys.partner) });
    return { cursor: r.body.next_cursor };
  })();

  // Doctors, apps and partners may not erase; nobody without a key.
  for (const k of ['lan', 'app', 'partner']) {
    assertProblem(await req(m.base, `/questions/${qid}/erasure`, { method: 'POST', headers: auth(keys[k]), json: { reason: 'data-subject-request' } }), 403);
  }
  assertProblem(await req(m.base, `/questions/${qid}/erasure`, { method: 'POST', json: { reason: 'data-subject-request' } }), 401);

  const id1 = rid();
  const er = await req(m.base, `/questions/${qid}/erasure`, { method: 'POST', headers: auth(keys.editor, { 'x-request-id': id1 }), json: { reason: 'data-subject-request' } });
  assert.equal(er.status, 204, er.text);
  // A retry is a no-op with the same answer, and records nothing.
  const id2 = rid();
  const again = await req(m.base, `/questions/${qid}/erasure`, { method: 'POST', headers: auth(keys.editor, { 'x-request-id': id2 }), json: { reason: 'data-subject-request' } });
  assert.equal(again.status, 204, again.text);
  assert.deepEqual(auditOf(id1).map((x) => [x.action, x.target_id, x.role]), [['question.erase', qid, 'editor']]);
  assert.equal(auditOf(id2).length, 0);
  assert.equal(psql(db, `SELECT reason FROM audit WHERE request_id = '${id1}'`), 'data-subject-request');

  // The scan: no table but audit holds its text, the asker or the e-mail.
  const probes = [input.title, input.body, `Update ${tag}`, input.asker.name, input.contact_email,
    `Doctor reply ${tag}`, `Editorial note ${tag}`, 'zorblax', `Zorblax tremor ${tag}`];
  assert.deepEqual(scanTables(probes), []);
  // And the audit log holds none of it either.
  for (const p of probes) assert.equal(psql(db, `SELECT count(*) FROM audit a WHERE strpos(a::text, $$${p}$$) > 0`), '0', p);
  // The tombstone.
  const tomb = psql(db, `SELECT department_slug || ' ' || (erased_at IS NOT NULL) || ' ' || erasure_reason || ' ' || (title IS NULL) || ' ' || (asker_name IS NULL) FROM questions WHERE id = '${qid}'`);
  assert.equal(tomb, 'neurology true data-subject-request true true');
  assert.equal(psql(db, `SELECT count(*) FROM question_topics WHERE question_id = '${qid}'`), '0');
  assert.equal(psql(db, `SELECT count(*) FROM replies WHERE question_id = '${qid}' AND (body IS NOT NULL OR erased_at IS NULL)`), '0');

  // 410 for everyone, editors included; its replies too.
  for (const h of [{}, auth(keys.editor), auth(keys.partner)]) {
    const g = await req(m.base, `/questions/${qid}?include=replies`, { headers: h });
    assertProblem(g, 410);
    assert.match(g.body.type, /\/problems\/gone$/);
  }
  assertProblem(await req(m.base, `/replies/${doc.id}`), 410);
  assertProblem(await req(m.base, `/replies/${ed.id}`, { headers: auth(keys.editor) }), 410);

  // Gone from lists, search, /related and the counts.
  const list = await walk(m.base, '/questions?department=neurology&limit=100');
  assert.ok(!list.some((q) => q.id === qid));
  const found = await req(m.base, `/questions?q=zorblax`);
  assert.deepEqual(found.body.data, []);
  const replies = await walk(m.base, '/replies?limit=100');
  assert.ok(!replies.some((r) => r.id === doc.id || r.id === ed.id));
  const rel = await req(m.base, `/related?question_id=${IDS.lip}&limit=20`);
  assert.equal(rel.status, 200, rel.text);
  assert.ok(!rel.text.includes(qid));
  assertProblem(await req(m.base, `/related?question_id=${qid}`), 404);
  // The Atom feed keeps only a tombstone (at:deleted-entry) naming its id.
  const atom = await req(m.base, '/feeds/questions.atom?department=neurology&limit=100');
  assert.equal(atom.status, 200);
  for (const p of probes) assert.ok(!atom.text.toLowerCase().includes(p.toLowerCase()), `the feed still says ${p}`);
  assert.match(atom.text, new RegExp(`<at:deleted-entry ref="urn:uuid:${qid}"`));
  assert.equal(visibleCount("SELECT question_count FROM departments WHERE slug = 'neurology'"), deptBefore - 1);
  assert.equal(visibleCount(`SELECT reply_count FROM doctors WHERE id = '${IDS.lan}'`), lanBefore - 1);
  // The kept counters equal a recount.
  assert.equal(psql(db, `SELECT count(*) FROM topics t WHERE question_count <> (SELECT count(*) FROM question_topics qt JOIN questions q ON q.id = qt.question_id WHERE qt.topic_id = t.id AND q.deleted_at IS NULL)`), '0');
  assert.equal(psql(db, `SELECT count(*) FROM departments d WHERE question_count <> (SELECT count(*) FROM questions q WHERE q.department_slug = d.slug AND q.deleted_at IS NULL)`), '0');

  // The feed: question.erased, and the earlier events of the question and
  // its replies are gone for partners.
  const events = [];
  let c = null;
  for (let i = 0; i < 200; i++) {
    const r = await req(m.base, `/changes?limit=100${c ? `&cursor=${encodeURIComponent(c)}` : ''}`, { headers: auth(keys.partner) });
    if (r.body.data.length === 0) break;
    events.push(...r.body.data);
    c = r.body.next_cursor;
  }
  const about = (id) => events.filter((e) => e.id === id).map((e) => e.type);
  assert.deepEqual(about(qid), ['question.erased']);
  assert.deepEqual(about(doc.id), []);
  assert.deepEqual(about(ed.id), []);
  const since = await req(m.base, `/changes?cursor=${encodeURIComponent(cursor)}`, { headers: auth(keys.partner) });
  assert.ok(since.body.data.some((e) => e.type === 'question.erased' && e.id === qid));
  for (const e of since.body.data) assert.deepEqual(Object.keys(e), ['seq', 'type', 'id', 'at']);

  // Editing or replying to it is a 404 now.
  assertProblem(await req(m.base, `/questions/${qid}`, { method: 'PATCH', headers: auth(keys.editor), json: { title: 'back' } }), 404);
  assertProblem(await req(m.base, `/questions/${qid}/replies`, { method: 'POST', headers: auth(keys.lan), json: { body: 'again' } }), 404);
  // The idempotent POST replayed now creates anew: its stored copy is gone.
  const replay = await req(m.base, '/questions', { method: 'POST', headers: auth(keys.app, { 'idempotency-key': `erase-${tag}` }), json: input });
  assert.equal(replay.status, 201);
  assert.notEqual(replay.body.id, qid);
  assert.equal(replay.headers.get('idempotent-replayed'), null);
});

test('erasure: one reply; the question stays, its counts follow, the feed says reply.erased', async () => {
  const q = await createQuestion(m.base, keys.app);
  const rep = await createReply(m.base, keys.lan, q.id, { body: 'Reply to be erased, with a Frobnitz word.' });
  let g = await req(m.base, `/questions/${q.id}`);
  assert.equal(g.body.reply_count, 1);
  assert.equal(g.body.state, 'answered');
  const id1 = rid();
  const er = await req(m.base, `/replies/${rep.id}/erasure`, { method: 'POST', headers: auth(keys.editor, { 'x-request-id': id1 }), json: { reason: 'consent-withdrawn' } });
  assert.equal(er.status, 204, er.text);
  assert.equal((await req(m.base, `/replies/${rep.id}/erasure`, { method: 'POST', headers: auth(keys.editor), json: { reason: 'consent-withdrawn' } })).status, 204);
  assert.deepEqual(auditOf(id1).map((x) => [x.action, x.target_type, x.target_id]), [['reply.erase', 'reply', rep.id]]);
  assertProblem(await req(m.base, `/replies/${rep.id}`), 410);
  g = await req(m.base, `/questions/${q.id}`);
  assert.equal(g.status, 200);
  assert.equal(g.body.reply_count, 0);
  assert.equal(g.body.state, 'open');
  assert.deepEqual(scanTables(['Frobnitz']), []);
  const events = await walk(m.base, '/changes?limit=100', auth(keys.editor)).catch(() => []);
  void events;
  const last = JSON.parse(psql(db, `SELECT json_agg(type ORDER BY seq) FROM changes WHERE entity_id = '${rep.id}' AND NOT hidden`));
  assert.deepEqual(last, ['reply.erased']);
});

test('erasure 400, 403, 404: bad ids, bad reasons, other roles, nothing there', async () => {
  for (const path of ['/questions/not-a-uuid/erasure', '/replies/123/erasure']) {
    assertProblem(await req(m.base, path, { method: 'POST', headers: auth(keys.editor), json: { reason: 'other' } }), 400);
  }
  for (const body of [{}, { reason: 'because' }, { reason: 'other', note: 'x' }, { reason: null }]) {
    assertProblem(await req(m.base, `/questions/${IDS.hba1c}/erasure`, { method: 'POST', headers: auth(keys.editor), json: body }), 400);
  }
  assertProblem(await req(m.base, `/questions/${IDS.hba1c}/erasure`, { method: 'POST', headers: auth(keys.editor) }), 400);
  assertProblem(await req(m.base, `/questions/00000000-0000-4000-8000-000000000000/erasure`, { method: 'POST', headers: auth(keys.editor), json: { reason: 'other' } }), 404);
  assertProblem(await req(m.base, `/replies/00000000-0000-4000-8000-000000000000/erasure`, { method: 'POST', headers: auth(keys.editor), json: { reason: 'other' } }), 404);
  for (const k of ['lan', 'doctor', 'app']) {
    assertProblem(await req(m.base, `/replies/${IDS.lipDoctorReply}/erasure`, { method: 'POST', headers: auth(keys[k]), json: { reason: 'other' } }), 403);
  }
  // Nothing was erased by any of that.
  assert.equal((await req(m.base, `/questions/${IDS.hba1c}`)).status, 200);
  assert.equal((await req(m.base, `/replies/${IDS.lipDoctorReply}`)).status, 200);
});

// ---- age bands ---------------------------------------------------------------

test('age bands: 80-89 and 90+ are written; 80+ is refused on a write and still served where it was recorded', async () => {
  for (const band of ['80-89', '90+']) {
    const q = await createQuestion(m.base, keys.app, { asker: { name: 'Elder', age_band: band, gender: 'undisclosed' } });
    assert.equal(q.asker.age_band, band);
  }
  const r = await req(m.base, '/questions', { method: 'POST', headers: auth(keys.app), json: questionInput({ asker: { name: 'Elder', age_band: '80+', gender: 'other' } }) });
  assertProblem(r, 400);
  const q = await createQuestion(m.base, keys.app);
  assertProblem(await req(m.base, `/questions/${q.id}`, { method: 'PATCH', headers: auth(keys.editor), json: { asker: { age_band: '80+' } } }), 400);
  const p = await req(m.base, `/questions/${q.id}`, { method: 'PATCH', headers: auth(keys.editor), json: { asker: { age_band: '90+' } } });
  assert.equal(p.status, 200, p.text);
  assert.equal(p.body.asker.age_band, '90+');
  // The write function refuses it too (not only the spec's validator).
  assert.throws(() => psql(db, `SELECT mq_patch_question('${q.id}', '{"asker":{"age_band":"80+"}}', NULL, 'x')`), /must be one of/);
  // A question recorded as 80+ before the split keeps and shows it.
  psql(db, `UPDATE questions SET asker_age_band = '80+' WHERE id = '${q.id}'`);
  const g = await req(m.base, `/questions/${q.id}`);
  assert.equal(g.status, 200);
  assert.equal(g.body.asker.age_band, '80+');
});

// ---- contact e-mails -----------------------------------------------------------

const NEW_KEY = Buffer.alloc(32, 9).toString('base64');
const contactsCli = (args, env) => runMedqa(['contacts', ...args], { DATABASE_URL: dbUrl(db), ...env });

test('contacts: stored as AES-256-GCM ciphertext with a key id; pg_dump holds no plain e-mail; show prints it and audits', async () => {
  const email = `c.${randomBytes(4).toString('hex')}@clinic-example.org`;
  const q = await createQuestion(m.base, keys.app, { contact_email: email });
  const row = psql(db, `SELECT (email IS NULL)::text || ' ' || key_id || ' ' || length(ciphertext) FROM question_contacts WHERE question_id = '${q.id}'`);
  assert.match(row, new RegExp(`^true [0-9a-f]{16} ${12 + email.length + 16}$`));
  const dump = execFileSync('pg_dump', ['-h', PG_SOCK, '-p', String(PG_PORT), '-U', 'medqa', '-d', db], { encoding: 'utf8', maxBuffer: 1 << 28 });
  assert.ok(dump.includes('question_contacts'));
  assert.ok(!dump.includes(email), 'plain e-mail in pg_dump');
  assert.ok(!dump.includes('clinic-example.org'));
  const shown = await contactsCli(['show', q.id], { CONTACT_KEY: TEST_CONTACT_KEY });
  assert.equal(shown.code, 0, shown.stderr);
  assert.equal(shown.stdout.trim(), email);
  assert.equal(psql(db, `SELECT count(*) FROM audit WHERE action = 'contact.show' AND target_id = '${q.id}' AND actor_role = 'operator'`), '1');
  // Under another key it does not open, and says why.
  const wrong = await contactsCli(['show', q.id], { CONTACT_KEY: NEW_KEY });
  assert.equal(wrong.code, 1);
  assert.match(wrong.stderr, /neither CONTACT_KEY nor CONTACT_KEY_PREVIOUS/);
  assert.ok(!wrong.stdout.includes(email));
  // A patch re-seals; null removes it.
  const p = await req(m.base, `/questions/${q.id}`, { method: 'PATCH', headers: auth(keys.editor), json: { contact_email: `new.${email}` } });
  assert.equal(p.status, 200, p.text);
  assert.equal((await contactsCli(['show', q.id], { CONTACT_KEY: TEST_CONTACT_KEY })).stdout.trim(), `new.${email}`);
  await req(m.base, `/questions/${q.id}`, { method: 'PATCH', headers: auth(keys.editor), json: { contact_email: null } });
  assert.equal(psql(db, `SELECT count(*) FROM question_contacts WHERE question_id = '${q.id}'`), '0');
});

test('contacts: rekey under a new CONTACT_KEY keeps show working', async () => {
  const email = `r.${randomBytes(4).toString('hex')}@example.org`;
  const q = await createQuestion(m.base, keys.app, { contact_email: email });
  const before1 = psql(db, `SELECT key_id FROM question_contacts WHERE question_id = '${q.id}'`);
  // Without the old key, rekey refuses and changes nothing.
  const blind = await contactsCli(['rekey'], { CONTACT_KEY: NEW_KEY });
  assert.equal(blind.code, 1);
  assert.match(blind.stderr, /CONTACT_KEY_PREVIOUS/);
  const rk = await contactsCli(['rekey'], { CONTACT_KEY: NEW_KEY, CONTACT_KEY_PREVIOUS: TEST_CONTACT_KEY });
  assert.equal(rk.code, 0, rk.stderr);
  const after1 = psql(db, `SELECT key_id FROM question_contacts WHERE question_id = '${q.id}'`);
  assert.notEqual(after1, before1);
  assert.equal(psql(db, `SELECT count(DISTINCT key_id) FROM question_contacts`), '1');
  const shown = await contactsCli(['show', q.id], { CONTACT_KEY: NEW_KEY });
  assert.equal(shown.code, 0, shown.stderr);
  assert.equal(shown.stdout.trim(), email);
  // Back to the key the server seals with, for the tests after this one.
  const back = await contactsCli(['rekey'], { CONTACT_KEY: TEST_CONTACT_KEY, CONTACT_KEY_PREVIOUS: NEW_KEY });
  assert.equal(back.code, 0, back.stderr);
});

test('contacts: the worker deletes values older than CONTACT_RETENTION_DAYS, and only those', async () => {
  const oldQ = await createQuestion(m.base, keys.app, { contact_email: 'old@example.org' });
  const newQ = await createQuestion(m.base, keys.app, { contact_email: 'new@example.org' });
  // The clock moved on for one of them: 91 days.
  psql(db, `UPDATE question_contacts SET created_at = now() - interval '91 days' WHERE question_id = '${oldQ.id}'`);
  const w = await startMedqa({ db, env: { CONTACT_SWEEP_INTERVAL: '1', CONTACT_RETENTION_DAYS: '90' } });
  try {
    let left = '1';
    for (let i = 0; i < 50 && left !== '0'; i++) {
      await sleep(100);
      left = psql(db, `SELECT count(*) FROM question_contacts WHERE question_id = '${oldQ.id}'`);
    }
    assert.equal(left, '0');
    assert.equal(psql(db, `SELECT count(*) FROM question_contacts WHERE question_id = '${newQ.id}'`), '1');
  } finally {
    await w.stop();
  }
});

test('contacts: without CONTACT_KEY, serve refuses stored contacts, and a contact_email gets 422', async () => {
  const r = await startMedqa({ db, env: { CONTACT_KEY: '' } }).then(() => null, (e) => e);
  assert.ok(r, 'medqa started without CONTACT_KEY over stored contacts');
  assert.match(r.message, /CONTACT_KEY: not set, but \d+ contact e-mails are stored/);
  const empty = createDb();
  await seedDemo(empty);
  const app = await createKey(empty, 'app');
  const s = await startMedqa({ db: empty, env: { CONTACT_KEY: '' } });
  try {
    const bad = await req(s.base, '/questions', { method: 'POST', headers: auth(app), json: questionInput({ contact_email: 'x@example.org' }) });
    assertProblem(bad, 422);
    assert.match(bad.body.type, /\/problems\/contact-collection-disabled$/);
    assert.match(bad.body.detail, /not configured/);
    const ok = await req(s.base, '/questions', { method: 'POST', headers: auth(app), json: questionInput() });
    assert.equal(ok.status, 201, ok.text);
  } finally {
    await s.stop();
  }
});

test('contacts: migrate encrypts plain values, and without CONTACT_KEY explains and stops', async () => {
  const d = createDb();
  await seedDemo(d);
  // As a medqa before issue 15 stored it (the trigger that now refuses
  // plain values does not fire in replica mode).
  assert.throws(() => psql(d, `INSERT INTO question_contacts (question_id, email) VALUES ('${IDS.lip}', 'plain.lip@example.org')`), /never in the clear/);
  psql(d, `BEGIN; SET LOCAL session_replication_role = replica; INSERT INTO question_contacts (question_id, email) VALUES ('${IDS.lip}', 'plain.lip@example.org'); COMMIT`);
  const no = await runMedqa(['migrate'], { DATABASE_URL: dbUrl(d), CONTACT_KEY: '' });
  assert.equal(no.code, 1);
  assert.match(no.stderr, /1 contact e-mails are stored in plain text .*set CONTACT_KEY/);
  assert.equal(psql(d, `SELECT email FROM question_contacts WHERE question_id = '${IDS.lip}'`), 'plain.lip@example.org');
  const yes = await runMedqa(['migrate'], { DATABASE_URL: dbUrl(d), CONTACT_KEY: TEST_CONTACT_KEY });
  assert.equal(yes.code, 0, yes.stderr);
  assert.match(yes.stderr, /encrypted 1 contact e-mails/);
  assert.equal(psql(d, `SELECT (email IS NULL AND ciphertext IS NOT NULL)::text FROM question_contacts WHERE question_id = '${IDS.lip}'`), 'true');
  const shown = await runMedqa(['contacts', 'show', IDS.lip], { DATABASE_URL: dbUrl(d), CONTACT_KEY: TEST_CONTACT_KEY });
  assert.equal(shown.stdout.trim(), 'plain.lip@example.org');
  // A database without plain values migrates without a key.
  const again = await runMedqa(['migrate'], { DATABASE_URL: dbUrl(d), CONTACT_KEY: '' });
  assert.equal(again.code, 0, again.stderr);
});
