import t, { type Test } from 'tap';
import type { LightMyRequestResponse } from 'fastify';

import { buildTestNode } from '../helpers/build-test-app.js';

function assertProblem(t: Test, res: LightMyRequestResponse, status: number, code: string): Record<string, unknown> {
  t.equal(res.statusCode, status, `status ${status} (${code})`);
  t.match(res.headers['content-type'], /^application\/problem\+json/, 'problem+json');
  const body = res.json() as Record<string, unknown>;
  t.equal(body.code, code, `code ${code}`);
  t.equal(body.status, status);
  return body;
}

const poc = { name: 'CERT desk', channels: [{ kind: 'email', value: 'cert@example.jp' }], languages: ['ja'] };

t.test('bad input on purpose: every one is a 4xx problem, none reaches the database', async (t) => {
  const { app, auth } = await buildTestNode(t, { config: { bodyLimitBytes: 2048 } });
  const json = { ...auth.handler, 'content-type': 'application/json' };
  const post = (payload: string, headers: Record<string, string> = json) =>
    app.inject({ method: 'POST', url: '/api/v1/sites', headers, payload });

  // Body syntax and transport.
  assertProblem(t, await post('{"name": "Broken",'), 400, 'malformed-json');
  assertProblem(t, await post(''), 400, 'malformed-json');
  assertProblem(t, await post(JSON.stringify({ name: 'Big', description: 'x'.repeat(4096) })), 413, 'body-too-large');
  assertProblem(t, await post('name=Plain', { ...auth.handler, 'content-type': 'text/plain' }), 415, 'unsupported-media-type');
  assertProblem(t, await post('<site/>', { ...auth.handler, 'content-type': 'application/xml' }), 415, 'unsupported-media-type');

  // Schema: wrong types, unknown fields, missing or out-of-range values.
  const invalid: Array<[string, unknown]> = [
    ['name is a number', { name: 42 }],
    ['name missing', { description: 'no name' }],
    ['name empty', { name: '' }],
    ['unknown field', { name: 'Site', owner: 'someone' }],
    ['id is server-assigned', { name: 'Site', id: '00000000-0000-4000-8000-000000000001' }],
    ['version is server-assigned', { name: 'Site', version: 3 }],
    ['networks not an array', { name: 'Site', networks: '10.0.0.0/8' }],
    ['asn as text', { name: 'Site', asns: ['AS64500'] }],
    ['asn out of range', { name: 'Site', asns: [4294967296] }],
    ['asn negative', { name: 'Site', asns: [-1] }],
    ['domain with a space', { name: 'Site', domains: ['exa mple.jp'] }],
    ['domain as URL', { name: 'Site', domains: ['https://example.jp/'] }],
    ['POC without channels', { name: 'Site', pocs: [{ ...poc, channels: [] }] }],
    ['POC without languages', { name: 'Site', pocs: [{ name: 'x', channels: poc.channels }] }],
    ['unknown channel kind', { name: 'Site', pocs: [{ ...poc, channels: [{ kind: 'pigeon', value: 'loft 3' }] }] }],
    ['unknown POC field', { name: 'Site', pocs: [{ ...poc, pager: '123' }] }],
    ['bad language tag', { name: 'Site', pocs: [{ ...poc, languages: ['Japanese!'] }] }],
    ['array body', [{ name: 'Site' }]],
    ['null body', null],
  ];
  for (const [label, body] of invalid) {
    const problem = assertProblem(t, await post(JSON.stringify(body)), 400, 'validation-failed');
    t.ok(Array.isArray(problem.errors) && problem.errors.length > 0, `${label}: errors listed`);
  }

  // Networks are checked by value, and the answer names the offending one.
  for (const [network, index] of [
    ['10.1.2.3/8', 1],
    ['2001:db8::1/32', 1],
    ['10.0.0.0/33', 1],
    ['300.1.0.0/16', 1],
    ['example.jp', 1],
    ['fe80::/10%eth0', 1],
  ] as const) {
    const problem = assertProblem(
      t,
      await post(JSON.stringify({ name: 'Site', networks: ['192.0.2.0/24', network] })),
      400,
      'validation-failed',
    );
    t.match(problem.detail, network, `names ${network}`);
    t.match(problem.errors, [{ pointer: `/networks/${index}` }]);
  }

  // Nothing above was stored.
  const list = await app.inject({ method: 'GET', url: '/api/v1/sites', headers: auth.reader });
  t.same(list.json().items, []);

  // Path and patch checks.
  const site = (await post(JSON.stringify({ name: 'Real', pocs: [poc] }))).json();
  assertProblem(t, await app.inject({ method: 'GET', url: '/api/v1/sites/not-a-uuid', headers: auth.reader }), 400, 'validation-failed');
  assertProblem(t, await app.inject({ method: 'DELETE', url: '/api/v1/sites/1234', headers: auth.handler }), 400, 'validation-failed');
  assertProblem(
    t,
    await app.inject({
      method: 'GET',
      url: '/api/v1/sites/00000000-0000-4000-8000-000000000000',
      headers: auth.reader,
    }),
    404,
    'not-found',
  );
  const patch = (payload: string, headers: Record<string, string> = json) =>
    app.inject({ method: 'PATCH', url: `/api/v1/sites/${site.id}`, headers, payload });
  assertProblem(t, await patch('{}'), 400, 'validation-failed');
  assertProblem(t, await patch('{"name": null}'), 400, 'validation-failed');
  assertProblem(t, await patch('{"version": 9}'), 400, 'validation-failed');
  assertProblem(t, await patch('{"networks": ["10.1.2.3/8"]}'), 400, 'validation-failed');
  assertProblem(t, await patch('{"name": "x"'), 400, 'malformed-json');
  assertProblem(t, await patch('{"name": "x"}', { ...json, 'if-match': '3' }), 400, 'validation-failed');
  assertProblem(t, await patch('{"name": "x"}', { ...json, 'if-match': '"1", "2"' }), 400, 'validation-failed');
  assertProblem(t, await patch(JSON.stringify({ pocs: Array.from({ length: 30 }, () => poc) })), 413, 'body-too-large');
  const unchanged = await app.inject({ method: 'GET', url: `/api/v1/sites/${site.id}`, headers: auth.reader });
  t.equal(unchanged.json().version, 1, 'no refused patch changed the site');
  t.equal(unchanged.json().name, 'Real');
});
