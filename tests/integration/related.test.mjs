// GET /related and include=related: similar questions and related topics.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { req, assertProblem, psql } from './lib/medqa.mjs';
import { demoServer } from './lib/fixtures.mjs';

let db;
let editor;
let app;
const byTitle = {};

async function ask(title, body, department, language = 'en', topics = []) {
  const r = await req(m.base, '/questions', {
    method: 'POST', headers: { authorization: `Bearer ${app}` },
    json: { title, body, department, language, topics, asker: { name: 'T', age_band: '30-39', gender: 'other' } },
  });
  assert.equal(r.status, 201, r.text);
  return r.body.id;
}

const m = demoServer({ keys: { editor: 'editor', app: 'app' } });
before(async () => {
  ({ db, keys: { editor, app } } = await m.ready);
  const list = await req(m.base, '/questions?limit=100');
  for (const q of list.body.data) byTitle[q.title] = q.id;
});

test('the lip-twitching page finds the four similar neurology twitching questions', async () => {
  const id = byTitle['Lip twitching'];
  const r = await req(m.base, `/related?question_id=${id}&limit=4`);
  assert.equal(r.status, 200);
  assert.equal(r.body.question_id, id);
  assert.equal(r.body.questions.length, 4);
  for (const q of r.body.questions) {
    assert.equal(q.department.slug, 'neurology');
    assert.match(q.title, /twitch/i);
    assert.ok(q.score > 0 && q.score <= 1);
    assert.equal(typeof q.excerpt, 'string');
    assert.ok(q.reply && q.reply.doctor.name && q.reply.excerpt);
    assert.equal(q.reasons.same_department, true);
  }
  const scores = r.body.questions.map((q) => q.score);
  assert.deepEqual(scores, [...scores].sort((a, b) => b - a));
  assert.ok(r.body.topics.length > 0);
  assert.ok(r.body.topics.some((t) => t.slug === 'facial-twitching'));
});

test('never the question itself', async () => {
  for (const id of Object.values(byTitle)) {
    const r = await req(m.base, `/related?question_id=${id}&limit=20`);
    assert.equal(r.status, 200);
    assert.ok(!r.body.questions.some((q) => q.id === id));
  }
});

test('hidden questions never appear, and a hidden source is 404', async () => {
  const lip = byTitle['Lip twitching'];
  const first = (await req(m.base, `/related?question_id=${lip}&limit=4`)).body.questions[0].id;
  const del = await req(m.base, `/questions/${first}`, { method: 'DELETE', headers: { authorization: `Bearer ${editor}` } });
  assert.equal(del.status, 204);
  const r = await req(m.base, `/related?question_id=${lip}&limit=20`);
  assert.ok(!r.body.questions.some((q) => q.id === first));
  const d = await req(m.base, `/related?text=${encodeURIComponent('cheek twitching stage fright')}&limit=20`);
  assert.ok(!d.body.questions.some((q) => q.id === first));
  assertProblem(await req(m.base, `/related?question_id=${first}`), 404);
});

test('answered questions come first when scores tie', async () => {
  // a and b each share one made-up word with the source, and nothing with
  // each other (near-identical questions would take one place only): the
  // same weights, so their scores tie.
  const a = await ask('Zorblat clicking on stairs', 'My kneecap zorblat, and vaxtrel when I climb.', 'orthopedics');
  const b = await ask('Quenmip clicking on stairs', 'My kneecap quenmip, and plimsov when I climb.', 'orthopedics');
  const src = await ask('Zorblat quenmip', 'Zorblat and quenmip.', 'orthopedics');
  // Answer the older of the two: an unanswered newer one would otherwise win the tie.
  const doc = psql(db, "SELECT id FROM doctors LIMIT 1");
  // A reply of stop words only: it makes the question answered without
  // adding terms, since doctor replies count towards similarity.
  psql(db, `INSERT INTO replies (question_id, kind, doctor_id, body) VALUES ('${a}', 'doctor', '${doc}', 'It is.')`);
  const r = await req(m.base, `/related?question_id=${src}&limit=2`);
  assert.equal(r.body.questions.length, 2);
  assert.equal(r.body.questions[0].score, r.body.questions[1].score);
  assert.equal(r.body.questions[0].id, a);
  assert.notEqual(r.body.questions[0].reply, null);
  assert.equal(r.body.questions[1].id, b);
  assert.equal(r.body.questions[1].reply, null);
});

test('a zh-TW question finds its zh-TW neighbours', async () => {
  const x = await ask('眼皮一直跳動怎麼辦', '這幾天左眼皮一直跳，睡眠不足又喝很多咖啡，需要看醫生嗎？', 'neurology', 'zh-TW');
  const r = await req(m.base, `/related?question_id=${x}&limit=4`);
  assert.equal(r.status, 200);
  const zh = byTitle['右眼皮一直跳，已經兩個禮拜了'];
  assert.ok(zh, 'demo zh-TW question present');
  assert.equal(r.body.questions[0].id, zh);
  // Matched bigrams read as the run they form in the text (眼皮一直跳), not 眼皮 皮一 一直.
  assert.ok(r.body.questions[0].reasons.matched_terms.some((t) => t.includes('眼皮') && t.length > 2),
    JSON.stringify(r.body.questions[0].reasons));
});

