// /related at scale (migrations/0007) and search highlights: candidates
// found past a question's unique words, hidden content and self excluded
// at read time, tie order, zh-TW neighbours, the IDF refresh worker, and
// highlighted excerpts in relevance search.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { req, assertProblem, runMedqa, dbUrl, psql } from './lib/medqa.mjs';
import { demoServer, relatedSettled } from './lib/fixtures.mjs';

let db;
let editor;
let app;

async function key(role) {
  const r = await runMedqa(['keys', 'create', '--role', role, '--name', role], { DATABASE_URL: dbUrl(db) });
  assert.equal(r.code, 0, r.stderr);
  return r.stdout.trim().split('\n').pop();
}

async function ask(title, body, department, language = 'en') {
  const r = await req(m.base, '/questions', {
    method: 'POST', headers: { authorization: `Bearer ${app}` },
    json: { title, body, department, language, asker: { name: 'T', age_band: '30-39', gender: 'other' } },
  });
  assert.equal(r.status, 201, r.text);
  return r.body.id;
}

function doctorReply(qid, body) {
  const doc = psql(db, 'SELECT id FROM doctors ORDER BY id LIMIT 1');
  return psql(db, `INSERT INTO replies (question_id, kind, doctor_id, body)
                   VALUES ('${qid}', 'doctor', '${doc}', '${body.replace(/'/g, "''")}') RETURNING id`)
    .split('\n')[0];
}

const related = async (id, limit = 20) => {
  const r = await req(m.base, `/related?question_id=${id}&limit=${limit}`);
  assert.equal(r.status, 200, r.text);
  return r.body.questions;
};

const m = demoServer({
  env: { IDF_REFRESH_INTERVAL: '3600' },
  keys: { editor: 'editor', app: 'app' },
  // A fresh database's statistics are stale at once, so the worker
  // refreshes them right after start.
  prepare: (d) => psql(d, 'DELETE FROM term_df_total'),
});
before(async () => ({ db, keys: { editor, app } } = await m.ready));

test('the worker refreshes stale IDF statistics on start', async () => {
  let docs = '';
  for (let i = 0; i < 100 && docs === ''; i++) {
    docs = psql(db, 'SELECT docs FROM term_df_total');
    if (docs === '') await sleep(100);
  }
  assert.ok(Number(docs) > 0, 'term_df_total filled by the worker');
  assert.ok(Number(psql(db, 'SELECT count(*) FROM term_df')) > 0);
  // Fresh statistics are not refreshed again within the interval.
  assert.equal(psql(db, 'SELECT mq_refresh_df_if_stale(3600)'), 'f');
  assert.equal(psql(db, 'SELECT mq_refresh_df_if_stale(0)'), 't');
});

test('a question whose rarest words are its own still finds its neighbours', async () => {
  // Fifteen words nobody else uses: before 0007 they took all twelve
  // candidate slots and the neighbour sharing "kneecap grinding" was
  // never looked at.
  const own = 'zorbly quenth vasklip drumnet oplarix fenwrath glimmox tazzle brovent kwisp ' +
    'yarnoft plenish muzzark sneeve trovalt';
  const src = await ask('Kneecap grinding when I squat', `Kneecap grinding. ${own}.`, 'orthopedics');
  const mate = await ask('Grinding kneecap on stairs', 'My kneecap makes a grinding noise on stairs.', 'orthopedics');
  psql(db, 'SELECT mq_refresh_df()');
  // src's stored result predates mate: wait for the worker to redo it.
  await relatedSettled(db);
  const got = (await related(src, 4)).map((q) => q.id);
  assert.ok(got.includes(mate), `neighbour found: ${JSON.stringify(got)}`);
});

test('never itself, and never a question hidden after its list was first computed', async () => {
  const body = 'My wrist clicks and aches whenever I type on the keyboard for long.';
  const src = await ask('Clicking wrist when typing', body, 'orthopedics');
  const a = await ask('Clicking wrist when typing', body, 'orthopedics');
  const b = await ask('Clicking wrist when typing', body, 'orthopedics');
  const first = (await related(src)).map((q) => q.id);
  assert.ok(first.includes(a) && first.includes(b));
  assert.ok(!first.includes(src));
  const del = await req(m.base, `/questions/${a}`, { method: 'DELETE', headers: { authorization: `Bearer ${editor}` } });
  assert.equal(del.status, 204);
  const again = (await related(src)).map((q) => q.id);
  assert.ok(!again.includes(a), 'hidden question gone');
  assert.ok(again.includes(b));
  assert.ok(!again.includes(src));
  // The same for a draft.
  const d = await req(m.base, `/related?text=${encodeURIComponent('clicking wrist when typing on a keyboard')}&limit=20`);
  assert.equal(d.status, 200);
  assert.ok(!d.body.questions.some((q) => q.id === a));
});

