// SIGTERM with many requests in flight: every request sent before the
// signal gets its whole answer, every acknowledged write is stored, a
// write that got no answer is not, and medqa exits 0.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startMedqa, createDb, psql } from './lib/medqa.mjs';
import { IDS, seedDemo, createKey } from './lib/fixtures.mjs';

const CLIENTS = 16;
const HANG_MS = 20000;

/** One request, never throwing: {status, body} or {error, code}. */
async function call(base, path, { method = 'GET', key, json } = {}) {
  const headers = {};
  if (key) headers.authorization = `Bearer ${key}`;
  if (json) headers['content-type'] = 'application/json';
  try {
    const res = await fetch(base + path, {
      method, headers, body: json && JSON.stringify(json), signal: AbortSignal.timeout(HANG_MS),
    });
    const text = await res.text();
    // A response cut short fails here: the length is announced up front.
    const body = JSON.parse(text);
    return { status: res.status, body };
  } catch (e) {
    return { error: `${e.name}: ${e.message}`, code: e.cause?.code || e.code || e.name };
  }
}

test('SIGTERM under load: requests in flight answered, acknowledged writes kept, exit 0', async () => {
  const db = createDb();
  await seedDemo(db);
  const app = await createKey(db, 'app');
  const m = await startMedqa({ db });
  const done = []; // {kind, title, startedAt, endedAt, r}
  let sigAt = Infinity;
  let stopAll = false;
  const client = async (c) => {
    for (let n = 0; !stopAll; n++) {
      const kind = ['get', 'list', 'related', 'post'][(c + n) % 4];
      const title = `Shutdown load ${c}-${n}: eyelid twitching for weeks`;
      const startedAt = performance.now();
      let r;
      if (kind === 'get') r = await call(m.base, `/questions/${IDS.lip}?include=replies,related`);
      else if (kind === 'list') r = await call(m.base, '/questions?department=neurology&limit=20');
      else if (kind === 'related') r = await call(m.base, `/related?question_id=${IDS.lip}&limit=5`);
      else {
        r = await call(m.base, '/questions', {
          method: 'POST', key: app,
          json: {
            title, body: 'My lower eyelid has flickered for weeks, worse after late nights.',
            asker: { name: 'shutdown-load', age_band: '30-39', gender: 'female' },
            department: 'neurology', topics: ['eyelid-muscle-twitching'],
          },
        });
      }
      done.push({ kind, title, startedAt, endedAt: performance.now(), r });
      // After the signal, a refused connection means medqa has stopped
      // taking new ones: this client is done.
      if (r.error && startedAt > sigAt) break;
    }
  };
  const clients = Array.from({ length: CLIENTS }, (_, c) => client(c));
  try {
    // Wait until every client has had answers, so the signal meets a full
    // pipeline.
    while (done.length < CLIENTS * 4) await new Promise((r) => setTimeout(r, 20));
    sigAt = performance.now();
    m.proc.kill('SIGTERM');
    const exited = await new Promise((resolve) => {
      if (m.proc.exitCode !== null) resolve(m.proc.exitCode);
      else m.proc.on('exit', (code) => resolve(code));
    });
    assert.equal(exited, 0, 'exit code\n' + m.logs().slice(-2000));
  } finally {
    stopAll = true;
    await Promise.all(clients);
    await m.stop();
  }

  const before = done.filter((x) => x.startedAt < sigAt);
  const inFlight = before.filter((x) => x.endedAt > sigAt);
  // The signal met requests in flight (else this test shows nothing).
  assert.ok(inFlight.length > 0, 'no request was in flight at SIGTERM');
  // Every request sent before the signal got its whole answer.
  const cut = before.filter((x) => x.r.error);
  assert.deepEqual(cut.map((x) => `${x.kind}: ${x.r.error} (${x.r.code})`), [],
    `requests sent before SIGTERM without an answer (${inFlight.length} were in flight)`);
  for (const x of done.filter((y) => !y.r.error)) {
    const want = x.kind === 'post' ? 201 : 200;
    assert.equal(x.r.status, want, `${x.kind}: ${JSON.stringify(x.r.body).slice(0, 300)}`);
  }
  // After the signal, new connections are refused or answered in full;
  // a request on a connection closed under it never ran: no write without
  // an answer is in the database.
  // Nothing hung: a request after the signal met a refused connection or
  // one closed before it ran, never a silence.
  const codes = new Set(done.filter((x) => x.r.error).map((x) => x.r.code));
  for (const code of codes)
    assert.ok(['ECONNREFUSED', 'ECONNRESET', 'UND_ERR_SOCKET'].includes(code), `error ${code}`);
  const stored = new Set(psql(db, "SELECT title FROM questions WHERE title LIKE 'Shutdown load %'")
    .split('\n').filter(Boolean));
  const posts = done.filter((x) => x.kind === 'post');
  for (const x of posts) {
    if (!x.r.error) assert.ok(stored.has(x.title), `acknowledged write missing: ${x.title}`);
    else assert.ok(!stored.has(x.title), `write without an answer is stored: ${x.title} (${x.r.error})`);
  }
  assert.equal(stored.size, posts.filter((x) => !x.r.error).length, 'questions stored');
  const logs = m.logs();
  assert.match(logs, /"msg":"stopped"/);
});
