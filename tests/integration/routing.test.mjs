// Strict routing, as openapi.yaml's info.description states it: a path
// whose decoded form holds a control character (U+0000–U+001F, U+007F) is
// a 400 `bad-path` problem, whatever the path and wherever the character;
// a path ending in a slash is a 308 to the same path (and query) without
// it, never served as that other resource; `/docs/` redirects to `/docs`
// (tests/integration/docs.test.mjs shows Chromium rendering it).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startMedqa, req, raw, assertProblem } from './lib/medqa.mjs';
import { seedDemo, createKey, auth, IDS, rawStatus } from './lib/fixtures.mjs';

let m;
let editor;
before(async () => {
  m = await startMedqa();
  await seedDemo(m.db);
  editor = await createKey(m.db, 'editor');
});
after(async () => { await m.stop(); });

/** fetch without following redirects, and without the contract check:
 * these requests are off the spec's paths on purpose. */
const get = (path, opts = {}) => req(m.base, path, { ...opts, contract: false });
const noFollow = (path, { method = 'GET', headers = {}, body } = {}) =>
  fetch(m.base + path, { method, headers, body, redirect: 'manual' });

function assertBadPath(r, what) {
  assertProblem(r, 400);
  assert.match(r.body.type, /\/problems\/bad-path$/, `${what}: ${r.text}`);
}

test('GET /questions/%00 is a 400 bad-path problem, not the question list', async () => {
  const r = await get('/questions/%00');
  assertBadPath(r, '/questions/%00');
  assert.equal(r.body.data, undefined);
  // The same bytes straight on the wire: no client library rewrote them.
  const out = await raw(m.port, 'GET /questions/%00 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
  assert.equal(rawStatus(out), 400);
  assert.match(out, /\/problems\/bad-path/);
});

test('a NUL or control character anywhere in the path is a 400 bad-path problem', async () => {
  const id = IDS.lip;
  const codes = ['%00', '%01', '%09', '%0A', '%0d', '%1F', '%1f', '%7F', '%7f'];
  const places = [
    (c) => `/ques${c}tions`, // in the middle of a literal segment
    (c) => `/questions${c}`, // at the end
    (c) => `/questions/${c}`, // at the end, after a slash
    (c) => `/${c}`, // the whole path
    (c) => `/questions/${id}${c}`, // at the end of a path parameter
    (c) => `/questions/${c}${id}`, // at the start of a path parameter
    (c) => `/topics/eyelid${c}twitching`, // in the middle of a path parameter
    (c) => `/questions/${id}${c}/replies`, // in a parameter before a literal
    (c) => `/questions/${id}/replies${c}`, // after the last literal
  ];
  for (const code of codes)
    for (const place of places) {
      const path = place(code);
      assertBadPath(await get(path), `GET ${path}`);
    }
  // Whatever the method and whoever asks.
  assertBadPath(await get(`/questions/${id}%01`, { method: 'DELETE', headers: auth(editor) }), 'DELETE');
  assertBadPath(await get('/questions%00', { method: 'POST', headers: auth(editor), json: { title: 'x' } }), 'POST');
  assertBadPath(await get(`/questions/${id}%7F`, { method: 'PATCH', headers: auth(editor), json: { title: 'x' } }), 'PATCH');
  // A raw control byte in the request line, not escaped.
  for (const b of ['\x01', '\x1f', '\x7f']) {
    const out = await raw(m.port, `GET /questions/a${b}b HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
    assert.equal(rawStatus(out), 400, JSON.stringify(b));
    assert.match(out, /\/problems\/bad-path/, JSON.stringify(b));
  }
});

test('the rule is about the path: an escaped control character in the query, or a printable escape, is not bad-path', async () => {
  const q = await get('/questions?q=a%01b');
  assert.equal(q.status, 200);
  for (const path of ['/questions/%2500', '/questions/%20', '/topics/%7E']) {
    const r = await get(path);
    assert.ok(r.status < 500, path);
    assert.doesNotMatch(r.text, /bad-path/, path);
  }
});

test('a trailing slash is a 308 to the path without it, query kept; the slashless path answers as usual', async () => {
  const cases = [
    ['/questions/', '/questions'],
    ['/questions/?limit=2&department=neurology', '/questions?limit=2&department=neurology'],
    ['/questions/?q=a%20b&x', '/questions?q=a%20b&x'],
    [`/questions/${IDS.lip}/`, `/questions/${IDS.lip}`],
    [`/questions/${IDS.lip}/replies/`, `/questions/${IDS.lip}/replies`],
    ['/topics/eyelid-muscle-twitching/', '/topics/eyelid-muscle-twitching'],
    ['/openapi.json/', '/openapi.json'],
  ];
  for (const [from, to] of cases) {
    for (const method of ['GET', 'HEAD']) {
      const r = await noFollow(from, { method });
      assert.equal(r.status, 308, `${method} ${from}`);
      assert.equal(r.headers.get('location'), to, `${method} ${from}`);
      assert.equal((await r.text()).length, 0);
    }
    // Followed, it is the resource itself, byte for byte.
    const followed = await get(from);
    const direct = await get(to);
    assert.equal(followed.status, direct.status, from);
    assert.equal(followed.text, direct.text, from);
  }
  // A write is redirected too (308 keeps the method and body): nothing
  // is created at the slashed path.
  const post = await noFollow('/questions/', { method: 'POST', headers: { ...auth(editor), 'content-type': 'application/json' }, body: '{}' });
  assert.equal(post.status, 308);
  assert.equal(post.headers.get('location'), '/questions');
});

test('a trailing slash on a path that names nothing is a 404, never a redirect', async () => {
  for (const path of ['/nope/', '/questions//', '/questions/a/b/', '/docs/x/y/']) {
    const r = await noFollow(path);
    assert.equal(r.status, 404, path);
    assert.equal(r.headers.get('location'), null, path);
    assert.match(r.headers.get('content-type'), /^application\/problem\+json/);
  }
});

test('/docs/ is a 308 to /docs, so the page\'s relative script URLs resolve', async () => {
  const r = await noFollow('/docs/');
  assert.equal(r.status, 308);
  assert.equal(r.headers.get('location'), '/docs');
  const page = await get('/docs/');
  assert.equal(page.status, 200);
  assert.match(page.headers.get('content-type'), /^text\/html/);
  // Resolved against where the browser ends up, the scripts exist.
  for (const [, src] of page.text.matchAll(/<script[^>]* src="([^"]+)"/g)) {
    const s = await get(new URL(src, `${m.base}/docs`).pathname);
    assert.equal(s.status, 200, src);
  }
});
