// Webhooks (issue 13): endpoints managed over the API, deliveries received
// by a real HTTP receiver on loopback and verified with the Standard
// Webhooks reference library (the `standardwebhooks` npm package, not our
// code), retries, disabling, the SSRF guard, two instances sharing one
// database, and a SIGTERM with deliveries in flight.
//
// Operations exercised: createWebhook, listWebhooks, getWebhook,
// patchWebhook, deleteWebhook, rotateWebhookSecret, pingWebhook,
// listWebhookDeliveries, redeliverWebhookDelivery, replayWebhook (and
// createQuestion, patchQuestion, deleteQuestion, createReply as event
// sources). Error statuses: createWebhook 400 (unknown event type), 403
// (app key), 422 ×6 (URL policy, department), 503 (no
// WEBHOOK_SECRET_KEY); getWebhook 404 (another partner's).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { randomBytes } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { startMedqa, req, assertProblem, createDb, psql } from './lib/medqa.mjs';
import {
  demoServer, IDS, seedDemo, createKey, revokeKeyNamed, auth, createQuestion, createReply, TS, UUID,
} from './lib/fixtures.mjs';

const KEY = randomBytes(32).toString('base64');
// Loopback receivers need both flags; the retry schedule is divided by
// 1000 (5 s → 5 ms, 5 min → 300 ms, 30 min → 1.8 s, 2 h → 7.2 s).
const ENV = {
  WEBHOOK_SECRET_KEY: KEY,
  WEBHOOK_ALLOW_HTTP: '1',
  WEBHOOK_ALLOW_PRIVATE: '1',
  WEBHOOK_RETRY_SCALE: '1000',
  WEBHOOK_POLL_INTERVAL_MS: '50',
  WEBHOOK_TIMEOUT: '3',
};

let db;
let editor;
let partner;
let partner2;
let app;
const started = [];
const receivers = [];

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function waitFor(what, pred, ms = 20000) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await pred();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

/** An HTTP receiver on 127.0.0.1: records every request (headers, raw
 * body, arrival time) and answers with `respond(rec, res)` (200 by
 * default). `down()` closes the port; `up()` listens on it again. */
async function receiver(respond = (rec, res) => res.end('ok')) {
  const r = { got: [], respond, port: 0, server: null };
  receivers.push(r);
  const listen = (port) => new Promise((resolve) => {
    r.server = http.createServer((q, res) => {
      const chunks = [];
      q.on('data', (c) => chunks.push(c));
      q.on('end', () => {
        const rec = { at: Date.now(), headers: q.headers, body: Buffer.concat(chunks).toString('utf8'), method: q.method, path: q.url };
        r.got.push(rec);
        r.respond(rec, res);
      });
    });
    r.server.listen(port, '127.0.0.1', () => { r.port = r.server.address().port; resolve(); });
  });
  await listen(0);
  r.url = `http://127.0.0.1:${r.port}/hook`;
  r.down = () => new Promise((resolve) => { r.server.closeAllConnections(); r.server.close(() => resolve()); });
  r.up = () => listen(r.port);
  return r;
}

async function createEndpoint(base, key, body) {
  const r = await req(base, '/webhooks', { method: 'POST', headers: auth(key), json: body });
  assert.equal(r.status, 201, r.text);
  return r.body;
}

function verify(secret, rec) {
  return new Webhook(secret).verify(rec.body, rec.headers);
}

// The shared server; the other instances a test starts are in `started`.
const m = demoServer({
  env: ENV,
  keys: { editor: 'editor', partner: 'partner', partner2: 'partner', app: 'app' },
});
before(async () => {
  ({ db } = await m.ready);
  ({ editor, partner, partner2, app } = m.keys);
});
after(async () => {
  for (const r of receivers) {
    if (r.server.listening) { r.server.closeAllConnections(); r.server.close(); }
  }
  for (const s of started) await s.stop();
});

