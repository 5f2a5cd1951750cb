// The primary moves under a running medqa: a primary and a streaming
// replica (plain PostgreSQL, pg_basebackup, pg_ctl promote; `make
// failover-test` does the same under Patroni), DATABASE_URL naming both.
// The old primary turns read-only, the replica is promoted, and medqa
// must write to the new primary without a restart.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, chmodSync, chownSync } from 'node:fs';
import { join } from 'node:path';
import { startMedqa, runMedqa, req, TMP } from './lib/medqa.mjs';
import { auth, questionInput } from './lib/fixtures.mjs';

const root = process.getuid() === 0;
const bindir = execFileSync('sh', ['-c',
  'ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1'], { encoding: 'utf8' }).trim();

// PostgreSQL refuses root: as root its commands run as 'postgres', as
// scripts/pg.sh does.
function asOwner(cmd, args) {
  const [c, a] = root ? ['runuser', ['-u', 'postgres', '--', cmd, ...args]] : [cmd, args];
  return execFileSync(c, a, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

function psqlAt(node, sql) {
  return execFileSync('psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-tA', '-h', node.sock,
    '-p', String(node.port), '-U', 'medqa', '-d', 'medqa', '-c', sql], { encoding: 'utf8' }).trim();
}

const pg = (...a) => execFileSync('scripts/pg.sh', a, {
  encoding: 'utf8', env: { ...process.env, PG_WAL_LEVEL: 'replica', PG_SHARED_BUFFERS: '32MB' },
});

test('DATABASE_URL with two hosts: the primary turns read-only, the replica is promoted, writes go on without a restart', async () => {
  const base = mkdtempSync(join(TMP, 'failover-'));
  chmodSync(base, 0o755);
  const port = 30000 + Math.floor(Math.random() * 20000);
  const a = { dir: join(base, 'a'), port, sock: join(base, 'a', 'sock') };
  const b = { dir: join(base, 'b'), port: port + 1, sock: join(base, 'b', 'sock') };
  let m = null;
  try {
    pg('start', a.dir, String(a.port));
    pg('createdb', a.dir, String(a.port), 'medqa');
    // The standby: a base backup with standby.signal and primary_conninfo
    // (-R), started on its own socket and port.
    mkdirSync(b.dir);
    if (root) chownSync(b.dir, ...ownerIds());
    asOwner(`${bindir}/pg_basebackup`, ['-h', a.sock, '-p', String(a.port), '-U', 'medqa',
      '-D', join(b.dir, 'data'), '-R', '-X', 'stream', '-c', 'fast']);
    asOwner('mkdir', ['-p', b.sock]);
    pg('start', b.dir, String(b.port));
    assert.equal(psqlAt(b, 'SELECT pg_is_in_recovery()'), 't');

    const url = `postgresql:///medqa?host=${a.sock},${b.sock}&port=${a.port},${b.port}&user=medqa`;
    const mig = await runMedqa(['migrate'], { DATABASE_URL: url });
    assert.equal(mig.code, 0, mig.stderr);
    const key = await runMedqa(['keys', 'create', '--role', 'app', '--name', 'failover'],
      { DATABASE_URL: url });
    assert.equal(key.code, 0, key.stderr);
    const app = key.stdout.trim().split('\n').pop();

    m = await startMedqa({ url, env: { DATABASE_FAILOVER_TIMEOUT: '5' } });
    const post = (headers = {}) => req(m.base, '/questions', {
      method: 'POST', headers: auth(app, headers), json: questionInput({ topics: undefined }),
    });
    const made = [];
    for (let i = 0; i < 4; i++) {
      const r = await post(i % 2 ? { 'Idempotency-Key': `before-${i}` } : {});
      assert.equal(r.status, 201, r.text);
      made.push(r.body.id);
    }
    let ready = await req(m.base, '/readyz');
    assert.equal(ready.status, 200);
    assert.equal(ready.body.primary.host, a.sock);
    assert.equal(ready.body.primary.in_recovery, false);
    // The standby is streaming (it may take a moment to be listed).
    for (let i = 0; i < 50 && ready.body.primary.replicas.length === 0; i++) {
      await new Promise((r) => setTimeout(r, 100));
      ready = await req(m.base, '/readyz');
    }
    assert.equal(ready.body.primary.replicas.length, 1);
    assert.equal(ready.body.primary.replicas[0].state, 'streaming');

    // The old primary stops taking writes (as a demoted primary would) and
    // the replica becomes the primary.
    psqlAt(a, 'ALTER SYSTEM SET default_transaction_read_only = on');
    psqlAt(a, 'SELECT pg_reload_conf()');
    asOwner(`${bindir}/pg_ctl`, ['-D', join(b.dir, 'data'), '-w', 'promote']);

    // Writes with and without an Idempotency-Key: each is either carried
    // out (201) or refused with a 503 and Retry-After, never anything
    // else; the first connection of each worker may see 25006 inside a
    // transaction (a keyed POST) and answer 503. A plain POST that hit
    // 25006 did nothing on the old primary and is run on the new one.
    const seen = {};
    let ok = 0;
    const t0 = Date.now();
    for (let i = 0; ok < 6 && Date.now() - t0 < 15000; i++) {
      const r = await post(i % 2 ? { 'Idempotency-Key': `after-${i}` } : {});
      seen[r.status] = (seen[r.status] || 0) + 1;
      if (r.status === 201) {
        ok++;
        made.push(r.body.id);
      } else {
        assert.equal(r.status, 503, r.text);
        assert.ok(Number(r.headers.get('retry-after')) > 0);
      }
    }
    assert.equal(ok, 6, `writes after the promotion: ${JSON.stringify(seen)}`);
    assert.ok((seen[503] || 0) <= 2, `503s: ${JSON.stringify(seen)} (at most one per worker)`);
    ready = await req(m.base, '/readyz');
    assert.equal(ready.status, 200);
    assert.equal(ready.body.primary.host, b.sock);
    assert.equal(ready.body.primary.in_recovery, false);

    // The old primary gone altogether: medqa stays on the new one.
    pg('stop', a.dir);
    const r = await post({ 'Idempotency-Key': 'after-stop' });
    assert.equal(r.status, 201, r.text);
    made.push(r.body.id);

    // Every acknowledged write is on the new primary.
    const ids = made.map((id) => `'${id}'`).join(',');
    assert.equal(psqlAt(b, `SELECT count(*) FROM questions WHERE id IN (${ids})`), String(made.length));
    assert.match(m.logs(), /"msg":"connected to the primary","host":"[^"]*\/b\/sock"/);
  } finally {
    if (m) await m.stop();
    pg('stop', b.dir);
    pg('stop', a.dir);
  }
});

function ownerIds() {
  const id = (f) => Number(execFileSync('id', [f, 'postgres'], { encoding: 'utf8' }).trim());
  return [id('-u'), id('-g')];
}
