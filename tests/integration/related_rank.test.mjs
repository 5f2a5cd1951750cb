// GET /related, issue 16: near-identical questions take one place, the
// lay <-> medical vocabulary bridges different wordings (matched as
// phrases), and reasons read as the texts do.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { req, psql } from './lib/medqa.mjs';
import { demoServer, createQuestion, createTopic } from './lib/fixtures.mjs';

let db;
let app;
let editor;

// A question in the caller's words, with no topics (createQuestion's
// defaults carry one, which would make every question share it).
async function ask(title, body, department, language = 'en') {
  return (await createQuestion(m.base, app, { title, body, department, language, topics: undefined })).id;
}

const m = demoServer({ keys: { app: 'app', editor: 'editor' } });
before(async () => {
  ({ db, keys: { app, editor } } = await m.ready);
});

test('near-identical paraphrases take at most one of the four Similar Q&A places', async () => {
  const same = [];
  same.push(await ask('Hiccups for two days after spicy noodles',
    'I have had hiccups for two days since eating very spicy noodles and they will not stop.', 'gastroenterology'));
  same.push(await ask('Hiccups for two days after spicy noodles!',
    'I have had hiccups for two days since eating really spicy noodles and they will not stop.', 'gastroenterology'));
  same.push(await ask('Hiccups two days after spicy noodles',
    'I have had the hiccups for two days since eating very spicy noodles and they just will not stop.', 'gastroenterology'));
  const other = [];
  other.push(await ask('Hiccups every night that wake me up',
    'Hiccups start around midnight and keep me awake for an hour.', 'gastroenterology'));
  other.push(await ask('Hiccups with heartburn after big meals',
    'After a big dinner I get hiccups and a burning feeling behind the breastbone.', 'gastroenterology'));
  other.push(await ask('Can hiccups last for weeks?',
    'A friend says hiccups that last weeks need tests. Mine come and go after spicy food.', 'gastroenterology'));
  const src = await ask('Hiccups that will not stop after spicy noodles',
    'Two days of hiccups since a bowl of very spicy noodles.', 'gastroenterology');

  // The set-up is a real test: without the diversity step (the ablation
  // switch the eval uses) the paraphrases fill several places.
  const plain = JSON.parse(psql(db, `SET medqa.related_ablate = 'diversity';
    SELECT mq_related('${src}', NULL, NULL, 4, '')`));
  assert.ok(plain.questions.filter((q) => same.includes(q.id)).length >= 2,
    JSON.stringify(plain.questions.map((q) => q.title)));

  // A draft is not a question: the source is one more paraphrase of the
  // same story for it, so the group it may take one place from has four.
  for (const [path, group] of [[`/related?question_id=${src}&limit=4`, same],
    [`/related?text=${encodeURIComponent('Hiccups for two days after very spicy noodles, they will not stop')}&limit=4`,
      [...same, src]]]) {
    const r = await req(m.base, path);
    assert.equal(r.status, 200);
    const ids = r.body.questions.map((q) => q.id);
    assert.equal(ids.length, 4);
    assert.equal(ids.filter((id) => group.includes(id)).length, 1, JSON.stringify(r.body.questions.map((q) => q.title)));
    assert.ok(ids.filter((id) => other.includes(id)).length >= 2);
  }
});

test('a lay phrase finds its medical neighbour, and reasons say through which concept', async () => {
  const wets = await ask('Daughter of eight still wets the bed',
    'Our daughter is eight and still wets the bed most nights; she is dry all day.', 'pediatrics');
  const enuresis = await ask('Nocturnal enuresis at age nine',
    'The school nurse mentioned enuresis. Should we try a moisture alarm?', 'pediatrics');
  await ask('Burning when my son urinates', 'My son says it stings when he urinates, with a fever.', 'urology');
  const draft = 'My boy is 7 and he pees in his bed at night, should we see someone?';
  const r = await req(m.base, `/related?text=${encodeURIComponent(draft)}&limit=3`);
  assert.equal(r.status, 200);
  const ids = r.body.questions.map((q) => q.id);
  assert.ok(ids.includes(wets) && ids.includes(enuresis), JSON.stringify(r.body.questions.map((q) => q.title)));
  const byId = Object.fromEntries(r.body.questions.map((q) => [q.id, q]));
  assert.deepEqual(byId[wets].reasons.bridged.find((b) => b.via === 'bedwetting'),
    { term: 'wets the bed', via: 'bedwetting' }, JSON.stringify(byId[wets].reasons));
  assert.deepEqual(byId[enuresis].reasons.bridged.find((b) => b.via === 'bedwetting'),
    { term: 'enuresis', via: 'bedwetting' });
  assert.ok(byId[wets].reasons.matched_terms.includes('wets the bed'));
});

