// The negative sweep, generated from openapi/openapi.yaml: for every
// operation, requests that break one parameter's or one body property's
// schema at a time (wrong type, out of range, too long, too short, bad
// format, not matching the pattern, not in the enum, missing when required,
// unknown property or parameter). Each must get a 400 problem document whose
// errors[] names that parameter (`parameter`, `in`) or body member
// (`pointer`), and never a 5xx. Requests carry a key of a role the
// operation allows, so that authorisation cannot answer before validation.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { req, TMP } from './lib/medqa.mjs';
import { demoServer, IDS, NO_SUCH_ID } from './lib/fixtures.mjs';
import { OPERATIONS, SPEC, deref } from './lib/contract.mjs';

const keys = {};
const counts = { requests: 0, status400: 0, status5xx: 0, operations: 0, params: 0, bodyMembers: 0 };

// A key for every role the spec's security requirements name.
const roles = new Set();
for (const o of OPERATIONS)
  for (const r of o.op.security || SPEC.security || [])
    for (const list of Object.values(r)) list.forEach((x) => roles.add(x));
const m = demoServer({
  keys: Object.fromEntries([...roles].map((role) =>
    [role, role === 'doctor' ? ['doctor', IDS.lan] : role])),
});
before(async () => Object.assign(keys, (await m.ready).keys));
after(() => {
  if (process.env.MEDQA_TMP)
    writeFileSync(join(TMP, 'summary-negative.txt'),
      `negative sweep: ${counts.requests} requests over ${counts.operations} operations ` +
      `(${counts.params} parameters, ${counts.bodyMembers} body members): ` +
      `${counts.status400} got 400, ${counts.status5xx} got 5xx\n`);
});

/** The key header for operation `o`: none when anonymous callers may call
 * it, else a key of the first role its security lists. */
function authFor(o) {
  const sec = o.op.security || SPEC.security || [];
  if (sec.some((r) => Object.keys(r).length === 0)) return {};
  const role = Object.values(sec[0])[0][0];
  return { authorization: `Bearer ${keys[role]}` };
}

const BREAKERS = ['Not A Slug!', '   ', 'ünïcode', '-'];

/** A value `schema` accepts (enough for a baseline). */
function validValue(schema, name = '') {
  const s = deref(schema) || {};
  if (s.example !== undefined) return s.example;
  if (s.default !== undefined) return s.default;
  if (s.enum) return s.enum[0];
  const type = Array.isArray(s.type) ? s.type.find((t) => t !== 'null') : s.type;
  switch (type) {
    case 'integer': case 'number': return s.minimum ?? 1;
    case 'boolean': return true;
    case 'array': return [];
    case 'object': {
      const o = {};
      for (const k of s.required || []) o[k] = validValue(s.properties[k], k);
      if (s.minProperties && Object.keys(o).length === 0) {
        const k = Object.keys(s.properties)[0];
        o[k] = validValue(s.properties[k], k);
      }
      return o;
    }
    default:
      if (s.format === 'uuid') return NO_SUCH_ID;
      if (s.format === 'email') return 'someone@example.org';
      if (s.format === 'date-time') return '2024-03-11T07:42:18.120Z';
      if (s.pattern) return ['en', 'a', 'facial-twitching', 'key-1'].find((c) => new RegExp(s.pattern, 'u').test(c));
      return name === 'name' ? 'A name' : 'text';
  }
}

/**
 * The ways to break one value of `schema`: [{what, value}] where a value of
 * `text` keeps to breakers that can be written as text (a query, path or
 * header value is always a string, so "wrong type" is not one for a
 * string parameter).
 */
