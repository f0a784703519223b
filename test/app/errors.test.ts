import { existsSync, readFileSync } from 'node:fs';
import type { LightMyRequestResponse } from 'fastify';
import { sql } from 'kysely';
import t, { type Test } from 'tap';
import { PROBLEMS } from '../../src/http/problem.js';
import { buildTestNode } from '../helpers/build-test-app.js';

/**
 * The app shell: every error is RFC 9457 problem+json with a stable code, bad input is a 4xx
 * and never a crash. One node for the file, with a small body limit.
 */
const BODY_LIMIT = 2048;
const node = await buildTestNode(t, { config: { bodyLimitBytes: BODY_LIMIT } });
const handler = node.auth.handler;

function problem(t: Test, res: LightMyRequestResponse, status: number, code: string) {
  t.equal(res.statusCode, status, `${code}: HTTP ${status} (${res.body.slice(0, 300)})`);
  t.match(res.headers['content-type'], /^application\/problem\+json/, `${code}: problem+json`);
  const body = res.json();
  t.equal(body.code, code, `code ${code}`);
  t.equal(body.status, status, 'status member');
  t.equal(body.type, `urn:hikeshi:problem:${code}`, 'type member');
  t.equal(body.title, (PROBLEMS as Record<string, { title: string }>)[code]?.title, 'title from the catalogue');
  return body;
}

const report = { title: 'x', category: 'test', type: 'test', severity: 'low', tlp: 'CLEAR', reporter: { name: 'R' } };
const postRaw = (payload: string, contentType = 'application/json', headers: Record<string, string> = handler) =>
  node.app.inject({
    method: 'POST',
    url: '/api/v1/incidents',
    headers: { ...headers, 'content-type': contentType },
    payload,
  });

t.test('malformed JSON: 400 malformed-json', async (t) => {
  for (const payload of ['{bad', '{"title": "x",}', '[1, 2', 'nul']) {
    const body = problem(t, await postRaw(payload), 400, 'malformed-json');
    t.equal(body.instance, '/api/v1/incidents', 'instance is the path');
  }
  problem(t, await postRaw(''), 400, 'malformed-json');
  problem(
    t,
    await node.app.inject({
      method: 'PATCH',
      url: '/api/v1/incidents/x',
      headers: { ...handler, 'content-type': 'application/merge-patch+json' },
      payload: '{oops',
    }),
    400,
    'malformed-json',
  );
});

t.test('wrong types: 400 validation-failed with a pointer for each problem', async (t) => {
  const body = problem(t, await postRaw(JSON.stringify({ ...report, title: 42, severity: ['low'] })), 400, 'validation-failed');
  t.ok(Array.isArray(body.errors), 'errors[]');
  const pointers = (body.errors as Array<{ pointer: string; location: string; message: string }>).map((e) => e.pointer);
  t.ok(pointers.includes('/title'), `points at /title (${pointers.join(', ')})`);
  t.ok(pointers.includes('/severity'), `points at /severity (${pointers.join(', ')})`);
  t.ok(
    body.errors.every(
      (e: { location: string; message: string }) => e.location === 'body' && typeof e.message === 'string' && e.message.length > 0,
    ),
    'location and message on each',
  );

  const nested = problem(
    t,
    await postRaw(JSON.stringify({ ...report, hosts: [{ ip: '192.0.2.1', role: 'target', ports: ['22'] }] })),
    400,
    'validation-failed',
  );
  t.ok(
    nested.errors.some((e: { pointer: string }) => e.pointer === '/hosts/0/ports/0'),
    'nested pointer',
  );

  problem(t, await postRaw('"just a string"'), 400, 'validation-failed');
  problem(t, await postRaw('null'), 400, 'validation-failed');
  const query = problem(
    t,
    await node.app.inject({ method: 'GET', url: '/api/v1/incidents?limit=-1', headers: node.auth.reader }),
    400,
    'validation-failed',
  );
  t.equal(query.errors?.[0]?.location, 'querystring');
  t.equal(query.errors?.[0]?.pointer, '/limit');
});

t.test('query parameters are read as written: no truncation, no hex, no empty-as-zero', async (t) => {
  const list = (query: string) => node.app.inject({ method: 'GET', url: `/api/v1/incidents?${query}`, headers: node.auth.reader });
  for (const bad of ['limit=2.5', 'limit=0x10', 'limit=1e1', 'limit=', 'limit=%2B5', 'limit=%205', 'limit=05', 'limit=9007199254740993']) {
    const body = problem(t, await list(bad), 400, 'validation-failed');
    t.equal(body.errors?.[0]?.pointer, '/limit', `${bad}: points at /limit`);
  }
  const ok = await list('limit=10');
  t.equal(ok.statusCode, 200, 'a plain integer is fine');
  // Path parameters and other parts convert the same way (unit level, for the types our routes use).
  const { convertStrictly } = await import('../../src/http/strict-validator.js');
  const schema = {
    type: 'object',
    properties: { n: { type: 'integer' }, x: { type: 'number' }, b: { type: 'boolean' }, s: { type: 'string' } },
  } as never;
  t.same(convertStrictly(schema, { n: '12', x: '-1.5e3', b: 'false', s: '12', other: '1' }), {
    n: 12,
    x: -1500,
    b: false,
    s: '12',
    other: '1',
  });
  t.same(convertStrictly(schema, { n: '1.0', x: '.5', b: '1' }), { n: '1.0', x: '.5', b: '1' }, 'left as text, for the schema to refuse');
});

