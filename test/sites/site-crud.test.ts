import t, { type Test } from 'tap';
import type { LightMyRequestResponse } from 'fastify';

import { buildTestNode } from '../helpers/build-test-app.js';

/** Every error must be problem+json with the catalogue code, not just the right status. */
function assertProblem(t: Test, res: LightMyRequestResponse, status: number, code: string): Record<string, unknown> {
  t.equal(res.statusCode, status, `status ${status} (${code})`);
  t.match(res.headers['content-type'], /^application\/problem\+json/, 'problem+json');
  const body = res.json() as Record<string, unknown>;
  t.equal(body.code, code, `code ${code}`);
  t.equal(body.type, `urn:hikeshi:problem:${code}`);
  return body;
}

const noc = {
  name: 'Network Operations Center',
  role: 'network operations',
  channels: [
    { kind: 'email', value: 'noc@example.ac.jp' },
    { kind: 'hotline', value: '+81-3-0000-0000', note: '24x7, ask for the duty officer' },
  ],
  languages: ['ja', 'en'],
  timeZone: 'Asia/Tokyo',
  hours: 'Mon-Fri 09:00-17:30',
};

t.test('site directory: create, read, list, change, remove', async (t) => {
  const { app, auth } = await buildTestNode(t);
  const handler = { ...auth.handler, 'content-type': 'application/json' };
  const post = (payload: unknown, headers: Record<string, string> = handler) =>
    app.inject({ method: 'POST', url: '/api/v1/sites', headers, payload: payload as object });

  // Create: scopes come back canonical and de-duplicated, in the order given.
  const created = await post({
    name: 'Example University',
    description: 'Main campus',
    pocs: [noc],
    networks: ['192.0.2.0/24', '2001:DB8:0::/32', '192.0.2.0/24'],
    asns: [64500, 64500, 64501],
    domains: ['Example.AC.JP.', 'example.ac.jp', 'lab.example.ac.jp'],
  });
  t.equal(created.statusCode, 201);
  const site = created.json();
  t.match(site.id, /^[0-9a-f-]{36}$/);
  t.equal(created.headers.location, `/api/v1/sites/${site.id}`);
  t.equal(created.headers.etag, '"1"');
  t.same(site.networks, ['192.0.2.0/24', '2001:db8::/32']);
  t.same(site.asns, [64500, 64501]);
  t.same(site.domains, ['example.ac.jp', 'lab.example.ac.jp']);
  t.same(site.pocs, [noc]);
  t.equal(site.version, 1);
  t.equal(site.description, 'Main campus');
  t.equal(site.createdAt, site.updatedAt);

  // Read back: exactly what the create answered.
  const read = await app.inject({ method: 'GET', url: created.headers.location as string, headers: auth.reader });
  t.equal(read.statusCode, 200);
  t.same(read.json(), site);
  t.equal(read.headers.etag, '"1"');

  // Minimal create: only a name.
  const bare = await post({ name: 'Bare site' });
  t.equal(bare.statusCode, 201);
  t.match(bare.json(), { name: 'Bare site', description: null, pocs: [], networks: [], asns: [], domains: [] });

  // Patch: given fields replace, others stay; scopes replaced wholesale; the version moves on.
  const patched = await app.inject({
    method: 'PATCH',
    url: `/api/v1/sites/${site.id}`,
    headers: { ...handler, 'if-match': '"1"' },
    payload: { description: null, networks: ['198.51.100.0/24'], domains: [] },
  });
  t.equal(patched.statusCode, 200);
  const v2 = patched.json();
  t.equal(v2.version, 2);
  t.equal(patched.headers.etag, '"2"');
  t.equal(v2.description, null);
  t.equal(v2.name, 'Example University');
  t.same(v2.networks, ['198.51.100.0/24']);
  t.same(v2.domains, []);
  t.same(v2.asns, [64500, 64501], 'scopes not given are kept');
  t.same(v2.pocs, [noc]);

  // A merge-patch body is accepted too; without If-Match there is no version check.
  const merged = await app.inject({
    method: 'PATCH',
    url: `/api/v1/sites/${site.id}`,
    headers: { ...auth.handler, 'content-type': 'application/merge-patch+json' },
    payload: JSON.stringify({ name: 'Example University (main)' }),
  });
  t.equal(merged.statusCode, 200);
  t.equal(merged.json().version, 3);

  // Stale If-Match: 412, and nothing changed.
  const stale = await app.inject({
    method: 'PATCH',
    url: `/api/v1/sites/${site.id}`,
    headers: { ...handler, 'if-match': '"2"' },
    payload: { name: 'lost update' },
  });
  const staleBody = assertProblem(t, stale, 412, 'version-mismatch');
  t.equal(staleBody.currentVersion, 3);
  const after = await app.inject({ method: 'GET', url: `/api/v1/sites/${site.id}`, headers: auth.reader });
  t.equal(after.json().name, 'Example University (main)');
  t.equal(after.json().version, 3);

  assertProblem(
    t,
    await app.inject({
      method: 'PATCH',
      url: `/api/v1/sites/${site.id}`,
      headers: { ...handler, 'if-match': 'W/"3"' },
      payload: { name: 'x' },
    }),
    400,
    'validation-failed',
  );
  t.equal(
    (
      await app.inject({
        method: 'PATCH',
        url: `/api/v1/sites/${site.id}`,
        headers: { ...handler, 'if-match': '*' },
        payload: { name: 'Example University' },
      })
    ).statusCode,
    200,
  );

  // One owner per scope: the same network or domain on another site is a conflict; a more
  // specific network (or a subdomain) is not.
  const conflict = assertProblem(t, await post({ name: 'Squatter', networks: ['198.51.100.0/24'] }), 409, 'conflict');
  t.match(conflict.detail, /198\.51\.100\.0\/24/);
  assertProblem(t, await post({ name: 'Squatter', asns: [64501] }), 409, 'conflict');
  const moved = await app.inject({
    method: 'PATCH',
    url: `/api/v1/sites/${bare.json().id}`,
    headers: handler,
    payload: { networks: ['198.51.100.0/24'] },
  });
  assertProblem(t, moved, 409, 'conflict');
  const specific = await post({ name: 'Department', networks: ['198.51.100.128/25'], domains: ['dept.example.ac.jp'] });
  t.equal(specific.statusCode, 201);
  // Compared in canonical form: case and the trailing dot do not make a domain new.
  assertProblem(t, await post({ name: 'Squatter', domains: ['DEPT.Example.ac.jp.'] }), 409, 'conflict');
  // A site may keep its own scopes when it is patched.
  t.equal(
    (
      await app.inject({
        method: 'PATCH',
        url: `/api/v1/sites/${site.id}`,
        headers: handler,
        payload: { networks: ['198.51.100.0/24', '203.0.113.0/24'] },
      })
    ).statusCode,
    200,
  );

  // Roles: readers read, handlers write; no token, no access.
  assertProblem(t, await post({ name: 'By a reader' }, { ...auth.reader, 'content-type': 'application/json' }), 403, 'forbidden');
  assertProblem(
    t,
    await app.inject({
      method: 'PATCH',
      url: `/api/v1/sites/${site.id}`,
      headers: { ...auth.reader, 'content-type': 'application/json' },
      payload: { name: 'x' },
    }),
    403,
    'forbidden',
  );
  assertProblem(t, await app.inject({ method: 'DELETE', url: `/api/v1/sites/${site.id}`, headers: auth.reader }), 403, 'forbidden');
  assertProblem(t, await app.inject({ method: 'GET', url: '/api/v1/sites' }), 401, 'unauthenticated');
  assertProblem(
    t,
    await app.inject({
      method: 'GET',
      url: `/api/v1/sites/${site.id}`,
      headers: { authorization: 'Bearer not-a-token' },
    }),
    401,
    'unauthenticated',
  );
  assertProblem(t, await post({ name: 'No token' }, { 'content-type': 'application/json' }), 401, 'unauthenticated');

  // Delete: a stale If-Match is refused; then 204, and the site and its scopes are gone.
  assertProblem(
    t,
    await app.inject({
      method: 'DELETE',
      url: `/api/v1/sites/${specific.json().id}`,
      headers: { ...auth.handler, 'if-match': '"7"' },
    }),
    412,
    'version-mismatch',
  );
  const removed = await app.inject({
    method: 'DELETE',
    url: `/api/v1/sites/${specific.json().id}`,
    headers: { ...auth.handler, 'if-match': '"1"' },
  });
  t.equal(removed.statusCode, 204);
  t.equal(removed.body, '');
  assertProblem(t, await app.inject({ method: 'GET', url: `/api/v1/sites/${specific.json().id}`, headers: auth.reader }), 404, 'not-found');
  assertProblem(
    t,
    await app.inject({ method: 'DELETE', url: `/api/v1/sites/${specific.json().id}`, headers: auth.handler }),
    404,
    'not-found',
  );
  assertProblem(
    t,
    await app.inject({
      method: 'PATCH',
      url: `/api/v1/sites/${specific.json().id}`,
      headers: handler,
      payload: { name: 'ghost' },
    }),
    404,
    'not-found',
  );
  // Its network is free again.
  t.equal((await post({ name: 'Department again', networks: ['198.51.100.128/25'] })).statusCode, 201);
});