test('endpoints: a partner manages its own, an editor all; the secret is shown once', async () => {
  const rcv = await receiver();
  const mine = await createEndpoint(m.base, partner, { url: rcv.url, events: ['question.created'], description: 'mine' });
  assert.match(mine.id, UUID);
  assert.match(mine.secret, /^whsec_[A-Za-z0-9+/]{43}=$/);
  assert.equal(Buffer.from(mine.secret.slice(6), 'base64').length, 32);
  assert.deepEqual(mine.events, ['question.created']);
  assert.equal(mine.enabled, true);
  assert.match(mine.created_at, TS);
  const theirs = await createEndpoint(m.base, partner2, { url: rcv.url, events: ['*'], department: 'neurology' });
  assert.equal(theirs.department, 'neurology');

  const g = await req(m.base, `/webhooks/${mine.id}`, { headers: auth(partner) });
  assert.equal(g.status, 200);
  assert.equal(g.body.secret, undefined);
  assert.ok(!g.text.includes(mine.secret.slice(6)), 'GET shows the secret');
  assertProblem(await req(m.base, `/webhooks/${theirs.id}`, { headers: auth(partner) }), 404);
  assertProblem(await req(m.base, `/webhooks/${theirs.id}`, { method: 'DELETE', headers: auth(partner) }), 404);
  assertProblem(await req(m.base, `/webhooks/${theirs.id}/rotate-secret`, { method: 'POST', headers: auth(partner) }), 404);

  const listMine = await req(m.base, '/webhooks?limit=100', { headers: auth(partner) });
  assert.deepEqual(listMine.body.data.map((e) => e.id), [mine.id]);
  const listAll = await req(m.base, '/webhooks?limit=100', { headers: auth(editor) });
  assert.deepEqual(listAll.body.data.map((e) => e.id).sort(), [mine.id, theirs.id].sort());
  for (const e of listAll.body.data) assert.equal(e.secret, undefined);
  // Paging: one per page, the cursor leads to the other.
  const p1 = await req(m.base, '/webhooks?limit=1', { headers: auth(editor) });
  assert.equal(p1.body.data.length, 1);
  const p2 = await req(m.base, `/webhooks?limit=1&cursor=${encodeURIComponent(p1.body.next_cursor)}`, { headers: auth(editor) });
  assert.equal(p2.body.data.length, 1);
  assert.notEqual(p2.body.data[0].id, p1.body.data[0].id);
  assert.match(p1.headers.get('link'), /rel="next"/);
  assert.equal(p2.body.next_cursor, null);
  // The editor's cursor in a partner's hands pages only that partner's
  // endpoints (it holds an id to start after, nothing that widens the
  // filter).
  const pp = await req(m.base, `/webhooks?limit=100&cursor=${encodeURIComponent(p1.body.next_cursor)}`, { headers: auth(partner) });
  assert.equal(pp.status, 200);
  assert.deepEqual(pp.body.data.map((e) => e.id), [mine.id].filter((id) => id > p1.body.data[0].id));

  assertProblem(await req(m.base, '/webhooks', { method: 'POST', headers: auth(app), json: { url: rcv.url, events: ['*'] } }), 403);
  assertProblem(await req(m.base, '/webhooks', { headers: auth(app) }), 403);

  // An editor manages a partner's endpoint.
  const p = await req(m.base, `/webhooks/${mine.id}`, { method: 'PATCH', headers: auth(editor), json: { enabled: false, events: ['*'] } });
  assert.equal(p.status, 200, p.text);
  assert.equal(p.body.enabled, false);
  assert.deepEqual(p.body.events, ['*']);
  assert.match(p.body.disabled_at, TS);
  assert.equal(p.body.disabled_reason, 'disabled by its owner');
  const back = await req(m.base, `/webhooks/${mine.id}`, { method: 'PATCH', headers: auth(partner), json: { enabled: true } });
  assert.equal(back.body.enabled, true);
  assert.equal(back.body.disabled_at, null);
  const badDept = await req(m.base, `/webhooks/${mine.id}`, { method: 'PATCH', headers: auth(partner), json: { department: 'nowhere' } });
  assertProblem(badDept, 422);
  assert.equal(badDept.body.errors[0].pointer, '/department');
  // A new URL meets the same policy (this instance allows loopback, not
  // ftp or credentials).
  const badUrl = await req(m.base, `/webhooks/${mine.id}`, { method: 'PATCH', headers: auth(partner), json: { url: 'https://u:p@127.0.0.1/' } });
  assertProblem(badUrl, 422);
  assert.equal(badUrl.body.errors[0].pointer, '/url');
  assert.equal((await req(m.base, `/webhooks/${mine.id}`, { headers: auth(partner) })).body.url, rcv.url);

  assert.equal((await req(m.base, `/webhooks/${theirs.id}`, { method: 'DELETE', headers: auth(editor) })).status, 204);
  assert.equal((await req(m.base, `/webhooks/${mine.id}`, { method: 'DELETE', headers: auth(partner) })).status, 204);
  assertProblem(await req(m.base, `/webhooks/${mine.id}`, { headers: auth(editor) }), 404);
  await rcv.down();
});

