#!/usr/bin/env node
// Evaluation of "Similar Q&A" (GET /related) and search (GET /questions?q=)
// on tests/eval/dataset.json, beside a plain PostgreSQL full-text baseline.
//
//   node tests/eval/eval.mjs [--assert] [--verbose] [--json FILE]
//                            [--distractors N] [--freshness]
//
// With --distractors N (or EVAL_DISTRACTORS=N) it runs twice: on the hand
// set alone, then on a database holding `medqa seed --synthetic N` with the
// hand set posted after it; a synthetic question counts as relevant to a
// hand cluster when the generator made it from one of the cluster's
// conditions (tests/eval/conditions.json; `medqa seed --labels` says which
// condition each synthetic id has). --freshness scores the second run
// before and after mq_refresh_df() as well.
//
// Needs the environment of tests/integration/lib/medqa.mjs: MEDQA_BIN,
// MEDQA_PG_SOCK, MEDQA_PG_PORT (and optionally MEDQA_TMP), with a database
// "medqa_template" already migrated in that cluster (as scripts/test.sh
// prepares it); without the template it migrates a new database itself.
// See tests/eval/README.md for the metrics and the floors of --assert.
import { readFileSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  BIN, PG_SOCK, PG_PORT, TMP, dbUrl, createDb, runMedqa, startMedqa, req,
} from '../integration/lib/medqa.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const opt = {
  assert: args.includes('--assert'),
  verbose: args.includes('--verbose') || args.includes('-v'),
  json: args.includes('--json') ? args[args.indexOf('--json') + 1] : null,
  distractors: Number(args.includes('--distractors')
    ? args[args.indexOf('--distractors') + 1] : process.env.EVAL_DISTRACTORS || 0),
  freshness: args.includes('--freshness'),
};
if (!Number.isInteger(opt.distractors) || opt.distractors < 0) {
  process.stderr.write('eval: --distractors needs a whole number\n');
  process.exit(2);
}
if (args.includes('--help') || args.includes('-h')) {
  process.stdout.write('usage: node tests/eval/eval.mjs [--assert] [--verbose] [--json FILE]\n' +
    '                           [--distractors N] [--freshness]\n' +
    'env: MEDQA_BIN, MEDQA_PG_SOCK, MEDQA_PG_PORT [, MEDQA_TMP, EVAL_DATASET, EVAL_KEEP_DB,\n' +
    '     EVAL_POST_LOAD_SQL, EVAL_DISTRACTORS, EVAL_MIN_* floors (see README.md)]\n');
  process.exit(0);
}
for (const [k, v] of [['MEDQA_BIN', BIN], ['MEDQA_PG_SOCK', PG_SOCK], ['MEDQA_PG_PORT', PG_PORT]]) {
  if (!v) {
    process.stderr.write(`eval: ${k} is not set (see tests/eval/README.md)\n`);
    process.exit(2);
  }
}

const DATASET = process.env.EVAL_DATASET || join(here, 'dataset.json');
const ds = JSON.parse(readFileSync(DATASET, 'utf8'));
validateDataset(ds);
// Hand cluster -> the generator's condition keys ("<department>/<lay name>"
// or "zh/<lay name>", internal/seed/vocabulary.json) that are the same
// condition; [] when the generator has none.
const CONDITIONS = JSON.parse(readFileSync(join(here, 'conditions.json'), 'utf8')).clusters;
for (const c of ds.clusters) {
  if (!Array.isArray(CONDITIONS[c.id])) {
    process.stderr.write(`eval: conditions.json has no entry for cluster ${c.id}\n`);
    process.exit(2);
  }
}

/** Stops on a set that cannot measure what the metrics claim. */
function validateDataset(d) {
  const bad = [];
  const keys = new Set();
  const size = new Map();
  for (const q of d.questions) {
    if (keys.has(q.key)) bad.push(`duplicate key ${q.key}`);
    keys.add(q.key);
    if (q.cluster) size.set(q.cluster, (size.get(q.cluster) || 0) + 1);
  }
  for (const [c, n] of size) if (n < 5) bad.push(`cluster ${c} has ${n} members (precision@4 needs 5)`);
  for (const x of [...d.drafts, ...d.searches]) {
    if (!size.has(x.cluster)) bad.push(`draft or search for unknown cluster ${x.cluster}`);
  }
  if (bad.length) {
    process.stderr.write('eval: dataset problems:\n' + bad.map((b) => `  ${b}\n`).join(''));
    process.exit(2);
  }
}

