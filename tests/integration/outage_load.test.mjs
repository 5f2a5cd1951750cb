// The database stops and starts again while clients keep writing: every
// write medqa acknowledged is in the database afterwards, whole (its
// topics and its change event with it), every write it refused is absent,
// no request hangs, and the only 5xx is 503 with Retry-After.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { startMedqa, runMedqa, privateCluster, psql, PG_SH } from './lib/medqa.mjs';
import { checkResponse } from './lib/contract.mjs';
import { IDS } from './lib/fixtures.mjs';

const run = promisify(execFile);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const CLIENTS = 8;
// A request still unanswered after this long counts as hung. Far above
// medqa's own bounds (2 s to connect, 503 at once when the database is
// down) so that a loaded machine does not fail the test.
const HANG_MS = 15000;
const TOPICS = ['eyelid-muscle-twitching', 'facial-twitching'];

/** One POST, never throwing: {status, retryAfter, body} or {error}. */
async function post(base, path, key, json, idemKey) {
  const headers = { authorization: `Bearer ${key}`, 'content-type': 'application/json' };
  if (idemKey) headers['idempotency-key'] = idemKey;
  const t0 = Date.now();
  try {
    const res = await fetch(base + path, {
      method: 'POST', headers, body: JSON.stringify(json), signal: AbortSignal.timeout(HANG_MS),
    });
    const text = await res.text();
    const body = text ? JSON.parse(text) : undefined;
    const out = { status: res.status, headers: res.headers, text, body };
    const violations = checkResponse('POST', path, out);
    return {
      status: res.status, retryAfter: res.headers.get('retry-after'), body, violations, ms: Date.now() - t0,
    };
  } catch (e) {
    return { error: `${e.name}: ${e.message} ${e.cause?.code || ''}`, ms: Date.now() - t0 };
  }
}

async function makeKey(url, role, doctor) {
  const args = ['keys', 'create', '--role', role, '--name', `outage-${role}`];
  if (doctor) args.push('--doctor', doctor);
  const r = await runMedqa(args, { DATABASE_URL: url });
  assert.equal(r.code, 0, r.stderr);
  return r.stdout.trim().split('\n').pop().trim();
}