test('matched terms read as the texts do: words and phrases, never stems or lone characters', async () => {
  const x = await ask('Ringing in my ears after the concert',
    'Since the concert both ears keep ringing and buzzing, worse at night when everything is quiet.', 'otolaryngology');
  const y = await ask('耳鳴好幾個禮拜了', '最近耳鳴好幾個禮拜，晚上安靜的時候特別明顯，需要看醫生嗎？', 'otolaryngology', 'zh-TW');
  await ask('晚上耳鳴睡不著', '晚上耳鳴很大聲，安靜的時候更明顯。', 'otolaryngology', 'zh-TW');
  for (const src of [x, y]) {
    const r = await req(m.base, `/related?question_id=${src}&limit=4`);
    assert.equal(r.status, 200);
    assert.ok(r.body.questions.length > 0);
    for (const q of r.body.questions) {
      const page = await req(m.base, `/questions/${q.id}?include=replies`);
      const text = [page.body.title, page.body.body, ...(page.body.replies || []).map((p) => p.body)]
        .join('\n').toLowerCase();
      for (const t of q.reasons.matched_terms) {
        assert.ok(t.length >= 2, `"${t}" is a fragment`);
        assert.ok(text.includes(t), `"${t}" is not in "${q.title}"`);
      }
      for (const b of q.reasons.bridged) assert.ok(text.includes(b.term), `"${b.term}" is not in "${q.title}"`);
    }
  }
  const zh = await req(m.base, `/related?question_id=${y}&limit=4`);
  const first = zh.body.questions[0];
  assert.equal(first.title, '晚上耳鳴睡不著');
  // Runs of matched bigrams read whole: 耳鳴, and 安靜的時候 rather than 安靜 靜的 的時 時候.
  assert.ok(first.reasons.matched_terms.includes('耳鳴'), JSON.stringify(first.reasons));
  assert.ok(first.reasons.matched_terms.includes('安靜的時候'), JSON.stringify(first.reasons));
});

test('the department is a prior beside shared words, never a reason on its own', async () => {
  // A topic of its own, so that the question found through it is surely
  // among the topic's candidates.
  const topic = await createTopic(m.base, editor, { department: 'dermatology' });
  const src = (await createQuestion(m.base, app, {
    title: 'Quorvenish blotches after the zellbrook hike',
    body: 'Quorvenish blotches spread over both zellbrook-scratched ankles overnight.',
    department: 'dermatology', language: 'en', topics: [topic.slug],
  })).id;
  const lone = (await createQuestion(m.base, app, {
    title: 'Plimsoll query',
    body: 'Entirely separate wording, nothing alike.',
    department: 'dermatology', language: 'en', topics: [topic.slug],
  })).id;
  const r = await req(m.base, `/related?question_id=${src}&limit=20`);
  assert.equal(r.status, 200);
  const q = r.body.questions.find((x) => x.id === lone);
  assert.ok(q, JSON.stringify(r.body.questions.map((x) => x.title)));
  // It shares no term: its score is its shared topic's alone (0.15 x 1/1),
  // not that plus the department's 0.25, while the reasons still say where
  // it is.
  assert.deepEqual(q.reasons.matched_terms, []);
  assert.deepEqual(q.reasons.shared_topics, [topic.slug]);
  assert.equal(q.reasons.same_department, true);
  assert.equal(q.score, 0.15);
});
