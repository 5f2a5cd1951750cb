// GET /feeds/questions.atom (issue 14): the Atom feed a CMS ingests.
// What we emit is checked by others' implementations: RFC 4287's own
// RELAX NG schema (tests/integration/schemas/rfc4287-atom.rnc, converted
// by trang, validated by jing), an independent feed parser
// (@rowanmanning/feed-parser) and xmllint's XPath for the RFC 6721
// tombstones the parser does not read.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseFeed } from '@rowanmanning/feed-parser';
import { req, TMP } from './lib/medqa.mjs';
import { demoServer, auth, createQuestion, createReply, walk, IDS } from './lib/fixtures.mjs';

const RNC = fileURLToPath(new URL('./schemas/rfc4287-atom.rnc', import.meta.url));
const WEB = 'https://qa.example.org/questions/{id}';

const m = demoServer({
  env: { PUBLIC_WEB_URL: WEB, SITE_NAME: 'medqa test', CONTENT_LICENSE_NAME: 'CC BY-SA 4.0' },
  keys: { editor: 'editor', app: 'app', lan: ['doctor', IDS.lan] },
});

let rng;
let serial = 0;
// Validates `xml` against RFC 4287's schema; returns jing's verdict.
function validate(xml) {
  if (!rng) {
    rng = join(TMP, `atom-${process.pid}.rng`);
    execFileSync('trang', [RNC, rng]);
  }
  const file = join(TMP, `feed-${process.pid}-${++serial}.xml`);
  writeFileSync(file, xml);
  return spawnSync('jing', [rng, file], { encoding: 'utf8' });
}

// The two Schematron rules of the schema, which jing does not run.
function schematron(feed, xml) {
  const entries = xml.split('<entry>').length - 1;
  const authors = (xml.match(/<entry>[\s\S]*?<\/entry>/g) || []).filter((e) => e.includes('<author>')).length;
  const feedAuthor = /^[\s\S]*?<author>/.test(xml.split('<entry>')[0]);
  assert.ok(feedAuthor || authors === entries, 'feed author or every entry has one');
  for (const e of xml.match(/<entry>[\s\S]*?<\/entry>/g) || []) {
    assert.ok(/<link rel="alternate"/.test(e) || /<content/.test(e), 'entry has alternate or content');
  }
  return feed;
}

function xpath(xml, expr) {
  const file = join(TMP, `feed-${process.pid}-${++serial}.xml`);
  writeFileSync(file, xml);
  const r = spawnSync('xmllint', ['--xpath', expr, file], { encoding: 'utf8' });
  // xmllint ends what it prints with a newline of its own.
  return r.status === 0 ? r.stdout.replace(/\n$/, '') : '';
}

const get = (path, headers = {}) => req(m.base, path, { headers });

test('the feed is valid Atom by RFC 4287\'s schema and lists the answered questions, newest update first', async () => {
  await m.ready;
  const r = await get('/feeds/questions.atom?limit=100');
  assert.equal(r.status, 200);
  assert.match(r.headers.get('content-type'), /^application\/atom\+xml/);
  const v = validate(r.text);
  assert.equal(v.status, 0, `jing: ${v.stdout}${v.stderr}`);
  // The schema can fail: without the feed's id the document is not Atom.
  assert.notEqual(validate(r.text.replace(/<id>[^<]*<\/id>/, '')).status, 0);
  const feed = schematron(parseFeed(r.text), r.text);
  const answered = (await walk(m.base, '/questions?state=answered&sort=updated&limit=100'));
  assert.ok(answered.length > 0);
  assert.deepEqual(feed.items.map((i) => i.id), answered.map((q) => `urn:uuid:${q.id}`));
  const lip = feed.items.find((i) => i.id === `urn:uuid:${IDS.lip}`);
  assert.ok(lip);
  assert.equal(lip.url, WEB.replace('{id}', IDS.lip));
  assert.deepEqual(lip.authors.map((a) => a.name), ['Lan Shengxing']);
  const lipJson = (await get(`/questions/${IDS.lip}?include=replies`)).body;
  assert.ok(lip.content.startsWith(`<p>${lipJson.body}</p>`), lip.content);
  assert.match(lip.content, /<h3>Lan Shengxing, Neurology, replied:<\/h3>/);
  assert.ok(lip.content.includes(lipJson.replies.find((x) => x.kind === 'doctor').body));
  assert.match(lip.content, /under <a href="https:\/\/creativecommons.org\/licenses\/by-sa\/4.0">CC BY-SA 4.0<\/a>/);
  assert.ok(lip.description.length > 10 && lip.description.length <= 280);
  assert.deepEqual(lip.categories.map((c) => c.term), ['neurology']);
  assert.ok(lip.updated instanceof Date && lip.published instanceof Date);
  assert.match(r.text, /<rights>medqa test, CC BY-SA 4\.0 \(https:\/\/creativecommons\.org\/licenses\/by-sa\/4\.0\)<\/rights>/);
  assert.match(xpath(r.text, "string(//*[local-name()='entry'][1]/*[local-name()='rights'])"), /CC BY-SA 4\.0/);
});