t.test('site list: keyset pages by name, name filter, cursor checks', async (t) => {
  const { app, auth } = await buildTestNode(t);
  // Names out of order, two equal names (the id breaks the tie), two that LIKE would misread.
  // Distinct initials keep the expected order the same under C and linguistic collations.
  const names = ['Delta', 'Alpha', 'Charlie', 'Bravo', 'Echo', 'Bravo', 'Foxtrot 100%', 'Golf_Club'];
  for (const name of names) {
    const res = await app.inject({ method: 'POST', url: '/api/v1/sites', headers: auth.handler, payload: { name } });
    t.equal(res.statusCode, 201);
  }

  const seen: Array<{ id: string; name: string }> = [];
  let cursor: string | null = null;
  let pages = 0;
  do {
    const url: string = `/api/v1/sites?limit=3${cursor ? `&cursor=${cursor}` : ''}`;
    const res = await app.inject({ method: 'GET', url, headers: auth.reader });
    t.equal(res.statusCode, 200);
    const page = res.json() as { items: Array<{ id: string; name: string }>; nextCursor: string | null };
    t.ok(page.items.length <= 3);
    seen.push(...page.items);
    cursor = page.nextCursor;
    if (cursor) t.match(cursor, /^[A-Za-z0-9_-]+$/, 'cursor is base64url');
    pages++;
  } while (cursor && pages < 10);
  t.equal(pages, 3, '8 sites in pages of 3');
  t.equal(seen.length, names.length, 'every site once');
  t.equal(new Set(seen.map((s) => s.id)).size, names.length, 'no site twice');
  const keys = seen.map((s) => [s.name, s.id] as const);
  const sorted = [...keys].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : 1));
  t.same(keys, sorted, 'ordered by name, then id');
  const bravos = seen.filter((s) => s.name === 'Bravo');
  t.equal(bravos.length, 2);
  t.ok(bravos[0]!.id < bravos[1]!.id, 'equal names ordered by id');

  const all = await app.inject({ method: 'GET', url: '/api/v1/sites', headers: auth.reader });
  t.equal(all.json().items.length, names.length, 'default limit covers them');
  t.equal(all.json().nextCursor, null);

  const q = await app.inject({ method: 'GET', url: '/api/v1/sites?q=RAV', headers: auth.reader });
  t.same(
    q.json().items.map((s: { name: string }) => s.name),
    ['Bravo', 'Bravo'],
    'q is a case-insensitive substring',
  );
  const pct = await app.inject({
    method: 'GET',
    url: `/api/v1/sites?q=${encodeURIComponent('%')}`,
    headers: auth.reader,
  });
  t.same(
    pct.json().items.map((s: { name: string }) => s.name),
    ['Foxtrot 100%'],
    '% is literal',
  );
  const underscore = await app.inject({ method: 'GET', url: '/api/v1/sites?q=f_c', headers: auth.reader });
  t.same(
    underscore.json().items.map((s: { name: string }) => s.name),
    ['Golf_Club'],
    '_ is literal',
  );

  assertProblem(t, await app.inject({ method: 'GET', url: '/api/v1/sites?cursor=bm9wZQ', headers: auth.reader }), 400, 'validation-failed');
  assertProblem(
    t,
    await app.inject({
      method: 'GET',
      url: `/api/v1/sites?cursor=${Buffer.from('["x","not-a-uuid"]').toString('base64url')}`,
      headers: auth.reader,
    }),
    400,
    'validation-failed',
  );
  for (const limit of ['0', '501', 'ten', '']) {
    assertProblem(
      t,
      await app.inject({ method: 'GET', url: `/api/v1/sites?limit=${limit}`, headers: auth.reader }),
      400,
      'validation-failed',
    );
  }
  assertProblem(t, await app.inject({ method: 'GET', url: '/api/v1/sites?sort=name', headers: auth.reader }), 400, 'validation-failed');

  // The OpenAPI document describes every site route with a response for each status it can give.
  const doc = (await app.inject({ method: 'GET', url: '/openapi.json' })).json() as {
    paths: Record<string, Record<string, { tags: string[]; summary: string; responses: Record<string, unknown> }>>;
  };
  const ops = {
    '/api/v1/sites': { post: ['201', '400', '401', '403', '409', '413', '415'], get: ['200', '400', '401', '403'] },
    '/api/v1/sites/lookup': { get: ['200', '400', '401', '403', '404'] },
    '/api/v1/sites/{id}': {
      get: ['200', '400', '404'],
      patch: ['200', '404', '409', '412'],
      delete: ['204', '404', '412'],
    },
  } as const;
  for (const [path, methods] of Object.entries(ops)) {
    for (const [method, statuses] of Object.entries(methods)) {
      const op = doc.paths[path]?.[method];
      t.ok(op, `${method} ${path} documented`);
      t.same(op?.tags, ['sites']);
      t.ok(op?.summary);
      for (const status of statuses) t.ok(op?.responses[status], `${method} ${path} ${status}`);
    }
  }
});