// ---------------------------------------------------------------------------
// PostgreSQL through psql (scripts go through a file: the load is far larger
// than one command-line argument may be).
// ---------------------------------------------------------------------------
const workDir = mkdtempSync(join(TMP, 'eval-'));

function psqlFile(db, sql, { single = false } = {}) {
  const f = join(workDir, 'q.sql');
  writeFileSync(f, sql);
  const a = ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-tA', '-h', PG_SOCK, '-p', String(PG_PORT),
    '-U', 'medqa', '-d', db, '-f', f];
  if (single) a.splice(4, 0, '-1');
  return execFileSync('psql', a, { encoding: 'utf8', maxBuffer: 64 << 20 }).trim();
}

const lit = (s) => (s === null || s === undefined ? 'NULL' : `'${String(s).replace(/'/g, "''")}'`);

// Fixed ids derived from the dataset's keys, so runs are reproducible.
function uuidOf(kind, key) {
  const h = createHash('md5').update(`medqa-eval:${kind}:${key}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

const AGE = ['20-29', '30-39', '40-49', '50-59', '60-69', '10-19', '70-79'];
const GENDER = ['female', 'male', 'female', 'undisclosed', 'male', 'other'];

function loadSql() {
  const out = [];
  const docId = new Map();
  const topicId = new Map();
  for (const d of ds.doctors) {
    docId.set(d.name, uuidOf('doctor', d.name));
    out.push(`INSERT INTO doctors (id, name, department_slug) VALUES (${lit(docId.get(d.name))}, ${lit(d.name)}, ${lit(d.department)});`);
  }
  for (const t of ds.topics) {
    topicId.set(t.slug, uuidOf('topic', t.slug));
    // A synthetic load may hold the slug already: then its topic is used.
    out.push(`INSERT INTO topics (id, slug, name, department_slug) VALUES (${lit(topicId.get(t.slug))}, ${lit(t.slug)}, ${lit(t.name)}, ${lit(t.department)}) ON CONFLICT (slug) DO NOTHING;`);
  }
  const t0 = Date.parse('2023-01-02T08:00:00Z');
  cur.questions.forEach((q, i) => {
    const id = uuidOf('question', q.key);
    const asked = new Date(t0 + i * 86400000 * 3 + (i % 7) * 3600000).toISOString();
    out.push(`INSERT INTO questions (id, title, body, language, asker_name, asker_age_band, asker_gender, department_slug, asked_at, updated_at) VALUES (${lit(id)}, ${lit(q.title)}, ${lit(q.body)}, ${lit(q.language)}, ${lit(`Asker ${i + 1}`)}, ${lit(AGE[i % AGE.length])}, ${lit(GENDER[i % GENDER.length])}, ${lit(q.department)}, ${lit(asked)}, ${lit(asked)});`);
    for (const s of q.topics || []) {
      if (!topicId.has(s)) throw new Error(`${q.key}: unknown topic ${s}`);
      out.push(`INSERT INTO question_topics (question_id, topic_id) SELECT ${lit(id)}, t.id FROM topics t WHERE t.slug = ${lit(s)};`);
    }
    if (q.reply) {
      if (!docId.has(q.reply.doctor)) throw new Error(`${q.key}: unknown doctor ${q.reply.doctor}`);
      const at = new Date(Date.parse(asked) + 26 * 3600000).toISOString();
      out.push(`INSERT INTO replies (id, question_id, kind, doctor_id, body, replied_at, updated_at) VALUES (${lit(uuidOf('reply', q.key))}, ${lit(id)}, 'doctor', ${lit(docId.get(q.reply.doctor))}, ${lit(q.reply.body)}, ${lit(at)}, ${lit(at)});`);
    }
  });
  // Counters and states are rebuilt once after a bulk load.
  out.push('SELECT mq_recount();');
  return out.join('\n') + '\n';
}

// Whatever a bulk load must be followed by for /related to see the rows.
// mq_refresh_df() (IDF statistics) is called when the schema has it;
// EVAL_POST_LOAD_SQL runs after it for anything else.
function postLoad(db) {
  const have = psqlFile(db, "SELECT to_regprocedure('mq_refresh_df()') IS NOT NULL;");
  if (have === 't') psqlFile(db, 'SELECT mq_refresh_df();');
  if (process.env.EVAL_POST_LOAD_SQL) psqlFile(db, process.env.EVAL_POST_LOAD_SQL);
}

async function freshDb() {
  try {
    return createDb();
  } catch (e) {
    // No migrated template in this cluster: migrate a new database.
    const name = 'eval_' + randomBytes(6).toString('hex');
    execFileSync('createdb', ['-h', PG_SOCK, '-p', String(PG_PORT), '-U', 'medqa', name]);
    const r = await runMedqa(['migrate'], { DATABASE_URL: dbUrl(name) });
    if (r.code !== 0) throw new Error('medqa migrate failed:\n' + r.stderr);
    process.stdout.write(`eval: no medqa_template in the cluster; migrated ${name} instead\n`);
    return name;
  }
}

// ---------------------------------------------------------------------------
// Baseline: plain PostgreSQL full text, one psql call per task.
// ---------------------------------------------------------------------------
// Top-k ids per probe text, ranked by ts_rank of plainto_tsquery('english',
// text) against setweight(to_tsvector('english', title), 'A') ||
// setweight(to_tsvector('english', body), 'B') (the questions.search column
// before migration 0008; every word of the text must match), ties by id; `exclude` drops the probe's own question.
function baselineTopK(db, probes, k) {
  if (probes.length === 0) return [];
  const values = probes.map((p, i) => `(${i}, ${lit(p.text)}, ${p.exclude ? lit(p.exclude) + '::uuid' : 'NULL::uuid'})`).join(',\n');
  const sql = `
WITH p(i, t, ex) AS (VALUES ${values})
SELECT coalesce(json_agg(json_build_object('i', p.i, 'ids', r.ids) ORDER BY p.i), '[]')
FROM p CROSS JOIN LATERAL (
  SELECT coalesce(json_agg(x.id ORDER BY x.rank DESC, x.id), '[]') AS ids
  FROM (SELECT d.id, ts_rank(d.search, plainto_tsquery('english', p.t)) AS rank
        FROM eval_baseline d
        WHERE (p.ex IS NULL OR d.id <> p.ex)
          AND d.search @@ plainto_tsquery('english', p.t)
        ORDER BY rank DESC, d.id
        LIMIT ${k}) x) r;`;
  const rows = JSON.parse(psqlFile(db, sql));
  return rows.map((r) => r.ids);
}

// The baseline's column, once per database (with an index: at 100,000
// distractors a scan per probe would take minutes). A table of the eval's
// throwaway database, not of the product.
function prepareBaseline(db) {
  psqlFile(db, `CREATE TABLE eval_baseline AS
  SELECT q.id, setweight(to_tsvector('english', q.title), 'A')
               || setweight(to_tsvector('english', q.body), 'B') AS search
  FROM questions q WHERE q.deleted_at IS NULL;
CREATE INDEX ON eval_baseline USING gin (search);
ANALYZE eval_baseline;`);
}

// ---------------------------------------------------------------------------
// Metrics
// ---------------------------------------------------------------------------
// Synthetic question id -> the generator's condition key, for the run with
// distractors (empty otherwise).
const condOfId = new Map();
const clusterOfId = new Map();
const keyOfId = new Map();
const qId = new Map();
for (const q of ds.questions) {
  const id = uuidOf('question', q.key);
  qId.set(q.key, id);
  keyOfId.set(id, q.key);
  clusterOfId.set(id, q.cluster);
}
const clustered = ds.questions.filter((q) => q.cluster);
// The items a run loads and asks: the whole set, or (v1) the 128
// questions, 48 drafts and 32 searches of the set's first version, whose
// figures the floors of the first version guard (items with "added": 2
// came with issue 16).
const SETS = {
  all: { questions: ds.questions, clustered, drafts: ds.drafts, searches: ds.searches },
  v1: {
    questions: ds.questions.filter((q) => !q.added),
    clustered: clustered.filter((q) => !q.added),
    drafts: ds.drafts.filter((d) => !d.added),
    searches: ds.searches.filter((x) => !x.added),
  },
};
let cur = SETS.all;
const langOfCluster = new Map((ds.clusters || []).map((c) => [c.id, c.language]));
for (const q of clustered) if (!langOfCluster.has(q.cluster)) langOfCluster.set(q.cluster, q.language);

/** Distinct ids, in order, at most k. */
function topDistinct(ids, k) {
  const seen = new Set();
  const out = [];
  for (const id of ids) {
    if (seen.has(id)) continue;
    seen.add(id);
    out.push(id);
    if (out.length === k) break;
  }
  return out;
}
/** A hand question of the cluster, or a synthetic one of its condition. */
function relevant(id, cluster) {
  if (clusterOfId.get(id) === cluster) return true;
  const c = condOfId.get(id);
  return c !== undefined && CONDITIONS[cluster].includes(c);
}
const precisionAt = (ids, cluster, self, k) =>
  topDistinct(ids, k).filter((id) => id !== self && relevant(id, cluster)).length / k;
const hitAt = (ids, cluster, k) => (topDistinct(ids, k).some((id) => relevant(id, cluster)) ? 1 : 0);
function reciprocalRank(ids, cluster, k) {
  const t = topDistinct(ids, k);
  const i = t.findIndex((id) => relevant(id, cluster));
  return i < 0 ? 0 : 1 / (i + 1);
}
/** Binary-gain nDCG@k; every cluster has k relevant questions or more, so
 * the ideal list is k relevant ones. */
function ndcgAt(ids, cluster, self, k) {
  let dcg = 0;
  let idcg = 0;
  topDistinct(ids, k).forEach((id, i) => {
    if (id !== self && relevant(id, cluster)) dcg += 1 / Math.log2(i + 2);
  });
  for (let i = 0; i < k; i++) idcg += 1 / Math.log2(i + 2);
  return dcg / idcg;
}
/** A dataset key, or the generator's condition of a synthetic id. */
const nameOf = (id) => keyOfId.get(id) || (condOfId.has(id) ? `syn:${condOfId.get(id)}` : id);
function mean(xs) {
  return xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : null;
}
/** {all, en, zh} means of items [{lang, v}]. */
function split(items) {
  return {
    all: mean(items.map((x) => x.v)),
    en: mean(items.filter((x) => x.lang === 'en').map((x) => x.v)),
    zh: mean(items.filter((x) => x.lang === 'zh-TW').map((x) => x.v)),
    hard: mean(items.filter((x) => x.hard).map((x) => x.v)),
    n: { all: items.length, en: items.filter((x) => x.lang === 'en').length,
      zh: items.filter((x) => x.lang === 'zh-TW').length, hard: items.filter((x) => x.hard).length },
  };
}

// ---------------------------------------------------------------------------
// medqa
// ---------------------------------------------------------------------------
const issues = [];   // contract problems seen in /related answers
let errors = { related: 0, drafts: 0, search: 0 };

function relatedIds(r, selfId, where) {
  const qs = r.body && Array.isArray(r.body.questions) ? r.body.questions : null;
  if (!qs) {
    issues.push(`${where}: response has no "questions" array`);
    return [];
  }
  const ids = qs.map((x) => x && x.id);
  if (selfId && ids.includes(selfId)) issues.push(`${where}: returned the question itself`);
  if (new Set(ids).size !== ids.length) issues.push(`${where}: returned an id twice`);
  for (const id of ids) {
    if (!clusterOfId.has(id) && !condOfId.has(id)) issues.push(`${where}: returned an id that is not in the set: ${id}`);
  }
  return ids;
}

async function evalMedqa(base) {
  const res = { related: null, ndcg: null, drafts: null, search: null, per: { related: [], drafts: [], search: [] } };

  // Is /related there? 404/405 (or 501) on a question that exists means no.
  const probe = await req(base, `/related?question_id=${qId.get(cur.clustered[0].key)}&limit=4`);
  const available = ![404, 405, 501].includes(probe.status);

  if (available) {
    const rel = [];
    const nd = [];
    for (const q of cur.clustered) {
      const id = qId.get(q.key);
      const r = await req(base, `/related?question_id=${id}&limit=4`);
      let ids = [];
      if (r.status === 200) ids = relatedIds(r, id, `/related ${q.key}`);
      else { errors.related++; issues.push(`/related ${q.key}: HTTP ${r.status} ${r.text.slice(0, 200)}`); }
      const v = precisionAt(ids, q.cluster, id, 4);
      rel.push({ lang: q.language, v });
      nd.push({ lang: q.language, v: ndcgAt(ids, q.cluster, id, 4) });
      res.per.related.push({ key: q.key, cluster: q.cluster, v, got: ids.map(nameOf) });
    }
    res.related = split(rel);
    res.ndcg = split(nd);

    const dr = [];
    for (const [i, d] of cur.drafts.entries()) {
      const qs = new URLSearchParams({ text: d.text, limit: '3' });
      if (d.department) qs.set('department', d.department);
      const r = await req(base, `/related?${qs}`);
      let ids = [];
      if (r.status === 200) ids = relatedIds(r, null, `/related draft ${i} (${d.cluster})`);
      else { errors.drafts++; issues.push(`/related draft ${i} (${d.cluster}): HTTP ${r.status} ${r.text.slice(0, 200)}`); }
      const v = hitAt(ids, d.cluster, 3);
      dr.push({ lang: d.language || langOfCluster.get(d.cluster), hard: !!d.hard, v });
      res.per.drafts.push({ draft: i, cluster: d.cluster, hard: !!d.hard, v, got: ids.map(nameOf) });
    }
    res.drafts = split(dr);
  } else {
    res.unavailable = `GET /related answered ${probe.status}`;
  }

  const se = [];
  for (const s of cur.searches) {
    const qs = new URLSearchParams({ q: s.q, sort: 'relevance', limit: '10' });
    const r = await req(base, `/questions?${qs}`);
    let ids = [];
    if (r.status === 200 && r.body && Array.isArray(r.body.data)) ids = r.body.data.map((x) => x.id);
    else { errors.search++; issues.push(`/questions?q=${s.q}: HTTP ${r.status} ${r.text.slice(0, 200)}`); }
    const v = reciprocalRank(ids, s.cluster, 10);
    se.push({ lang: s.language || langOfCluster.get(s.cluster), v });
    res.per.search.push({ q: s.q, cluster: s.cluster, v, got: ids.map(nameOf) });
  }
  res.search = split(se);
  return res;
}

function evalBaseline(db) {
  const res = { per: { related: [], drafts: [], search: [] } };
  const relTop = baselineTopK(db, cur.clustered.map((q) => ({ text: q.title, exclude: qId.get(q.key) })), 4);
  res.related = split(cur.clustered.map((q, i) => {
    const v = precisionAt(relTop[i], q.cluster, qId.get(q.key), 4);
    res.per.related.push({ key: q.key, cluster: q.cluster, v, got: relTop[i].map(nameOf) });
    return { lang: q.language, v };
  }));
  res.ndcg = split(cur.clustered.map((q, i) => ({ lang: q.language, v: ndcgAt(relTop[i], q.cluster, qId.get(q.key), 4) })));
  const drTop = baselineTopK(db, cur.drafts.map((d) => ({ text: d.text })), 3);
  res.drafts = split(cur.drafts.map((d, i) => {
    const v = hitAt(drTop[i], d.cluster, 3);
    res.per.drafts.push({ draft: i, cluster: d.cluster, hard: !!d.hard, v, got: drTop[i].map(nameOf) });
    return { lang: d.language || langOfCluster.get(d.cluster), hard: !!d.hard, v };
  }));
  const seTop = baselineTopK(db, cur.searches.map((s) => ({ text: s.q })), 10);
  res.search = split(cur.searches.map((s, i) => {
    const v = reciprocalRank(seTop[i], s.cluster, 10);
    res.per.search.push({ q: s.q, cluster: s.cluster, v, got: seTop[i].map(nameOf) });
    return { lang: s.language || langOfCluster.get(s.cluster), v };
  }));
  return res;
}

// ---------------------------------------------------------------------------
// Report
// ---------------------------------------------------------------------------
const fmt = (x) => (x === null || x === undefined ? 'n/a' : x.toFixed(3));

const ROWS = [
  ['related precision@4, all', 'related', 'all'],
  ['related precision@4, en', 'related', 'en'],
  ['related precision@4, zh-TW', 'related', 'zh'],
  ['related nDCG@4, all', 'ndcg', 'all'],
  ['related nDCG@4, en', 'ndcg', 'en'],
  ['related nDCG@4, zh-TW', 'ndcg', 'zh'],
  ['draft hit@3, all', 'drafts', 'all'],
  ['draft hit@3, en', 'drafts', 'en'],
  ['draft hit@3, zh-TW', 'drafts', 'zh'],
  ['draft hit@3, hard', 'drafts', 'hard'],
  ['search MRR@10, all', 'search', 'all'],
  ['search MRR@10, en', 'search', 'en'],
  ['search MRR@10, zh-TW', 'search', 'zh'],
];

/** One markdown table: a row per metric, a column per (run, system). */
function table(cols) {
  const rows = ROWS.map(([label, key, part]) => [label,
    ...cols.map(([, r]) => (r && r[key] ? fmt(r[key][part]) : 'n/a')),
    String(cols[2][1][key] ? cols[2][1][key].n[part] : '')]);
  const head = ['metric', ...cols.map(([h]) => h), 'n (all)'];
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (r) => '| ' + r.map((c, i) => (i === 0 ? c.padEnd(w[i]) : c.padStart(w[i]))).join(' | ') + ' |';
  return [line(head), '|' + w.map((x, i) => (i === 0 ? ':' : '') + '-'.repeat(x + 1) + (i === 0 ? '' : ':')).join('|') + '|',
    ...rows.map(line)].join('\n');
}

function perCluster(res, key) {
  const by = new Map();
  for (const p of res.per[key]) {
    if (!by.has(p.cluster)) by.set(p.cluster, []);
    by.get(p.cluster).push(p.v);
  }
  return [...by.entries()].map(([c, vs]) => `${c}=${mean(vs).toFixed(2)}`).join(' ');
}

/** A "hard" draft shares no term (English stem or Chinese bigram) with
 * its cluster's titles; a set that says otherwise is wrong (exit 2). */
function checkHardDrafts(db) {
  const rows = cur.drafts.map((d, i) => [i, d]).filter(([, d]) => d.hard).map(([i, d]) => {
    const titles = cur.clustered.filter((q) => q.cluster === d.cluster).map((q) => q.title).join(' ');
    return `(${i}, ${lit(d.text)}, ${lit(titles)})`;
  });
  if (!rows.length) return;
  const terms = (x) => `tsvector_to_array(to_tsvector('english', ${x}) || to_tsvector('simple', mq_cjk_bigrams(${x})))`;
  const bad = psqlFile(db, `WITH d(i, t, titles) AS (VALUES ${rows.join(',')})
SELECT i || ': ' || array_to_string(ARRAY(SELECT unnest(${terms('t')}) INTERSECT SELECT unnest(${terms('titles')})), ' ')
FROM d WHERE ${terms('t')} && ${terms('titles')};`);
  if (bad) {
    process.stderr.write(`eval: "hard" drafts sharing terms with their cluster's titles (draft: terms):\n${bad}\n`);
    process.exit(2);
  }
}

