// Content a partner can publish (issue 14), and the friction client
// developers met: `include` in both forms, conditional-request headers
// declared, /changes' never-null cursor said, and no literal non-ASCII
// white space in any pattern of the spec.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { req, assertProblem } from './lib/medqa.mjs';
import { demoServer, IDS, auth, questionInput, relatedSettled } from './lib/fixtures.mjs';

const SPEC_TEXT = readFileSync(new URL('../../openapi/openapi.yaml', import.meta.url), 'utf8');
const SPEC = parse(SPEC_TEXT);

const m = demoServer({ keys: { app: 'app', editor: 'editor', partner: 'partner', lan: ['doctor', IDS.lan] } });

// Every `pattern` in the parsed spec (YAML escapes already applied).
function patterns(node, out = []) {
  if (Array.isArray(node)) node.forEach((n) => patterns(n, out));
  else if (node && typeof node === 'object') {
    for (const [k, v] of Object.entries(node)) {
      if (k === 'pattern' && typeof v === 'string') out.push(v);
      else patterns(v, out);
    }
  }
  return out;
}

test('no pattern in the spec holds a literal non-ASCII white-space character', () => {
  const all = patterns(SPEC);
  assert.ok(all.length > 5, 'the spec has patterns');
  // \s in JavaScript is every Unicode white space; ASCII ones are written
  // as themselves or \s, never needed literally in a pattern either.
  const bad = all.filter((p) => /[^\x21-\x7e]/.test(p));
  assert.deepEqual(bad, [], 'patterns with characters outside printable ASCII');
  // The not-blank pattern still means "not blank" in JavaScript's reading.
  const notBlank = all.find((p) => p.startsWith('[^\\s\\u00a0'));
  assert.ok(notBlank);
  const re = new RegExp(notBlank, 'u');
  assert.equal(re.test('\u00a0\u3000 \t\ufeff'), false);
  assert.equal(re.test(' a '), true);
});

test('the not-blank pattern is enforced by medqa with the \\u escapes', async () => {
  await m.ready;
  const blank = await req(m.base, '/questions', {
    method: 'POST', headers: auth(m.keys.app),
    json: questionInput({ title: '\u3000\u00a0\u2003' }),
  });
  assertProblem(blank, 400);
  assert.deepEqual(blank.body.errors.map((e) => e.pointer), ['/title']);
  const fine = await req(m.base, '/questions', {
    method: 'POST', headers: auth(m.keys.app), json: questionInput({ title: '\u3000Lip\u00a0twitch' }),
  });
  assert.equal(fine.status, 201);
});

test('include takes both forms, mixed, and refuses a value twice', async () => {
  await m.ready;
  // The question posted above may still change the stored Similar Q&A.
  await relatedSettled(m.db);
  const forms = ['include=replies,related', 'include=replies&include=related',
    'include=related&include=replies', 'include=related,replies'];
  const bodies = [];
  for (const f of forms) {
    const r = await req(m.base, `/questions/${IDS.lip}?${f}`);
    assert.equal(r.status, 200, f);
    bodies.push(r.body);
  }
  assert.ok(Array.isArray(bodies[0].replies) && Array.isArray(bodies[0].related.questions));
  assert.deepEqual(bodies[1], bodies[0]);
  assert.deepEqual(bodies[2], bodies[0]);
  assert.deepEqual(bodies[3], bodies[0]);
  const one = await req(m.base, `/questions/${IDS.lip}?include=replies`);
  assert.ok(one.body.replies && one.body.related === undefined);
  for (const f of ['include=replies&include=replies', 'include=replies,related&include=replies',
    'include=replies&include=nope']) {
    const r = await req(m.base, `/questions/${IDS.lip}?${f}`);
    assertProblem(r, 400);
    assert.equal(r.body.errors[0].parameter, 'include', f);
  }
  // Parameters that are not arrays stay "once only".
  assertProblem(await req(m.base, '/questions?limit=2&limit=3'), 400);
});

test('the spec declares include as exploded form and says the comma form works', () => {
  const p = SPEC.paths['/questions/{id}'].get.parameters.find((x) => x.name === 'include');
  assert.equal(p.style, 'form');
  assert.equal(p.explode, true);
  assert.match(p.description, /include=replies,related/);
  assert.match(p.description, /include=replies&include=related/);
});

