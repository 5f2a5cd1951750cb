#!/usr/bin/env node
// The lay <-> medical vocabulary (data/vocabulary/) as SQL.
//
//   node scripts/vocabulary.mjs            writes sql/vocabulary.sql from
//                                          data/vocabulary/medical.tsv and
//                                          data/vocabulary/wordnet.tsv
//   node scripts/vocabulary.mjs --check    exits 1 if sql/vocabulary.sql
//                                          is not what the data makes
//   node scripts/vocabulary.mjs --wordnet [DIR]
//                                          regrows data/vocabulary/wordnet.tsv
//                                          from WordNet 3.0's database files
//                                          (Debian's wordnet-base:
//                                          /usr/share/wordnet), then writes
//                                          the SQL
//
// The vocabulary is data; the maps in the SQL are computed by PostgreSQL
// itself (mq__vocab_build in sql/terms.sql, on a throwaway cluster), so
// that the same English stemmer reads a text and an entry.
//
// WordNet growth (data/vocabulary/README.md): for each medical or lay
// entry of medical.tsv that is a WordNet lemma, the other lemmas of its
// synsets in the lexicographer files about the body and its states
// (noun.body, noun.state, noun.process, verb.body), and the
// derivationally related forms of the entry's own lemma there that share
// its first four letters (its other parts of speech: "itch" -> "itchy").
// Each line records the synset it came from.
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createHash } from "node:crypto";
import { spawnSync } from "node:child_process";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const dataDir = join(root, "data/vocabulary");
const sqlPath = join(root, "sql/vocabulary.sql");

function readTsv(path) {
  if (!existsSync(path)) return [];
  const rows = [];
  readFileSync(path, "utf8")
    .split("\n")
    .forEach((line, i) => {
      if (line === "" || line.startsWith("#")) return;
      const f = line.split("\t");
      if (f.length < 3 || !f[0] || !["medical", "lay", "zh", "wordnet"].includes(f[1]) || !f[2])
        throw new Error(`${path}:${i + 1}: want concept<TAB>kind<TAB>phrase[<TAB>source]`);
      rows.push({ concept: f[0], kind: f[1], phrase: f[2].toLowerCase(), source: f[3] || "hand" });
    });
  return rows;
}

// WordNet 3.0 lexicographer files kept (lexnames numbers).
const LEXFILES = new Set([8, 22, 26, 29]); // noun.body, noun.process, noun.state, verb.body
// Reviewed by hand: WordNet synonyms that pass the rules below but are
// slang or too general to bridge a patient's text to a condition.
const DENY = new Set(["spots", "barf", "puke", "piss", "pissing", "honk", "spue", "spew", "upchuck", "economic crisis", "hickey", "sob", "fag", "fag out", "jade", "pall", "urinator", "vomiter", "bay window", "corporation", "breadbasket", "pot", "potbelly", "paunch", "hoo-ha", "hoo-hah", "hurly burly", "kerfuffle", "to-do", "trauma", "scabies", "roseola", "be sick", "wear upon", "abdominal muscle"]);
const POS = { n: "noun", v: "verb", a: "adj", s: "adj" };

function readWordnet(dir) {
  const synsets = new Map(); // "pos:offset" -> {lex, words, ptrs}
  const index = new Map(); // lemma -> ["pos:offset", ...]
  for (const pos of ["noun", "verb", "adj"]) {
    for (const line of readFileSync(join(dir, `data.${pos}`), "latin1").split("\n")) {
      if (!/^\d{8} /.test(line)) continue;
      const t = line.split(" | ")[0].split(" ");
      const off = t[0];
      const lex = parseInt(t[1], 10);
      const ss = t[2] === "s" ? "a" : t[2];
      const nw = parseInt(t[3], 16);
      const words = [];
      for (let i = 0; i < nw; i++) words.push(t[4 + 2 * i].replace(/\(.*\)$/, "").toLowerCase());
      let k = 4 + 2 * nw;
      const np = parseInt(t[k], 10);
      const ptrs = [];
      for (let i = 0; i < np; i++) {
        const [sym, poff, ppos, st] = t.slice(k + 1 + 4 * i, k + 5 + 4 * i);
        ptrs.push({ sym, key: `${ppos === "s" ? "a" : ppos}:${poff}`, src: parseInt(st.slice(0, 2), 16), dst: parseInt(st.slice(2), 16) });
      }
      synsets.set(`${ss}:${off}`, { lex, words, ptrs });
      words.forEach((w) => {
        if (!index.has(w)) index.set(w, []);
        index.get(w).push(`${ss}:${off}`);
      });
    }
  }
  return { synsets, index };
}

