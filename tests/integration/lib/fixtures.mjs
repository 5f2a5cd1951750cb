// Fixtures shared by the domain suites: the demo server most suites test
// against (demoServer), the demo data and its ids, API keys made with the
// real `medqa keys` command, and helpers that create questions, replies
// and topics through the API (asserting the 201, so a broken create fails
// the test that needed it, with the server's answer).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { before, after } from 'node:test';
import { runMedqa, dbUrl, req, raw, createDb, startMedqa, psql } from './medqa.mjs';

/** internal/seed/demo.json, as `medqa seed --demo` loads it. */
export const DEMO = JSON.parse(readFileSync(
  new URL('../../../internal/seed/demo.json', import.meta.url), 'utf8'));

const demoQuestion = (title) => DEMO.questions.find((q) => q.title === title);
const demoDoctor = (name) => DEMO.doctors.find((d) => d.name === name);

const LIP = demoQuestion('Lip twitching');

/** Ids of demo rows the suites talk about by name. */
export const IDS = {
  // "Lip twitching": the page medqa was born from (neurology; one doctor
  // reply by Lan Shengxing, then one editorial "More Info").
  lip: LIP.id,
  lipDoctorReply: LIP.replies.find((r) => r.kind === 'doctor').id,
  lipEditorial: LIP.replies.find((r) => r.kind === 'editorial').id,
  lan: demoDoctor('Lan Shengxing').id, // neurology
  jiang: demoDoctor('Jiang Junyi').id, // neurology
  ye: demoDoctor('Ye Boshou').id, // neurology
  chen: demoDoctor('Chen Meiling').id, // dermatology
  // Open demo questions (no reply at all).
  eczema: demoQuestion('Itchy rough patches inside my elbows every winter').id,
  dryEye: demoQuestion('Burning, gritty eyes after long screen days').id,
  hba1c: demoQuestion('HbA1c of 6.1 at my annual check-up').id,
  acne: demoQuestion('Painful jawline breakouts that started in my late twenties').id,
};

/** Demo questions filtered by a predicate, as a sorted list of ids. */
export function demoIds(pred = () => true) {
  return DEMO.questions.filter(pred).map((q) => q.id).sort();
}

/** A well-formed UUID that names nothing. */
export const NO_SUCH_ID = '00000000-0000-4000-8000-000000000000';

/** Loads the demo data into database `db` with `medqa seed --demo`. */
export async function seedDemo(db) {
  const r = await runMedqa(['seed', '--demo'], { DATABASE_URL: dbUrl(db) });
  assert.equal(r.code, 0, `medqa seed --demo failed:\n${r.stderr}`);
  return r;
}

let keySerial = 0;

/** Creates an API key with `medqa keys create`; returns the key text (the
 * last line of stdout). `doctor` binds a doctor key to a doctor id. */
export async function createKey(db, role, { doctor, name } = {}) {
  const args = ['keys', 'create', '--role', role,
    '--name', name || `${role}-${++keySerial}`];
  if (doctor) args.push('--doctor', doctor);
  const r = await runMedqa(args, { DATABASE_URL: dbUrl(db) });
  assert.equal(r.code, 0, `medqa keys create failed:\n${r.stderr}`);
  const lines = r.stdout.trim().split('\n');
  const key = lines[lines.length - 1].trim();
  assert.match(key, /^mq_[0-9a-f]{12}_[A-Za-z0-9_-]{43}$/, 'key text');
  return key;
}

/** `medqa keys list` parsed into [{id, role, status, doctor, created,
 * expires, lastUsed, revoked, name}] ('-' for an unset time). */
export async function listKeys(db) {
  const r = await runMedqa(['keys', 'list'], { DATABASE_URL: dbUrl(db) });
  assert.equal(r.code, 0, r.stderr);
  return r.stdout.trim().split('\n').slice(1).map((l) => {
    const [id, role, status, doctor, created, expires, lastUsed, revoked, ...name] = l.trim().split(/\s+/);
    return { id, role, status, doctor, created, expires, lastUsed, revoked, name: name.join(' ') };
  });
}

