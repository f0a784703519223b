import t, { type Test } from 'tap';
import type { LightMyRequestResponse } from 'fastify';
import { buildTestNode, type TestNode } from '../helpers/build-test-app.js';

/** /api/v1/groups: CRUD, members, roles, bad input, and the audit trail of every change. */

type Role = 'reader' | 'handler' | 'admin';

function api(
  node: TestNode,
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE' | 'PUT',
  url: string,
  role: Role | null,
  payload?: unknown,
  headers: Record<string, string> = {},
) {
  return node.app.inject({
    method,
    url: `/api/v1${url}`,
    headers: { ...(role ? node.auth[role] : {}), ...headers },
    ...(payload === undefined ? {} : typeof payload === 'string' ? { payload } : { payload: payload as object }),
  });
}

function problem(t: Test, res: LightMyRequestResponse, status: number, code: string): void {
  t.equal(res.statusCode, status, res.statusCode === status ? `${status} ${code}` : res.body);
  t.match(res.headers['content-type'], /^application\/problem\+json/);
  t.equal(res.json().code, code);
}

async function auditOf(node: TestNode, kindPrefix: string) {
  const rows = await node.database.db
    .selectFrom('audit_entry')
    .select(['kind', 'actor', 'peer', 'details'])
    .where('kind', 'like', `${kindPrefix}%`)
    .orderBy('seq')
    .execute();
  return rows;
}

const FIRST = {
  id: 'first',
  name: 'FIRST',
  kind: 'forum',
  description: 'Forum of Incident Response and Security Teams',
  ourMembership: 'full',
};

t.test('admins create, read, change and delete groups; readers read', async (t) => {
  const node = await buildTestNode(t);
  const created = await api(node, 'POST', '/groups', 'admin', FIRST);
  t.equal(created.statusCode, 201, created.body);
  t.equal(created.headers['location'], '/api/v1/groups/first');
  t.match(created.json(), {
    id: 'first',
    name: 'FIRST',
    kind: 'forum',
    ourMembership: 'full',
    floorFull: null,
    floorLiaison: null,
    memberCount: 0,
    version: 1,
    createdBy: 'admin-user',
  });

  const minimal = await api(node, 'POST', '/groups', 'admin', {
    id: 'isac-energy',
    name: 'Energy ISAC',
    kind: 'sector',
  });
  t.equal(minimal.statusCode, 201);
  t.match(minimal.json(), { ourMembership: 'none', description: null });

  const list = await api(node, 'GET', '/groups', 'reader');
  t.equal(list.statusCode, 200);
  t.same(
    list.json().items.map((g: { id: string }) => g.id),
    ['first', 'isac-energy'],
  );
  t.same(
    (await api(node, 'GET', '/groups?ourMembership=full', 'reader')).json().items.map((g: { id: string }) => g.id),
    ['first'],
  );
  t.same(
    (await api(node, 'GET', '/groups?kind=sector', 'reader')).json().items.map((g: { id: string }) => g.id),
    ['isac-energy'],
  );

  const read = await api(node, 'GET', '/groups/first', 'reader');
  t.equal(read.statusCode, 200);
  t.equal(read.json().description, FIRST.description);

  const patched = await api(node, 'PATCH', '/groups/first', 'admin', {
    floorFull: 'partner',
    floorLiaison: 'community',
    description: null,
  });
  t.equal(patched.statusCode, 200, patched.body);
  t.match(patched.json(), { floorFull: 'partner', floorLiaison: 'community', description: null, version: 2 });
  const cleared = await api(node, 'PATCH', '/groups/first', 'admin', { floorLiaison: null });
  t.match(cleared.json(), { floorFull: 'partner', floorLiaison: null, version: 3 });
  const same = await api(node, 'PATCH', '/groups/first', 'admin', { floorFull: 'partner' });
  t.equal(same.json().version, 3, 'a patch that changes nothing changes no version');

  const del = await api(node, 'DELETE', '/groups/isac-energy', 'admin');
  t.equal(del.statusCode, 204);
  problem(t, await api(node, 'GET', '/groups/isac-energy', 'reader'), 404, 'not-found');
  problem(t, await api(node, 'DELETE', '/groups/isac-energy', 'admin'), 404, 'not-found');

  const entries = await auditOf(node, 'trust.group');
  t.same(
    entries.map((e) => e.kind),
    ['trust.group-created', 'trust.group-created', 'trust.group-updated', 'trust.group-updated', 'trust.group-deleted'],
  );
  t.match(entries[2]!.details, {
    group: 'first',
    changes: { floorFull: { from: null, to: 'partner' }, description: { replaced: true } },
  });
  t.notOk(JSON.stringify(entries).includes('Forum of Incident Response'), 'free text stays out of the audit log');
});