t.test('unknown fields: 400 validation-failed', async (t) => {
  const top = problem(t, await postRaw(JSON.stringify({ ...report, priority: 'P1' })), 400, 'validation-failed');
  t.ok(top.errors?.length, 'errors[]');
  const nested = problem(t, await postRaw(JSON.stringify({ ...report, reporter: { name: 'R', role: 'ceo' } })), 400, 'validation-failed');
  t.ok(
    nested.errors?.some((e: { pointer: string }) => e.pointer === '/reporter'),
    'points at the object with the unknown field',
  );
  problem(
    t,
    await node.app.inject({
      method: 'PUT',
      url: '/api/v1/profile',
      headers: node.auth.admin,
      payload: { nickname: 'x' },
    }),
    400,
    'validation-failed',
  );
});

t.test('oversize body: 413 body-too-large', async (t) => {
  const big = JSON.stringify({ ...report, summary: 'x'.repeat(BODY_LIMIT) });
  problem(t, await postRaw(big), 413, 'body-too-large');
  const justUnder = JSON.stringify({
    ...report,
    summary: 'x'.repeat(BODY_LIMIT - JSON.stringify({ ...report, summary: '' }).length),
  });
  t.equal(Buffer.byteLength(justUnder), BODY_LIMIT, 'a body of exactly the limit');
  t.equal((await postRaw(justUnder)).statusCode, 201, 'is accepted');
});

t.test('unsupported media types: 415', async (t) => {
  problem(t, await postRaw(JSON.stringify(report), 'text/plain'), 415, 'unsupported-media-type');
  problem(t, await postRaw('<incident/>', 'application/xml'), 415, 'unsupported-media-type');
  problem(t, await postRaw('title=x', 'application/x-www-form-urlencoded'), 415, 'unsupported-media-type');
});

t.test('unknown routes: 404 route-not-found', async (t) => {
  const body = problem(t, await node.app.inject({ method: 'GET', url: '/api/v2/incidents?x=1' }), 404, 'route-not-found');
  t.equal(body.instance, '/api/v2/incidents', 'no query string echoed');
  problem(t, await node.app.inject({ method: 'GET', url: '/nothing-here' }), 404, 'route-not-found');
  problem(t, await node.app.inject({ method: 'DELETE', url: '/api/v1/incidents', headers: node.auth.admin }), 404, 'route-not-found');
});

t.test('a 5xx hides its cause', async (t) => {
  // Break the revocation check every /api/v1 request makes, then restore it.
  await sql`ALTER TABLE token_revocation RENAME TO token_revocation_hidden`.execute(node.database.db);
  let res: LightMyRequestResponse;
  try {
    res = await node.app.inject({ method: 'GET', url: '/api/v1/incidents', headers: node.auth.reader });
  } finally {
    await sql`ALTER TABLE token_revocation_hidden RENAME TO token_revocation`.execute(node.database.db);
  }
  const body = problem(t, res, 500, 'internal-error');
  t.strictSame(Object.keys(body).sort(), ['code', 'instance', 'status', 'title', 'type'], 'no detail, no stack');
  t.notMatch(res.body, /token_revocation|relation|does not exist|at .*\.ts/, 'nothing about the database or code');
  t.equal(
    (await node.app.inject({ method: 'GET', url: '/api/v1/incidents', headers: node.auth.reader })).statusCode,
    200,
    'the node keeps serving',
  );
});

t.test('a deadlock or serialization failure is a 503 to retry, not a 500', async (t) => {
  // The check every /api/v1 request makes now hits PostgreSQL's own deadlock error.
  const db = node.database.db;
  await sql`ALTER TABLE token_revocation RENAME TO token_revocation_hidden`.execute(db);
  // A function scan runs whenever the view is read, rows or not.
  await sql`CREATE FUNCTION hikeshi_test_deadlock() RETURNS SETOF token_revocation_hidden LANGUAGE plpgsql AS $$
    BEGIN RAISE EXCEPTION 'deadlock detected' USING ERRCODE = '40P01'; END $$`.execute(db);
  await sql`CREATE VIEW token_revocation AS SELECT * FROM hikeshi_test_deadlock()`.execute(db);
  let res: LightMyRequestResponse;
  try {
    res = await node.app.inject({ method: 'GET', url: '/api/v1/incidents', headers: node.auth.reader });
  } finally {
    await sql`DROP VIEW token_revocation`.execute(db);
    await sql`DROP FUNCTION hikeshi_test_deadlock()`.execute(db);
    await sql`ALTER TABLE token_revocation_hidden RENAME TO token_revocation`.execute(db);
  }
  const body = problem(t, res, 503, 'service-unavailable');
  t.equal(res.headers['retry-after'], '1');
  t.match(body.detail, /send the request again/);
  t.notMatch(res.body, /deadlock|token_revocation/, 'nothing about the database');
  t.equal((await node.app.inject({ method: 'GET', url: '/api/v1/incidents', headers: node.auth.reader })).statusCode, 200);
});

t.test('every problem code is documented in docs/errors.md', async (t) => {
  const file = new URL('../../docs/errors.md', import.meta.url);
  if (!t.ok(existsSync(file), 'docs/errors.md exists')) return;
  const doc = readFileSync(file, 'utf8');
  for (const code of Object.keys(PROBLEMS)) {
    // whole code only: not-found must not be satisfied by route-not-found
    t.match(doc, new RegExp(`(^|[^a-z0-9-])${code.replace(/[-+]/g, '\\$&')}([^a-z0-9-]|$)`, 'm'), `${code} is listed`);
  }
});
