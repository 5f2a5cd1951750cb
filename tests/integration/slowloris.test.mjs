// OWASP API4 (resource consumption): a client that trickles a request head
// is cut off after HEADER_TIMEOUT, and one that trickles a request body
// after BODY_TIMEOUT, although every byte it sends restarts libmicrohttpd's
// CONNECTION_TIMEOUT; keep-alive clients and slow but timely heads and
// bodies are not. medqa runs with HEADER_TIMEOUT=2, BODY_TIMEOUT=3 and a
// far longer CONNECTION_TIMEOUT, so only the deadlines can close these
// sockets. The bounds below are not timings of speed: without the
// deadlines the trickling socket stays open for CONNECTION_TIMEOUT after
// its last byte, that is for ever (and a trickled body would be stored).
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { psql } from './lib/medqa.mjs';
import { demoServer, questionInput } from './lib/fixtures.mjs';

const HEAD = 'GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n';
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

let db;
let app;
const m = demoServer({
  env: { HEADER_TIMEOUT: '2', BODY_TIMEOUT: '3', CONNECTION_TIMEOUT: '30' },
  keys: { app: 'app' },
});
before(async () => ({ db, keys: { app } } = await m.ready));

/** An open raw socket that records what it receives and when it closes. */
function connect(port) {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1');
    const c = { s, text: '', closedAt: null };
    s.on('data', (d) => { c.text += d.toString('latin1'); });
    s.on('close', () => { c.closedAt = Date.now(); });
    s.on('error', () => {});
    s.once('connect', () => resolve(c));
    s.once('error', reject);
  });
}

const responses = (c) => (c.text.match(/HTTP\/1\.1 200 /g) || []).length;

/** Writes `text` one byte every `everyMs` until done or the socket
 * closes; resolves with the time the socket closed, or null. */
async function trickle(c, text, everyMs, maxMs) {
  const start = Date.now();
  for (let i = 0; c.closedAt === null && Date.now() - start < maxMs; i++) {
    if (i < text.length && !c.s.destroyed) c.s.write(text[i]);
    await sleep(everyMs);
  }
  return c.closedAt;
}

describe('slow request heads (HEADER_TIMEOUT)', { concurrency: true }, () => {
  test('API4: a head trickled one byte every 500 ms is cut after HEADER_TIMEOUT', async () => {
    const c = await connect(m.port);
    const start = Date.now();
    const closedAt = await trickle(c, 'GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ' + 'a'.repeat(100), 500, 8000);
    c.s.destroy();
    assert.ok(closedAt !== null, 'still open after 8 s of trickling');
    const after = closedAt - start;
    assert.ok(after >= 1500 && after < 8000, `closed after ${after} ms`);
    assert.equal(c.text, '', 'nothing is answered to a head that never ended');
    assert.match(m.logs(), /request head too slow/);
  });

  test('API4: the deadline is per request: a keep-alive connection that trickles its second head is cut', async () => {
    const c = await connect(m.port);
    c.s.write(HEAD);
    while (responses(c) < 1) await sleep(20);
    // Idle longer than HEADER_TIMEOUT first: that is CONNECTION_TIMEOUT's
    // business, not the head deadline's.
    await sleep(3000);
    assert.equal(c.closedAt, null, 'an idle keep-alive connection was cut');
    const start = Date.now();
    const closedAt = await trickle(c, 'GET /healthz HTTP/1.1\r\nX-Slow: ' + 'b'.repeat(100), 500, 8000);
    c.s.destroy();
    assert.ok(closedAt !== null, 'still open after 8 s of trickling');
    assert.ok(closedAt - start < 8000, `closed after ${closedAt - start} ms`);
    assert.equal(responses(c), 1);
  });

  test('API4: a keep-alive client with requests 1 s apart, then idle for 3 s, is not cut', async () => {
    const c = await connect(m.port);
    for (let i = 1; i <= 5; i++) {
      c.s.write(HEAD);
      while (responses(c) < i && c.closedAt === null) await sleep(20);
      await sleep(1000);
    }
    await sleep(2000); // 3 s idle in all, longer than HEADER_TIMEOUT
    c.s.write(HEAD);
    while (responses(c) < 6 && c.closedAt === null) await sleep(20);
    assert.equal(c.closedAt, null, 'the keep-alive connection was closed');
    assert.equal(responses(c), 6);
    c.s.destroy();
  });

  test('API4: a whole head sent slowly but within HEADER_TIMEOUT is answered', async () => {
    const c = await connect(m.port);
    const head = 'GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: yes\r\nConnection: close\r\n\r\n';
    // Five pieces 300 ms apart: 1.2 s from the first byte to the last.
    const step = Math.ceil(head.length / 5);
    for (let i = 0; i < head.length; i += step) {
      c.s.write(head.slice(i, i + step));
      await sleep(300);
    }
    for (let t = 0; c.closedAt === null && t < 5000; t += 20) await sleep(20);
    assert.equal(responses(c), 1, c.text.slice(0, 200));
    c.s.destroy();
  });
});