test('a hidden doctor reply is never the excerpt', async () => {
  const body = 'My heel stings sharply with the first steps each morning.';
  const src = await ask('Stinging heel in the morning', body, 'orthopedics');
  const other = await ask('Stinging heel in the morning', body, 'orthopedics');
  const rid = doctorReply(other, 'Secret first reply that is later hidden.');
  let q = (await related(src)).find((x) => x.id === other);
  assert.equal(q.reply.excerpt, 'Secret first reply that is later hidden.');
  psql(db, `UPDATE replies SET deleted_at = now() WHERE id = '${rid}'`);
  q = (await related(src)).find((x) => x.id === other);
  assert.ok(q, 'the question itself stays visible');
  assert.equal(q.reply, null);
});

test('ties: answered first, then the newer', async () => {
  const body = 'My earlobe itches and flakes after I wear cheap earrings for a day.';
  // Equal scores without being near-identical to each other (which the
  // diversity step would collapse to one place): the same words shared
  // with the source, and as many words of their own, each in no other
  // question, so of equal weight.
  const own = () => Array.from({ length: 12 }, () =>
    `zq${Array.from(randomBytes(7), (x) => String.fromCharCode(97 + (x % 26))).join('')}`).join(' ');
  const src = await ask('Itchy flaking earlobe from earrings', body, 'dermatology');
  const oldOpen = await ask('Itchy flaking earlobe from earrings', `${body} ${own()}`, 'dermatology');
  const newOpen = await ask('Itchy flaking earlobe from earrings', `${body} ${own()}`, 'dermatology');
  const answered = await ask('Itchy flaking earlobe from earrings', `${body} ${own()}`, 'dermatology');
  psql(db, `UPDATE questions SET asked_at = now() - interval '3 days' WHERE id = '${oldOpen}';
            UPDATE questions SET asked_at = now() - interval '2 days' WHERE id = '${newOpen}';
            UPDATE questions SET asked_at = now() - interval '4 days' WHERE id = '${answered}'`);
  // Stop words only: answered without adding terms to the reply side.
  doctorReply(answered, 'It is.');
  const got = await related(src, 3);
  assert.deepEqual(got.map((q) => q.id), [answered, newOpen, oldOpen]);
  assert.equal(got[0].score, got[1].score);
  assert.equal(got[1].score, got[2].score);
});

test('a zh-TW question finds its zh-TW neighbours first', async () => {
  const src = await ask('最近晚上一直失眠', '躺在床上翻來覆去，常常到凌晨三點還睡不著，白天很累。', 'psychiatry', 'zh-TW');
  const n1 = await ask('失眠好幾個月了', '每天晚上都睡不著，吃了褪黑激素也沒有用。', 'psychiatry', 'zh-TW');
  const n2 = await ask('半夜醒來就睡不著', '凌晨醒來以後再也睡不著，白天精神很差。', 'psychiatry', 'zh-TW');
  const n3 = await ask('壓力大晚上失眠', '工作壓力大，晚上躺在床上腦袋停不下來。', 'psychiatry', 'zh-TW');
  const decoy = await ask('頭痛又想吐', '這幾天頭很痛，還會想吐，晚上也會痛。', 'neurology', 'zh-TW');
  psql(db, 'SELECT mq_refresh_df()');
  const got = (await related(src, 3)).map((q) => q.id);
  assert.deepEqual([...got].sort(), [n1, n2, n3].sort());
  assert.ok(!got.includes(decoy));
  // A draft in zh-TW too.
  const d = await req(m.base, `/related?text=${encodeURIComponent('晚上失眠睡不著怎麼辦')}&limit=3`);
  assert.equal(d.status, 200);
  assert.ok([n1, n2, n3, src].includes(d.body.questions[0].id));
});

test('an empty or whitespace-only draft is a 400', async () => {
  for (const t of ['', ' ', '%20%09%0A']) assertProblem(await req(m.base, `/related?text=${t}`), 400);
});