test('refused URLs and event types are 4xx naming the field, and nothing is stored', async () => {
  const strict = await startMedqa({ db: createDb(), env: { WEBHOOK_SECRET_KEY: KEY } });
  started.push(strict);
  const ed = await createKey(strict.db, 'editor');
  for (const url of ['http://partner.example.org/hook', 'https://127.0.0.1/', 'https://[::1]/',
    'https://10.0.0.1/', 'https://169.254.169.254/', 'https://[::ffff:127.0.0.1]/',
    'https://localhost/hook', 'https://user:pw@partner.example.org/']) {
    const r = await req(strict.base, '/webhooks', { method: 'POST', headers: auth(ed), json: { url, events: ['*'] } });
    assertProblem(r, 422);
    assert.equal(r.body.errors[0].pointer, '/url', `${url}: ${r.text}`);
  }
  const ev = await req(strict.base, '/webhooks', { method: 'POST', headers: auth(ed), json: { url: 'https://partner.example.org/', events: ['question.exploded'] } });
  assertProblem(ev, 400);
  assert.match(JSON.stringify(ev.body.errors), /\/events/);
  // A public address literal: accepted without a DNS look-up.
  const dept = await req(strict.base, '/webhooks', { method: 'POST', headers: auth(ed), json: { url: 'https://93.184.216.34/hook', events: ['*'], department: 'nowhere' } });
  assertProblem(dept, 422);
  assert.equal(dept.body.errors[0].pointer, '/department');
  assert.equal(psql(strict.db, 'SELECT count(*) FROM webhook_endpoints'), '0');
  const list = await req(strict.base, '/webhooks', { headers: auth(ed) });
  assert.deepEqual(list.body.data, []);

  // Without WEBHOOK_SECRET_KEY webhooks are off: a clear 503, no crash.
  const off = await startMedqa({ db: createDb() });
  started.push(off);
  const ed2 = await createKey(off.db, 'editor');
  const r = await req(off.base, '/webhooks', { method: 'POST', headers: auth(ed2), json: { url: 'https://partner.example.org/', events: ['*'] } });
  assertProblem(r, 503);
  assert.match(r.body.type, /\/problems\/webhooks-not-configured$/);
  assert.match(r.body.detail, /not configured/);
});

