import t from 'tap';
import { buildTestNode } from '../helpers/build-test-app.js';

/**
 * Schema-driven fuzzing (issue 13): every operation of /openapi.json gets hostile values in each
 * path parameter, each query parameter and each body member its schema names (one at a time, the
 * rest left out), with an admin token. No answer may be a 5xx, and every refusal is problem+json
 * (under /taxii2, a TAXII error message carrying the problem code).
 * Runs on both engines like every test file.
 */
const node = await buildTestNode(t);
const spec = (await node.app.inject({ method: 'GET', url: '/openapi.json' })).json() as OpenApi;

interface Schema {
  type?: string | string[];
  properties?: Record<string, Schema>;
  required?: string[];
  items?: Schema;
  anyOf?: Schema[];
  oneOf?: Schema[];
  enum?: unknown[];
  const?: unknown;
  format?: string;
  minLength?: number;
  minimum?: number;
  minItems?: number;
}
interface Operation {
  parameters?: Array<{ name: string; in: 'path' | 'query' | 'header'; schema?: Schema }>;
  requestBody?: { content?: Record<string, { schema?: Schema }> };
}
interface OpenApi {
  paths: Record<string, Record<string, Operation>>;
}

/** Values no handler should ever turn into a 5xx. */
const HOSTILE: unknown[] = [
  '\u0000',
  'a\ud800b',
  '\udc00',
  '0000-01-01T00:00:00Z',
  '2016-12-31T23:59:60Z',
  '2026-12-06T09:00:00+09:00[Asia/Tokyo]',
  '99999-01-01T00:00:00Z',
  '9'.repeat(400),
  '-1',
  '1e308',
  "'; drop table incident; --",
  '../../../../etc/passwd',
  '::ffff:203.0.113.99',
  '203.0.113.0/33',
  'x'.repeat(5000),
  '',
  -1,
  2 ** 63,
  1e308,
  0.5,
  true,
  null,
  {},
  [],
  [null],
  { '': '\u0000' },
];

/**
 * Percent-encoding that also sends a lone surrogate, as a client with a bug would: as the bytes
 * ED A0 80 (its CESU-8 form, not UTF-8), which encodeURIComponent refuses to produce.
 */
function enc(text: string): string {
  return encodeURIComponent(text.replace(/[\ud800-\udfff]/g, '\ue000')).replace(/%EE%80%80/g, '%ED%A0%80');
}

/** A path or query value for a hostile value: text as is, anything else as JSON text. */
function asText(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}

function bodySchema(op: Operation): { type: string; schema: Schema } | null {
  const content = op.requestBody?.content;
  if (!content) return null;
  for (const type of ['application/json', 'application/merge-patch+json']) {
    if (content[type]) return { type, schema: content[type].schema ?? {} };
  }
  return null;
}

/** The body members of a schema, one level deep (and inside anyOf/oneOf's first branch). */
function members(schema: Schema): string[] {
  if (schema.properties) return Object.keys(schema.properties);
  const branch = schema.anyOf?.[0] ?? schema.oneOf?.[0];
  return branch ? members(branch) : [];
}

const FORMAT_SAMPLES: Record<string, string> = {
  'date-time': '2026-12-06T09:00:00+09:00',
  date: '2026-12-06',
  uuid: '00000000-0000-4000-8000-000000000000',
  email: 'handler@example.org',
  uri: 'https://example.org/',
  ipv4: '192.0.2.1',
  ipv6: '2001:db8::1',
};

/**
 * A value the schema may accept, built from it (enum, const, format, minimums; required members
 * only), so that a hostile member is checked beyond "required member missing". Where a pattern
 * makes the guess wrong the request is refused earlier, which is still an answer to check.
 */
