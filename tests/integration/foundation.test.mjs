// The foundation: start-up, configuration, routing, errors, HTTP
// behaviour common to every route, and the departments list.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import http from 'node:http';
import { req, raw, assertProblem, runMedqa, createDb, dbUrl, writeTemp } from './lib/medqa.mjs';
import { demoServer } from './lib/fixtures.mjs';

const m = demoServer({ seed: false, env: { CORS_ORIGINS: 'https://app.example.org' } });

const DEPARTMENTS = ['family-medicine', 'internal-medicine', 'neurology',
  'cardiology', 'dermatology', 'gastroenterology', 'ophthalmology',
  'otolaryngology', 'psychiatry', 'orthopedics', 'pediatrics', 'urology',
  'obstetrics-gynecology', 'endocrinology'];

test('GET /departments lists every seeded department with slug and name', async () => {
  const r = await req(m.base, '/departments');
  assert.equal(r.status, 200);
  assert.match(r.headers.get('content-type'), /^application\/json/);
  const slugs = r.body.data.map((d) => d.slug);
  for (const s of DEPARTMENTS) assert.ok(slugs.includes(s), s);
  assert.equal(r.body.next_cursor, null);
  const neuro = r.body.data.find((d) => d.slug === 'neurology');
  assert.equal(neuro.name, 'Neurology');
});

test('GET /healthz and /readyz answer ok', async () => {
  const h = await req(m.base, '/healthz');
  assert.equal(h.status, 200);
  assert.equal(h.body.status, 'ok');
  const r = await req(m.base, '/readyz');
  assert.equal(r.status, 200);
  assert.equal(r.body.database, 'ok');
});

test('GET /openapi.json serves the embedded spec', async () => {
  const r = await req(m.base, '/openapi.json');
  assert.equal(r.status, 200);
  assert.equal(r.body.openapi, '3.1.0');
  assert.ok(r.body.paths['/departments'].get);
  const y = await req(m.base, '/openapi.yaml');
  assert.equal(y.status, 200);
  assert.equal(y.text, readFileSync('openapi/openapi.yaml', 'utf8'));
});

test('unknown path is a 404 problem', async () => {
  assertProblem(await req(m.base, '/nope'), 404);
  assertProblem(await req(m.base, '/departments/extra/segments'), 404);
  assertProblem(await req(m.base, '//departments'), 404);
});

test('known path with a wrong method is a 405 with Allow', async () => {
  const r = await req(m.base, '/departments', { method: 'DELETE' });
  assertProblem(r, 405);
  assert.match(r.headers.get('allow'), /GET/);
  assert.match(r.headers.get('allow'), /HEAD/);
});

test('unknown, repeated or wrong-type query parameters are a 400 naming them', async () => {
  let r = await req(m.base, '/departments?colour=blue');
  assertProblem(r, 400);
  assert.deepEqual(r.body.errors.map((e) => e.parameter), ['colour']);
  assert.equal(r.body.errors[0].in, 'query');
  r = await req(m.base, '/healthz?x=1&y=2');
  assertProblem(r, 400);
  assert.equal(r.body.errors.length, 2);
});

test('a body on an operation that takes none is a 400', async () => {
  const r = await req(m.base, '/departments', { method: 'GET', headers: {}, body: undefined });
  assert.equal(r.status, 200);
  const out = await raw(m.port, 'GET /departments HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}');
  assert.match(out, /^HTTP\/1\.1 400/);
  assert.match(out, /unexpected-body/);
});

test('a body over MAX_BODY_BYTES is refused with 413 before it is read', async () => {
  const big = Buffer.alloc(2 * 1024 * 1024, 'a');
  const out = await raw(m.port, Buffer.concat([
    Buffer.from(`POST /departments HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${big.length}\r\nConnection: close\r\n\r\n`),
    big.subarray(0, 1024)]));
  assert.match(out, /^HTTP\/1\.1 413/);
  assert.match(out, /application\/problem\+json/);
});

test('a chunked body that grows past the limit is cut off with 413', async () => {
  const chunk = Buffer.alloc(256 * 1024, 'b');
  const parts = [Buffer.from('POST /departments HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n')];
  for (let i = 0; i < 6; i++) parts.push(Buffer.from(chunk.length.toString(16) + '\r\n'), chunk, Buffer.from('\r\n'));
  parts.push(Buffer.from('0\r\n\r\n'));
  const out = await raw(m.port, Buffer.concat(parts));
  assert.match(out, /^HTTP\/1\.1 413/);
});

