// Rate limiting: token buckets per API key, and per client address for
// anonymous callers (X-Forwarded-For believed only from TRUSTED_PROXIES);
// RateLimit-* on every response, 429 with Retry-After when a bucket is
// empty, 304s free. Each test counts under its own address (a fresh
// X-Forwarded-For from the trusted 127.0.0.1) so they do not share buckets.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startMedqa, req, raw, assertProblem, runMedqa, dbUrl } from './lib/medqa.mjs';
import { demoServer, createKey, auth } from './lib/fixtures.mjs';

let partner;
let partner2;
let app;
let ip = 10;
const nextIp = () => `198.51.100.${ip++}`;
const from = (addr, extra = {}) => ({ 'x-forwarded-for': addr, ...extra });

const m = demoServer({
  seed: false,
  env: {
    TRUSTED_PROXIES: '127.0.0.1',
    RATE_LIMIT_ANON: '5/60s',
    RATE_LIMIT_PARTNER: '3/60s',
    RATE_LIMIT_APP: '2/1m',
    RATE_LIMIT_EDITOR: 'off',
  },
  keys: { partner: 'partner', partner2: 'partner', app: 'app' },
});
before(async () => ({ partner, partner2, app } = (await m.ready).keys));

const num = (r, h) => Number(r.headers.get(h));

test('anonymous callers: RateLimit-* counts down, then 429 with Retry-After', async () => {
  const h = from(nextIp());
  for (let i = 0; i < 5; i++) {
    const r = await req(m.base, '/departments', { headers: h });
    assert.equal(r.status, 200);
    assert.equal(num(r, 'ratelimit-limit'), 5);
    assert.equal(num(r, 'ratelimit-remaining'), 4 - i);
    assert.ok(num(r, 'ratelimit-reset') > 0 && num(r, 'ratelimit-reset') <= 60);
  }
  const r = await req(m.base, '/departments', { headers: h });
  assertProblem(r, 429);
  assert.match(r.body.type, /\/problems\/rate-limited$/);
  const wait = r.headers.get('retry-after');
  assert.match(wait, /^\d+$/);
  assert.ok(Number(wait) >= 1 && Number(wait) <= 12, wait);
  assert.equal(num(r, 'ratelimit-remaining'), 0);
  // Every other route counts against the same address, unknown ones too.
  assertProblem(await req(m.base, '/questions', { headers: h }), 429);
  assert.equal((await req(m.base, '/no-such-route', { headers: h, contract: false })).status, 429);
  // Liveness and readiness probes (no 429 in the spec) are never refused,
  // and spend nothing.
  const hz = await req(m.base, '/healthz', { headers: h });
  assert.equal(hz.status, 200);
  assert.equal(num(hz, 'ratelimit-remaining'), 0);
  assert.equal((await req(m.base, '/readyz', { headers: h })).status, 200);
});

test('every response carries RateLimit-*, errors included', async () => {
  const h = from(nextIp());
  for (const [path, status] of [['/departments', 200], ['/nope', 404],
    ['/departments?bad=1', 400], ['/questions/not-a-uuid', 400]]) {
    const r = await req(m.base, path, { headers: h, contract: path !== '/nope' });
    assert.equal(r.status, status, path);
    assert.equal(num(r, 'ratelimit-limit'), 5, path);
    assert.ok(r.headers.get('ratelimit-remaining') !== null, path);
    assert.ok(r.headers.get('ratelimit-reset') !== null, path);
  }
  const w = await req(m.base, '/questions', { method: 'POST', headers: h, json: {} });
  assertProblem(w, 401);
  assert.equal(num(w, 'ratelimit-remaining'), 0);
});

test('a 304 does not spend the bucket', async () => {
  const h = from(nextIp());
  const a = await req(m.base, '/departments', { headers: h });
  assert.equal(num(a, 'ratelimit-remaining'), 4);
  const tag = a.headers.get('etag');
  for (let i = 0; i < 10; i++) {
    const b = await req(m.base, '/departments', { headers: { ...h, 'if-none-match': tag } });
    assert.equal(b.status, 304);
    assert.equal(num(b, 'ratelimit-remaining'), 4, `304 #${i}`);
  }
  const c = await req(m.base, '/departments', { headers: h });
  assert.equal(c.status, 200);
  assert.equal(num(c, 'ratelimit-remaining'), 3);
});

test('X-Forwarded-For: the right-most untrusted hop counts; forged hops to its left do not', async () => {
  const real = nextIp();
  for (let i = 0; i < 5; i++) {
    // A client rotating what it claims at the left still lands in one bucket.
    const r = await req(m.base, '/departments', { headers: from(`203.0.113.${i}, ${real}`) });
    assert.equal(r.status, 200);
  }
  assertProblem(await req(m.base, '/departments', { headers: from(`192.0.2.77, ${real}`) }), 429);
  const other = await req(m.base, '/departments', { headers: from(nextIp()) });
  assert.equal(other.status, 200);
});