/** Loads `n` synthetic distractors (none when 0) and the hand set into a
 * fresh database, and scores medqa and the baseline there. With
 * `freshness`, medqa is scored first with the term statistics as the
 * synthetic load left them (the hand set posted after it, no refresh;
 * IDF_REFRESH_INTERVAL=0 keeps medqa's worker from refreshing), then
 * again after mq_refresh_df(). */
async function runOnce(n, freshness, set = 'all') {
  condOfId.clear();
  cur = SETS[set];
  const db = await freshDb();
  let srv = null;
  const out = { n, set };
  try {
    if (n > 0) {
      const t0 = Date.now();
      const env = { DATABASE_URL: dbUrl(db) };
      const seeded = await runMedqa(['seed', '--synthetic', String(n)], env);
      if (seeded.code !== 0) throw new Error('medqa seed --synthetic failed:\n' + seeded.stderr);
      const labelsFile = join(workDir, 'labels.tsv');
      const lab = await runMedqa(['seed', '--synthetic', String(n), '--labels', labelsFile], env);
      if (lab.code !== 0) throw new Error('medqa seed --labels failed:\n' + lab.stderr);
      for (const line of readFileSync(labelsFile, 'utf8').split('\n')) {
        const [id, key] = line.split('\t');
        if (id) condOfId.set(id, key);
      }
      out.loadSeconds = (Date.now() - t0) / 1000;
    }
    psqlFile(db, loadSql(), { single: true });
    if (n === 0) checkHardDrafts(db);
    prepareBaseline(db);
    out.base = evalBaseline(db);
    // The evaluation asks ~250 questions from one address in seconds.
    srv = await startMedqa({ db, env: { RATE_LIMIT_ANON: 'off', IDF_REFRESH_INTERVAL: '0' } });
    if (freshness) out.stale = await evalMedqa(srv.base);
    postLoad(db);
    out.med = await evalMedqa(srv.base);
  } finally {
    if (srv) {
      try {
        await srv.stop();
      } catch (e) {
        out.stopError = e.message.slice(0, 2000);
      }
    }
    if (!process.env.EVAL_KEEP_DB) {
      try {
        execFileSync('dropdb', ['-h', PG_SOCK, '-p', String(PG_PORT), '-U', 'medqa', db], { stdio: 'ignore' });
      } catch { /* a leftover database in a throwaway cluster is harmless */ }
    } else {
      process.stdout.write(`eval: kept database ${db}\n`);
    }
  }
  return out;
}