test('writes reach the receiver signed; the reference library accepts them and rejects tampering', async () => {
  const rcv = await receiver();
  const ep = await createEndpoint(m.base, partner, { url: rcv.url, events: ['question.created', 'question.updated', 'question.deleted', 'reply.created'] });
  // Each step waits for its delivery, so each body is built while the
  // question is still visible (the deleted one aside).
  const q = await createQuestion(m.base, app, { department: 'neurology' });
  await waitFor('question.created', () => rcv.got.length >= 1);
  const patched = await req(m.base, `/questions/${q.id}`, { method: 'PATCH', headers: auth(editor), json: { title: 'Eyelid twitching, edited' } });
  assert.equal(patched.status, 200, patched.text);
  await waitFor('question.updated', () => rcv.got.length >= 2);
  const rep = await createReply(m.base, editor, q.id, { kind: 'editorial', body: 'More info on twitching.' });
  await waitFor('reply.created', () => rcv.got.length >= 3);
  assert.equal((await req(m.base, `/questions/${q.id}`, { method: 'DELETE', headers: auth(editor) })).status, 204);

  const want = ['question.created', 'question.updated', 'reply.created', 'question.deleted'];
  await waitFor('four deliveries', () => rcv.got.length >= 4);
  await sleep(300);
  const bodies = rcv.got.map((rec) => ({ rec, body: verify(ep.secret, rec) }));
  assert.deepEqual(bodies.map((b) => b.body.type), want);
  for (const { rec, body } of bodies) {
    assert.equal(rec.method, 'POST');
    assert.match(rec.headers['webhook-id'], /^msg_[0-9a-f]{32}$/);
    assert.match(rec.headers['webhook-timestamp'], /^\d+$/);
    assert.ok(Math.abs(Number(rec.headers['webhook-timestamp']) - Date.now() / 1000) < 60);
    assert.match(rec.headers['webhook-signature'], /^v1,[A-Za-z0-9+/]{43}=$/);
    assert.match(rec.headers['content-type'], /^application\/json/);
    assert.match(body.timestamp, TS);
    assert.equal(typeof body.data.seq, 'number');
    assert.ok(Buffer.byteLength(rec.body) < 20480);
  }
  const [created, updated, reply, deleted] = bodies.map((b) => b.body);
  assert.equal(created.data.id, q.id);
  assert.equal(created.data.url, `${m.base.replace('127.0.0.1', 'localhost')}/questions/${q.id}`);
  assert.equal(created.data.title, q.title);
  assert.equal(created.data.department, 'neurology');
  assert.equal(created.data.state, 'open');
  assert.equal(updated.data.title, 'Eyelid twitching, edited');
  assert.equal(reply.data.id, rep.id);
  assert.equal(reply.data.question_id, q.id);
  assert.equal(reply.data.kind, 'editorial');
  assert.ok(!('body' in reply.data) && !('body' in created.data), 'bodies are thin');
  // A deleted question's event carries nothing of its content.
  assert.equal(deleted.data.id, q.id);
  assert.deepEqual(Object.keys(deleted.data).sort(), ['id', 'seq', 'url']);
  assert.ok(updated.data.seq > created.data.seq && deleted.data.seq > reply.data.seq);
  // The feed and the webhooks agree on seq.
  const feed = await req(m.base, '/changes?limit=100', { headers: auth(editor) });
  const seqs = feed.body.data.filter((e) => e.id === q.id || e.id === reply.data.id).map((e) => e.seq);
  for (const b of [created, updated, reply, deleted]) assert.ok(seqs.includes(b.data.seq));

  // What the reference verifier refuses.
  const rec = rcv.got[0];
  assert.throws(() => verify(ep.secret, { ...rec, body: rec.body.replace(q.id, IDS.lip) }), /signature/i, 'tampered body');
  const other = `whsec_${randomBytes(32).toString('base64')}`;
  assert.throws(() => verify(other, rec), /signature/i, 'wrong secret');
  const stale = String(Math.floor(Date.now() / 1000) - 600);
  assert.throws(() => verify(ep.secret, { ...rec, headers: { ...rec.headers, 'webhook-timestamp': stale } }), /too old/i, 'stale timestamp');
  const future = String(Math.floor(Date.now() / 1000) + 600);
  assert.throws(() => verify(ep.secret, { ...rec, headers: { ...rec.headers, 'webhook-timestamp': future } }), /too new/i, 'future timestamp');

  // The delivery log.
  const log = await req(m.base, `/webhooks/${ep.id}/deliveries`, { headers: auth(partner) });
  assert.equal(log.status, 200);
  assert.deepEqual(log.body.data.map((d) => d.type), [...want].reverse());
  for (const d of log.body.data) {
    assert.equal(d.status, 'succeeded');
    assert.equal(d.attempts, 1);
    assert.equal(d.last_status, 200);
    assert.ok(rcv.got.some((g) => g.headers['webhook-id'] === d.webhook_id));
  }
  // Paged newest first, the cursor leading on to the older ones.
  const d1 = await req(m.base, `/webhooks/${ep.id}/deliveries?limit=2`, { headers: auth(partner) });
  assert.deepEqual(d1.body.data.map((d) => d.id), log.body.data.slice(0, 2).map((d) => d.id));
  const d2 = await req(m.base, `/webhooks/${ep.id}/deliveries?limit=100&cursor=${encodeURIComponent(d1.body.next_cursor)}`, { headers: auth(partner) });
  assert.deepEqual(d2.body.data.map((d) => d.id), log.body.data.slice(2).map((d) => d.id));
  assert.equal(d2.body.next_cursor, null);
  assertProblem(await req(m.base, `/webhooks/${ep.id}/deliveries`, { headers: auth(partner2) }), 404);
  assertProblem(await req(m.base, `/webhooks/00000000-0000-4000-8000-000000000000/deliveries`, { headers: auth(editor) }), 404);
  // Another partner can neither resend nor replay them.
  assertProblem(await req(m.base, `/webhooks/${ep.id}/deliveries/${log.body.data[0].id}/redeliver`, { method: 'POST', headers: auth(partner2) }), 404);
  assertProblem(await req(m.base, `/webhooks/${ep.id}/replay?since=2026-01-01T00:00:00Z`, { method: 'POST', headers: auth(partner2) }), 404);
  assertProblem(await req(m.base, `/webhooks/${ep.id}/ping`, { method: 'POST', headers: auth(partner2) }), 404);

  // Redeliver: the same webhook-id again, signed anew.
  const first = log.body.data.at(-1);
  const rd = await req(m.base, `/webhooks/${ep.id}/deliveries/${first.id}/redeliver`, { method: 'POST', headers: auth(partner) });
  assert.equal(rd.status, 202, rd.text);
  assert.equal(rd.body.status, 'pending');
  await waitFor('the redelivery', () => rcv.got.length >= 5);
  assert.equal(rcv.got[4].headers['webhook-id'], first.webhook_id);
  assert.equal(verify(ep.secret, rcv.got[4]).type, 'question.created');

  // Replay everything since before the test: all four again, same ids.
  const since = new Date(Date.now() - 3600_000).toISOString();
  await waitFor('the redelivery to be recorded', async () => (await req(m.base, `/webhooks/${ep.id}/deliveries`, { headers: auth(partner) })).body.data.every((d) => d.status === 'succeeded'));
  const rp = await req(m.base, `/webhooks/${ep.id}/replay?since=${encodeURIComponent(since)}`, { method: 'POST', headers: auth(partner) });
  assert.equal(rp.status, 202, rp.text);
  assert.equal(rp.body.requeued, 4);
  await waitFor('the replay', () => rcv.got.length >= 9);
  assert.deepEqual(new Set(rcv.got.slice(5).map((g) => g.headers['webhook-id'])), new Set(log.body.data.map((d) => d.webhook_id)));
  for (const g of rcv.got) verify(ep.secret, g);

  // Ping.
  const ping = await req(m.base, `/webhooks/${ep.id}/ping`, { method: 'POST', headers: auth(partner) });
  assert.equal(ping.status, 202, ping.text);
  assert.equal(ping.body.type, 'webhook.ping');
  await waitFor('the ping', () => rcv.got.length >= 10);
  const pb = verify(ep.secret, rcv.got[9]);
  assert.equal(pb.type, 'webhook.ping');
  assert.equal(pb.data.endpoint_id, ep.id);

  // Filtered out: a topic event and a dermatology-only endpoint.
  const derm = await receiver();
  const dermEp = await createEndpoint(m.base, editor, { url: derm.url, events: ['*'], department: 'dermatology' });
  await createQuestion(m.base, app, { department: 'neurology' });
  const dq = await createQuestion(m.base, app, { department: 'dermatology', topics: [] });
  await waitFor('the dermatology event', () => derm.got.length >= 1);
  await sleep(500);
  assert.equal(derm.got.length, 1);
  assert.equal(verify(dermEp.secret, derm.got[0]).data.id, dq.id);
  assert.equal(verify(dermEp.secret, derm.got[0]).data.department, 'dermatology');

  const metrics = await req(m.base, '/metrics');
  assert.match(metrics.text, /medqa_webhook_deliveries_total\{outcome="succeeded"\} [1-9]/);
  assert.match(metrics.text, /medqa_webhook_queue_depth \d+/);
  assert.match(metrics.text, /medqa_webhook_oldest_pending_seconds [\d.]+/);
  // One log line per attempt, never a secret or a signature.
  const lines = m.logs().split('\n').filter((l) => l.includes('"msg":"webhook attempt"'));
  assert.ok(lines.length >= 10);
  const one = JSON.parse(lines[0]);
  for (const k of ['endpoint_id', 'webhook_id', 'status', 'us', 'outcome']) assert.ok(k in one, k);
  for (const g of rcv.got) assert.ok(!m.logs().includes(g.headers['webhook-signature'].slice(3)));
  assert.ok(!m.logs().includes(ep.secret.slice(6)));
  await req(m.base, `/webhooks/${ep.id}`, { method: 'DELETE', headers: auth(partner) });
  await req(m.base, `/webhooks/${dermEp.id}`, { method: 'DELETE', headers: auth(editor) });
  await rcv.down();
  await derm.down();
});