test('an untrusted peer cannot pick its bucket with X-Forwarded-For', async () => {
  const s = await startMedqa({ env: { RATE_LIMIT_ANON: '3/60s' } });
  try {
    const seen = [];
    for (let i = 0; i < 4; i++) {
      const r = await req(s.base, '/departments', { headers: from(`203.0.113.${i}`) });
      seen.push(r.status);
    }
    assert.deepEqual(seen, [200, 200, 200, 429]);
  } finally {
    await s.stop();
  }
});

test('API keys have their own bucket, sized by role', async () => {
  const h = from(nextIp());
  for (let i = 0; i < 3; i++) {
    const r = await req(m.base, '/departments', { headers: auth(partner, h) });
    assert.equal(r.status, 200);
    assert.equal(num(r, 'ratelimit-limit'), 3);
    assert.equal(num(r, 'ratelimit-remaining'), 2 - i);
  }
  const r = await req(m.base, '/departments', { headers: auth(partner, h) });
  assertProblem(r, 429);
  assert.match(r.body.detail, /this key/);
  // The same address without the key, and another key, are unaffected.
  assert.equal((await req(m.base, '/departments', { headers: h })).status, 200);
  assert.equal((await req(m.base, '/departments', { headers: auth(partner2, h) })).status, 200);
  // The app role has its own figure (2/1m); editor is "off": no headers.
  const a = await req(m.base, '/departments', { headers: auth(app, from(nextIp())) });
  assert.equal(num(a, 'ratelimit-limit'), 2);
  const editor = await createKey(m.db, 'editor');
  const e = await req(m.base, '/departments', { headers: auth(editor, from(nextIp())) });
  assert.equal(e.status, 200);
  assert.equal(e.headers.get('ratelimit-limit'), null);
});

test('the bucket is spent after authentication: a 403 counts, a 401 counts against the address', async () => {
  const h = from(nextIp());
  // An app key may not read /changes: 403, but it cost a token.
  const k = await createKey(m.db, 'app');
  const f = await req(m.base, '/changes', { headers: auth(k, h) });
  assertProblem(f, 403);
  assert.equal(num(f, 'ratelimit-remaining'), 1);
});

test('guessing keys from one address is slowed to the anonymous rate', async () => {
  const h = from(nextIp());
  const fake = 'mq_0123456789ab_' + 'A'.repeat(43);
  for (let i = 0; i < 5; i++) {
    const r = await req(m.base, '/departments', { headers: auth(fake, h) });
    assertProblem(r, 401);
  }
  const r = await req(m.base, '/departments', { headers: auth(fake, h) });
  assertProblem(r, 429);
  assert.match(r.body.detail, /failed API keys/);
  // Until that bucket refills, every key from this address waits: telling
  // a good key from a guess would cost the database look-up the limit is
  // there to save. Anonymous reads from the address go on.
  assertProblem(await req(m.base, '/departments', { headers: auth(partner2, h) }), 429);
  assert.equal((await req(m.base, '/departments', { headers: h })).status, 200);
});

test('early refusals (413, bad framing) carry RateLimit-* too', async () => {
  const out = await raw(m.port, 'POST /questions HTTP/1.1\r\nHost: x\r\nX-Forwarded-For: ' + nextIp() +
    '\r\nContent-Type: application/json\r\nContent-Length: 99999999\r\nConnection: close\r\n\r\n{');
  assert.match(out, /^HTTP\/1\.1 413/);
  assert.match(out, /\r\nRateLimit-Limit: 5\r\n/i);
  assert.match(out, /\r\nRateLimit-Remaining: 4\r\n/i);
});

test('the defaults apply when the variables are unset', async () => {
  const s = await startMedqa({
    env: { RATE_LIMIT_ANON: '', RATE_LIMIT_PARTNER: '', RATE_LIMIT_APP: '', RATE_LIMIT_DOCTOR: '', RATE_LIMIT_EDITOR: '' },
  });
  try {
    const r = await req(s.base, '/departments');
    assert.equal(num(r, 'ratelimit-limit'), 120);
    assert.equal(num(r, 'ratelimit-remaining'), 119);
  } finally {
    await s.stop();
  }
});

test('bad limit settings stop start-up with one line naming the variable', async () => {
  for (const [k, v] of [['RATE_LIMIT_ANON', '60'], ['RATE_LIMIT_ANON', '60/60d'],
    ['RATE_LIMIT_PARTNER', '0/1s'], ['RATE_LIMIT_APP', 'lots'], ['RATE_LIMIT_DOCTOR', '5/0s'],
    ['RATE_LIMIT_EDITOR', '1/25h'], ['RATE_LIMIT_ENTRIES', '10'], ['TRUSTED_PROXIES', 'proxy.example'],
    ['TRUSTED_PROXIES', '10.0.0.0/33'], ['CONNECTION_TIMEOUT', '0'], ['MAX_CONNECTIONS', 'many'],
    ['MAX_CONNECTIONS_PER_IP', '-1'], ['MAX_HEADER_BYTES', '100']]) {
    const r = await runMedqa(['serve'], { DATABASE_URL: dbUrl('x'), [k]: v });
    assert.equal(r.code, 2, `${k}=${v}`);
    const lines = r.stderr.trim().split('\n');
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0], new RegExp(`^medqa: ${k}: invalid value; accepts `));
  }
});