t.test('members: add (201), change level (200), list, remove; each change audited with the team as peer', async (t) => {
  const node = await buildTestNode(t);
  t.equal((await api(node, 'POST', '/groups', 'admin', FIRST)).statusCode, 201);

  const added = await api(node, 'POST', '/groups/first/members', 'admin', {
    teamId: 'bravo',
    level: 'full',
    since: '2024-05-01T09:00:00+09:00',
    source: 'roster',
  });
  t.equal(added.statusCode, 201, added.body);
  t.equal(added.headers['location'], '/api/v1/groups/first/members/bravo');
  t.match(added.json(), {
    groupId: 'first',
    teamId: 'bravo',
    level: 'full',
    since: '2024-05-01T00:00:00.000Z',
    source: 'roster',
    addedBy: 'admin-user',
  });

  const liaison = await api(node, 'POST', '/groups/first/members', 'admin', { teamId: 'cc', level: 'liaison' });
  t.equal(liaison.statusCode, 201);
  t.equal(liaison.json().source, 'manual', 'manual by default');

  const changed = await api(node, 'POST', '/groups/first/members', 'admin', { teamId: 'bravo', level: 'liaison' });
  t.equal(changed.statusCode, 200, changed.body);
  t.match(changed.json(), { level: 'liaison', since: '2024-05-01T00:00:00.000Z', source: 'roster' }, 'since and source kept unless given');
  const again = await api(node, 'POST', '/groups/first/members', 'admin', { teamId: 'bravo', level: 'liaison' });
  t.equal(again.statusCode, 200, 'idempotent');

  const members = await api(node, 'GET', '/groups/first/members', 'reader');
  t.equal(members.statusCode, 200);
  t.same(
    members.json().items.map((m: { teamId: string; level: string }) => [m.teamId, m.level]),
    [
      ['bravo', 'liaison'],
      ['cc', 'liaison'],
    ],
  );
  t.equal((await api(node, 'GET', '/groups/first', 'reader')).json().memberCount, 2);
  t.same(
    (await api(node, 'GET', '/groups?team=cc', 'reader')).json().items.map((g: { id: string }) => g.id),
    ['first'],
  );
  t.same((await api(node, 'GET', '/groups?team=mallory', 'reader')).json().items, []);

  t.equal((await api(node, 'DELETE', '/groups/first/members/cc', 'admin')).statusCode, 204);
  problem(t, await api(node, 'DELETE', '/groups/first/members/cc', 'admin'), 404, 'not-found');
  problem(t, await api(node, 'POST', '/groups/nope/members', 'admin', { teamId: 'cc', level: 'full' }), 404, 'not-found');
  problem(t, await api(node, 'GET', '/groups/nope/members', 'reader'), 404, 'not-found');

  // Deleting the group takes the remaining membership with it, and says so per team.
  t.equal((await api(node, 'DELETE', '/groups/first', 'admin')).statusCode, 204);
  const entries = await auditOf(node, 'trust.group-membership');
  t.same(
    entries.map((e) => [e.peer, (e.details as { action: string }).action]),
    [
      ['bravo', 'added'],
      ['cc', 'added'],
      ['bravo', 'changed'],
      ['cc', 'removed'],
      ['bravo', 'removed'],
    ],
    'one entry per change; the idempotent repeat records nothing',
  );
  t.match(entries[2]!.details, { group: 'first', level: 'liaison', from: 'full' });
  t.equal(
    entries.every((e) => e.actor === 'admin-user'),
    true,
  );
});

