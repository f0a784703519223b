import { request as httpRequest } from 'node:http';
import type { LightMyRequestResponse } from 'fastify';
import t, { type Test } from 'tap';
import { PROBLEMS } from '../../src/http/problem.js';
import { isRfc3339DateTime } from '../../src/util/date-time.js';
import { type IJsonError, parseIJson } from '../../src/util/i-json.js';
import { buildTestNode } from '../helpers/build-test-app.js';

/**
 * Hostile input (issue 13, docs/errors.md "Hostile input"): NUL and lone surrogates anywhere,
 * duplicate member names, dates no Date or PostgreSQL holds, and what fastify and Node refuse
 * before routing. Each is a 4xx problem+json on both engines, and nothing is stored.
 */
const node = await buildTestNode(t, { listen: true });
const handler = node.auth.handler;

function problem(t: Test, res: LightMyRequestResponse, status: number, code: string, what: string) {
  t.equal(res.statusCode, status, `${what}: HTTP ${status} (${res.body.slice(0, 200)})`);
  t.match(res.headers['content-type'], /^application\/problem\+json/, `${what}: problem+json`);
  t.equal(res.json().code, code, `${what}: code ${code}`);
  t.equal(res.json().title, (PROBLEMS as Record<string, { title: string }>)[code]?.title);
}

const report = { title: 'x', category: 'test', type: 'test', severity: 'low', tlp: 'CLEAR', reporter: { name: 'R' } };
async function incidentCount(): Promise<number> {
  const rows = await node.database.db.selectFrom('incident').select('id').execute();
  return rows.length;
}
const post = (payload: string, url = '/api/v1/incidents', contentType = 'application/json') =>
  node.app.inject({ method: 'POST', url, headers: { ...handler, 'content-type': contentType }, payload });

t.test('parseIJson names the place and the reason', async (t) => {
  const cases: Array<[string, IJsonError['reason'], string]> = [
    ['{"tlp":"CLEAR","tlp":"RED"}', 'duplicate-member', '/tlp'],
    ['{"a\\u0062":1,"ab":2}', 'duplicate-member', '/ab'],
    ['{"x":[{"y":1},{"y":2,"y":3}]}', 'duplicate-member', '/x/1/y'],
    ['{"a":"x\\u0000y"}', 'nul', '/a'],
    ['{"a\\u0000":1}', 'nul', '/a\u0000'],
    ['["ok","\\ud800"]', 'lone-surrogate', '/1'],
    ['{"a/b":{"~":"\\udc00x"}}', 'lone-surrogate', '/a~1b/~0'],
    ['{"__proto__":{"admin":true}}', 'forbidden-member', '/__proto__'],
    ['{"constructor":{"prototype":{}}}', 'forbidden-member', '/constructor/prototype'],
    [
      '['.repeat(65) + ']'.repeat(65),
      'too-deep',
      '/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0',
    ],
    ['{"a":1,}', 'syntax', ''],
  ];
  for (const [text, reason, pointer] of cases) {
    const err = (() => {
      try {
        parseIJson(text);
        return null;
      } catch (e) {
        return e as IJsonError;
      }
    })();
    t.equal(err?.reason, reason, `${text.slice(0, 40)}: ${reason}`);
    t.equal(err?.pointer, pointer, `${text.slice(0, 40)}: at ${JSON.stringify(pointer)}`);
  }
  // What must pass: surrogate pairs, escapes of ordinary characters, the same name in two objects.
  t.same(parseIJson('{"a":{"b":1},"c":{"b":"\\ud83d\\ude92 火消し"},"d":"\\"}"}'), {
    a: { b: 1 },
    c: { b: '🚒 火消し' },
    d: '"}',
  });
});

t.test('bodies that are not I-JSON: 400 not-i-json, nothing stored', async (t) => {
  const before = await incidentCount();
  const bodies: Array<[string, string]> = [
    [
      'duplicate tlp, the stricter last',
      `{"title":"x","category":"test","type":"test","severity":"low","tlp":"CLEAR","tlp":"RED","reporter":{"name":"R"}}`,
    ],
    ['NUL in a string', JSON.stringify({ ...report, title: 'a\u0000b' })],
    ['NUL escaped', JSON.stringify(report).replace('"title":"x"', '"title":"x\\u0000"')],
    ['lone surrogate', JSON.stringify(report).replace('"title":"x"', '"title":"a\\ud800b"')],
    ['lone surrogate in a name', JSON.stringify(report).replace('"title":"x"', '"title":"x","\\udc00":1')],
    ['__proto__', JSON.stringify(report).replace('"title":"x"', '"title":"x","__proto__":{"x":1}')],
  ];
  for (const [what, payload] of bodies) problem(t, await post(payload), 400, 'not-i-json', what);
  // The same on a merge-patch body and on other routes with JSON bodies.
  const created = await post(JSON.stringify(report));
  t.equal(created.statusCode, 201);
  const ref = created.json().ref as string;
  const patched = await node.app.inject({
    method: 'PATCH',
    url: `/api/v1/incidents/${ref}`,
    headers: { ...handler, 'content-type': 'application/merge-patch+json', 'if-match': '"1"' },
    payload: '{"title":"a","title":"b"}',
  });
  problem(t, patched, 400, 'not-i-json', 'merge-patch with a duplicate');
  problem(t, await post('{"name":"x\\u0000"}', '/api/v1/sites'), 400, 'not-i-json', 'site with NUL');
  t.equal(await incidentCount(), before + 1, 'only the valid incident was stored');
});

