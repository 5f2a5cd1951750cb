// Secrets stay secret: a varied session (keys made, questions asked with
// contact e-mails, edits, replies, the feed, and many requests that fail on
// purpose), then every response — status line, headers and body — and
// medqa's own log are scanned for each contact e-mail, each API key text
// and each webhook signing secret (allowed only in the answers that create
// or rotate it; also looked for in /changes and in the deliveries a
// loopback receiver got), and the responses for SQL error text and 500s.
//
// Operations exercised: createQuestion, getQuestion, listQuestions,
// patchQuestion, createReply, listQuestionReplies, listReplies,
// listChanges, createTopic, listTopics, createWebhook, rotateWebhookSecret,
// getWebhook, listWebhooks, patchWebhook, pingWebhook,
// listWebhookDeliveries. Status codes provoked: 400, 401,
// 403, 404, 409, 412, 413, 415, 422 (one scan test each for e-mails,
// keys, SQL text and 500s, plus the CLI's own output).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { randomBytes } from 'node:crypto';
import { req, raw, runMedqa, dbUrl } from './lib/medqa.mjs';
import {
  demoServer, IDS, revokeKeyNamed, auth, questionInput, oversized,
} from './lib/fixtures.mjs';

let db;
const keys = {};
const cliOutput = [];
const responses = [];
const statuses = new Map();

const EMAILS = [
  'secret.person+tag@example.org',
  'zhang.wei.private@example.com',
  'patient-0042@clinic.example.net',
  'changed.later@example.org',
  'only-in-a-failed-request@example.org',
  'only-in-bad-json@example.org',
  'only-in-a-conflict@example.org',
  'only-in-plain-text@example.org',
  'only-in-a-stale-patch@example.org',
  'only-in-a-forbidden-post@example.org',
  'only-in-a-query@example.org',
];
let wrongSecretKey;
// webhooks: the signing secrets shown by createWebhook and
// rotateWebhookSecret (the only responses allowed to carry them), the
// sealing key, and what the loopback receiver got.
const WEBHOOK_KEY = randomBytes(32).toString('base64');
const webhookSecrets = [];
const delivered = [];
let hookServer;

function record(label, r) {
  responses.push({ label, status: r.status, text: r.text, headers: [...r.headers].map(([k, v]) => `${k}: ${v}`).join('\n') });
  statuses.set(r.status, (statuses.get(r.status) || 0) + 1);
  return r;
}
const call = async (label, path, opts) => record(label, await req(m.base, path, opts));
function recordRaw(label, text) {
  const status = Number((/^HTTP\/1\.[01] (\d{3})/.exec(text) || [])[1] || 0);
  responses.push({ label, status, text, headers: '' });
  statuses.set(status, (statuses.get(status) || 0) + 1);
}

const m = demoServer({
  env: {
    WEBHOOK_SECRET_KEY: WEBHOOK_KEY, WEBHOOK_ALLOW_HTTP: '1',
    WEBHOOK_ALLOW_PRIVATE: '1', WEBHOOK_POLL_INTERVAL_MS: '50',
  },
});
before(async () => {
  ({ db } = await m.ready);
  hookServer = http.createServer((q, res) => {
    let body = '';
    q.on('data', (d) => { body += d; });
    q.on('end', () => { delivered.push(JSON.stringify(q.headers) + body); res.end(); });
  });
  await new Promise((r) => hookServer.listen(0, '127.0.0.1', r));
  for (const [name, role, doctor] of [['app', 'app'], ['editor', 'editor'], ['partner', 'partner'],
    ['lan', 'doctor', IDS.lan], ['revoked', 'app']]) {
    const args = ['keys', 'create', '--role', role, '--name', `secrets-${name}`];
    if (doctor) args.push('--doctor', doctor);
    const r = await runMedqa(args, { DATABASE_URL: dbUrl(db) });
    assert.equal(r.code, 0, r.stderr);
    cliOutput.push(r.stderr);
    keys[name] = r.stdout.trim().split('\n').at(-1);
  }
  await revokeKeyNamed(db, 'secrets-revoked');
  const k = keys.app;
  wrongSecretKey = k.slice(0, 16) + [...k.slice(16)].reverse().join('');
  await session();
  // Let the webhook worker deliver the session's events.
  for (let i = 0; i < 100 && delivered.length < 10; i++) await new Promise((r) => setTimeout(r, 50));
  await new Promise((r) => setTimeout(r, 300)); // let the last log lines land
});
after(() => {
  hookServer.closeAllConnections();
  hookServer.close();
});

