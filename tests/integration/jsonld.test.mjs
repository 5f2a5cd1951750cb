// GET /questions/{id} as schema.org JSON-LD (issue 14), checked by a JSON-LD
// processor (the `jsonld` npm package) that expands it with a local copy
// of schema.org's context and may fetch nothing: schemas/
// schemaorg-context.jsonld is data/releases/30.0/schemaorgcontext.jsonld
// of github.com/schemaorg/schemaorg (commit cc71c8e0), the file schema.org
// serves as its JSON-LD context. The expanded graph must hold what Google
// lists as required for Q&A (QAPage) rich results: QAPage.mainEntity;
// Question.name, answerCount, author.name, datePublished, and an
// acceptedAnswer or suggestedAnswer; Answer.text, author.name,
// datePublished.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import jsonld from 'jsonld';
import { req, assertProblem } from './lib/medqa.mjs';
import { demoServer, auth, createQuestion, createReply, IDS } from './lib/fixtures.mjs';

const S = 'http://schema.org/';
const CONTEXT = JSON.parse(readFileSync(new URL('./schemas/schemaorg-context.jsonld', import.meta.url), 'utf8'));
const WEB = 'https://qa.example.org/questions/{id}';

const m = demoServer({
  env: { PUBLIC_WEB_URL: WEB },
  keys: { editor: 'editor', app: 'app', lan: ['doctor', IDS.lan] },
});

const loaded = [];
// The only document the processor may load is schema.org's context, and
// it gets the local copy; anything else fails the expansion.
async function documentLoader(url) {
  loaded.push(url);
  if (/^https?:\/\/schema\.org\/?$/.test(url)) return { contextUrl: null, documentUrl: url, document: CONTEXT };
  throw new Error(`no network: ${url}`);
}

async function ld(id, headers = {}) {
  const r = await req(m.base, `/questions/${id}`, { headers: { accept: 'application/ld+json', ...headers } });
  return r;
}

const one = (node, prop) => {
  const v = node[S + prop];
  assert.ok(Array.isArray(v) && v.length > 0, `${prop} present`);
  return v;
};
const value = (node, prop) => one(node, prop)[0]['@value'];

// Google's required properties, on the expanded graph.
function assertGoogleQa(page) {
  assert.ok(page['@type'].includes(S + 'QAPage'), 'a QAPage');
  const q = one(page, 'mainEntity')[0];
  assert.deepEqual(q['@type'], [S + 'Question']);
  assert.ok(value(q, 'name').length > 0);
  assert.ok(Number.isInteger(value(q, 'answerCount')));
  assert.ok(value(one(q, 'author')[0], 'name').length > 0);
  assert.match(value(q, 'datePublished'), /^\d{4}-\d\d-\d\dT/);
  const answers = [...(q[S + 'acceptedAnswer'] || []), ...(q[S + 'suggestedAnswer'] || [])];
  assert.ok(answers.length > 0, 'an acceptedAnswer or suggestedAnswer');
  for (const a of answers) {
    assert.deepEqual(a['@type'], [S + 'Answer']);
    assert.ok(value(a, 'text').length > 0);
    assert.ok(value(one(a, 'author')[0], 'name').length > 0);
    assert.match(value(a, 'datePublished'), /^\d{4}-\d\d-\d\dT/);
  }
  return { q, answers };
}