t.test('roles: no token 401, reader/handler cannot write (403)', async (t) => {
  const node = await buildTestNode(t);
  t.equal((await api(node, 'POST', '/groups', 'admin', FIRST)).statusCode, 201);
  problem(t, await api(node, 'GET', '/groups', null), 401, 'unauthenticated');
  problem(t, await api(node, 'GET', '/groups/first/members', null), 401, 'unauthenticated');
  for (const role of ['reader', 'handler'] as const) {
    problem(t, await api(node, 'POST', '/groups', role, { ...FIRST, id: 'other' }), 403, 'forbidden');
    problem(t, await api(node, 'PATCH', '/groups/first', role, { name: 'x' }), 403, 'forbidden');
    problem(t, await api(node, 'DELETE', '/groups/first', role), 403, 'forbidden');
    problem(t, await api(node, 'POST', '/groups/first/members', role, { teamId: 'bravo', level: 'full' }), 403, 'forbidden');
    problem(t, await api(node, 'DELETE', '/groups/first/members/bravo', role), 403, 'forbidden');
  }
  t.equal((await api(node, 'GET', '/groups/first', 'handler')).statusCode, 200);
  t.same(await auditOf(node, 'trust.group-membership'), [], 'refused writes record nothing');
});

t.test('bad input is a 400 (or 409 for a taken id), and changes nothing', async (t) => {
  const node = await buildTestNode(t);
  t.equal((await api(node, 'POST', '/groups', 'admin', FIRST)).statusCode, 201);
  problem(t, await api(node, 'POST', '/groups', 'admin', FIRST), 409, 'conflict');
  const bad: Array<[string, unknown]> = [
    ['unknown field', { ...FIRST, id: 'g2', vetted: true }],
    ['id with capitals', { ...FIRST, id: 'First' }],
    ['id too short', { ...FIRST, id: 'x' }],
    ['unknown kind', { ...FIRST, id: 'g2', kind: 'club' }],
    ['our membership', { ...FIRST, id: 'g2', ourMembership: 'member' }],
    ['a group cannot make a team close', { ...FIRST, id: 'g2', floorFull: 'close' }],
    ['name empty', { ...FIRST, id: 'g2', name: '' }],
    ['name a number', { ...FIRST, id: 'g2', name: 7 }],
    ['missing kind', { id: 'g2', name: 'G2' }],
    ['description too long', { ...FIRST, id: 'g2', description: 'x'.repeat(2001) }],
  ];
  for (const [why, body] of bad) {
    const res = await api(node, 'POST', '/groups', 'admin', body);
    t.equal(res.statusCode, 400, why);
    t.equal(res.json().code, 'validation-failed', why);
  }
  problem(t, await api(node, 'POST', '/groups', 'admin', '{"id": "g2",', { 'content-type': 'application/json' }), 400, 'malformed-json');
  problem(t, await api(node, 'PATCH', '/groups/first', 'admin', {}), 400, 'validation-failed');
  problem(t, await api(node, 'PATCH', '/groups/first', 'admin', { floorLiaison: 'close' }), 400, 'validation-failed');
  problem(t, await api(node, 'PATCH', '/groups/first', 'admin', { id: 'renamed' }), 400, 'validation-failed');
  problem(t, await api(node, 'PATCH', '/groups/nope', 'admin', { name: 'Nope' }), 404, 'not-found');
  problem(t, await api(node, 'GET', '/groups/NOT_AN_ID', 'reader'), 400, 'validation-failed');
  problem(t, await api(node, 'GET', '/groups?kind=club', 'reader'), 400, 'validation-failed');
  problem(t, await api(node, 'GET', '/groups?colour=red', 'reader'), 400, 'validation-failed');

  const badMembers: Array<[string, unknown]> = [
    ['level', { teamId: 'bravo', level: 'observer' }],
    ['team id', { teamId: 'Bravo!', level: 'full' }],
    ['since', { teamId: 'bravo', level: 'full', since: 'last year' }],
    ['source', { teamId: 'bravo', level: 'full', source: 'Roster List' }],
    ['unknown field', { teamId: 'bravo', level: 'full', vouchedBy: 'cc' }],
    ['missing level', { teamId: 'bravo' }],
  ];
  for (const [, body] of badMembers) problem(t, await api(node, 'POST', '/groups/first/members', 'admin', body), 400, 'validation-failed');
  const big = await api(node, 'POST', '/groups', 'admin', {
    ...FIRST,
    id: 'g3',
    description: 'x'.repeat(2 * 1024 * 1024),
  });
  problem(t, big, 413, 'body-too-large');

  t.equal((await api(node, 'GET', '/groups', 'reader')).json().items.length, 1);
  t.equal((await api(node, 'GET', '/groups/first/members', 'reader')).json().items.length, 0);
});