async function session() {
  const { app, editor, partner, lan, revoked } = keys;
  const [e1, e2, e3, e4, eFail, eJson, eConflict, ePlain, eStale, eForbidden, eQuery] = EMAILS;

  // Webhook endpoints: secrets shown on create and rotate only.
  const hookUrl = `http://127.0.0.1:${hookServer.address().port}/hook`;
  const w1 = await call('webhook secret shown: create', '/webhooks', { method: 'POST', headers: auth(partner), json: { url: hookUrl, events: ['*'] } });
  assert.equal(w1.status, 201, w1.text);
  webhookSecrets.push(w1.body.secret);
  const w2 = await call('webhook secret shown: create by editor', '/webhooks', { method: 'POST', headers: auth(editor), json: { url: hookUrl, events: ['question.created'], department: 'neurology' } });
  webhookSecrets.push(w2.body.secret);
  const rot = await call('webhook secret shown: rotate', `/webhooks/${w1.body.id}/rotate-secret`, { method: 'POST', headers: auth(partner) });
  assert.equal(rot.status, 200, rot.text);
  webhookSecrets.push(rot.body.secret);
  await call('webhook get', `/webhooks/${w1.body.id}`, { headers: auth(partner) });
  await call('webhook list', '/webhooks', { headers: auth(editor) });
  await call('webhook patch', `/webhooks/${w2.body.id}`, { method: 'PATCH', headers: auth(editor), json: { description: 'x' } });
  await call('webhook ping', `/webhooks/${w1.body.id}/ping`, { method: 'POST', headers: auth(partner) });
  await call('webhook 404 other partner', `/webhooks/${w2.body.id}`, { headers: auth(partner) });
  await call('webhook 422 url', '/webhooks', { method: 'POST', headers: auth(partner), json: { url: 'ftp://127.0.0.1/', events: ['*'] } });

  // Questions with contact e-mails, one of them retried.
  const q1 = await call('create q1', '/questions', { method: 'POST', headers: auth(app), json: questionInput({ contact_email: e1 }) });
  assert.equal(q1.status, 201, q1.text);
  const idem = { 'idempotency-key': 'secrets-idem-1' };
  const body2 = questionInput({ contact_email: e2, title: 'Private question two' });
  const q2 = await call('create q2', '/questions', { method: 'POST', headers: auth(app, idem), json: body2 });
  assert.equal(q2.status, 201, q2.text);
  await call('retry q2', '/questions', { method: 'POST', headers: auth(app, idem), json: body2 });
  await call('conflict q2', '/questions', { method: 'POST', headers: auth(app, idem), json: { ...body2, contact_email: eConflict } });
  const q3 = await call('create q3 by editor', '/questions', { method: 'POST', headers: auth(editor), json: questionInput({ contact_email: e3, language: 'zh-TW', title: '私人問題' }) });
  assert.equal(q3.status, 201, q3.text);
  const id1 = q1.body.id;

  // Edits, including the e-mail itself.
  const g1 = await call('get q1', `/questions/${id1}`, {});
  await call('patch email', `/questions/${id1}`, { method: 'PATCH', headers: auth(editor), json: { contact_email: e4 } });
  await call('stale patch', `/questions/${id1}`, { method: 'PATCH', headers: auth(editor, { 'if-match': g1.headers.get('etag') }), json: { contact_email: eStale } });
  await call('patch title', `/questions/${q3.body.id}`, { method: 'PATCH', headers: auth(editor), json: { title: 'Still private' } });

  // Replies and reads.
  await call('reply', `/questions/${id1}/replies`, { method: 'POST', headers: auth(lan), json: { body: 'Get some sleep.' } });
  await call('editorial', `/questions/${id1}/replies`, { method: 'POST', headers: auth(editor), json: { body: 'More info.', kind: 'editorial' } });
  for (const [label, path, key] of [
    ['get page', `/questions/${id1}?include=replies`, null],
    ['get page as editor', `/questions/${id1}?include=replies`, editor],
    ['get q2', `/questions/${q2.body.id}`, app],
    ['list', '/questions?limit=100', null],
    ['list as editor', '/questions?limit=100', editor],
    ['search', '/questions?q=eyelid&sort=relevance', partner],
    ['replies of q1', `/questions/${id1}/replies`, null],
    ['replies', '/replies?limit=100', null],
    ['changes partner', '/changes?limit=100', partner],
    ['changes editor', '/changes?limit=100', editor],
    ['topics', '/topics?prefix=eye', null],
  ]) {
    const r = await call(label, path, { headers: key ? auth(key) : {} });
    assert.equal(r.status, 200, `${label}: ${r.text}`);
  }

  // Failures on purpose.
  await call('400 bad json', '/questions', {
    method: 'POST', headers: auth(app, { 'content-type': 'application/json' }),
    body: `{"title": "x", "contact_email": "${eJson}", `,
  });
  await call('400 bad email', '/questions', { method: 'POST', headers: auth(app), json: questionInput({ contact_email: `not an address ${eFail}` }) });
  await call('400 long email', '/questions', { method: 'POST', headers: auth(app), json: questionInput({ contact_email: `${'x'.repeat(250)}${eFail}` }) });
  await call('400 wrong type', '/questions', { method: 'POST', headers: auth(app), json: questionInput({ contact_email: [eFail] }) });
  await call('400 read-only field', '/questions', { method: 'POST', headers: auth(app), json: { ...questionInput({ contact_email: eFail }), state: 'answered' } });
  await call('422 department', '/questions', { method: 'POST', headers: auth(app), json: questionInput({ contact_email: eFail, department: 'nowhere' }) });
  await call('422 topic', '/questions', { method: 'POST', headers: auth(app), json: questionInput({ contact_email: eFail, topics: ['nowhere'] }) });
  await call('415 text', '/questions', {
    method: 'POST', headers: auth(app, { 'content-type': 'text/plain' }),
    body: JSON.stringify(questionInput({ contact_email: ePlain })),
  });
  await call('403 partner post', '/questions', { method: 'POST', headers: auth(partner), json: questionInput({ contact_email: eForbidden }) });
  await call('401 revoked', '/questions', { method: 'POST', headers: auth(revoked), json: questionInput({ contact_email: eFail }) });
  await call('401 revoked read', '/questions', { headers: auth(revoked) });
  await call('401 wrong secret', '/questions', { method: 'POST', headers: auth(wrongSecretKey), json: questionInput({ contact_email: eFail }) });
  await call('401 trailing junk', '/changes', { headers: { authorization: `Bearer ${partner}x` } });
  await call('401 basic', '/changes', { headers: { authorization: `Basic ${partner}` } });
  await call('400 key in query', `/questions?api_key=${partner}`, {});
  await call('400 email in query', `/questions?contact_email=${encodeURIComponent(eQuery)}`, {});
  await call('400 email as search value, bad limit', `/questions?q=${encodeURIComponent(eQuery)}&limit=0`, {});
  await call('403 app reads changes', '/changes', { headers: auth(app) });
  await call('404 patch unknown', '/questions/00000000-0000-4000-8000-000000000000', { method: 'PATCH', headers: auth(editor), json: { contact_email: eFail } });
  await call('409 topic', '/topics', { method: 'POST', headers: auth(editor), json: { name: 'Acne', department: 'dermatology' } });
  recordRaw('413 post', await oversized(m.port, 'POST', '/questions', auth(app)));
  recordRaw('raw bad framing', await raw(m.port, `POST /questions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${app}\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n0\r\n\r\n`));

  // Input shaped like SQL, in every place a value can go.
  const sqlish = `'; DROP TABLE questions; --`;
  await call('sql q', `/questions?q=${encodeURIComponent(sqlish)}`, {});
  await call('sql q relevance', `/questions?q=${encodeURIComponent('"unbalanced & | ! (')}&sort=relevance`, {});
  await call('sql prefix', `/topics?prefix=${encodeURIComponent("'\\%_")}`, {});
  await call('sql title', '/questions', { method: 'POST', headers: auth(app), json: questionInput({ title: sqlish, body: "O'Brien's \\ backslash $1 $$ quote" }) });
  await call('sql department', '/questions', { method: 'POST', headers: auth(app), json: questionInput({ department: 'neuro-logy-x' }) });
  await call('sql cursor', `/questions?cursor=${encodeURIComponent(sqlish)}`, {});
  await call('sql doctor uuid', `/questions?doctor=${encodeURIComponent("' OR 1=1 --")}`, {});
  await call('sql if-match', `/questions/${id1}`, { method: 'PATCH', headers: auth(editor, { 'if-match': `"'}{\\"` }), json: { title: 'x' } });
  await call('sql idempotency', '/questions', { method: 'POST', headers: auth(app, { 'idempotency-key': "'; SELECT 1; --" }), json: questionInput() });
  await call('webhook deliveries', `/webhooks/${w1.body.id}/deliveries?limit=100`, { headers: auth(partner) });
  await call('webhook metrics', '/metrics', {});
  await call('sql reply to bad id', '/questions/6e7f54b8-8664-4b88-b277-9db737165f8x/replies', { method: 'POST', headers: auth(lan), json: { body: 'x' } });
}