test('after rotate-secret both the old and the new secret verify during the overlap', async () => {
  const rcv = await receiver();
  // A host name this time: resolved at delivery, checked, and pinned.
  const ep = await createEndpoint(m.base, partner, { url: rcv.url.replace('127.0.0.1', 'localhost'), events: ['question.created'] });
  const rot = await req(m.base, `/webhooks/${ep.id}/rotate-secret`, { method: 'POST', headers: auth(partner) });
  assert.equal(rot.status, 200, rot.text);
  assert.notEqual(rot.body.secret, ep.secret);
  assert.match(rot.body.previous_secret_expires_at, TS);
  const hours = (Date.parse(rot.body.previous_secret_expires_at) - Date.now()) / 3600_000;
  assert.ok(hours > 23.9 && hours <= 24, `overlap of ${hours} h`);
  const g = await req(m.base, `/webhooks/${ep.id}`, { headers: auth(partner) });
  assert.equal(g.body.previous_secret_expires_at, rot.body.previous_secret_expires_at);
  assert.ok(!g.text.includes(rot.body.secret.slice(6)));

  await createQuestion(m.base, app);
  await waitFor('the delivery', () => rcv.got.length >= 1);
  const rec = rcv.got[0];
  assert.equal(rec.headers['webhook-signature'].split(' ').length, 2, 'two signatures');
  assert.equal(verify(rot.body.secret, rec).type, 'question.created');
  assert.equal(verify(ep.secret, rec).type, 'question.created');
  assert.throws(() => verify(`whsec_${randomBytes(32).toString('base64')}`, rec), /signature/i);
  await req(m.base, `/webhooks/${ep.id}`, { method: 'DELETE', headers: auth(partner) });
  await rcv.down();
});