function breakers(schema, { text = false } = {}) {
  const s = deref(schema) || {};
  const out = [];
  const types = [].concat(s.type || []);
  const type = types.find((t) => t !== 'null');
  if (type === 'integer' || type === 'number') {
    out.push({ what: 'wrong type', value: 'abc' });
    if (type === 'integer') out.push({ what: 'not an integer', value: text ? '1.5' : 1.5 });
    if (s.minimum !== undefined) out.push({ what: 'below minimum', value: text ? String(s.minimum - 1) : s.minimum - 1 });
    if (s.maximum !== undefined) out.push({ what: 'above maximum', value: text ? String(s.maximum + 1) : s.maximum + 1 });
    return out;
  }
  if (type === 'boolean') return [{ what: 'wrong type', value: 'maybe' }];
  if (type === 'array') {
    const item = deref(s.items) || {};
    const good = validValue(item);
    if (!text) out.push({ what: 'wrong type', value: 'x' });
    // In a JSON body the error names the item (/events/0), which the
    // per-item cases of bodyCases() cover; here only for text lists.
    if (item.enum) out.push({ what: 'item not in enum', value: text ? 'bogus' : ['bogus'], item: !text });
    else if (!text) for (const b of breakers(item)) out.push({ what: `item ${b.what}`, value: [b.value], item: true });
    if (s.uniqueItems) out.push({ what: 'duplicate items', value: text ? `${good},${good}` : [good, good] });
    if (s.maxItems !== undefined) {
      const many = Array.from({ length: s.maxItems + 1 }, (_, i) =>
        item.enum ? item.enum[i % item.enum.length] : `${good}${i}`.replace(/[^a-z0-9-]/g, 'x'));
      out.push({ what: 'too many items', value: text ? many.join(',') : many });
    }
    return out;
  }
  if (type === 'object') return text ? [] : [{ what: 'wrong type', value: 'x' }];
  // string (or untyped)
  if (!text) out.push({ what: 'wrong type', value: 12345 });
  if (s.enum) out.push({ what: 'not in enum', value: 'bogus' });
  if (s.format === 'uuid') out.push({ what: 'bad uuid', value: 'not-a-uuid' });
  if (s.format === 'date-time') {
    out.push({ what: 'bad date-time', value: 'yesterday' });
    out.push({ what: 'impossible date-time', value: '2024-13-45T25:61:00Z' });
  }
  if (s.format === 'email') out.push({ what: 'bad email', value: 'not-an-email' });
  if (s.format === 'uri') out.push({ what: 'bad uri', value: 'no scheme here' });
  // A run of 'a's: where a pattern refuses it too, the answer must still
  // name this value, which is all that is checked.
  if (s.maxLength !== undefined) out.push({ what: 'too long', value: 'a'.repeat(s.maxLength + 1) });
  if (s.minLength !== undefined && s.minLength > 0) out.push({ what: 'too short', value: '' });
  if (s.pattern) {
    const re = new RegExp(s.pattern, 'u');
    const bad = BREAKERS.find((c) => !re.test(c));
    if (bad !== undefined) out.push({ what: 'not matching the pattern', value: bad });
  }
  return out;
}

/** The operation's parameters (path-level and its own), dereferenced. */
function paramsOf(o) {
  const seen = new Map();
  for (const p of [...(o.pathItem.parameters || []), ...(o.op.parameters || [])].map(deref))
    seen.set(`${p.in}:${p.name}`, p);
  return [...seen.values()];
}

/** The request body's media type, schema and baseline example, or null. */
function bodyOf(o) {
  const rb = deref(o.op.requestBody);
  if (!rb) return null;
  const [type, media] = Object.entries(rb.content).find(([t]) => t === 'application/json') ||
    Object.entries(rb.content)[0];
  return { type, schema: media.schema, example: media.example ?? validValue(media.schema) };
}

/** Every body case under `schema` at `ptr`: [{what, pointer, edit(doc)}]. */
function bodyCases(schema, value, ptr, set) {
  const s = deref(schema) || {};
  const cases = [];
  const types = [].concat(s.type || []);
  if (types.includes('object')) {
    for (const k of s.required || [])
      cases.push({ what: `${ptr}/${k} missing (required)`, pointer: `${ptr}/${k}`, edit: (d) => { delete get(d, ptr)[k]; } });
    if (s.additionalProperties === false)
      cases.push({ what: `${ptr}/bogus_field unknown`, pointer: `${ptr}/bogus_field`, edit: (d) => { get(d, ptr).bogus_field = 1; } });
    if (s.minProperties)
      cases.push({ what: `${ptr || '(root)'} has no properties`, pointer: ptr, edit: (d) => {
        const o = get(d, ptr);
        for (const k of Object.keys(o)) delete o[k];
      } });
    for (const [k, ps] of Object.entries(s.properties || {})) {
      set.add(`${ptr}/${k}`);
      const kptr = `${ptr}/${k}`;
      const present = value && value[k] !== undefined;
      const good = present ? value[k] : validValue(ps, k);
      const ensure = (d) => { if (get(d, ptr)[k] === undefined) get(d, ptr)[k] = structuredClone(good); };
      for (const b of breakers(ps)) {
        if (b.item) continue; // item cases come from the recursion below
        cases.push({ what: `${kptr} ${b.what}`, pointer: kptr, edit: (d) => { get(d, ptr)[k] = b.value; } });
      }
      const pd = deref(ps) || {};
      const ptypes = [].concat(pd.type || []);
      if (ptypes.includes('object'))
        for (const c of bodyCases(pd, good, kptr, set))
          cases.push({ ...c, edit: (d) => { ensure(d); c.edit(d); } });
      if (ptypes.includes('array') && pd.items) {
        const item = deref(pd.items);
        for (const b of breakers(item))
          cases.push({ what: `${kptr}/0 ${b.what}`, pointer: `${kptr}/0`,
            edit: (d) => { get(d, ptr)[k] = [b.value]; } });
      }
    }
  }
  return cases;
}