test('a draft finds existing answers before it is posted; its department is a prior, not a wall', async () => {
  const text = 'the corner of my mouth keeps twitching when I talk';
  const r = await req(m.base, `/related?text=${encodeURIComponent(text)}&limit=3`);
  assert.equal(r.status, 200);
  assert.equal(r.body.question_id, null);
  assert.ok(r.body.questions.length > 0);
  assert.match(r.body.questions[0].title, /twitch/i);
  assert.ok(!r.body.questions.some((q) => q.department.slug === 'dermatology'));
  // Given a department, its questions move up (here one enters the three),
  // but a strong match elsewhere stays first.
  const d = await req(m.base, `/related?text=${encodeURIComponent(text)}&department=dermatology&limit=3`);
  assert.ok(d.body.questions.some((q) => q.department.slug === 'dermatology'), JSON.stringify(d.body.questions.map((q) => q.title)));
  assert.equal(d.body.questions[0].id, r.body.questions[0].id);
  for (const q of d.body.questions) assert.equal(q.reasons.same_department, q.department.slug === 'dermatology');
});

test('include=related embeds the same result in the question page', async () => {
  const id = byTitle['Lip twitching'];
  const page = await req(m.base, `/questions/${id}?include=replies,related`);
  assert.equal(page.status, 200);
  const alone = await req(m.base, `/related?question_id=${id}&limit=4`);
  assert.deepEqual(page.body.related, alone.body);
  assert.ok(Array.isArray(page.body.replies));
});

test('bad requests are 400: empty or whitespace text, both or neither source, out-of-range limit', async () => {
  for (const qs of ['text=', 'text=%20%20%09', '', `question_id=${byTitle['Lip twitching']}&text=x`,
    'question_id=not-a-uuid', 'text=x&limit=0', 'text=x&limit=21',
    `question_id=${byTitle['Lip twitching']}&department=neurology`, 'text=x&department=Not%20A%20Slug']) {
    const r = await req(m.base, `/related?${qs}`);
    assertProblem(r, 400);
  }
});

test('an unknown question is 404', async () => {
  assertProblem(await req(m.base, '/related?question_id=00000000-0000-4000-8000-000000000000'), 404);
});

test('equal scores order alike in /related and include=related, call after call', async () => {
  // Six questions asked at the same instant, each sharing one made-up word
  // of the same weight with the source and nothing with each other (copies
  // would be near-identical and take one place): their scores against the
  // source tie exactly, and only the id can order them.
  const words = ['brimzot', 'clevvak', 'drumpel', 'frenzik', 'glopmar', 'hextrav'];
  const ids = [];
  for (const [i, w] of words.entries()) {
    ids.push(await ask(`My toe went ${w} after stubbing it`, `It is ${w} and ${['jorvil', 'kwimbat', 'lupnex', 'mordrik', 'nuxplen', 'pravtok'][i]} now.`, 'orthopedics'));
  }
  const src = await ask(`Toe ${words.join(' ')}`, 'After stubbing it.', 'orthopedics');
  psql(db, `UPDATE questions SET asked_at = '2024-05-01T10:00:00Z' WHERE id IN (${ids.map((x) => `'${x}'`).join(',')})`);
  const want = [...ids].sort().slice(0, 4);
  // Several calls, so that pooled connections switch to generic plans.
  for (let i = 0; i < 8; i++) {
    const alone = await req(m.base, `/related?question_id=${src}&limit=4`);
    assert.equal(alone.status, 200);
    assert.deepEqual(alone.body.questions.map((q) => q.id), want);
    const scores = new Set(alone.body.questions.map((q) => q.score));
    assert.equal(scores.size, 1, 'the six tie');
    const page = await req(m.base, `/questions/${src}?include=related`);
    assert.deepEqual(page.body.related, alone.body);
    const longer = await req(m.base, `/related?question_id=${src}&limit=10`);
    assert.deepEqual(longer.body.questions.slice(0, 4), alone.body.questions);
  }
});

test('term statistics follow every write without a refresh', async () => {
  // After writes (a new question, a doctor reply, a hidden question) the
  // kept statistics equal a full recount: what mq_refresh_df() would
  // compute.
  const x = await ask('Chilblains on my toes every winter', 'Itchy purple chilblains on my toes whenever it gets cold.', 'dermatology');
  const doc = psql(db, 'SELECT id FROM doctors LIMIT 1');
  psql(db, `INSERT INTO replies (question_id, kind, doctor_id, body) VALUES ('${x}', 'doctor', '${doc}', 'Pernio: keep your feet warm and dry.')`);
  const y = await ask('Chilblains again', 'Chilblains came back on two toes.', 'dermatology');
  const del = await req(m.base, `/questions/${y}`, { method: 'DELETE', headers: { authorization: `Bearer ${editor}` } });
  assert.equal(del.status, 204);
  const diff = psql(db, `
    WITH kept AS (
      SELECT l AS lexeme, sum(df)::bigint AS df FROM (
        SELECT lexeme AS l, df FROM term_df
        UNION ALL SELECT lexeme, delta FROM term_df_pending WHERE lexeme <> '') s
      GROUP BY l HAVING sum(df) <> 0),
    counted AS (
      SELECT word AS lexeme, ndoc::bigint AS df FROM ts_stat(
        'SELECT related_terms || reply_terms FROM questions WHERE deleted_at IS NULL'))
    SELECT count(*) FROM ((TABLE kept EXCEPT TABLE counted) UNION ALL (TABLE counted EXCEPT TABLE kept)) d`);
  assert.equal(diff, '0');
  const docs = psql(db, `SELECT (SELECT docs FROM term_df_total)
    + coalesce((SELECT sum(delta) FROM term_df_pending WHERE lexeme = ''), 0)
    - (SELECT count(*) FROM questions WHERE deleted_at IS NULL)`);
  assert.equal(docs, '0');
  assert.ok(Number(psql(db, "SELECT count(*) FROM term_df WHERE lexeme = 'pernio'")) === 1);
});