/** Revokes the key called `name` (found with `medqa keys list`). */
export async function revokeKeyNamed(db, name) {
  const row = (await listKeys(db)).find((k) => k.name === name);
  assert.ok(row, `no key named ${name}`);
  const r = await runMedqa(['keys', 'revoke', row.id], { DATABASE_URL: dbUrl(db) });
  assert.equal(r.code, 0, r.stderr);
  return row.id;
}

/**
 * The server a suite tests against, set up once for the test file: a
 * database cloned from the migrated template, the demo data (`seed: false`
 * leaves it empty), the API keys asked for, and medqa started on it and
 * listening. Call it at the top level of a test file: it registers the
 * file's before() hook, which does all that, and its after() hook, which
 * stops medqa (asserting a clean exit with the sanitizers silent).
 * The object it returns is filled in by that before(): startMedqa()'s
 * {base, port, db, proc, logs(), stop()} plus `keys`, each name's key
 * text, so tests read m.base. The file's own before() hooks must
 * `await m.ready` (which resolves to the same object) before they use it:
 * node:test starts a file's top-level before() hooks together, not one
 * after the other.
 *   keys: {name: role} or {name: [role, doctorId]} (a doctor key bound to
 *     that doctor), made with `medqa keys create` before medqa starts
 *   env: medqa's extra environment (see startMedqa)
 *   prepare(db): runs after the seed, before the keys and the start
 */
export function demoServer({ env = {}, keys = {}, seed = true, prepare } = {}) {
  let done;
  let fail;
  const server = { keys: {} };
  server.ready = new Promise((resolve, reject) => { done = resolve; fail = reject; });
  // A failed set-up fails through the hook; a file with no hook of its own
  // awaiting `ready` must not also die of an unhandled rejection.
  server.ready.catch(() => {});
  before(async () => {
    try {
      const db = createDb();
      if (seed) await seedDemo(db);
      if (prepare) await prepare(db);
      const made = await Promise.all(Object.entries(keys).map(async ([name, k]) => {
        const [role, doctor] = Array.isArray(k) ? k : [k];
        return [name, await createKey(db, role, doctor ? { doctor } : {})];
      }));
      Object.assign(server, await startMedqa({ db, env }), { keys: Object.fromEntries(made) });
      done(server);
    } catch (e) {
      fail(e);
      throw e;
    }
  });
  after(async () => {
    if (server.stop) await server.stop();
  });
  return server;
}

/** Request headers for a key (plus any extra ones). */
export function auth(key, extra = {}) {
  return { authorization: `Bearer ${key}`, ...extra };
}

let titleSerial = 0;

/** A valid POST /questions body; `over` replaces fields (undefined drops). */
export function questionInput(over = {}) {
  const n = ++titleSerial;
  const q = {
    title: `Eyelid keeps jumping (${n})`,
    body: 'For two weeks my lower left eyelid has flickered several times an hour, worse after late nights. Should I worry?',
    language: 'en',
    asker: { name: 'K. Lin', age_band: '30-39', gender: 'male' },
    department: 'neurology',
    topics: ['eyelid-muscle-twitching'],
    ...over,
  };
  for (const k of Object.keys(q)) if (q[k] === undefined) delete q[k];
  return q;
}

/** POST /questions; asserts 201 and returns the created question. */
export async function createQuestion(base, key, over = {}, headers = {}) {
  const r = await req(base, '/questions', {
    method: 'POST', headers: auth(key, headers), json: questionInput(over),
  });
  assert.equal(r.status, 201, `create question: ${r.status} ${r.text}`);
  return r.body;
}

/** POST /questions/{id}/replies; asserts 201 and returns the reply. */
export async function createReply(base, key, questionId, body = {}) {
  const r = await req(base, `/questions/${questionId}/replies`, {
    method: 'POST', headers: auth(key),
    json: { body: 'Please see a neurologist if it lasts beyond a month.', ...body },
  });
  assert.equal(r.status, 201, `create reply: ${r.status} ${r.text}`);
  return r.body;
}

