// Test harness: a fresh database per medqa instance (cloned from the
// migrated template that scripts/test.sh prepared), the real ASan binary
// started on a kernel-chosen port, and helpers to speak HTTP to it.
import { spawn, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync, chmodSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import net from 'node:net';
import assert from 'node:assert/strict';
import { checkResponse } from './contract.mjs';

export const BIN = process.env.MEDQA_BIN;
export const PG_SOCK = process.env.MEDQA_PG_SOCK;
export const PG_PORT = process.env.MEDQA_PG_PORT;
export const TMP = process.env.MEDQA_TMP || '/tmp';
/** scripts/pg.sh, found from here so a suite runs from any directory. */
export const PG_SH = fileURLToPath(new URL('../../../scripts/pg.sh', import.meta.url));

/** The CONTACT_KEY medqa serves with in the suites (contact e-mails are
 * refused without one); a suite passes CONTACT_KEY: '' to run without. */
export const TEST_CONTACT_KEY = Buffer.alloc(32, 7).toString('base64');

export function dbUrl(name, sock = PG_SOCK, port = PG_PORT) {
  return `postgresql:///${name}?host=${sock}&port=${port}&user=medqa`;
}

export function psql(dbName, sql, { sock = PG_SOCK, port = PG_PORT } = {}) {
  return execFileSync('psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-tA',
    '-h', sock, '-p', String(port), '-U', 'medqa', '-d', dbName, '-c', sql],
    { encoding: 'utf8' }).trim();
}

/** Creates a new database from the migrated template; returns its name. */
export function createDb() {
  const name = 't_' + randomBytes(6).toString('hex');
  execFileSync('createdb', ['-h', PG_SOCK, '-p', String(PG_PORT), '-U', 'medqa',
    '-T', 'medqa_template', name]);
  return name;
}

/** Runs a medqa subcommand to completion; returns {code, stdout, stderr}. */
export function runMedqa(args, env = {}) {
  return new Promise((resolve) => {
    const p = spawn(BIN, args, { env: { ...process.env, ...env } });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => { stdout += d; });
    p.stderr.on('data', (d) => { stderr += d; });
    p.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

const SANITIZER = /(ERROR: AddressSanitizer|ERROR: LeakSanitizer|runtime error:)/;

/**
 * Starts `medqa serve` against database `db` (a fresh one when omitted).
 * Resolves once it logs that it listens. The returned object has `base`
 * (URL), `db`, `logs()` (all stderr so far) and `stop()` which sends
 * SIGTERM and asserts a clean exit with the sanitizers silent.
 */
export async function startMedqa({ db, env = {}, url } = {}) {
  db = db || createDb();
  const proc = spawn(BIN, ['serve'], {
    env: {
      ...process.env,
      DATABASE_URL: url || dbUrl(db),
      PORT: '0',
      HOST: '127.0.0.1',
      WORKERS: '2',
      LOG_LEVEL: 'info',
      CURSOR_SECRET: 'test-secret-0123456789abcdef0123456789abcdef',
      CONTACT_KEY: TEST_CONTACT_KEY,
      ...env,
    },
  });
  let stderr = '';
  let exited = null;
  const exitPromise = new Promise((resolve) => {
    proc.on('exit', (code, signal) => { exited = { code, signal }; resolve(exited); });
  });
  const port = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('medqa did not start:\n' + stderr)), 20000);
    proc.stderr.on('data', (d) => {
      stderr += d;
      const m = /"msg":"listening","port":"(\d+)"/.exec(stderr);
      if (m) { clearTimeout(timer); resolve(Number(m[1])); }
    });
    proc.on('exit', () => { clearTimeout(timer); reject(new Error('medqa exited:\n' + stderr)); });
  });
  const base = `http://127.0.0.1:${port}`;
  return {
    base, port, db, proc,
    logs: () => stderr,
    async stop() {
      if (!exited) proc.kill('SIGTERM');
      const r = await exitPromise;
      assert.doesNotMatch(stderr, SANITIZER, 'sanitizer report in medqa output');
      assert.equal(r.code, 0, 'medqa exit code\n' + stderr.slice(-2000));
      return r;
    },
  };
}