test('Content-Length together with Transfer-Encoding is refused', async () => {
  const out = await raw(m.port, 'POST /departments HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n0\r\n\r\n');
  assert.match(out, /^HTTP\/1\.1 400/);
  assert.match(out, /bad-framing/);
});

test('every GET 200 has an ETag and If-None-Match gives 304', async () => {
  const a = await req(m.base, '/departments');
  const tag = a.headers.get('etag');
  assert.match(tag, /^"[0-9a-f]{32}(-gzip)?"$/);
  const b = await req(m.base, '/departments', { headers: { 'if-none-match': tag } });
  assert.equal(b.status, 304);
  assert.equal(b.text, '');
  const c = await req(m.base, '/departments', { headers: { 'if-none-match': '"other"' } });
  assert.equal(c.status, 200);
  assert.equal(a.headers.get('cache-control'), 'public, max-age=60');
});

test('gzip when the client accepts it, plain otherwise', () => new Promise((resolve, reject) => {
  http.get(`${m.base}/openapi.json`, { headers: { 'accept-encoding': 'gzip' } }, (res) => {
    const chunks = [];
    res.on('data', (c) => chunks.push(c));
    res.on('end', () => {
      try {
        assert.equal(res.headers['content-encoding'], 'gzip');
        assert.match(res.headers.vary, /Accept-Encoding/);
        const body = JSON.parse(gunzipSync(Buffer.concat(chunks)).toString());
        assert.equal(body.openapi, '3.1.0');
        resolve();
      } catch (e) { reject(e); }
    });
  }).on('error', reject);
}).then(() => new Promise((resolve, reject) => {
  http.get(`${m.base}/openapi.json`, { headers: { 'accept-encoding': 'gzip;q=0, identity' } }, (res) => {
    res.resume();
    try { assert.equal(res.headers['content-encoding'], undefined); resolve(); } catch (e) { reject(e); }
  }).on('error', reject);
})));

test('X-Request-Id is echoed when sane and generated otherwise', async () => {
  const a = await req(m.base, '/healthz', { headers: { 'x-request-id': 'abc-123' } });
  assert.equal(a.headers.get('x-request-id'), 'abc-123');
  const b = await req(m.base, '/healthz', { headers: { 'x-request-id': 'bad id "quoted"' } });
  assert.match(b.headers.get('x-request-id'), /^[0-9a-f-]{36}$/);
  const c = await req(m.base, '/healthz');
  assert.match(c.headers.get('x-request-id'), /^[0-9a-f-]{36}$/);
});

test('generated X-Request-Ids are distinct across connections and worker threads', async () => {
  // Ids come from a per-thread random prefix and counter: many requests at
  // once, each on its own connection, spread over every worker thread.
  const ids = [];
  for (let round = 0; round < 4; round++) {
    const got = await Promise.all(Array.from({ length: 50 }, () => req(m.base, '/departments')));
    for (const r of got) ids.push(r.headers.get('x-request-id'));
  }
  for (const id of ids) assert.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
  assert.equal(new Set(ids).size, ids.length);
  // The access log names each request by the same id.
  await new Promise((r) => setTimeout(r, 100));
  const logged = new Set(m.logs().split('\n').filter((l) => l.includes('"request_id"'))
    .map((l) => JSON.parse(l).request_id));
  for (const id of ids) assert.ok(logged.has(id), id);
});

test('CORS: configured origins get the headers, others none', async () => {
  const ok = await req(m.base, '/departments', { headers: { origin: 'https://app.example.org' } });
  assert.equal(ok.headers.get('access-control-allow-origin'), 'https://app.example.org');
  assert.equal(ok.headers.get('access-control-allow-credentials'), null);
  const bad = await req(m.base, '/departments', { headers: { origin: 'https://evil.example' } });
  assert.equal(bad.headers.get('access-control-allow-origin'), null);
  const pre = await req(m.base, '/departments', {
    method: 'OPTIONS',
    headers: { origin: 'https://app.example.org', 'access-control-request-method': 'GET' },
  });
  assert.equal(pre.status, 204);
  assert.match(pre.headers.get('access-control-allow-methods'), /GET/);
  assert.match(pre.headers.get('allow'), /GET/);
});

