// The database goes away under a running medqa and comes back.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startMedqa, req, assertProblem, privateCluster, runMedqa } from './lib/medqa.mjs';

test('PostgreSQL stopped: 503 within 2 s; started again: recovers without a restart', async () => {
  const pg = privateCluster();
  try {
    const mig = await runMedqa(['migrate'], { DATABASE_URL: pg.url });
    assert.equal(mig.code, 0, mig.stderr);
    const m = await startMedqa({ url: pg.url, db: 'medqa' });
    try {
      assert.equal((await req(m.base, '/readyz')).status, 200);
      assert.equal((await req(m.base, '/departments')).status, 200);
      pg.stop();
      for (const path of ['/readyz', '/departments']) {
        const t0 = Date.now();
        const r = await req(m.base, path);
        assert.ok(Date.now() - t0 < 2000, `${path} took ${Date.now() - t0} ms`);
        assertProblem(r, 503);
        assert.ok(Number(r.headers.get('retry-after')) > 0);
      }
      assert.equal((await req(m.base, '/healthz')).status, 200);
      pg.start();
      const t0 = Date.now();
      let ok = false;
      while (Date.now() - t0 < 5000) {
        const a = await req(m.base, '/readyz');
        const b = await req(m.base, '/departments');
        if (a.status === 200 && b.status === 200) { ok = true; break; }
        await new Promise((r) => setTimeout(r, 100));
      }
      assert.ok(ok, 'did not recover within 5 s');
    } finally {
      await m.stop();
    }
  } finally {
    pg.stop();
  }
});