test('the session provoked the statuses it meant to', () => {
  for (const s of [200, 201, 400, 401, 403, 404, 409, 412, 413, 415, 422]) {
    assert.ok(statuses.get(s) > 0, `no ${s} in the session: ${JSON.stringify([...statuses])}`);
  }
});

test('no response carries a contact e-mail', () => {
  for (const r of responses) {
    for (const e of EMAILS) {
      assert.ok(!r.text.includes(e) && !r.headers.includes(e), `${r.label} (${r.status}) shows ${e}`);
    }
    assert.ok(!/contact_email"\s*:/.test(r.text), `${r.label} has a contact_email member`);
  }
});

test("medqa's log carries no contact e-mail", () => {
  const log = m.logs();
  assert.ok(log.length > 0);
  for (const e of EMAILS) assert.ok(!log.includes(e), `log shows ${e}`);
});

test('no response carries an API key text', () => {
  const secrets = [...Object.values(keys), wrongSecretKey];
  for (const r of responses) {
    for (const k of secrets) {
      assert.ok(!r.text.includes(k) && !r.headers.includes(k), `${r.label} shows a key`);
      assert.ok(!r.text.includes(k.slice(16)), `${r.label} shows a key's secret part`);
    }
  }
});

test("medqa's log carries no API key text", () => {
  const log = m.logs();
  for (const k of [...Object.values(keys), wrongSecretKey]) {
    assert.ok(!log.includes(k.slice(16)), 'log shows a key secret');
  }
});

test('the CLI prints a key only on stdout, never in its messages', () => {
  for (const out of cliOutput) {
    for (const k of Object.values(keys)) assert.ok(!out.includes(k.slice(16)));
  }
});

test('no response carries SQL error text', () => {
  const sql = /syntax error|violates|relation "|SQLSTATE|ERROR: |duplicate key|invalid input syntax|unterminated|pg_catalog|PL\/pgSQL|CONTEXT:/i;
  for (const r of responses) assert.doesNotMatch(r.text, sql, `${r.label} (${r.status})`);
});

test('no request of the session ended in a 500', () => {
  const bad = responses.filter((r) => r.status >= 500 || r.status === 0).map((r) => `${r.label}: ${r.status} ${r.text.slice(0, 200)}`);
  assert.deepEqual(bad, []);
});

test('webhook secrets appear only in the answers that create or rotate them', () => {
  assert.equal(webhookSecrets.length, 3);
  assert.ok(delivered.length >= 10, `only ${delivered.length} deliveries`);
  for (const r of responses) {
    if (r.label.startsWith('webhook secret shown:')) continue;
    for (const s of webhookSecrets) {
      const raw = s.slice(6);
      assert.ok(!r.text.includes(raw) && !r.headers.includes(raw), `${r.label} shows a webhook secret`);
      assert.ok(!r.text.includes(Buffer.from(raw, 'base64').toString('hex')), `${r.label} shows a secret as hex`);
    }
    assert.ok(!r.text.includes(WEBHOOK_KEY), `${r.label} shows WEBHOOK_SECRET_KEY`);
  }
  for (const r of responses.filter((x) => x.label.startsWith('webhook secret shown:'))) {
    assert.match(r.headers, /cache-control: no-store/i, `${r.label} may be cached`);
  }
});

test("medqa's log, /changes and the deliveries carry no webhook secret", () => {
  const log = m.logs();
  assert.match(log, /"msg":"webhook attempt"/);
  const feeds = responses.filter((r) => r.label.startsWith('changes')).map((r) => r.text).join('');
  assert.ok(feeds.length > 0);
  for (const s of webhookSecrets) {
    const raw = s.slice(6);
    assert.ok(!log.includes(raw), 'log shows a webhook secret');
    assert.ok(!feeds.includes(raw), '/changes shows a webhook secret');
    for (const d of delivered) assert.ok(!d.includes(raw), 'a delivery carries its secret');
  }
  assert.ok(!log.includes(WEBHOOK_KEY), 'log shows WEBHOOK_SECRET_KEY');
  // Nor the signatures (a signature is not a secret, but the issue keeps
  // them out of the log too).
  for (const d of delivered) {
    const sig = /"webhook-signature":"v1,([^" ]+)/.exec(d);
    assert.ok(sig, 'a delivery without a signature');
    assert.ok(!log.includes(sig[1]), 'log shows a signature');
  }
});