t.test('NUL and lone surrogates in paths and queries: 400 validation-failed', async (t) => {
  const urls = [
    '/api/v1/incidents/a%00b',
    '/api/v1/incidents?q=%00',
    '/api/v1/sites/lookup?host=%00',
    '/api/v1/audit?kind=x%00',
    '/api/v1/incidents?q=a&q=%00',
    '/api/v1/peers/x%00y',
  ];
  for (const url of urls) {
    const res = await node.app.inject({ method: 'GET', url, headers: node.auth.admin });
    problem(t, res, 400, 'validation-failed', url);
  }
});

t.test('dates: one rule everywhere', async (t) => {
  const accepted = [
    '2026-12-06T09:00:00+09:00',
    '2024-02-29T00:00:00Z',
    '0001-01-01T00:00:00Z',
    '9999-12-31T23:59:59.999999Z',
    '2026-01-01t00:00:00z',
  ];
  const refused = [
    '0000-01-01T00:00:00Z',
    '0001-01-01T00:00:00+01:00', // year 0 as an instant
    '2016-12-31T23:59:60Z', // a leap second
    '2026-02-29T00:00:00Z',
    '2026-04-31T00:00:00Z',
    '2026-12-06T24:00:00Z',
    '2026-12-06T09:00:00+24:00',
    '2026-12-06T09:00:00[Asia/Tokyo]',
    '2026-12-06T09:00:00+09:00[Asia/Tokyo]',
    '+010000-01-01T00:00:00Z',
    '2026-12-06 09:00:00Z',
  ];
  for (const v of accepted) t.ok(isRfc3339DateTime(v), `accepted: ${v}`);
  for (const v of refused) t.notOk(isRfc3339DateTime(v), `refused: ${v}`);
  const before = await incidentCount();
  for (const v of refused) {
    problem(t, await post(JSON.stringify({ ...report, firstSeen: v })), 400, 'validation-failed', `firstSeen ${v}`);
    problem(
      t,
      await post(JSON.stringify({ ...report, evidence: [{ kind: 'log', description: 'd', collectedAt: v }] })),
      400,
      'validation-failed',
      `evidence collectedAt ${v}`,
    );
    for (const url of [`/api/v1/incidents?updatedSince=${encodeURIComponent(v)}`, `/api/v1/audit?since=${encodeURIComponent(v)}`]) {
      problem(t, await node.app.inject({ method: 'GET', url, headers: node.auth.admin }), 400, 'validation-failed', url);
    }
  }
  t.equal(await incidentCount(), before, 'nothing stored');
});

/** Raw HTTP, for what Node's parser and fastify's router refuse before any route runs. */
function raw(path: string, headers: Record<string, string> = {}): Promise<{ status: number; type: string; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(`${node.url}${path}`, { method: 'GET', headers: { ...node.auth.admin, ...headers } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type']), body }));
    });
    req.on('error', reject);
    req.end();
  });
}

t.test('framework refusals are problem+json too', async (t) => {
  const cases: Array<[string, Promise<{ status: number; type: string; body: string }>, number, string]> = [
    ['bad percent-encoding', raw('/api/v1/incidents/%E0%A4%A'), 400, 'bad-request'],
    ['a path parameter over 100 characters', raw(`/api/v1/incidents/${'a'.repeat(150)}`), 414, 'uri-too-long'],
    ['a 20 kB header', raw('/api/v1/incidents', { 'x-filler': 'x'.repeat(20_000) }), 431, 'headers-too-large'],
  ];
  for (const [what, pending, status, code] of cases) {
    const res = await pending;
    t.equal(res.status, status, `${what}: HTTP ${status} (${res.body.slice(0, 200)})`);
    t.match(res.type, /^application\/problem\+json/, `${what}: problem+json`);
    t.equal((JSON.parse(res.body) as { code: string }).code, code, `${what}: ${code}`);
  }
  // The node still answers afterwards.
  t.equal((await raw('/readyz')).status, 200);
});