function get(doc, ptr) {
  return ptr === '' ? doc : ptr.slice(1).split('/').reduce((n, k) => n[k], doc);
}

/** Sends one broken request and returns a sentence when the answer is not
 * the expected 400 naming `expect`. */
async function send(o, { path, query = '', headers = {}, body, type }, expect, what) {
  const h = { ...authFor(o), ...headers };
  const init = { method: o.method, headers: h };
  if (body !== undefined) {
    h['content-type'] = type;
    init.body = JSON.stringify(body);
  }
  const r = await req(m.base, path + query, init);
  counts.requests++;
  if (r.status >= 500) counts.status5xx++;
  if (r.status === 400) counts.status400++;
  const label = `${o.id} ${what}`;
  if (r.status !== 400) return `${label}: ${r.status} ${r.text.slice(0, 200)}`;
  if (!/^application\/problem\+json/.test(r.headers.get('content-type') || '')) return `${label}: not a problem document`;
  const errs = r.body.errors || [];
  const hit = errs.some((e) => (expect.pointer !== undefined ? e.pointer === expect.pointer
    : e.parameter === expect.parameter && e.in === expect.in));
  if (!hit) return `${label}: errors do not name ${JSON.stringify(expect)}: ${JSON.stringify(errs)}`;
  return null;
}

function basePath(o, params, override = {}) {
  let path = o.template;
  for (const p of params.filter((x) => x.in === 'path')) {
    const v = p.name in override ? override[p.name] : validValue(p.schema, p.name);
    path = path.replace(`{${p.name}}`, encodeURIComponent(v));
  }
  return path;
}

for (const o of OPERATIONS) {
  test(`negative sweep: ${o.id} (${o.method} ${o.template})`, async () => {
    counts.operations++;
    const failures = [];
    const params = paramsOf(o);
    const body = bodyOf(o);
    const validBody = body ? structuredClone(body.example) : undefined;
    const bodyArgs = body ? { body: validBody, type: body.type } : {};
    const run = async (args, expect, what) => {
      const f = await send(o, { ...bodyArgs, ...args }, expect, what);
      if (f) failures.push(f);
    };

    for (const p of params) {
      counts.params++;
      const cases = breakers(p.schema, { text: true });
      if (p.in === 'path') {
        for (const c of cases) {
          if (c.value === '') continue; // an empty segment is another path
          await run({ path: basePath(o, params, { [p.name]: c.value }) },
            { parameter: p.name, in: 'path' }, `path ${p.name} ${c.what}`);
        }
      } else if (p.in === 'query') {
        for (const c of cases)
          await run({ path: basePath(o, params), query: `?${p.name}=${encodeURIComponent(c.value)}` },
            { parameter: p.name, in: 'query' }, `query ${p.name} ${c.what}`);
      } else if (p.in === 'header') {
        for (const c of cases)
          await run({ path: basePath(o, params), headers: { [p.name]: c.value } },
            { parameter: p.name, in: 'header' }, `header ${p.name} ${c.what}`);
      }
      assert.ok(cases.length > 0 || p.in === 'path', `no case breaks ${p.in} parameter ${p.name}`);
    }
    // A query parameter the operation does not have.
    await run({ path: basePath(o, params), query: '?bogus_param=1' },
      { parameter: 'bogus_param', in: 'query' }, 'unknown query parameter');

    if (body) {
      const members = new Set();
      const cases = bodyCases(body.schema, validBody, '', members);
      counts.bodyMembers += members.size;
      const covered = new Set(cases.map((c) => c.pointer));
      for (const mbr of members)
        assert.ok([...covered].some((p) => p === mbr || p.startsWith(`${mbr}/`)), `no case breaks body member ${mbr}`);
      for (const c of cases) {
        const doc = structuredClone(validBody);
        c.edit(doc);
        await run({ path: basePath(o, params), body: doc }, { pointer: c.pointer }, `body ${c.what}`);
      }
    }
    assert.deepEqual(failures, [], `${failures.length} broken requests were not answered as expected`);
  });
}

test('negative sweep: no 5xx', () => {
  assert.ok(counts.requests > 0);
  assert.equal(counts.status5xx, 0);
});