/** fetch() without automatic decompression surprises: returns status,
 * headers and the body as text plus parsed JSON when it is JSON.
 * Every response is checked against the spec (lib/contract.mjs) and a
 * violation throws at once; `contract: false` skips that for a request
 * that is off the spec on purpose. */
export async function req(base, path, { method = 'GET', headers = {}, body, json, contract = true } = {}) {
  const h = { ...headers };
  let payload = body;
  if (json !== undefined) {
    payload = JSON.stringify(json);
    if (!Object.keys(h).some((k) => k.toLowerCase() === 'content-type')) h['content-type'] = 'application/json';
  }
  let res;
  try {
    res = await fetch(base + path, { method, headers: h, body: payload });
  } catch (e) {
    // A kept-alive socket the server closed as idle (CONNECTION_TIMEOUT)
    // just as the test reused it: RFC 9110 §9.2.2 lets a client retry an
    // idempotent request on a new connection, as browsers do. Seen when a
    // test's synchronous step (jing, tsc) outlasts the idle timeout on a
    // loaded machine. Anything else, or any other method, fails as before.
    if (!['GET', 'HEAD'].includes(method) || e?.cause?.code !== 'UND_ERR_SOCKET') throw e;
    res = await fetch(base + path, { method, headers: h, body: payload });
  }
  const text = await res.text();
  let data;
  const ct = res.headers.get('content-type') || '';
  if (ct.includes('json') && text.length > 0) data = JSON.parse(text);
  const out = { status: res.status, headers: res.headers, text, body: data };
  if (contract) {
    const violations = checkResponse(method, path, out);
    if (violations.length > 0) {
      throw new assert.AssertionError({
        message: `contract: ${method} ${path} → ${res.status} breaks the spec:\n  ` +
          violations.join('\n  ') + `\n  body: ${text.slice(0, 400)}`,
      });
    }
  }
  return out;
}

/** Sends raw bytes over TCP and returns the whole raw response text. */
export function raw(port, bytes, { timeoutMs = 5000 } = {}) {
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, '127.0.0.1');
    let out = '';
    const timer = setTimeout(() => { sock.destroy(); resolve(out); }, timeoutMs);
    sock.on('data', (d) => { out += d.toString('latin1'); });
    sock.on('error', (e) => { clearTimeout(timer); if (out) resolve(out); else reject(e); });
    sock.on('close', () => { clearTimeout(timer); resolve(out); });
    sock.write(bytes);
  });
}

/** Asserts an RFC 9457 problem response with the given status. */
export function assertProblem(r, status) {
  assert.equal(r.status, status, `status ${r.status}: ${r.text}`);
  assert.match(r.headers.get('content-type') || '', /^application\/problem\+json/);
  assert.equal(r.body.status, status);
  assert.equal(typeof r.body.type, 'string');
  assert.equal(typeof r.body.title, 'string');
}

/** A private PostgreSQL cluster for tests that stop and start it. */
export function privateCluster() {
  const dir = mkdtempSync(join(TMP, 'pgc-'));
  chmodSync(dir, 0o755);
  const port = 30000 + Math.floor(Math.random() * 20000);
  const sh = (...a) => execFileSync(PG_SH, a, { encoding: 'utf8' });
  sh('start', dir, String(port));
  sh('createdb', dir, String(port), 'medqa');
  const url = sh('url', dir, String(port), 'medqa').trim();
  return {
    dir, port, url,
    start: () => sh('start', dir, String(port)),
    stop: () => sh('stop', dir),
  };
}

export function writeTemp(name, text) {
  const dir = mkdtempSync(join(TMP, 'f-'));
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}
