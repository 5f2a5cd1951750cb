// Scale-out settings: reads routed to DATABASE_READ_URL, and
// DATABASE_POOL_MODE=transaction behind a real PgBouncer in transaction
// pooling mode.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, chmodSync, readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import net from 'node:net';
import {
  startMedqa, runMedqa, req, createDb, dbUrl, psql, PG_SOCK, PG_PORT, TMP,
} from './lib/medqa.mjs';
import {
  seedDemo, createKey, auth, createQuestion, createReply, questionInput, IDS,
} from './lib/fixtures.mjs';

test('DATABASE_READ_URL: anonymous and partner reads come from the read database, writes and writers\' reads from the primary', async () => {
  const db = createDb();
  await seedDemo(db);
  const app = await createKey(db, 'app');
  const partner = await createKey(db, 'partner');

  // The "replica": a copy of the primary taken now, marked so that an
  // answer from it can be told apart, and read-only like a hot standby.
  const readDb = 'r' + db;
  execFileSync('createdb', ['-h', PG_SOCK, '-p', String(PG_PORT), '-U', 'medqa',
    '-T', db, readDb]);
  psql(readDb, `UPDATE questions SET title = 'Read from the replica' WHERE id = '${IDS.lip}'`);
  psql('postgres', `ALTER DATABASE ${readDb} SET default_transaction_read_only = on`);

  const m = await startMedqa({ db, env: { DATABASE_READ_URL: dbUrl(readDb) } });
  try {
    const ready = await req(m.base, '/readyz');
    assert.equal(ready.status, 200);
    assert.deepEqual([ready.body.status, ready.body.database, ready.body.read_database], ['ready', 'ok', 'ok']);

    const anon = await req(m.base, `/questions/${IDS.lip}`);
    assert.equal(anon.status, 200);
    assert.equal(anon.body.title, 'Read from the replica');
    const byPartner = await req(m.base, `/questions/${IDS.lip}`, { headers: auth(partner) });
    assert.equal(byPartner.body.title, 'Read from the replica');
    // Lists (composed statements) too.
    const list = await req(m.base, '/questions?department=neurology&limit=50');
    assert.ok(list.body.data.some((q) => q.title === 'Read from the replica'));

    // A caller who writes reads from the primary: it sees its own writes.
    const byApp = await req(m.base, `/questions/${IDS.lip}`, { headers: auth(app) });
    assert.equal(byApp.body.title, 'Lip twitching');

    // Writes go to the primary (the read database refuses them), in one
    // transaction with an Idempotency-Key as well as without.
    const q = await createQuestion(m.base, app, { title: 'Written to the primary' },
      { 'Idempotency-Key': 'scaleout-1' });
    assert.equal((await req(m.base, `/questions/${q.id}`, { headers: auth(app) })).status, 200);
    assert.equal((await req(m.base, `/questions/${q.id}`)).status, 404, 'not on the replica');
    assert.equal(psql(db, `SELECT title FROM questions WHERE id = '${q.id}'`), 'Written to the primary');
    assert.equal(psql(readDb, `SELECT count(*) FROM questions WHERE id = '${q.id}'`), '0');
  } finally {
    await m.stop();
  }
});

test('DATABASE_READ_URL out of reach: reads fall back to the primary and /readyz says so', async () => {
  const db = createDb();
  await seedDemo(db);
  // Nothing listens on this socket.
  const nowhere = `postgresql:///medqa?host=${mkdtempSync(join(TMP, 'nopg-'))}&port=1&user=medqa`;
  const m = await startMedqa({ db, env: { DATABASE_READ_URL: nowhere } });
  try {
    const ready = await req(m.base, '/readyz');
    assert.equal(ready.status, 200);
    assert.equal(ready.body.read_database, 'unavailable');
    const r = await req(m.base, `/questions/${IDS.lip}`);
    assert.equal(r.status, 200);
    assert.equal(r.body.title, 'Lip twitching');
    assert.match(m.logs(), /read database unavailable/);
  } finally {
    await m.stop();
  }
});

test('DATABASE_POOL_MODE: anything but session or transaction stops medqa with one line', async () => {
  const r = await runMedqa(['serve'], { DATABASE_POOL_MODE: 'statement', PORT: '0' });
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /DATABASE_POOL_MODE: invalid value; accepts session or transaction/);
});