test('a department\'s feed has only its questions; the JSON list advertises it', async () => {
  await m.ready;
  const r = await get('/feeds/questions.atom?department=neurology&limit=100');
  assert.equal(r.status, 200);
  const feed = parseFeed(r.text);
  assert.ok(feed.items.length > 0);
  assert.ok(feed.items.every((i) => i.categories.every((c) => c.term === 'neurology')));
  const list = await get('/questions?department=neurology&limit=2');
  const link = list.headers.get('link');
  assert.match(link, /<http:\/\/[^>]+\/feeds\/questions\.atom\?department=neurology>; rel="alternate"; type="application\/atom\+xml"/);
  assert.ok(link.includes('rel="next"'), 'the page link stays');
  const all = await get('/questions?limit=2&sort=oldest');
  assert.match(all.headers.get('link'), /\/feeds\/questions\.atom>; rel="alternate"; type="application\/atom\+xml"/);
});

test('ETag and 304, and RFC 5005 paging through every entry', async () => {
  await m.ready;
  const first = await get('/feeds/questions.atom');
  const etag = first.headers.get('etag');
  assert.ok(etag);
  const again = await get('/feeds/questions.atom', { 'if-none-match': etag });
  assert.equal(again.status, 304);
  assert.equal(again.text, '');
  const whole = parseFeed((await get('/feeds/questions.atom?limit=100')).text).items.map((i) => i.id);
  const seen = [];
  let path = '/feeds/questions.atom?limit=2';
  for (let n = 0; n < 100 && path; n++) {
    const p = await get(path);
    assert.equal(p.status, 200, path);
    assert.equal(validate(p.text).status, 0);
    seen.push(...parseFeed(p.text).items.map((i) => i.id));
    const next = xpath(p.text, "string(//*[local-name()='link'][@rel='next']/@href)").trim();
    path = next ? next.replace(/^http:\/\/[^/]+/, '') : null;
  }
  assert.deepEqual(seen, whole);
  assert.ok(whole.length > 2);
  assertProblemCursor(await get('/feeds/questions.atom?cursor=forged.cursor'));
});

function assertProblemCursor(r) {
  assert.equal(r.status, 400);
  assert.equal(r.body.errors[0].parameter, 'cursor');
}

