// Contract checks: every response the integration tests receive through
// req() is held to openapi/openapi.yaml by an independent validator (ajv,
// JSON Schema 2020-12 as OpenAPI 3.1 uses it), not by medqa's own. A
// response must have a status the operation declares, carry the headers
// the spec marks required (with values of their schema), and have a body of
// a declared media type that is valid against that media type's schema.
//
// Each test file runs in its own process; the counts of this process are
// written to $MEDQA_TMP/contract-<pid>.json when it exits, and run.mjs adds
// them up.
import Ajv2020 from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { parse } from 'yaml';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const SPEC_FILE = new URL('../../../openapi/openapi.yaml', import.meta.url);

/** The spec as parsed by an independent YAML parser (not medqa's). */
export const SPEC = parse(readFileSync(SPEC_FILE, 'utf8'));

const SPEC_ID = 'https://medqa.invalid/openapi.json';
const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];

// strict: false because OpenAPI adds keywords of its own (example) that
// JSON Schema does not know; validateSchema: false because the document as
// a whole is an OpenAPI document, not a schema: only parts of it are.
const ajv = new Ajv2020({ strict: false, allErrors: true, validateSchema: false });
addFormats(ajv);
ajv.addSchema(SPEC, SPEC_ID);

const esc = (s) => s.replace(/~/g, '~0').replace(/\//g, '~1');

/** Follows "#/..." references inside the spec. */
export function deref(node) {
  for (let i = 0; i < 10 && node && typeof node.$ref === 'string'; i++) {
    node = node.$ref.slice(2).split('/')
      .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'))
      .reduce((n, k) => (n === undefined ? undefined : n[k]), SPEC);
  }
  return node;
}

/** Every operation: {id, method, template, pointer, op, pathItem, re, literals}. */
export const OPERATIONS = [];
for (const [template, item] of Object.entries(SPEC.paths)) {
  const segs = template.split('/').slice(1);
  const re = new RegExp('^/' + segs.map((s) => (/^\{.+\}$/.test(s) ? '[^/]+'
    : s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))).join('/') + '$');
  const literals = segs.filter((s) => !/^\{.+\}$/.test(s)).length;
  for (const method of METHODS) {
    if (!item[method]) continue;
    OPERATIONS.push({
      id: item[method].operationId, method: method.toUpperCase(), template,
      pointer: `#/paths/${esc(template)}/${method}`, op: item[method],
      pathItem: item, re, literals,
    });
  }
}

/** The operation serving `method` `path` (HEAD is served as GET), or null. */
export function findOperation(method, path) {
  const m = method === 'HEAD' ? 'GET' : method;
  const p = path.split('?')[0];
  let best = null;
  for (const o of OPERATIONS)
    if (o.method === m && o.re.test(p) && (!best || o.literals > best.literals)) best = o;
  return best;
}

const compiled = new Map();
function validatorAt(pointer) {
  let v = compiled.get(pointer);
  if (!v) {
    v = ajv.compile({ $ref: SPEC_ID + pointer });
    compiled.set(pointer, v);
  }
  return v;
}

function schemaErrors(pointer, value) {
  const v = validatorAt(pointer);
  if (v(value)) return [];
  return v.errors.slice(0, 5).map((e) => `${e.instancePath || '/'} ${e.message}` +
    (e.params && e.params.additionalProperty ? ` (${e.params.additionalProperty})` : ''));
}

/** A header's text as the JSON value its schema types it as. */
function headerValue(schema, text) {
  const t = deref(schema)?.type;
  if ((t === 'integer' || t === 'number') && /^-?\d+(\.\d+)?$/.test(text)) return Number(text);
  return text;
}

const stats = { checked: 0, violations: 0, noOperation: 0, skipped: 0, operations: {}, list: [] };

/**
 * Checks one response against the spec. `res` is {status, headers (a
 * fetch Headers), text}. Returns a list of violation sentences (empty when
 * the response keeps the contract) and records it in this process's counts.
 */
export function checkResponse(method, path, res) {
  if (method === 'OPTIONS') { stats.skipped++; return []; }
  const problems = [];
  const o = findOperation(method, path);
  const ct = (res.headers.get('content-type') || '').split(';')[0].trim().toLowerCase();
  if (!o) {
    // No operation lives here (404 for the path, 405 for the method): the
    // answer must still be a problem document.
    stats.noOperation++;
    if (![404, 405].includes(res.status)) problems.push(`status ${res.status} for a path and method the spec does not have`);
    else if (ct !== 'application/problem+json') problems.push(`content type ${ct} instead of application/problem+json`);
    else problems.push(...schemaErrors('#/components/schemas/Problem', JSON.parse(res.text)));
  } else {
    stats.operations[o.id] = (stats.operations[o.id] || 0) + 1;
    problems.push(...checkOperation(o, method, res, ct));
  }
  stats.checked++;
  if (problems.length > 0) {
    stats.violations++;
    const where = o ? `${o.id} (${o.method} ${o.template})` : `${method} ${path.split('?')[0]}`;
    stats.list.push(`${where} → ${res.status}: ${problems.join('; ')}`);
  }
  return problems;
}

function checkOperation(o, method, res, ct) {
  const problems = [];
  const code = String(res.status);
  const key = [code, `${code[0]}XX`, 'default'].find((k) => o.op.responses[k]);
  if (!key) return [`status ${code} is not declared (declared: ${Object.keys(o.op.responses).join(', ')})`];
  const raw = o.op.responses[key];
  const decl = deref(raw);
  const base = raw.$ref ? raw.$ref.slice(1) : `${o.pointer.slice(1)}/responses/${esc(key)}`;

  for (const [name, h] of Object.entries(decl.headers || {})) {
    const hd = deref(h);
    const value = res.headers.get(name);
    if (value === null) {
      if (hd.required) problems.push(`required header ${name} is missing`);
      continue;
    }
    if (hd.schema) {
      const hp = h.$ref ? h.$ref.slice(1) : `${base}/headers/${esc(name)}`;
      for (const e of schemaErrors(`#${hp}/schema`, headerValue(hd.schema, value)))
        problems.push(`header ${name}: ${e}`);
    }
  }

  const content = decl.content || {};
  const media = Object.keys(content).find((k) => k.toLowerCase() === ct);
  const bodyless = method === 'HEAD' || res.status === 204 || res.status === 304;
  if (bodyless) {
    if (res.text.length > 0) problems.push(`a ${res.status} to ${method} has a body`);
    return problems;
  }
  if (Object.keys(content).length === 0) {
    if (res.text.length > 0) problems.push('a body where the spec declares none');
    return problems;
  }
  if (res.text.length === 0) return [...problems, 'no body where the spec declares one'];
  if (!media) return [...problems, `content type "${ct}" is not declared (declared: ${Object.keys(content).join(', ')})`];
  let value = res.text;
  if (ct === 'application/json' || ct.endsWith('+json')) {
    try { value = JSON.parse(res.text); } catch { return [...problems, 'the body is not JSON']; }
  }
  if (content[media].schema)
    for (const e of schemaErrors(`#${base}/content/${esc(media)}/schema`, value)) problems.push(`body ${e}`);
  return problems;
}

/** This process's counts so far. */
export function contractStats() {
  return stats;
}

const dir = process.env.MEDQA_TMP;
if (dir) {
  process.on('exit', () => {
    if (stats.checked + stats.skipped === 0) return;
    try {
      writeFileSync(join(dir, `contract-${process.pid}.json`), JSON.stringify(stats));
    } catch { /* the run's folder is gone: nothing to report to */ }
  });
}