test('relevance search returns highlighted, HTML-escaped excerpts', async () => {
  const id = await ask('Quillbrook rash on the elbow',
    'A <b>quillbrook</b> rash & blisters showed up on my elbow after hiking.', 'dermatology');
  const r = await req(m.base, '/questions?q=quillbrook%20rash&sort=relevance&limit=5');
  assert.equal(r.status, 200);
  const hit = r.body.data.find((q) => q.id === id);
  assert.ok(hit, 'found');
  assert.match(hit.highlight, /<mark>quillbrook<\/mark>/i);
  assert.match(hit.highlight, /<mark>rash<\/mark>/i);
  assert.ok(hit.highlight.includes('&lt;/b&gt;') && hit.highlight.includes('&amp;'), hit.highlight);
  assert.ok(!/<\/?b>/.test(hit.highlight));
  for (const q of r.body.data) assert.equal(typeof q.highlight, 'string');
  // Only relevance search carries it.
  const plain = await req(m.base, '/questions?q=quillbrook&limit=5');
  assert.equal(plain.status, 200);
  assert.ok(plain.body.data.length > 0 && plain.body.data.every((q) => !('highlight' in q)));
});

test('zh-TW search marks the matching characters', async () => {
  const id = await ask('膝蓋痠痛', '爬樓梯的時候膝蓋痠痛，蹲下去也會痛。', 'orthopedics', 'zh-TW');
  const r = await req(m.base, `/questions?q=${encodeURIComponent('膝蓋痠痛')}&sort=relevance&limit=5`);
  assert.equal(r.status, 200);
  const hit = r.body.data.find((q) => q.id === id);
  assert.ok(hit, 'found');
  assert.ok(hit.highlight.includes('<mark>膝蓋痠痛</mark>'), hit.highlight);
});

test('relevance search applies its filters before capping candidates', async () => {
  const a = await ask('Wobbleton cough at night', 'A wobbleton cough keeps me up.', 'internal-medicine');
  const b = await ask('Wobbleton cough in my child', 'My son has a wobbleton cough.', 'pediatrics');
  const r = await req(m.base, '/questions?q=wobbleton&sort=relevance&department=pediatrics');
  assert.equal(r.status, 200);
  assert.deepEqual(r.body.data.map((q) => q.id), [b]);
  const all = await req(m.base, '/questions?q=wobbleton&sort=relevance');
  assert.deepEqual(all.body.data.map((q) => q.id).sort(), [a, b].sort());
});

test('relevance search finds a question through its doctor reply alone', async () => {
  const id = await ask('Big toe hot and swollen overnight', 'My big toe went red and swollen overnight.', 'internal-medicine');
  const plain = await req(m.base, '/questions?q=podagrism&sort=relevance');
  assert.equal(plain.body.data.length, 0);
  doctorReply(id, 'This looks like podagrism, an acute gout flare of the big toe.');
  const r = await req(m.base, '/questions?q=podagrism&sort=relevance');
  assert.equal(r.status, 200);
  assert.deepEqual(r.body.data.map((q) => q.id), [id]);
  assert.equal(typeof r.body.data[0].highlight, 'string');
});

test('relevance search ranks a question titled with the query past 500 older matches in the body', async () => {
  // 700 older questions mention the words in their bodies only, and at
  // least 500 of them come first in index order (checked; VACUUM FULL
  // leaves no free space before them for the new one to land in), so a
  // cap over plain index order never ranked the one whose title is the
  // query (issue 16, search MRR at 100,000 synthetic questions).
  psql(db, `INSERT INTO questions (title, body, department_slug, asked_at,
                           asker_name, asker_age_band, asker_gender)
    SELECT 'Question ' || g, 'Some days my glimmerfen crossbark feels worse than others, note ' || g,
           'internal-medicine', now() - interval '30 days', 'T', '30-39', 'other'
    FROM generate_series(1, 700) AS g`);
  psql(db, 'VACUUM FULL questions');
  const id = await ask('Glimmerfen crossbark after a long walk', 'It started last week.', 'internal-medicine');
  assert.ok(Number(psql(db, `SELECT count(*) FROM questions
    WHERE body LIKE '%glimmerfen crossbark%' AND ctid < (SELECT ctid FROM questions WHERE id = '${id}')`)) >= 500);
  for (const dept of [null, 'internal-medicine']) {
    const qs = new URLSearchParams({ q: 'glimmerfen crossbark', sort: 'relevance', limit: '5' });
    if (dept) qs.set('department', dept);
    const r = await req(m.base, `/questions?${qs}`);
    assert.equal(r.status, 200);
    assert.equal(r.body.data[0].id, id, JSON.stringify(r.body.data.map((q) => q.title)));
    assert.equal(r.body.data.length, 5);
  }
  // The filters hold in both tiers: another department has none of them.
  const other = await req(m.base, '/questions?q=glimmerfen+crossbark&sort=relevance&department=pediatrics');
  assert.equal(other.status, 200);
  assert.equal(other.body.data.length, 0);
});