let topicSerial = 0;

/** POST /topics; asserts 201 and returns the topic. */
export async function createTopic(base, key, over = {}) {
  const n = ++topicSerial;
  const r = await req(base, '/topics', {
    method: 'POST', headers: auth(key),
    json: { name: `Test Topic ${n} ${Date.now()}`, department: 'neurology', ...over },
  });
  assert.equal(r.status, 201, `create topic: ${r.status} ${r.text}`);
  return r.body;
}

/** Every page of a list, following next_cursor; returns all items. */
export async function walk(base, path, headers = {}) {
  const items = [];
  let url = path;
  for (let i = 0; i < 1000; i++) {
    const r = await req(base, url, { headers });
    assert.equal(r.status, 200, `${url}: ${r.status} ${r.text}`);
    items.push(...r.body.data);
    if (r.body.next_cursor === null) return items;
    const sep = path.includes('?') ? '&' : '?';
    url = `${path}${sep}cursor=${encodeURIComponent(r.body.next_cursor)}`;
  }
  throw new Error('more than 1000 pages');
}

/** Sends a request whose Content-Length is over 1 MiB (only its first
 * kilobyte goes out, as a client would before the answer comes) and
 * returns the raw response text. */
export function oversized(port, method, path, headers = {}) {
  const size = 1024 * 1024 + 1;
  const h = Object.entries({ host: 'x', 'content-type': 'application/json', ...headers })
    .map(([k, v]) => `${k}: ${v}\r\n`).join('');
  const head = `${method} ${path} HTTP/1.1\r\n${h}Content-Length: ${size}\r\nConnection: close\r\n\r\n`;
  const body = Buffer.alloc(1024, ' ');
  body[0] = '{'.charCodeAt(0);
  return raw(port, Buffer.concat([Buffer.from(head), body]));
}

/** The status code of a raw HTTP response text. */
export function rawStatus(text) {
  const m = /^HTTP\/1\.[01] (\d{3})/.exec(text);
  return m ? Number(m[1]) : 0;
}

/** Asserts ETag syntax: a quoted 128-bit hex tag, "-gzip" when gzipped. */
export function assertEtag(r) {
  assert.match(r.headers.get('etag') || '', /^"[0-9a-f]{32}(-gzip)?"$/, 'ETag');
}

/** The keys of a Question representation, in order. */
export const QUESTION_KEYS = ['id', 'title', 'body', 'language', 'asker',
  'department', 'topics', 'state', 'reply_count', 'asked_at', 'updated_at', 'url',
  'headline', 'medical_review', 'license', 'attribution', 'disclaimer'];
export const REPLY_KEYS = ['id', 'question_id', 'kind', 'body', 'doctor',
  'replied_at', 'updated_at', 'license', 'attribution', 'disclaimer'];
export const TOPIC_KEYS = ['slug', 'name', 'department', 'description', 'question_count'];
export const DOCTOR_KEYS = ['id', 'name', 'department', 'reply_count'];
export const CHANGE_KEYS = ['seq', 'type', 'id', 'at'];

/** RFC 3339 UTC with milliseconds, as every medqa timestamp. */
export const TS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * Waits (up to 60 s) until the Similar Q&A refresh worker has nothing
 * queued to redo (sql/related_store.sql): a question posted just before
 * changes its neighbours' stored results (and the term statistics every
 * score uses) once the worker gets to them, so reads that must agree
 * with each other wait for that first.
 */
export async function relatedSettled(db) {
  const end = Date.now() + 60000;
  while (psql(db, "SELECT count(*) FROM related_queue WHERE due_at < 'infinity'") !== '0') {
    if (Date.now() > end) throw new Error('the Similar Q&A refresh queue did not drain in 60 s');
    await new Promise((r) => setTimeout(r, 100));
  }
}