test('a title with <script> and & arrives escaped and intact; a question hidden after publication becomes a tombstone', async () => {
  await m.ready;
  const title = '<script>alert("x")</script> & Tom & Jerry\'s <b>twitch</b>';
  const q = await createQuestion(m.base, m.keys.app, { title, body: 'Body with <i>tags</i> & an ampersand.' });
  await createReply(m.base, m.keys.lan, q.id, { body: 'Reply with <img src=x onerror=alert(1)> & more.' });
  const r = await get('/feeds/questions.atom?limit=100');
  assert.equal(validate(r.text).status, 0);
  assert.ok(!r.text.includes('<script>'), 'no raw <script> in the XML');
  assert.ok(!r.text.includes('<img'), 'no raw <img> in the XML');
  const item = parseFeed(r.text).items.find((i) => i.id === `urn:uuid:${q.id}`);
  assert.equal(item.title, title);
  // atom:content (type="html") holds HTML in which the values are text:
  // read by an XML parser (xmllint), it is escaped HTML; the feed
  // parser's own HTML decoding gives the values back intact.
  const html = xpath(r.text, `string(//*[local-name()='entry'][*[local-name()='id']='urn:uuid:${q.id}']/*[local-name()='content'])`);
  assert.ok(html.includes('<p>Body with &lt;i&gt;tags&lt;/i&gt; &amp; an ampersand.</p>'), html);
  assert.ok(html.includes('<p>Reply with &lt;img src=x onerror=alert(1)&gt; &amp; more.</p>'), html);
  assert.ok(!html.includes('<i>') && !html.includes('<img'), html);
  assert.ok(r.text.includes('&amp;lt;img src=x'), 'escaped twice in the XML: once as HTML, once as XML');
  assert.equal(xpath(r.text, `string(//*[local-name()='entry'][*[local-name()='id']='urn:uuid:${q.id}']/*[local-name()='title'])`), title);
  assert.ok(r.text.includes('<title type="text">&lt;script&gt;alert('), 'the title is escaped text');
  assert.ok(r.text.includes('&lt;/script&gt; &amp; Tom &amp; Jerry'), 'and so is every &');
  assert.equal(item.id, parseFeed(r.text).items[0].id, 'the newest update comes first');
  // Hidden by an editor: gone as an entry, present as a tombstone.
  const del = await req(m.base, `/questions/${q.id}`, { method: 'DELETE', headers: auth(m.keys.editor) });
  assert.equal(del.status, 204);
  const after = await get('/feeds/questions.atom?limit=100');
  assert.notEqual(after.headers.get('etag'), r.headers.get('etag'));
  const v = validate(after.text);
  assert.equal(v.status, 0, `jing: ${v.stdout}`);
  assert.ok(!parseFeed(after.text).items.some((i) => i.id === `urn:uuid:${q.id}`));
  const refs = xpath(after.text, "//*[local-name()='deleted-entry' and namespace-uri()='http://purl.org/atompub/tombstones/1.0']/@ref");
  assert.match(refs, new RegExp(`ref="urn:uuid:${q.id}"`));
  const when = xpath(after.text, `string(//*[local-name()='deleted-entry'][@ref='urn:uuid:${q.id}']/@when)`);
  assert.match(when, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  // The tombstone is on the first page only, and in its department's feed.
  assert.match(xpath((await get('/feeds/questions.atom?department=neurology')).text,
    "//*[local-name()='deleted-entry']/@ref"), new RegExp(q.id));
  assert.doesNotMatch(xpath((await get('/feeds/questions.atom?department=dermatology')).text,
    "//*[local-name()='deleted-entry']/@ref"), new RegExp(q.id));
});

test('without PUBLIC_WEB_URL an entry links the API representation, never an invented page', async () => {
  await m.ready;
  const { startMedqa } = await import('./lib/medqa.mjs');
  const other = await startMedqa({ db: m.db, env: { PUBLIC_WEB_URL: '' } });
  try {
    const r = await req(other.base, '/feeds/questions.atom?limit=100');
    assert.equal(r.status, 200);
    assert.equal(validate(r.text).status, 0);
    const lip = parseFeed(r.text).items.find((i) => i.id === `urn:uuid:${IDS.lip}`);
    const api = (await req(other.base, `/questions/${IDS.lip}`)).body.url;
    assert.equal(lip.url, api);
    assert.match(r.text, new RegExp(`<link rel="alternate" href="${api}" type="application/json"/>`));
    assert.ok(!r.text.includes('qa.example.org'));
  } finally {
    await other.stop();
  }
});