test('410 disables after one attempt; 429 with Retry-After: 2 waits 2 s; a hanging receiver is cut at the timeout', async () => {
  const gone = await receiver((rec, res) => { res.statusCode = 410; res.end(); });
  const busy = await receiver((rec, res) => {
    if (busy.got.length === 1) { res.statusCode = 429; res.setHeader('retry-after', '2'); }
    res.end();
  });
  const hang = await receiver(() => { /* never answers */ });
  const eGone = await createEndpoint(m.base, editor, { url: gone.url, events: ['question.created'] });
  const eBusy = await createEndpoint(m.base, editor, { url: busy.url, events: ['question.created'] });
  const eHang = await createEndpoint(m.base, editor, { url: hang.url, events: ['question.created'] });
  await createQuestion(m.base, app);

  await waitFor('the 429 retry', () => busy.got.length >= 2, 15000);
  const gap = busy.got[1].at - busy.got[0].at;
  assert.ok(gap >= 2000, `retried after ${gap} ms`);
  assert.equal(busy.got[1].headers['webhook-id'], busy.got[0].headers['webhook-id']);
  verify(eBusy.secret, busy.got[1]);

  await waitFor('the endpoint to be disabled', async () => (await req(m.base, `/webhooks/${eGone.id}`, { headers: auth(editor) })).body.enabled === false);
  const g = await req(m.base, `/webhooks/${eGone.id}`, { headers: auth(editor) });
  assert.match(g.body.disabled_at, TS);
  assert.match(g.body.disabled_reason, /410/);
  await createQuestion(m.base, app);
  await sleep(1000);
  assert.equal(gone.got.length, 1, 'one attempt only');
  const gl = await req(m.base, `/webhooks/${eGone.id}/deliveries`, { headers: auth(editor) });
  assert.equal(gl.body.data.at(-1).status, 'failed');
  assert.equal(gl.body.data.at(-1).last_status, 410);

  await waitFor('the timed-out attempt to be logged', () => m.logs().split('\n').some((l) => l.includes('"msg":"webhook attempt"') && l.includes(eHang.id) && l.includes('"outcome":"retrying"')), 15000);
  const line = JSON.parse(m.logs().split('\n').find((l) => l.includes('"msg":"webhook attempt"') && l.includes(eHang.id)));
  assert.equal(line.status, '0');
  assert.match(line.error, /timed out|timeout/i);
  assert.ok(Number(line.us) >= 2900_000 && Number(line.us) < 6000_000, `cut after ${line.us} µs`);
  const hl = await req(m.base, `/webhooks/${eHang.id}/deliveries`, { headers: auth(editor) });
  // The oldest: the first question's (the second one came later).
  const cut = hl.body.data.at(-1);
  assert.equal(cut.status, 'pending');
  assert.ok(cut.attempts >= 1);
  assert.equal(cut.last_status, null);
  assert.match(cut.last_error, /timed out|timeout/i);
  for (const e of [eGone, eBusy, eHang]) await req(m.base, `/webhooks/${e.id}`, { method: 'DELETE', headers: auth(editor) });
  hang.server.closeAllConnections();
  for (const r of [gone, busy, hang]) await r.down();
});

test('receiver down then up: 200 events arrive exactly once across two instances on one database', async (t) => {
  const d = createDb();
  await seedDemo(d);
  const env = { ...ENV, WEBHOOK_RETRY_SCALE: '1000' };
  const a = await startMedqa({ db: d, env });
  const b = await startMedqa({ db: d, env });
  started.push(a, b);
  const [ed, ap] = await Promise.all([createKey(d, 'editor'), createKey(d, 'app')]);
  const rcv = await receiver();
  const ep = await createEndpoint(a.base, ed, { url: rcv.url, events: ['question.created'] });
  await rcv.down();
  const ids = [];
  for (let i = 0; i < 200; i += 10) {
    const batch = await Promise.all(Array.from({ length: 10 }, (_, k) => createQuestion(k % 2 ? a.base : b.base, ap)));
    ids.push(...batch.map((q) => q.id));
  }
  // Every delivery has been tried and refused at least once.
  await waitFor('first attempts', () => psql(d, "SELECT count(*) FROM webhook_deliveries WHERE attempts >= 1 AND last_error IS NOT NULL") === '200', 30000);
  assert.equal(rcv.got.length, 0);
  await rcv.up();
  await waitFor('200 deliveries', () => new Set(rcv.got.map((g) => g.headers['webhook-id'])).size >= 200, 60000);
  await sleep(1500);
  const byId = new Map();
  for (const g of rcv.got) byId.set(g.headers['webhook-id'], (byId.get(g.headers['webhook-id']) || 0) + 1);
  assert.equal(byId.size, 200);
  assert.deepEqual([...byId.values()].filter((n) => n !== 1), [], 'a webhook-id arrived twice');
  const got = rcv.got.map((g) => verify(ep.secret, g).data.id).sort();
  assert.deepEqual(got, [...ids].sort());
  // Both instances delivered (the work was shared, not duplicated).
  const attempts = (s) => s.logs().split('\n').filter((l) => l.includes('"msg":"webhook attempt"') && l.includes('"outcome":"succeeded"')).length;
  assert.equal(attempts(a) + attempts(b), 200);
  t.diagnostic(`successful attempts: instance a ${attempts(a)}, instance b ${attempts(b)}`);
  assert.equal(psql(d, "SELECT count(*) FROM webhook_deliveries WHERE status = 'succeeded'"), '200');
  await rcv.down();
});