function growWordnet(dir, hand) {
  const { synsets, index } = readWordnet(dir);
  const have = new Set(hand.map((r) => r.phrase));
  const out = new Map();
  // A synonym that also means something else ("cast", "low", "pot")
    // would bridge unrelated texts: kept only when every sense of it is
    // about the body, or when it is a phrase.
    const medicalOnly = (w) => w.includes("_") || (index.get(w) || []).every((k) => LEXFILES.has(synsets.get(k).lex));
  const add = (concept, word, source, derived) => {
    const phrase = word.replace(/_/g, " ");
    if ((!derived && !medicalOnly(word)) || DENY.has(phrase)) return;
    if (have.has(phrase) || out.has(phrase) || phrase.length < 3 || /[^a-z' -]/.test(phrase)) return;
    out.set(phrase, { concept, kind: "wordnet", phrase, source });
  };
  for (const r of hand) {
    if (r.kind === "zh") continue;
    const lemma = r.phrase.replace(/ /g, "_");
    // Only the word's most frequent sense about the body (WordNet lists
    // senses by frequency), so "depression" does not bring "slump".
    const first = (index.get(lemma) || []).find((k) => LEXFILES.has(synsets.get(k).lex));
    for (const key of first ? [first] : []) {
      const s = synsets.get(key);
      const tag = `wordnet-3.0 ${POS[key[0]]} ${key.slice(2)}`;
      s.words.forEach((w) => add(r.concept, w, `${tag} synonym of "${r.phrase}"`));
      const self = s.words.indexOf(lemma) + 1;
      for (const p of s.ptrs) {
        if (p.sym !== "+" || (p.src !== 0 && p.src !== self)) continue;
        const t = synsets.get(p.key);
        if (!t || p.dst === 0) continue;
        const w = t.words[p.dst - 1];
        if (w && w.slice(0, 4) === lemma.slice(0, 4))
          add(r.concept, w, `wordnet-3.0 ${POS[p.key[0]]} ${p.key.slice(2)} derived from "${r.phrase}"`, true);
      }
    }
  }
  return [...out.values()].sort((a, b) => a.concept.localeCompare(b.concept) || a.phrase.localeCompare(b.phrase));
}

const sqlString = (s) => `'${s.replace(/'/g, "''")}'`;

// The maps, computed by mq__vocab_build (sql/terms.sql) on a throwaway
// PostgreSQL cluster (scripts/pg.sh), or on DATABASE_URL when it is set.
function buildMaps(rows) {
  const input = JSON.stringify(rows.map((r) => [r.concept, r.kind, r.phrase]));
  const run = (cmd, args, opts = {}) => {
    const r = spawnSync(cmd, args, { encoding: "utf8", maxBuffer: 64 << 20, ...opts });
    if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")}: ${r.stderr || r.error}`);
    return r.stdout;
  };
  let url = process.env.DATABASE_URL;
  let tmp = null;
  if (!url) {
    tmp = mkdtempSync(join(tmpdir(), "medqa-vocab."));
    chmodSync(tmp, 0o755);
    const port = String(20000 + Math.floor(Math.random() * 20000));
    run(join(root, "scripts/pg.sh"), ["start", `${tmp}/pg`, port]);
    run(join(root, "scripts/pg.sh"), ["createdb", `${tmp}/pg`, port, "vocab"]);
    url = run(join(root, "scripts/pg.sh"), ["url", `${tmp}/pg`, port, "vocab"]).trim();
  }
  try {
    const sql =
      "BEGIN;\n" +
      readFileSync(join(root, "sql/terms.sql"), "utf8") +
      "\n;\nSELECT mq__vocab_build(" + sqlString(input) + "::jsonb)::text;\nROLLBACK;\n";
    const out = run("psql", [url, "-X", "-q", "-t", "-A", "-v", "ON_ERROR_STOP=1"], { input: sql });
    return JSON.parse(out.trim().split("\n").pop());
  } finally {
    if (tmp) {
      spawnSync(join(root, "scripts/pg.sh"), ["stop", `${tmp}/pg`]);
      rmSync(tmp, { recursive: true, force: true });
    }
  }
}

// Keys sorted, so the file changes only where the data does.
const sorted = (o) => Object.fromEntries(Object.keys(o).sort().map((k) => [k, o[k]]));
const jsonLiteral = (o) =>
  "'{\n" +
  Object.entries(sorted(o))
    .map(([k, v]) => `    ${JSON.stringify(k)}: ${JSON.stringify(v)}`.replace(/'/g, "''"))
    .join(",\n") +
  "\n    }'::jsonb";

function makeSql(rows, maps, digest) {
  const fn = (name, what, o) => `-- ${what}
CREATE OR REPLACE FUNCTION ${name}() RETURNS jsonb
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT ${jsonLiteral(o)}
$$;
`;
  return `-- GENERATED by scripts/vocabulary.mjs from data/vocabulary/medical.tsv
-- (hand-curated) and data/vocabulary/wordnet.tsv (grown from WordNet 3.0),
-- ${rows.length} entries; edit those files and run \`node scripts/vocabulary.mjs\`,
-- never this one. \`make lint\` checks that it is current.
-- data sha256: ${digest}
--
-- The lay <-> medical vocabulary as the constants mq_canon (terms.sql)
-- reads, built by mq__vocab_build (terms.sql): IMMUTABLE functions without
-- arguments, so PostgreSQL folds each into the plan of its caller and a
-- lookup costs what a literal does. Changing them changes stored terms,
-- so a change ships with a versioned migration that recomputes them (as
-- migrations/0016_vocabulary.sql did).

${fn("mq_synonym_map", "Single-term entries: an English stem or a Chinese bigram -> the tokens of its concepts.", maps.words)}
${fn("mq_phrase_map", "Phrase entries by their first term: [[tsquery, token], ...].", maps.phrases)}
${fn("mq_vocab_concepts", "A concept's token -> its name (reasons.via).", maps.concepts)}`;
}
const args = process.argv.slice(2);
const hand = readTsv(join(dataDir, "medical.tsv"));
if (args[0] === "--wordnet") {
  const grown = growWordnet(args[1] || "/usr/share/wordnet", hand);
  const header =
    "# Grown from WordNet 3.0 (Princeton University; Debian package wordnet-base,\n" +
    "# /usr/share/wordnet) by `node scripts/vocabulary.mjs --wordnet`; do not\n" +
    "# edit by hand. concept<TAB>kind<TAB>phrase<TAB>source (the synset).\n";
  writeFileSync(
    join(dataDir, "wordnet.tsv"),
    header + grown.map((r) => [r.concept, r.kind, r.phrase, r.source].join("\t")).join("\n") + "\n",
  );
  console.log(`wordnet.tsv: ${grown.length} entries`);
}
const all = [...hand, ...readTsv(join(dataDir, "wordnet.tsv"))];
const seen = new Set();
const rows = all.filter((r) => {
  const k = `${r.concept}\t${r.phrase}`;
  if (seen.has(k)) return false;
  seen.add(k);
  return true;
});
const digest = createHash("sha256")
  .update(JSON.stringify(rows.map((r) => [r.concept, r.kind, r.phrase])))
  .update(readFileSync(join(root, "sql/terms.sql")))
  .digest("hex");
if (args[0] === "--check") {
  // Without a database: the data and terms.sql it was built from.
  const cur = existsSync(sqlPath) ? readFileSync(sqlPath, "utf8") : "";
  if (!cur.includes(`-- data sha256: ${digest}\n`)) {
    console.error("sql/vocabulary.sql is not current: run node scripts/vocabulary.mjs");
    process.exit(1);
  }
} else {
  writeFileSync(sqlPath, makeSql(rows, buildMaps(rows), digest));
  console.log(`sql/vocabulary.sql: ${rows.length} entries`);
}
