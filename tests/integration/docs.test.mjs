// /docs: the reference page as a person sees it. Headless Chromium (Debian's
// package, driven by playwright-core) opens the page on a running medqa
// with every request to another origin refused, waits until Redoc has
// rendered the spec, checks that every operation's summary is on the page
// and that the page's Content-Security-Policy was never broken, and saves
// a screenshot to tests/out/docs.png.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { req, TMP } from './lib/medqa.mjs';
import { demoServer } from './lib/fixtures.mjs';
import { OPERATIONS } from './lib/contract.mjs';

const OUT = new URL('../out/', import.meta.url);
const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';

const m = demoServer({ seed: false });

test('GET /docs is an HTML page with a strict Content-Security-Policy and no inline script', async () => {
  const r = await req(m.base, '/docs');
  assert.equal(r.status, 200);
  assert.match(r.headers.get('content-type'), /^text\/html/);
  const csp = r.headers.get('content-security-policy');
  const scriptSrc = / script-src ([^;]*)/.exec(` ${csp}`)?.[1];
  assert.equal(scriptSrc, "'self'", `script-src: ${csp}`);
  assert.match(csp, /default-src 'none'/);
  assert.match(csp, /frame-ancestors 'none'/);
  // Every <script> loads a file; none carries code of its own.
  const scripts = [...r.text.matchAll(/<script([^>]*)>([\s\S]*?)<\/script>/g)];
  assert.ok(scripts.length >= 2);
  for (const [, attrs, code] of scripts) {
    assert.match(attrs, /src="docs\/[a-z.]+\.js"/);
    assert.equal(code.trim(), '');
  }
  assert.doesNotMatch(r.text, /https?:\/\//, 'no absolute URL, so no CDN');
});

test('the page\'s scripts are served by medqa; other names are 400', async () => {
  for (const f of ['redoc.standalone.js', 'init.js']) {
    const r = await req(m.base, `/docs/${f}`, { headers: { 'accept-encoding': 'gzip' } });
    assert.equal(r.status, 200, f);
    assert.match(r.headers.get('content-type'), /^application\/javascript/);
    assert.ok(r.text.length > 100, f);
    const again = await req(m.base, `/docs/${f}`, { headers: { 'if-none-match': r.headers.get('etag') } });
    assert.equal(again.status, 304, f);
  }
  const bad = await req(m.base, '/docs/evil.js');
  assert.equal(bad.status, 400);
  assert.equal(bad.body.errors[0].parameter, 'file');
});

test('Chromium renders the reference offline with every operation', { timeout: 150_000 }, async () => {
  const profile = mkdtempSync(join(TMP, 'chromium-'));
  const ctx = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1400, height: 1000 },
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic',
      '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
  });
  const foreign = [];
  const problems = [];
  try {
    // The page must need nothing from elsewhere: refuse every other origin.
    await ctx.route('**/*', (route) => {
      const url = route.request().url();
      if (url.startsWith(m.base + '/') || url.startsWith('data:') || url.startsWith('blob:')) return route.continue();
      foreign.push(url);
      return route.abort();
    });
    const page = ctx.pages()[0] || await ctx.newPage();
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    page.on('console', (msg) => {
      // Redoc's side-menu logo from its CDN is dropped at build time
      // (Makefile, REDOC_JS), so no refusal at all is expected.
      if (msg.type() === 'error' || /Content Security Policy/i.test(msg.text()))
        problems.push(`console ${msg.type()}: ${msg.text()}`);
    });
    const res = await page.goto(`${m.base}/docs`, { waitUntil: 'load' });
    assert.equal(res.status(), 200);
    // Redoc has rendered once the operations' sections are in the page.
    await page.waitForSelector('[data-section-id^="operation/"]', { timeout: 90_000 });
    await page.waitForFunction(() => !document.querySelector('.redoc-wrap') ||
      document.querySelectorAll('[data-section-id^="operation/"]').length > 20, null, { timeout: 30_000 });
    const text = await page.evaluate(() => document.body.innerText);
    const missing = OPERATIONS.map((o) => o.op.summary).filter((s) => !text.includes(s));
    assert.deepEqual(missing, [], 'operation summaries not on the page');
    const title = await page.locator('h1').first().innerText();
    assert.match(title, /medqa/);
    // Scrolled to the first operation, the menu opens its tag and lists
    // the operations beside it.
    await page.click('[data-item-id="tag/Questions"]');
    await page.evaluate(() => document.getElementById('operation/createQuestion')
      .scrollIntoView({ block: 'start' }));
    await page.waitForTimeout(500);
    mkdirSync(OUT, { recursive: true });
    await page.screenshot({ path: new URL('docs.png', OUT).pathname });
  } finally {
    await ctx.close();
    rmSync(profile, { recursive: true, force: true });
  }
  assert.deepEqual(foreign, [], 'requests to other origins');
  assert.deepEqual(problems, [], 'errors or CSP violations in the page');
});

test('Chromium sent to /docs/ is redirected to /docs and renders the same page', { timeout: 150_000 }, async () => {
  const profile = mkdtempSync(join(TMP, 'chromium-'));
  const ctx = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  // What a reader sees once Redoc has rendered: every operation's section.
  const rendered = async (page, url) => {
    const res = await page.goto(url, { waitUntil: 'load' });
    await page.waitForFunction(() =>
      document.querySelectorAll('[data-section-id^="operation/"]').length > 20, null, { timeout: 90_000 });
    const sections = await page.evaluate(() =>
      [...document.querySelectorAll('[data-section-id^="operation/"]')].map((e) => e.getAttribute('data-section-id')));
    return { res, url: page.url(), sections, h1: await page.locator('h1').first().innerText() };
  };
  try {
    const page = ctx.pages()[0] || await ctx.newPage();
    const slashed = await rendered(page, `${m.base}/docs/`);
    assert.equal(slashed.url, `${m.base}/docs`, 'where the browser ends up');
    assert.equal(slashed.res.status(), 200);
    assert.equal(slashed.res.request().redirectedFrom()?.url(), `${m.base}/docs/`);
    assert.equal((await slashed.res.request().redirectedFrom().response()).status(), 308);
    const direct = await rendered(page, `${m.base}/docs`);
    assert.deepEqual(slashed.sections, direct.sections);
    assert.equal(slashed.h1, direct.h1);
    assert.ok(slashed.sections.length >= OPERATIONS.length, 'every operation rendered');
  } finally {
    await ctx.close();
    rmSync(profile, { recursive: true, force: true });
  }
});