/** Floors of --assert: [env, label, value]; unset ones are not checked. */
function floorsOf(run, suffix) {
  const m = run.med;
  return [
    [`EVAL_MIN_P4_EN${suffix}`, 'related precision@4, en', m.related && m.related.en],
    [`EVAL_MIN_P4_ZH${suffix}`, 'related precision@4, zh-TW', m.related && m.related.zh],
    [`EVAL_MIN_HIT3${suffix}`, 'draft hit@3, all', m.drafts && m.drafts.all],
    [`EVAL_MIN_HIT3_HARD${suffix}`, 'draft hit@3, hard', m.drafts && m.drafts.hard],
    [`EVAL_MIN_MRR${suffix}`, 'search MRR@10, all', m.search && m.search.all],
    [`EVAL_MIN_MRR_EN${suffix}`, 'search MRR@10, en', m.search && m.search.en],
    [`EVAL_MIN_MRR_ZH${suffix}`, 'search MRR@10, zh-TW', m.search && m.search.zh],
  ].map(([env, label, v]) => [env, `${label} (${run.set === 'v1' ? 'v1' : run.n ? '+' + run.n : 'whole set'})`, v]);
}

/** The largest difference, over the table's figures, between two runs. */
function maxDelta(a, b) {
  let d = 0;
  for (const [, key, part] of ROWS) {
    if (a[key] && b[key] && a[key][part] !== null && b[key][part] !== null) {
      d = Math.max(d, Math.abs(a[key][part] - b[key][part]));
    }
  }
  return d;
}

