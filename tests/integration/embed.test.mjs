// The embeddable card and oEmbed (issue 14): GET /embed/questions/{id} as
// a partner's page shows it, in headless Chromium (Debian's, driven by
// playwright-core as in docs.test.mjs), with its DOM checked and a
// screenshot saved to tests/out/embed.png; GET /oembed for the question's
// canonical URL.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { req, psql, TMP, assertProblem } from './lib/medqa.mjs';
import { demoServer, auth, createQuestion, createReply, IDS, NO_SUCH_ID } from './lib/fixtures.mjs';

const OUT = new URL('../out/', import.meta.url);
const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const WEB = 'https://qa.example.org/questions/{id}';
const HEADLINE = 'Facial Muscle Twitches: Causes and Concerns';

const m = demoServer({
  env: { PUBLIC_WEB_URL: WEB, SITE_NAME: 'medqa', EMBED_FRAME_ANCESTORS: 'https://partner.example' },
  keys: { editor: 'editor', app: 'app', lan: ['doctor', IDS.lan] },
  // The card shows the headline when there is one.
  prepare: async (db) => {
    await psql(db, `UPDATE questions SET headline = '${HEADLINE}' WHERE id = '${IDS.lip}'`);
  },
});

const canonical = (id) => WEB.replace('{id}', id);

async function withBrowser(fn) {
  const profile = mkdtempSync(join(TMP, 'chromium-'));
  const ctx = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM, headless: true, viewport: { width: 480, height: 420 },
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const problems = [];
  const requests = [];
  try {
    const page = ctx.pages()[0] || await ctx.newPage();
    page.on('console', (msg) => problems.push(`console ${msg.type()}: ${msg.text()}`));
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    page.on('request', (rq) => requests.push(rq.url()));
    return await fn(page, problems, requests);
  } finally {
    await ctx.close();
    rmSync(profile, { recursive: true, force: true });
  }
}

test('the card is static HTML with a strict CSP whose frame-ancestors come from configuration', async () => {
  await m.ready;
  const r = await req(m.base, `/embed/questions/${IDS.lip}`);
  assert.equal(r.status, 200);
  assert.match(r.headers.get('content-type'), /^text\/html; charset=utf-8/);
  const csp = r.headers.get('content-security-policy');
  assert.match(csp, /^default-src 'none'; style-src 'unsafe-inline';/);
  assert.match(csp, /frame-ancestors https:\/\/partner\.example$/);
  assert.doesNotMatch(r.text, /<script/i);
  assert.doesNotMatch(r.text, /<link|src=/i, 'nothing loaded from anywhere');
  assert.doesNotMatch(r.text, / on[a-z]+=/i, 'no event handler attributes');
  const again = await req(m.base, `/embed/questions/${IDS.lip}`, { headers: { 'if-none-match': r.headers.get('etag') } });
  assert.equal(again.status, 304);
  assertProblem(await req(m.base, `/embed/questions/${NO_SUCH_ID}`), 404);
});

test('Chromium shows the headline, the reply excerpt and the licence line', { timeout: 120_000 }, async () => {
  await m.ready;
  await withBrowser(async (page, problems, requests) => {
    const res = await page.goto(`${m.base}/embed/questions/${IDS.lip}`, { waitUntil: 'load' });
    assert.equal(res.status(), 200);
    const dom = await page.evaluate(() => ({
      h1: document.querySelector('h1')?.textContent,
      title: document.title,
      question: document.querySelector('.q')?.textContent,
      by: document.querySelector('.r .by')?.textContent,
      reply: document.querySelector('.r p:not(.by)')?.textContent,
      foot: document.querySelector('.f')?.textContent,
      links: [...document.querySelectorAll('a')].map((a) => ({ href: a.href, text: a.textContent, target: a.target, rel: a.rel })),
      scripts: document.querySelectorAll('script').length,
    }));
    assert.equal(dom.h1, HEADLINE);
    assert.equal(dom.title, HEADLINE);
    assert.match(dom.question, /mouth/);
    assert.equal(dom.by, 'Lan Shengxing, Neurology');
    assert.ok(dom.reply.length > 40 && dom.reply.length <= 260, dom.reply);
    assert.match(dom.foot, /^From medqa · CC BY-SA 4\.0 · Read the full answer$/);
    assert.deepEqual(dom.links.map((l) => l.text), ['CC BY-SA 4.0', 'Read the full answer']);
    assert.equal(dom.links[1].href, canonical(IDS.lip));
    assert.ok(dom.links.every((l) => l.target === '_blank' && l.rel.includes('noopener')));
    assert.equal(dom.scripts, 0);
    // What the screenshot shows: each part is rendered inside the card.
    for (const sel of ['h1', '.r .by', '.r p:not(.by)', '.f a']) {
      const box = await page.locator(sel).first().boundingBox();
      assert.ok(box && box.width > 0 && box.height > 0 && box.y + box.height <= 420, `${sel} visible: ${JSON.stringify(box)}`);
    }
    mkdirSync(OUT, { recursive: true });
    await page.screenshot({ path: new URL('embed.png', OUT).pathname });
    assert.deepEqual(problems, [], 'no console errors or CSP refusals');
    assert.deepEqual(requests, [`${m.base}/embed/questions/${IDS.lip}`], 'the card loads nothing else');
  });
});