test('SIGTERM with deliveries in flight stops in time; the next start retries them', async () => {
  const d = createDb();
  await seedDemo(d);
  const env = { ...ENV, WEBHOOK_TIMEOUT: '60' };
  let answer = false;
  const rcv = await receiver((rec, res) => { if (answer) res.end('ok'); });
  const first = await startMedqa({ db: d, env });
  const [ed, ap] = await Promise.all([createKey(d, 'editor'), createKey(d, 'app')]);
  const ep = await createEndpoint(first.base, ed, { url: rcv.url, events: ['question.created'] });
  const q = await createQuestion(first.base, ap);
  await waitFor('the delivery in flight', () => rcv.got.length >= 1);
  const t0 = Date.now();
  await first.stop();
  const took = Date.now() - t0;
  assert.ok(took < 5000, `stopped after ${took} ms`);
  assert.match(first.logs(), /"outcome":"interrupted"/);
  rcv.server.closeAllConnections();
  answer = true;
  const second = await startMedqa({ db: d, env });
  started.push(second);
  await waitFor('the retried delivery', () => rcv.got.length >= 2);
  assert.equal(rcv.got[1].headers['webhook-id'], rcv.got[0].headers['webhook-id']);
  assert.equal(verify(ep.secret, rcv.got[1]).data.id, q.id);
  await waitFor('success recorded', async () => (await req(second.base, `/webhooks/${ep.id}/deliveries`, { headers: auth(ed) })).body.data[0].status === 'succeeded');
  const log = await req(second.base, `/webhooks/${ep.id}/deliveries`, { headers: auth(ed) });
  assert.equal(log.body.data[0].attempts, 1, 'the interrupted attempt is not counted');
  await rcv.down();
});

test('secrets are stored sealed, never in clear', async () => {
  const rcv = await receiver();
  const ep = await createEndpoint(m.base, partner, { url: rcv.url, events: ['*'] });
  const raw = Buffer.from(ep.secret.slice(6), 'base64').toString('hex');
  const dump = psql(m.db, `SELECT encode(secret_sealed, 'hex') FROM webhook_endpoints WHERE id = '${ep.id}'`);
  assert.equal(dump.length, 120);
  assert.ok(!dump.includes(raw.slice(0, 16)));
  const all = psql(m.db, 'SELECT string_agg(t::text, \'\') FROM webhook_endpoints t');
  assert.ok(!all.includes(ep.secret.slice(6)) && !all.includes(raw));
  const idem = psql(m.db, "SELECT count(*) FROM idempotency_keys WHERE body LIKE '%whsec_%'");
  assert.equal(idem, '0');
  await req(m.base, `/webhooks/${ep.id}`, { method: 'DELETE', headers: auth(partner) });
  await rcv.down();
});

test("a revoked key's endpoints receive nothing more", async () => {
  const rcv = await receiver();
  const k = await createKey(m.db, 'partner', { name: 'webhooks-revoked-partner' });
  const ep = await createEndpoint(m.base, k, { url: rcv.url, events: ['question.created'] });
  await createQuestion(m.base, app);
  await waitFor('the first delivery', () => rcv.got.length >= 1);
  verify(ep.secret, rcv.got[0]);
  await revokeKeyNamed(m.db, 'webhooks-revoked-partner');
  await createQuestion(m.base, app);
  await sleep(1000);
  assert.equal(rcv.got.length, 1);
  await rcv.down();
});

test('the last attempt marks a delivery failed; an endpoint failing for WEBHOOK_DISABLE_AFTER is disabled', async () => {
  const d = createDb();
  await seedDemo(d);
  // 1 000 000: the whole schedule takes a fraction of a second.
  const s = await startMedqa({ db: d, env: { ...ENV, WEBHOOK_RETRY_SCALE: '1000000', WEBHOOK_DISABLE_AFTER: '2' } });
  started.push(s);
  const [ed, ap] = await Promise.all([createKey(d, 'editor'), createKey(d, 'app')]);
  const rcv = await receiver((rec, res) => { res.statusCode = 500; res.end(); });
  const ep = await createEndpoint(s.base, ed, { url: rcv.url, events: ['question.created'] });
  await createQuestion(s.base, ap);
  await waitFor('the delivery to fail', async () => (await req(s.base, `/webhooks/${ep.id}/deliveries`, { headers: auth(ed) })).body.data[0]?.status === 'failed');
  const first = (await req(s.base, `/webhooks/${ep.id}/deliveries`, { headers: auth(ed) })).body.data[0];
  assert.equal(first.attempts, 8);
  assert.equal(first.last_status, 500);
  assert.equal(first.next_attempt_at, null);
  assert.equal(rcv.got.length, 8);
  assert.equal(new Set(rcv.got.map((g) => g.headers['webhook-id'])).size, 1);
  const g1 = await req(s.base, `/webhooks/${ep.id}`, { headers: auth(ed) });
  assert.equal(g1.body.enabled, true);
  assert.match(g1.body.failing_since, TS);
  await sleep(2200);
  await createQuestion(s.base, ap);
  await waitFor('the endpoint to be disabled', async () => (await req(s.base, `/webhooks/${ep.id}`, { headers: auth(ed) })).body.enabled === false);
  const g2 = await req(s.base, `/webhooks/${ep.id}`, { headers: auth(ed) });
  assert.match(g2.body.disabled_at, TS);
  assert.match(g2.body.disabled_reason, /every delivery has failed since \d{4}-/);
  // Back on by hand: the failing state is cleared.
  const on = await req(s.base, `/webhooks/${ep.id}`, { method: 'PATCH', headers: auth(ed), json: { enabled: true } });
  assert.equal(on.body.enabled, true);
  assert.equal(on.body.failing_since, null);
  assert.equal(on.body.disabled_reason, null);
  await req(s.base, `/webhooks/${ep.id}`, { method: 'DELETE', headers: auth(ed) });
  await rcv.down();
});