test('security headers on every response, no server banner', async () => {
  for (const p of ['/departments', '/nope']) {
    const r = await req(m.base, p);
    assert.equal(r.headers.get('x-content-type-options'), 'nosniff');
    assert.equal(r.headers.get('server'), null);
  }
});

test('the access log has one JSON line per request with the route template, never query values', async () => {
  await req(m.base, '/departments?secretparam=hunter2');
  await new Promise((r) => setTimeout(r, 100));
  const lines = m.logs().split('\n').filter((l) => l.includes('"request_id"'));
  assert.ok(lines.length > 0);
  for (const l of lines) {
    const o = JSON.parse(l);
    for (const k of ['time', 'request_id', 'method', 'route', 'status', 'bytes', 'micros']) assert.ok(k in o, k);
  }
  assert.doesNotMatch(m.logs(), /hunter2/);
});

test('a bad configuration value stops start-up with one line naming the variable', async () => {
  for (const [k, v] of [['PORT', 'eighty'], ['WORKERS', '0'], ['LOG_LEVEL', 'loud'],
    ['MAX_BODY_BYTES', '-1'], ['CORS_ORIGINS', '*'], ['PUBLIC_BASE_URL', 'ftp://x']]) {
    const r = await runMedqa(['serve'], { DATABASE_URL: dbUrl('x'), [k]: v });
    assert.equal(r.code, 2, `${k}=${v}`);
    const lines = r.stderr.trim().split('\n');
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0], new RegExp(`^medqa: ${k}: `));
  }
  const r = await runMedqa(['serve'], { DATABASE_URL: '' });
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /DATABASE_URL/);
});

test('an operation in the spec without a handler stops start-up, naming it', async () => {
  const spec = readFileSync('openapi/openapi.yaml', 'utf8').replace(
    /^paths:\n/m,
    'paths:\n  /orphans:\n    get:\n      operationId: listOrphans\n      responses:\n        "200":\n          description: nothing\n');
  const file = writeTemp('openapi.yaml', spec);
  const r = await runMedqa(['serve'], { DATABASE_URL: dbUrl(createDb()), PORT: '0', MEDQA_SPEC_FILE: file });
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /listOrphans/);
  assert.doesNotMatch(r.stderr, /listening/);
});

test('a handler without an operation in the spec stops start-up, naming it', async () => {
  const spec = readFileSync('openapi/openapi.yaml', 'utf8').replace(/operationId: getReadyz/, 'operationId: getReadyzRenamed');
  const file = writeTemp('openapi.yaml', spec);
  const r = await runMedqa(['serve'], { DATABASE_URL: dbUrl(createDb()), PORT: '0', MEDQA_SPEC_FILE: file });
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /getReadyz/);
});

test('migrate is idempotent: a second run applies nothing', async () => {
  const db = createDb();
  const r = await runMedqa(['migrate'], { DATABASE_URL: dbUrl(db) });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /migrate: 0 applied/);
});

test('--help and --version', async () => {
  const h = await runMedqa(['--help']);
  assert.equal(h.code, 0);
  for (const c of ['serve', 'migrate']) assert.match(h.stdout, new RegExp(`^  ${c}`, 'm'));
  const v = await runMedqa(['--version']);
  assert.equal(v.code, 0);
  assert.match(v.stdout, /^medqa /);
});

test('GET /metrics counts requests per operation and status class, in Prometheus text', async () => {
  await req(m.base, '/departments');
  await req(m.base, '/departments?bogus=1');
  const r = await req(m.base, '/metrics');
  assert.equal(r.status, 200);
  assert.match(r.headers.get('content-type'), /^text\/plain; version=0\.0\.4/);
  assert.equal(r.headers.get('cache-control'), 'no-store');
  const count = (op, code) => {
    const line = r.text.split('\n').find((l) => l.startsWith(`medqa_http_requests_total{operation="${op}",code="${code}"}`));
    return line ? Number(line.split(' ').pop()) : 0;
  };
  assert.ok(count('listDepartments', '2xx') >= 1);
  assert.ok(count('listDepartments', '4xx') >= 1);
  assert.match(r.text, /^# TYPE medqa_http_requests_total counter$/m);
  assert.match(r.text, /^medqa_http_requests_in_flight \d+$/m);
  assert.match(r.text, /^medqa_http_requests_unanswered_total \d+$/m);
  assert.match(r.text, /^medqa_http_request_duration_seconds_sum\{operation="listDepartments"\} [0-9.]+$/m);
});