test('a body holding HTML is shown as text', { timeout: 120_000 }, async () => {
  await m.ready;
  const q = await createQuestion(m.base, m.keys.app, {
    title: 'Tags <i>in</i> & the title',
    body: 'My <b>bold</b> question <script>document.title="pwned"</script> & <img src=x onerror="document.title=1">',
  });
  await createReply(m.base, m.keys.lan, q.id, { body: 'A <a href="https://evil.example">link</a> reply' });
  await withBrowser(async (page, problems) => {
    await page.goto(`${m.base}/embed/questions/${q.id}`, { waitUntil: 'load' });
    const dom = await page.evaluate(() => ({
      title: document.title,
      h1: document.querySelector('h1').textContent,
      question: document.querySelector('.q').textContent,
      qChildren: document.querySelector('.q').children.length,
      reply: document.querySelector('.r p:not(.by)').textContent,
      anchors: [...document.querySelectorAll('a')].map((a) => a.href),
      elements: [...document.querySelectorAll('script, img, b, i')].length,
    }));
    assert.equal(dom.h1, 'Tags <i>in</i> & the title');
    assert.equal(dom.title, 'Tags <i>in</i> & the title');
    assert.equal(dom.question, 'My <b>bold</b> question <script>document.title="pwned"</script> & <img src=x onerror="document.title=1">');
    assert.equal(dom.qChildren, 0);
    assert.equal(dom.reply, 'A <a href="https://evil.example">link</a> reply');
    assert.ok(!dom.anchors.some((a) => a.includes('evil.example')));
    assert.equal(dom.elements, 0);
    assert.deepEqual(problems, []);
  });
});

test('/oembed for a canonical URL returns the sandboxed iframe and the required fields', async () => {
  await m.ready;
  const url = encodeURIComponent(canonical(IDS.lip));
  const r = await req(m.base, `/oembed?url=${url}&format=json&maxwidth=300&maxheight=600`);
  assert.equal(r.status, 200, r.text);
  assert.match(r.headers.get('content-type'), /^application\/json/);
  const o = r.body;
  // oEmbed 1.0: type and version always; html, width and height for rich.
  assert.equal(o.type, 'rich');
  assert.equal(o.version, '1.0');
  assert.equal(o.width, 300);
  assert.equal(o.height, 420);
  assert.equal(o.title, HEADLINE);
  assert.equal(o.provider_name, 'medqa');
  assert.equal(o.provider_url, 'https://qa.example.org');
  assert.equal(o.author_name, 'Lan Shengxing');
  const iframe = /^<iframe ([^>]*)><\/iframe>$/.exec(o.html);
  assert.ok(iframe, o.html);
  const attrs = Object.fromEntries([...iframe[1].matchAll(/([a-z]+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
  assert.match(attrs.src, new RegExp(`/embed/questions/${IDS.lip}$`));
  assert.equal(attrs.width, '300');
  assert.equal(attrs.height, '420');
  assert.equal(attrs.sandbox, 'allow-popups allow-popups-to-escape-sandbox');
  assert.equal(attrs.title, HEADLINE);
  const plain = await req(m.base, `/oembed?url=${url}`);
  assert.equal(plain.body.width, 480);
});

test('/oembed: unknown or foreign URLs are 404, a hidden question too, format=xml is 501', async () => {
  await m.ready;
  const enc = encodeURIComponent;
  for (const u of [canonical(NO_SUCH_ID), `https://evil.example/questions/${IDS.lip}`,
    `${canonical(IDS.lip)}x`, 'https://qa.example.org/questions/', `${m.base}/questions/${IDS.lip}`, 'not a url']) {
    assertProblem(await req(m.base, `/oembed?url=${enc(u)}`), 404);
  }
  const xml = await req(m.base, `/oembed?url=${enc(canonical(IDS.lip))}&format=xml`);
  assertProblem(xml, 501);
  assertProblem(await req(m.base, '/oembed'), 400);
  const q = await createQuestion(m.base, m.keys.app);
  assert.equal((await req(m.base, `/oembed?url=${enc(canonical(q.id))}`)).status, 200);
  const del = await req(m.base, `/questions/${q.id}`, { method: 'DELETE', headers: auth(m.keys.editor) });
  assert.equal(del.status, 204);
  assertProblem(await req(m.base, `/oembed?url=${enc(canonical(q.id))}`), 404);
  assertProblem(await req(m.base, `/embed/questions/${q.id}`), 404);
});

test('an erased question is 410 Gone on the card, on /oembed and in JSON-LD, as on its JSON GET', async () => {
  await m.ready;
  const enc = encodeURIComponent;
  const q = await createQuestion(m.base, m.keys.app);
  await createReply(m.base, m.keys.lan, q.id, { body: 'A doctor reply that the erasure takes with it.' });
  assert.equal((await req(m.base, `/embed/questions/${q.id}`)).status, 200);
  const er = await req(m.base, `/questions/${q.id}/erasure`, { method: 'POST', headers: auth(m.keys.editor), json: { reason: 'data-subject-request' } });
  assert.equal(er.status, 204, er.text);
  for (const path of [`/embed/questions/${q.id}`, `/oembed?url=${enc(canonical(q.id))}`, `/questions/${q.id}`]) {
    const g = await req(m.base, path);
    assertProblem(g, 410);
    assert.match(g.body.type, /\/problems\/gone$/, path);
  }
  const ld = await req(m.base, `/questions/${q.id}`, { headers: { accept: 'application/ld+json' } });
  assertProblem(ld, 410);
  const edLd = await req(m.base, `/questions/${q.id}`, { headers: auth(m.keys.editor, { accept: 'application/ld+json' }) });
  assertProblem(edLd, 410);
});