test('every GET that can answer 304 declares If-None-Match, and a 304 comes back', async () => {
  await m.ready;
  const deref = (x) => (x.$ref ? x.$ref.split('/').slice(1).reduce((o, k) => o[k], SPEC) : x);
  let n = 0;
  for (const [path, item] of Object.entries(SPEC.paths)) {
    const op = item.get;
    if (!op || !op.responses['304']) continue;
    const params = [...(item.parameters || []), ...(op.parameters || [])].map(deref);
    assert.ok(params.some((p) => p.in === 'header' && p.name === 'If-None-Match'), `${path}`);
    n++;
  }
  assert.ok(n >= 15);
  for (const op of ['patchQuestion', 'patchReply', 'patchTopic']) {
    const found = Object.values(SPEC.paths).map((i) => i.patch).find((o) => o && o.operationId === op);
    assert.ok(found.parameters.map(deref).some((p) => p.name === 'If-Match'), op);
    assert.ok(found.responses['412'], op);
  }
  const first = await req(m.base, `/questions/${IDS.lip}`);
  const again = await req(m.base, `/questions/${IDS.lip}`, { headers: { 'if-none-match': first.headers.get('etag') } });
  assert.equal(again.status, 304);
});

test('/changes: next_cursor is documented as never null, and is', () => {
  const op = SPEC.paths['/changes'].get;
  assert.match(op.description, /never null/);
  const cl = SPEC.components.schemas.ChangeList;
  assert.equal(cl.properties.next_cursor.type, 'string');
  assert.match(cl.description, /never null/);
  assert.match(cl.properties.next_cursor.description, /Never null/);
});