function sample(schema: Schema, depth = 0): unknown {
  if (depth > 6) return null;
  if (schema.const !== undefined) return schema.const;
  if (schema.enum?.length) return schema.enum[0];
  const branch = schema.anyOf?.[0] ?? schema.oneOf?.[0];
  if (branch) return sample(branch, depth + 1);
  const type = Array.isArray(schema.type) ? schema.type.find((x) => x !== 'null') : schema.type;
  switch (type) {
    case 'object': {
      const out: Record<string, unknown> = {};
      for (const name of schema.required ?? []) out[name] = sample(schema.properties?.[name] ?? {}, depth + 1);
      return out;
    }
    case 'array':
      return schema.minItems ? [sample(schema.items ?? {}, depth + 1)] : [];
    case 'string':
      return (schema.format && FORMAT_SAMPLES[schema.format]) ?? 'x'.repeat(Math.max(1, schema.minLength ?? 1));
    case 'integer':
    case 'number':
      return schema.minimum ?? 1;
    case 'boolean':
      return false;
    default:
      return 'x';
  }
}

interface Finding {
  method: string;
  url: string;
  where: string;
  status: number;
  body: string;
}

async function send(
  method: string,
  url: string,
  where: string,
  findings: Finding[],
  payload?: { type: string; text: string },
): Promise<void> {
  const res = await node.app.inject({
    method: method.toUpperCase() as 'GET',
    url,
    headers: { ...node.auth.admin, ...(payload ? { 'content-type': payload.type } : {}), 'if-match': '"1"' },
    ...(payload ? { payload: payload.text } : {}),
  });
  const contentType = String(res.headers['content-type']);
  // TAXII 2.1 (OASIS §3.6.1) answers its errors as TAXII error messages: the problem code rides in them.
  const taxiiError = () =>
    url.startsWith('/taxii2/') &&
    /^application\/taxii\+json;\s*version=2\.1/.test(contentType) &&
    typeof (res.json() as { hikeshi_code?: unknown }).hikeshi_code === 'string';
  const problemJson = /^application\/problem\+json/.test(contentType);
  if (res.statusCode >= 500 || (res.statusCode >= 400 && !problemJson && !taxiiError())) {
    findings.push({ method, url: url.slice(0, 160), where, status: res.statusCode, body: res.body.slice(0, 300) });
  }
}

const SAMPLE: Record<string, string> = { ref: 'ALPHA#2026-000001', teamId: 'bravo', id: '00000000-0000-4000-8000-000000000000' };

t.test('no operation answers a hostile value with a 5xx, and every refusal is problem+json', async (t) => {
  const findings: Finding[] = [];
  let requests = 0;
  for (const [template, item] of Object.entries(spec.paths)) {
    for (const [method, op] of Object.entries(item)) {
      if (!['get', 'post', 'put', 'patch', 'delete'].includes(method)) continue;
      const params = op.parameters ?? [];
      const pathParams = params.filter((p) => p.in === 'path');
      const queryParams = params.filter((p) => p.in === 'query');
      const fill = (override?: { name: string; value: string }) =>
        template.replace(/\{([^}]+)\}/g, (_m, name: string) =>
          enc(override && override.name === name ? override.value : (SAMPLE[name] ?? 'x')),
        );
      const body = bodySchema(op);
      const plainBody = body ? { type: body.type, text: '{}' } : undefined;
      for (const value of HOSTILE) {
        const text = asText(value);
        for (const p of pathParams) {
          await send(method, fill({ name: p.name, value: text }), `path ${p.name}`, findings, plainBody);
          requests++;
        }
        for (const q of queryParams) {
          await send(method, `${fill()}?${q.name}=${enc(text)}`, `query ${q.name}`, findings, plainBody);
          requests++;
        }
        if (body) {
          const base = sample(body.schema);
          for (const member of members(body.schema)) {
            const withBase = typeof base === 'object' && base !== null && !Array.isArray(base) ? base : {};
            for (const payload of [{ [member]: value }, { ...withBase, [member]: value }]) {
              await send(method, fill(), `body ${member}`, findings, { type: body.type, text: JSON.stringify(payload) });
              requests++;
            }
          }
          // The value as the whole body, too.
          await send(method, fill(), 'body', findings, { type: body.type, text: JSON.stringify(value) });
          requests++;
        }
      }
    }
  }
  t.ok(requests > 1000, `${requests} requests sent`);
  t.same(findings, [], 'no 5xx and no refusal outside problem+json');
});