// A PgBouncer in transaction pooling mode with ONE server connection per
// database: every client shares it, so any session state medqa left behind
// (a prepared statement, a setting) would be visible to the next client.
async function startPgbouncer() {
  const dir = mkdtempSync(join(TMP, 'pgb-'));
  chmodSync(dir, 0o755);
  const asRoot = process.getuid() === 0;
  // Its log is written by the user it runs as.
  if (asRoot) execFileSync('chown', ['postgres:', dir]);
  const port = await new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const p = s.address().port;
      s.close(() => resolve(p));
    });
  });
  writeFileSync(join(dir, 'users.txt'), '"medqa" ""\n');
  writeFileSync(join(dir, 'pgbouncer.ini'), [
    '[databases]',
    `* = host=${PG_SOCK} port=${PG_PORT}`,
    '[pgbouncer]',
    'listen_addr = 127.0.0.1',
    `listen_port = ${port}`,
    'unix_socket_dir =',
    'auth_type = trust',
    `auth_file = ${join(dir, 'users.txt')}`,
    'pool_mode = transaction',
    'default_pool_size = 1',
    'max_client_conn = 100',
    `logfile = ${join(dir, 'pgbouncer.log')}`,
    '',
  ].join('\n'));
  // PgBouncer refuses to run as root, like PostgreSQL.
  const bin = '/usr/sbin/pgbouncer';
  const proc = asRoot
    ? spawn('runuser', ['-u', 'postgres', '--', bin, join(dir, 'pgbouncer.ini')], { stdio: 'ignore' })
    : spawn(bin, [join(dir, 'pgbouncer.ini')], { stdio: 'ignore' });
  for (let i = 0; i < 100; i++) {
    const up = await new Promise((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => { s.destroy(); resolve(true); });
      s.on('error', () => resolve(false));
    });
    if (up) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  const log = () => (existsSync(join(dir, 'pgbouncer.log')) ? readFileSync(join(dir, 'pgbouncer.log'), 'utf8') : '');
  return {
    url: (name) => `postgresql://medqa@127.0.0.1:${port}/${name}`,
    port,
    log,
    stop: () => new Promise((resolve) => {
      if (proc.exitCode !== null) return resolve();
      proc.on('exit', resolve);
      proc.kill('SIGTERM');
    }),
  };
}

test('DATABASE_POOL_MODE=transaction through PgBouncer (transaction pooling, one server connection): reads, lists, writes, idempotent replays; nothing prepared', async () => {
  const db = createDb();
  await seedDemo(db);
  const app = await createKey(db, 'app');
  const doctor = await createKey(db, 'doctor', { doctor: IDS.lan });
  const bouncer = await startPgbouncer();
  const m = await startMedqa({
    db,
    url: bouncer.url(db),
    env: { DATABASE_POOL_MODE: 'transaction', DATABASE_READ_URL: bouncer.url(db), WORKERS: '3' },
  });
  try {
    // Several requests at once, so the workers' client connections take
    // turns on the one server connection.
    const gets = await Promise.all(Array.from({ length: 12 }, (_, i) => req(m.base,
      i % 3 === 0 ? `/questions/${IDS.lip}?include=replies`
        : i % 3 === 1 ? '/questions?department=neurology&limit=5'
          : '/questions?q=twitching&sort=relevance&limit=3')));
    for (const g of gets) assert.equal(g.status, 200, g.text);

    const headers = { 'Idempotency-Key': 'pooled-1' };
    const q = await createQuestion(m.base, app, { title: 'Asked through PgBouncer' }, headers);
    const again = await req(m.base, '/questions', {
      method: 'POST', headers: auth(app, headers),
      json: questionInput({ title: 'Asked through PgBouncer' }),
    });
    assert.equal(again.status, 201);
    assert.equal(again.headers.get('idempotent-replayed'), 'true');
    assert.equal(again.body.id, q.id);
    await createReply(m.base, doctor, q.id);
    const got = await req(m.base, `/questions/${q.id}?include=replies`, { headers: auth(app) });
    assert.equal(got.status, 200);
    assert.equal(got.body.state, 'answered');
    const ready = await req(m.base, '/readyz');
    assert.deepEqual([ready.body.status, ready.body.database, ready.body.read_database], ['ready', 'ok', 'ok']);

    // The one server connection every client shared holds no prepared
    // statement: medqa sent only unnamed ones.
    const left = execFileSync('psql', ['-X', '-tA', bouncer.url(db), '-c',
      'SELECT count(*) FROM pg_prepared_statements'], { encoding: 'utf8' }).trim();
    assert.equal(left, '0');
  } finally {
    await m.stop();
    await bouncer.stop();
  }
});