test('the overview explains unknown query parameters and authentication', () => {
  const d = SPEC.info.description;
  assert.match(d, /Unknown query parameters are a 400/);
  assert.match(d, /cache-buster/);
  assert.match(d, /## Authentication/);
  for (const role of ['partner', 'app', 'doctor', 'editor']) assert.match(d, new RegExp('`' + role + '`'));
  assert.match(d, /medqa keys create --role partner/);
  assert.match(d, /curl -H 'Authorization: Bearer mq_/);
});

test('headline and medical_review: in the representation, set by an editor, the review also by a doctor\'s reply', async () => {
  await m.ready;
  const lip = await req(m.base, `/questions/${IDS.lip}?include=related`);
  assert.equal(lip.body.headline, 'Facial Muscle Twitches: Causes and Concerns', 'the demo data has headlines');
  assert.equal(lip.body.medical_review.reviewed_by.name, 'Lan Shengxing');
  assert.match(lip.body.medical_review.last_reviewed, /^\d{4}-\d\d-\d\dT/);
  // Related items carry their headline (null when unset).
  assert.ok(lip.body.related.questions.every((x) => 'headline' in x));
  assert.ok(lip.body.related.questions.some((x) => typeof x.headline === 'string'));
  // A new question: no headline, no review; a doctor's reply reviews it.
  const q = (await req(m.base, '/questions', { method: 'POST', headers: auth(m.keys.app), json: questionInput() })).body;
  assert.equal(q.headline, null);
  assert.equal(q.medical_review, null);
  const doctorKey = m.keys.lan;
  const reply = await req(m.base, `/questions/${q.id}/replies`, {
    method: 'POST', headers: auth(doctorKey), json: { body: 'Likely benign myokymia; sleep and less caffeine.' },
  });
  assert.equal(reply.status, 201);
  const reviewed = (await req(m.base, `/questions/${q.id}`)).body;
  assert.equal(reviewed.medical_review.reviewed_by.id, IDS.lan);
  assert.equal(reviewed.medical_review.last_reviewed, reply.body.replied_at);
  // An editor sets the headline and records another doctor's review.
  const patched = await req(m.base, `/questions/${q.id}`, {
    method: 'PATCH', headers: auth(m.keys.editor),
    json: { headline: 'Eyelid Twitching: Usually Harmless', medical_review: { doctor: IDS.jiang, last_reviewed: '2026-01-02T03:04:05.000Z' } },
  });
  assert.equal(patched.status, 200, patched.text);
  assert.equal(patched.body.headline, 'Eyelid Twitching: Usually Harmless');
  assert.equal(patched.body.medical_review.reviewed_by.id, IDS.jiang);
  assert.equal(patched.body.medical_review.last_reviewed, '2026-01-02T03:04:05.000Z');
  // The plain GET's ETag is the one If-Match wants.
  const got = await req(m.base, `/questions/${q.id}`);
  assert.deepEqual(got.body, patched.body);
  const cleared = await req(m.base, `/questions/${q.id}`, {
    method: 'PATCH', headers: auth(m.keys.editor, { 'if-match': got.headers.get('etag') }),
    json: { headline: null, medical_review: null },
  });
  assert.equal(cleared.status, 200, cleared.text);
  assert.equal(cleared.body.headline, null);
  assert.equal(cleared.body.medical_review, null);
  const unknown = await req(m.base, `/questions/${q.id}`, {
    method: 'PATCH', headers: auth(m.keys.editor), json: { medical_review: { doctor: '00000000-0000-4000-8000-000000000000' } },
  });
  assert.equal(unknown.status, 422, unknown.text);
  assertProblem(await req(m.base, `/questions/${q.id}`, {
    method: 'PATCH', headers: auth(m.keys.editor), json: { headline: '' },
  }), 400);
});

test('the README explains syndication: fields to show, the feed, the embed snippet, JSON-LD', () => {
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
  const sec = /\n## Syndicating medqa\n([\s\S]*?)\n## /.exec(readme)?.[1];
  assert.ok(sec, 'a "Syndicating medqa" section');
  for (const must of ['headline', 'CONTENT_LICENSE_NAME', 'SITE_NAME', 'medical_review', 'DISCLAIMER_TEXT',
    '/feeds/questions.atom', '<iframe src=', 'sandbox=', '/oembed?url=', 'Accept: application/ld+json']) {
    assert.ok(sec.includes(must), must);
  }
});

test('highlight marks every cut with … and names the field that matched: body, title or reply', async () => {
  await m.ready;
  const filler = (n, w) => Array.from({ length: n }, (_, i) => `${w}${i % 7}`).join(' ');
  const body = `${filler(60, 'calm')} then zorblax began ${filler(60, 'still')}.`;
  const mid = (await req(m.base, '/questions', { method: 'POST', headers: auth(m.keys.app), json: questionInput({ body }) })).body;
  const inTitle = (await req(m.base, '/questions', {
    method: 'POST', headers: auth(m.keys.app),
    json: questionInput({ title: 'Quaffleberry allergy after a picnic', body: 'My lips swelled within minutes of eating.' }),
  })).body;
  const inReply = (await req(m.base, '/questions', {
    method: 'POST', headers: auth(m.keys.app),
    json: questionInput({ title: 'Itchy wheals on my forearms', body: 'They come and go within a day.' }),
  })).body;
  const rep = await req(m.base, `/questions/${inReply.id}/replies`, {
    method: 'POST', headers: auth(m.keys.lan), json: { body: 'This pattern fits snorkmaiden urticaria; an antihistamine helps.' },
  });
  assert.equal(rep.status, 201);
  const hit = async (word, id) => {
    const r = await req(m.base, `/questions?q=${word}&sort=relevance`);
    assert.equal(r.status, 200, r.text);
    const found = r.body.data.find((x) => x.id === id);
    assert.ok(found, `${word} finds its question`);
    return found;
  };
  const a = await hit('zorblax', mid.id);
  assert.equal(a.highlight_field, 'body');
  assert.match(a.highlight, /<mark>zorblax<\/mark>/);
  assert.ok(a.highlight.startsWith('…') && a.highlight.endsWith('…'), a.highlight);
  const b = await hit('quaffleberry', inTitle.id);
  assert.equal(b.highlight_field, 'title');
  assert.match(b.highlight, /<mark>Quaffleberry<\/mark> allergy after a picnic/);
  const c = await hit('snorkmaiden', inReply.id);
  assert.equal(c.highlight_field, 'reply');
  assert.match(c.highlight, /<mark>snorkmaiden<\/mark>/);
  // A short body matched whole has no cut to mark.
  const d = await hit('swelled', inTitle.id);
  assert.equal(d.highlight_field, 'body');
  assert.equal(d.highlight, 'My lips <mark>swelled</mark> within minutes of eating.');
});