async function main() {
  const nClusters = new Set(clustered.map((q) => q.cluster)).size;
  process.stdout.write(`eval: ${DATASET.replace(process.cwd() + '/', '')}: ${ds.questions.length} questions ` +
    `(${clustered.length} in ${nClusters} clusters, ${ds.questions.length - clustered.length} decoys), ` +
    `${ds.drafts.length} drafts (${ds.drafts.filter((d) => d.hard).length} hard), ${ds.searches.length} searches; ` +
    `v1 (the first version's items): ${SETS.v1.questions.length} questions, ${SETS.v1.drafts.length} drafts, ${SETS.v1.searches.length} searches\n`);

  let exit = 0;
  const runs = [];
  try {
    runs.push(await runOnce(0, false, 'v1'));
    runs.push(await runOnce(0, false));
    if (opt.distractors > 0) runs.push(await runOnce(opt.distractors, opt.freshness));
  } finally {
    rmSync(workDir, { recursive: true, force: true });
  }
  for (const r of runs) {
    if (r.stopError) {
      process.stderr.write(`eval: medqa did not stop cleanly: ${r.stopError}\n`);
      exit = 1;
    }
  }
  const cols = [];
  for (const r of runs) {
    const tag = r.set === 'v1' ? ' v1' : r.n ? ` +${r.n}` : '';
    cols.push([`medqa${tag}`, r.med], [`baseline${tag}`, r.base]);
    if (r.stale) cols.push([`medqa${tag} no refresh`, r.stale]);
  }
  process.stdout.write('\n' + table(cols) + '\n\n');
  process.stdout.write('baseline: ts_rank(search, plainto_tsquery(\'english\', title | draft | q)), ' +
    'every word must match; medqa: GET /related and GET /questions?q=&sort=relevance\n');
  for (const r of runs) {
    if (r.n) {
      process.stdout.write(`+${r.n}: medqa seed --synthetic ${r.n} loaded first (${r.loadSeconds.toFixed(0)} s), ` +
        'the hand set posted after it; a synthetic result counts when its condition is the cluster\'s (conditions.json)\n');
    }
    if (r.stale) {
      process.stdout.write(`+${r.n} freshness: largest difference without / with mq_refresh_df(): ` +
        `${maxDelta(r.stale, r.med).toFixed(3)}\n`);
    }
  }
  const med0 = runs[1].med;
  if (med0.unavailable) process.stdout.write(`medqa /related: n/a (${med0.unavailable})\n`);
  const nerr = errors.related + errors.drafts + errors.search;
  if (nerr) process.stdout.write(`medqa errors (counted as misses): related ${errors.related}, drafts ${errors.drafts}, search ${errors.search}\n`);
  if (opt.verbose) {
    for (const r of runs) {
      for (const [name, x] of [['medqa', r.med], ['baseline', r.base], ['medqa no refresh', r.stale]]) {
        if (!x) continue;
        for (const k of ['related', 'drafts', 'search']) {
          if (x.per[k].length) process.stdout.write(`${name}${r.set === 'v1' ? ' v1' : r.n ? ' +' + r.n : ''} ${k} by cluster: ${perCluster(x, k)}\n`);
        }
      }
    }
  }
  const uniq = [...new Set(issues)];
  if (uniq.length) {
    process.stdout.write(`\nmedqa answers that break the /related contract or failed (${uniq.length}):\n`);
    for (const s of uniq.slice(0, 20)) process.stdout.write(`  ${s}\n`);
    if (uniq.length > 20) process.stdout.write(`  … ${uniq.length - 20} more\n`);
  }
  if (opt.json) {
    writeFileSync(opt.json, JSON.stringify({ runs, errors, issues: uniq }, null, 1));
  }

  if (opt.assert) {
    // The first version's floors on its own items; _ALL on the whole
    // set; _X with the distractors.
    const floors = [...floorsOf(runs[0], ''), ...floorsOf(runs[1], '_ALL')];
    if (runs[2]) floors.push(...floorsOf(runs[2], '_X'));
    const fails = [];
    let checked = 0;
    for (const [env, label, v] of floors) {
      const raw = process.env[env];
      if (raw === undefined || raw === '') continue;
      const floor = Number(raw);
      if (!Number.isFinite(floor)) { fails.push(`${env}=${raw} is not a number`); continue; }
      checked++;
      if (v === null || v === undefined) fails.push(`${label}: n/a, floor ${env}=${floor}`);
      else if (v < floor) fails.push(`${label}: ${v.toFixed(3)} < ${env}=${floor}`);
    }
    const maxFresh = process.env.EVAL_MAX_FRESH_DELTA;
    if (maxFresh && runs[2] && runs[2].stale) {
      checked++;
      const d = maxDelta(runs[2].stale, runs[2].med);
      if (d > Number(maxFresh)) fails.push(`freshness: a figure moved ${d.toFixed(3)} > EVAL_MAX_FRESH_DELTA=${maxFresh}`);
    }
    const contract = uniq.filter((s) => /itself|twice|not in the set|no "questions"/.test(s));
    if (contract.length) fails.push(`/related broke its contract ${contract.length} time(s) (see above)`);
    if (fails.length) {
      process.stdout.write('\nassert: FAILED\n' + fails.map((f) => `  ${f}\n`).join(''));
      exit = 1;
    } else {
      process.stdout.write(`\nassert: ok (${checked} floor(s) checked)\n`);
    }
  }
  return exit;
}

main().then((code) => { process.exitCode = code; }, (e) => {
  process.stderr.write(`eval: ${e.stack || e}\n`);
  process.exitCode = 2;
});