test('PostgreSQL stopped and started under concurrent writes: acknowledged writes kept whole, refused ones absent', async () => {
  const pg = privateCluster();
  const pgsh = (...a) => run(PG_SH, a);
  try {
    for (const cmd of [['migrate'], ['seed', '--demo']]) {
      const r = await runMedqa(cmd, { DATABASE_URL: pg.url });
      assert.equal(r.code, 0, r.stderr);
    }
    const app = await makeKey(pg.url, 'app');
    const lan = await makeKey(pg.url, 'doctor', IDS.lan);
    const m = await startMedqa({ url: pg.url, db: 'medqa' });
    const questions = []; // {title, r}
    const replies = []; // {text, r}
    let phase = 'before';
    let going = true;
    try {
      const client = async (c) => {
        for (let n = 0; going; n++) {
          const tag = `${c}-${n}`;
          const idem = n % 2 === 0 ? `outage-${tag}` : undefined;
          const title = `Outage load ${tag}: eyelid twitching for weeks`;
          const q = await post(m.base, '/questions', app, {
            title,
            body: 'My lower eyelid has flickered for weeks, worse after late nights.',
            language: 'en',
            asker: { name: 'outage-load', age_band: '30-39', gender: 'female' },
            department: 'neurology',
            topics: TOPICS,
          }, idem);
          questions.push({ title, r: q, phase });
          const text = `Outage load reply ${tag}: sleep more and cut coffee.`;
          const r = await post(m.base, `/questions/${IDS.lip}/replies`, lan, { body: text }, idem && `${idem}-r`);
          replies.push({ text, r, phase });
        }
      };
      const clients = Array.from({ length: CLIENTS }, (_, c) => client(c));
      // Writing before the outage: until the first acknowledged write
      // (on a loaded machine, with the Similar Q&A worker's start-up
      // backfill beside it, that can take more than a second), then 1 s.
      for (const t0 = Date.now(); Date.now() - t0 < HANG_MS;) {
        if (questions.some((x) => x.r.status === 201)) break;
        await sleep(100);
      }
      await sleep(1000);
      phase = 'stopping';
      await pgsh('stop', pg.dir);
      phase = 'down';
      await sleep(1500);
      phase = 'starting';
      await pgsh('start', pg.dir, String(pg.port));
      phase = 'after';
      await sleep(3000);
      going = false;
      await Promise.all(clients);
    } finally {
      going = false;
      await m.stop();
    }

    const all = [...questions, ...replies];
    // Nothing hung, nothing broke the connection, nothing left the spec.
    const broken = all.filter((x) => x.r.error);
    assert.deepEqual(broken.map((x) => x.r.error), [], 'requests without an answer');
    const offSpec = all.filter((x) => x.r.violations.length > 0);
    assert.deepEqual(offSpec.map((x) => x.r.violations), [], 'answers that break the spec');
    // Only 201 or 503 + Retry-After.
    const statuses = {};
    for (const x of all) statuses[x.r.status] = (statuses[x.r.status] || 0) + 1;
    assert.deepEqual(Object.keys(statuses).filter((s) => s !== '201' && s !== '503'), [],
      `statuses: ${JSON.stringify(statuses)}`);
    for (const x of all.filter((y) => y.r.status === 503))
      assert.ok(Number(x.r.retryAfter) > 0, 'a 503 without Retry-After');
    // The outage happened, and medqa wrote again after it.
    assert.ok(statuses['503'] > 0, `no 503 seen: ${JSON.stringify(statuses)}`);
    assert.ok(questions.some((x) => x.phase === 'before' && x.r.status === 201), 'no write before the outage');
    assert.ok(questions.some((x) => x.phase === 'after' && x.r.status === 201), 'no write after the outage');

    // Every acknowledged write is there, whole; every refused one is absent.
    const opts = { sock: `${pg.dir}/sock`, port: pg.port };
    const rows = new Map(psql('medqa', `SELECT q.title, q.id,
        (SELECT count(*) FROM question_topics t WHERE t.question_id = q.id),
        (SELECT count(*) FROM changes c WHERE c.entity_id = q.id::text AND c.type = 'question.created')
      FROM questions q WHERE q.title LIKE 'Outage load %'`, opts)
      .split('\n').filter(Boolean).map((l) => { const [t, ...rest] = l.split('|'); return [t, rest]; }));
    for (const { title, r } of questions) {
      const row = rows.get(title);
      if (r.status === 201) {
        assert.ok(row, `acknowledged question missing: ${title}`);
        assert.deepEqual(row, [r.body.id, String(TOPICS.length), '1'], `question ${title}: id, topics, change events`);
      } else {
        assert.equal(row, undefined, `refused question present: ${title} (${r.status})`);
      }
    }
    assert.equal(rows.size, questions.filter((x) => x.r.status === 201).length, 'questions in the database');
    const rrows = new Map(psql('medqa', `SELECT r.body, r.id,
        (SELECT count(*) FROM changes c WHERE c.entity_id = r.id::text AND c.type = 'reply.created')
      FROM replies r WHERE r.body LIKE 'Outage load reply %'`, opts)
      .split('\n').filter(Boolean).map((l) => { const [t, ...rest] = l.split('|'); return [t, rest]; }));
    for (const { text, r } of replies) {
      const row = rrows.get(text);
      if (r.status === 201) assert.deepEqual(row, [r.body.id, '1'], `reply ${text}: id, change events`);
      else assert.equal(row, undefined, `refused reply present: ${text} (${r.status})`);
    }
    assert.equal(rrows.size, replies.filter((x) => x.r.status === 201).length, 'replies in the database');
  } finally {
    pg.stop();
  }
});