test('the demo lip-twitching question expands offline and holds Google\'s required Q&A properties and its review', async () => {
  await m.ready;
  const r = await ld(IDS.lip);
  assert.equal(r.status, 200, r.text);
  assert.match(r.headers.get('content-type'), /^application\/ld\+json/);
  assert.match(r.headers.get('vary'), /Accept\b/);
  const doc = JSON.parse(r.text);
  assert.equal(doc['@context'], 'https://schema.org');
  loaded.length = 0;
  const expanded = await jsonld.expand(doc, { documentLoader });
  assert.deepEqual(loaded, ['https://schema.org'], 'only the context was loaded, locally');
  assert.equal(expanded.length, 1);
  const page = expanded[0];
  assert.deepEqual(page['@type'].sort(), [S + 'MedicalWebPage', S + 'QAPage']);
  const { q, answers } = assertGoogleQa(page);
  assert.equal(value(q, 'name'), 'Lip twitching');
  assert.equal(value(q, 'answerCount'), 2);
  const lipJson = (await req(m.base, `/questions/${IDS.lip}`)).body;
  assert.equal(value(one(q, 'author')[0], 'name'), lipJson.asker.name);
  assert.equal(q[S + 'acceptedAnswer'], undefined, 'nothing is accepted on medqa');
  const [doctor, editorial] = answers;
  assert.equal(value(one(doctor, 'author')[0], 'name'), 'Lan Shengxing');
  assert.deepEqual(one(doctor, 'author')[0]['@type'], [S + 'Person']);
  assert.equal(one(doctor, 'url')[0]['@id'], `${WEB.replace('{id}', IDS.lip)}#reply-${IDS.lipDoctorReply}`);
  assert.equal(value(editorial, 'name'), 'More Info');
  assert.deepEqual(one(editorial, 'author')[0]['@type'], [S + 'Organization']);
  // Page-level properties, the review among them.
  assert.equal(one(page, 'url')[0]['@id'], WEB.replace('{id}', IDS.lip));
  assert.ok(value(page, 'headline').length > 0);
  assert.equal(value(page, 'inLanguage'), 'en');
  assert.match(one(page, 'license')[0]['@id'], /^https:\/\/creativecommons\.org\/licenses\/by-sa\/4\.0/);
  assert.match(value(page, 'lastReviewed'), /^\d{4}-\d\d-\d\d$/);
  assert.equal(one(page, 'lastReviewed')[0]['@type'], S + 'Date');
  assert.equal(value(one(page, 'reviewedBy')[0], 'name'), 'Lan Shengxing');
  // The asker appears by pseudonym only: no age band or gender.
  assert.doesNotMatch(r.text, /age_band|20-29|female/);
  // The JSON representation is unchanged and varies by Accept too.
  const json = await req(m.base, `/questions/${IDS.lip}`);
  assert.match(json.headers.get('content-type'), /^application\/json/);
  assert.match(json.headers.get('vary'), /Accept\b/);
  assert.equal(json.body.id, IDS.lip);
  assert.notEqual(json.headers.get('etag'), r.headers.get('etag'));
});

test('a question no doctor has looked at has no review in its JSON-LD', async () => {
  await m.ready;
  const r = await ld(IDS.eczema);
  assert.equal(r.status, 200);
  const [page] = await jsonld.expand(JSON.parse(r.text), { documentLoader });
  assert.equal(page[S + 'lastReviewed'], undefined);
  assert.equal(page[S + 'reviewedBy'], undefined);
  const q = one(page, 'mainEntity')[0];
  assert.equal(value(q, 'answerCount'), 0);
  assert.equal(q[S + 'suggestedAnswer'], undefined);
});

test('a hidden reply is absent, and a hidden question is 404 even for an editor', async () => {
  await m.ready;
  const q = await createQuestion(m.base, m.keys.app);
  const kept = await createReply(m.base, m.keys.lan, q.id, { body: 'Kept reply: rest and see a neurologist.' });
  const gone = await createReply(m.base, m.keys.lan, q.id, { body: 'Hidden reply that must never be republished.' });
  const del = await req(m.base, `/replies/${gone.id}`, { method: 'DELETE', headers: auth(m.keys.editor) });
  assert.equal(del.status, 204);
  for (const headers of [{}, auth(m.keys.editor)]) {
    const r = await ld(q.id, headers);
    assert.equal(r.status, 200);
    assert.ok(!r.text.includes('Hidden reply'), 'hidden text absent');
    assert.ok(!r.text.includes(gone.id), 'hidden id absent');
    const [page] = await jsonld.expand(JSON.parse(r.text), { documentLoader });
    const { q: question, answers } = assertGoogleQa(page);
    assert.equal(value(question, 'answerCount'), 1);
    assert.deepEqual(answers.map((a) => value(a, 'text')), [kept.body]);
    assert.equal(value(one(page, 'reviewedBy')[0], 'name'), 'Lan Shengxing', 'the doctor\'s reply is a review');
  }
  const hide = await req(m.base, `/questions/${q.id}`, { method: 'DELETE', headers: auth(m.keys.editor) });
  assert.equal(hide.status, 204);
  assertProblem(await ld(q.id, auth(m.keys.editor)), 404);
  assertProblem(await ld(q.id), 404);
});