test('deliveries older than WEBHOOK_RETENTION_DAYS are pruned by the worker', async () => {
  const d = createDb();
  await seedDemo(d);
  const s = await startMedqa({ db: d, env: ENV });
  const [ed, ap] = await Promise.all([createKey(d, 'editor'), createKey(d, 'app')]);
  const rcv = await receiver();
  const ep = await createEndpoint(s.base, ed, { url: rcv.url, events: ['question.created'] });
  await createQuestion(s.base, ap);
  await createQuestion(s.base, ap);
  await waitFor('two deliveries', () => rcv.got.length >= 2);
  await s.stop();
  psql(d, `UPDATE webhook_deliveries SET created_at = now() - interval '3 days' WHERE n = (SELECT min(n) FROM webhook_deliveries)`);
  // The worker prunes when it starts, then every ten minutes.
  const s2 = await startMedqa({ db: d, env: { ...ENV, WEBHOOK_RETENTION_DAYS: '2' } });
  started.push(s2);
  await waitFor('the old delivery to go', () => psql(d, 'SELECT count(*) FROM webhook_deliveries') === '1');
  const log = await req(s2.base, `/webhooks/${ep.id}/deliveries`, { headers: auth(ed) });
  assert.equal(log.body.data.length, 1);
  await rcv.down();
});

test('erasure strips the stored payloads of the erased question\'s events; a redelivery names nothing but its id', async () => {
  const rcv = await receiver();
  const ep = await createEndpoint(m.base, partner, { url: rcv.url, events: ['question.created', 'reply.created', 'question.erased'] });
  const tag = randomBytes(4).toString('hex');
  const q = await createQuestion(m.base, app, { title: `Quorbly knee ${tag} clicks when I climb stairs`, department: 'neurology' });
  await waitFor('question.created', () => rcv.got.length >= 1);
  const rep = await createReply(m.base, editor, q.id, { kind: 'editorial', body: `More info ${tag} on knees.` });
  await waitFor('reply.created', () => rcv.got.length >= 2);
  assert.ok(verify(ep.secret, rcv.got[0]).data.title.includes(tag), 'the first delivery carried the title');

  const er = await req(m.base, `/questions/${q.id}/erasure`, { method: 'POST', headers: auth(editor), json: { reason: 'data-subject-request' } });
  assert.equal(er.status, 204, er.text);
  await waitFor('question.erased', () => rcv.got.length >= 3);
  const erased = verify(ep.secret, rcv.got[2]);
  assert.equal(erased.type, 'question.erased');
  assert.deepEqual(Object.keys(erased.data).sort(), ['id', 'seq', 'url']);

  // What stays in the table: type, timestamp and {seq, id, url} only.
  const stored = JSON.parse(psql(db, `SELECT json_agg(payload::json ORDER BY n) FROM webhook_deliveries WHERE endpoint_id = '${ep.id}'`));
  assert.equal(stored.length, 3);
  assert.deepEqual(stored.map((p) => p.type), ['question.created', 'reply.created', 'question.erased']);
  for (const p of stored) {
    assert.deepEqual(Object.keys(p).sort(), ['data', 'timestamp', 'type']);
    assert.deepEqual(Object.keys(p.data).sort(), ['id', 'seq', 'url']);
    assert.ok(!JSON.stringify(p).includes(tag), `${p.type} still names the erased text`);
  }
  assert.deepEqual(stored.map((p) => p.data.id), [q.id, rep.id, q.id]);
  assert.equal(psql(db, `SELECT count(*) FROM webhook_deliveries WHERE strpos(payload, '${tag}') > 0`), '0');

  // A redelivery sends the stripped body, signed anew, under the same id.
  const log = await req(m.base, `/webhooks/${ep.id}/deliveries?limit=100`, { headers: auth(partner) });
  const first = log.body.data.at(-1);
  assert.equal(first.type, 'question.created');
  const rd = await req(m.base, `/webhooks/${ep.id}/deliveries/${first.id}/redeliver`, { method: 'POST', headers: auth(partner) });
  assert.equal(rd.status, 202, rd.text);
  await waitFor('the redelivery', () => rcv.got.length >= 4);
  const again = rcv.got[3];
  assert.equal(again.headers['webhook-id'], first.webhook_id);
  const body = verify(ep.secret, again);
  assert.equal(body.type, 'question.created');
  assert.deepEqual(body.data, { seq: stored[0].data.seq, id: q.id, url: stored[0].data.url });
  assert.ok(!again.body.includes(tag));
});