/** A POST /questions head for a body of `length` bytes (or chunked). */
const postHead = (length, extra = '') => 'POST /questions HTTP/1.1\r\nHost: x\r\n' +
  `Authorization: Bearer ${app}\r\nContent-Type: application/json\r\n` +
  (length === 'chunked' ? 'Transfer-Encoding: chunked\r\n' : `Content-Length: ${length}\r\n`) +
  `${extra}\r\n`;

/** Writes `parts` one every `everyMs` while the socket is open; resolves
 * with the time it closed or null, waiting up to `maxMs` in all. */
async function send(c, parts, everyMs, maxMs) {
  const start = Date.now();
  for (const part of parts) {
    if (c.closedAt !== null || c.s.destroyed) break;
    c.s.write(part);
    await sleep(everyMs);
  }
  while (c.closedAt === null && Date.now() - start < maxMs && !/\r\n\r\n/.test(c.text)) await sleep(20);
  return c.closedAt;
}

/** `text` cut into `n` pieces. */
const split = (text, n) => {
  const step = Math.ceil(text.length / n);
  return Array.from({ length: Math.ceil(text.length / step) }, (_, i) => text.slice(i * step, (i + 1) * step));
};

const stored = (marker) => Number(psql(db, `SELECT count(*) FROM questions WHERE title LIKE '%${marker}%'`));

describe('slow request bodies (BODY_TIMEOUT)', { concurrency: true }, () => {
  test('API4: a whole valid body spread over 6 s is cut after BODY_TIMEOUT, unanswered, and not stored', async () => {
    const body = JSON.stringify(questionInput({ title: 'Slow body marker-cl' }));
    const c = await connect(m.port);
    c.s.write(postHead(Buffer.byteLength(body)));
    const start = Date.now();
    const closedAt = await send(c, split(body, 24), 250, 9000);
    c.s.destroy();
    assert.ok(closedAt !== null, `still open, answered: ${c.text.slice(0, 60)}`);
    const after = closedAt - start;
    assert.ok(after >= 2500 && after < 6000, `closed after ${after} ms`);
    assert.equal(c.text, '', 'nothing is answered to a body that never ended');
    assert.match(m.logs(), /request body too slow/);
    assert.equal(stored('marker-cl'), 0);
    // Counted as a request that ended unanswered, not as a slow answer.
    // (The client sees the cut before medqa's worker has closed its side.)
    const unanswered = async () => Number(/^medqa_http_requests_unanswered_total (\d+)$/m
      .exec(await (await fetch(`${m.base}/metrics`)).text())[1]);
    for (let t = 0; (await unanswered()) < 1 && t < 2000; t += 50) await sleep(50);
    assert.ok((await unanswered()) >= 1);
  });

  test('API4: a chunked body trickled over 6 s is cut the same way', async () => {
    const body = JSON.stringify(questionInput({ title: 'Slow body marker-te' }));
    const chunks = split(body, 24).map((p) => `${Buffer.byteLength(p).toString(16)}\r\n${p}\r\n`);
    const c = await connect(m.port);
    c.s.write(postHead('chunked'));
    const start = Date.now();
    const closedAt = await send(c, [...chunks, '0\r\n\r\n'], 250, 9000);
    c.s.destroy();
    assert.ok(closedAt !== null, `still open, answered: ${c.text.slice(0, 60)}`);
    assert.ok(closedAt - start < 6000, `closed after ${closedAt - start} ms`);
    assert.equal(c.text, '');
    assert.equal(stored('marker-te'), 0);
  });

  test('API4: a body sent in pieces within BODY_TIMEOUT is stored and answered 201', async () => {
    const body = JSON.stringify(questionInput({ title: 'Slow body marker-ok' }));
    const c = await connect(m.port);
    c.s.write(postHead(Buffer.byteLength(body), 'Connection: close\r\n'));
    // Five pieces 300 ms apart: 1.5 s from the head to the last byte.
    await send(c, split(body, 5), 300, 5000);
    for (let t = 0; c.closedAt === null && t < 5000; t += 20) await sleep(20);
    assert.match(c.text, /^HTTP\/1\.1 201 /, c.text.slice(0, 200));
    c.s.destroy();
    assert.equal(stored('marker-ok'), 1);
  });

  test('API4: the body deadline is per request: a keep-alive connection idle for longer after a POST is kept', async () => {
    const body = JSON.stringify(questionInput({ title: 'Slow body marker-ka' }));
    const c = await connect(m.port);
    c.s.write(postHead(Buffer.byteLength(body)) + body);
    while (!/\r\n\r\n/.test(c.text) && c.closedAt === null) await sleep(20);
    assert.match(c.text, /^HTTP\/1\.1 201 /);
    await sleep(4000); // longer than BODY_TIMEOUT, shorter than CONNECTION_TIMEOUT
    assert.equal(c.closedAt, null, 'an idle keep-alive connection was cut');
    c.s.write(HEAD);
    while (responses(c) < 1 && c.closedAt === null) await sleep(20);
    assert.equal(responses(c), 1);
    c.s.destroy();
  });
});
