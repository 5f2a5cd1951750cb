// OWASP API4 (resource consumption): a client that trickles a request head
// is cut off after HEADER_TIMEOUT, although every byte it sends restarts
// libmicrohttpd's CONNECTION_TIMEOUT; keep-alive clients and slow but
// timely heads are not. medqa runs with HEADER_TIMEOUT=2 and a far longer
// CONNECTION_TIMEOUT, so only the head deadline can close these sockets.
// The bounds below are not timings of speed: without the deadline the
// trickling socket stays open for CONNECTION_TIMEOUT after its last byte,
// that is for ever.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { startMedqa } from './lib/medqa.mjs';

const HEAD = 'GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n';
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

let m;
before(async () => {
  m = await startMedqa({ env: { HEADER_TIMEOUT: '2', CONNECTION_TIMEOUT: '30' } });
});
after(async () => { await m.stop(); });

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
