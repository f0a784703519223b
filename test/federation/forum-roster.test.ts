import t from 'tap';
import { createPeerClient } from '../../src/modules/exchange/peer-client.js';
import { requestPeerToken } from '../../src/modules/feeds/feeds.module.js';
import { verifyAuditChain } from '../../src/modules/audit/audit-chain.js';
import { signDocument } from '../../src/crypto/index.js';
import { loadFixtureKey, loadFixtureSigner } from '../fixtures/keys/index.js';
import type { TestNode } from '../helpers/build-test-app.js';
import { api, auditKinds, messageDocument, postMessage, sign, waitFor } from '../helpers/federation-harness.js';
import { buildForumNodes, forumCli, forumOf } from '../helpers/forum-harness.js';

/**
 * A forum (issue 14): cc operates "first" and signs its roster; alpha and bravo are members;
 * mallory is an outsider. The signed roster sets the forum's trust group at each member, vouches
 * for the keys it lists (assurance introduced, once the operator is verified), and a removal
 * takes the floor and the vouch away at once. Rosters from anyone but the operator, older
 * versions, duplicates and sponsors who are not members are refused and change nothing.
 */
const { cc, alpha, bravo, mallory } = await buildForumNodes(t, {
  partners: [
    ['cc', 'alpha'],
    ['cc', 'bravo'],
  ],
  pins: [['alpha', 'mallory']],
});

const forum = (node: TestNode) => forumOf(node);
const groupMembers = async (node: TestNode) =>
  (
    (await api(node, 'GET', '/groups/first/members', 'reader')).json().items as Array<{ teamId: string; level: string; source: string }>
  ).map((m) => `${m.teamId}:${m.level}:${m.source}`);
const assurance = async (node: TestNode, team: string) => (await api(node, 'GET', `/peers/${team}`, 'reader')).json().assurance as string;

t.test('the operator admits members (a founder without sponsors, then one) and signs version 1', async (t) => {
  const created = await api(cc, 'POST', '/forums', 'admin', {
    id: 'first',
    name: 'A FIRST-like forum',
    role: 'operator',
    sponsorsNeeded: 1,
  });
  t.equal(created.statusCode, 201, created.body);
  t.equal((await api(cc, 'POST', '/forums', 'admin', { id: 'first', name: 'again', role: 'operator' })).statusCode, 409);
  t.equal((await api(cc, 'POST', '/forums', 'handler', { id: 'other', name: 'x', role: 'operator' })).statusCode, 403, 'admins only');
  t.equal((await api(cc, 'PUT', '/forums/first/draft/cc', 'admin', { kind: 'full' })).statusCode, 201, 'the founder: nobody to sponsor it');

  const unsponsored = await api(cc, 'PUT', '/forums/first/draft/alpha', 'admin', { kind: 'full' });
  t.equal(unsponsored.statusCode, 400, unsponsored.body);
  t.match(unsponsored.json().detail, /needs 1 sponsor/);
  const outsiderSponsor = await api(cc, 'PUT', '/forums/first/draft/alpha', 'admin', { kind: 'full', sponsors: ['cc', 'mallory'] });
  t.equal(outsiderSponsor.statusCode, 400);
  t.match(outsiderSponsor.json().detail, /"mallory" is not an active member/);
  const notPeer = await api(cc, 'PUT', '/forums/first/draft/mallory', 'admin', { kind: 'full', sponsors: ['cc'] });
  t.equal(notPeer.statusCode, 409, 'the operator signs only keys it verified');
  // The operator's own sponsorship needs no document: its admin is acting.
  t.equal((await api(cc, 'PUT', '/forums/first/draft/alpha', 'admin', { kind: 'full', sponsors: ['cc'] })).statusCode, 201);
  const sponsored = await api(cc, 'PUT', '/forums/first/draft/bravo', 'admin', { kind: 'full', sponsors: ['cc'] });
  t.equal(sponsored.statusCode, 201, sponsored.body);

  for (const member of [alpha, bravo]) {
    const joined = await api(member, 'POST', '/forums', 'admin', { id: 'first', role: 'member', operator: 'cc' });
    t.equal(joined.statusCode, 201, joined.body);
  }
  t.equal(
    (await api(mallory, 'POST', '/forums', 'admin', { id: 'first', role: 'member', operator: 'cc' })).statusCode,
    409,
    'not a peer of cc',
  );

  const published = await api(cc, 'POST', '/forums/first/roster', 'admin');
  t.equal(published.statusCode, 201, published.body);
  t.same(published.json(), { version: 1, sentTo: ['alpha', 'bravo'] });
  t.same(await groupMembers(cc), ['alpha:full:roster', 'bravo:full:roster'], 'the operator applies its own roster');
  t.match(await auditKinds(cc, { kind: 'disclosure.forum-roster' }), [{ decision: 'allow' }, { decision: 'allow' }]);
});

t.test('members verify version 1 against the operator key: group floors and vouches follow it', async (t) => {
  await waitFor('alpha has v1', async () => (await forum(alpha)).rosterVersion === 1);
  await waitFor('bravo has v1', async () => (await forum(bravo)).rosterVersion === 1);
  t.match(await forum(alpha), { ourMembership: 'full' });
  t.same(await groupMembers(alpha), ['bravo:full:roster', 'cc:full:roster']);
  const members = (await api(alpha, 'GET', '/forums/first/members', 'reader')).json().items as Array<{ team: string; peer: string }>;
  t.same(
    members.map((m) => [m.team, m.peer]),
    [
      ['alpha', 'self'],
      ['bravo', 'none'],
      ['cc', 'pinned'],
    ],
  );
  // Alpha adds bravo from the roster: the key the roster states, vouched for by it.
  const added = await api(alpha, 'POST', '/forums/first/members/bravo/peer', 'admin');
  t.equal(added.statusCode, 201, added.body);
  t.match(added.json(), { teamId: 'bravo', fingerprint: loadFixtureKey('bravo').fingerprint, assurance: 'introduced' });
  const trust = (await api(alpha, 'GET', '/policy/trust/bravo', 'reader')).json();
  t.match(JSON.stringify(trust), /first/, 'the group floor of the forum counts for bravo');
  // Hand edits of a roster's group are refused.
  const edit = await api(alpha, 'POST', '/groups/first/members', 'admin', { teamId: 'mallory', level: 'full' });
  t.equal(edit.statusCode, 409, edit.body);
  t.equal((await api(alpha, 'DELETE', '/groups/first/members/bravo', 'admin')).statusCode, 409);
  const history = (await api(alpha, 'GET', '/forums/first/rosters', 'reader')).json().items;
  t.match(history, [{ version: 1, memberCount: 3, receivedFrom: 'cc' }]);
  const roster = (await api(alpha, 'GET', '/forums/first/roster', 'reader')).json();
  t.equal(roster.document.version, 1);
  t.equal(roster.document.operator, 'cc');
});

t.test('hostile rosters are refused at the member and change nothing', async (t) => {
  const v1 = (await api(alpha, 'GET', '/forums/first/roster', 'reader')).json() as { document: Record<string, unknown>; signature: string };
  const rosterAs = async (document: Record<string, unknown>, key: 'cc' | 'mallory') => signDocument(document, await loadFixtureSigner(key));
  const post = async (from: 'cc' | 'mallory', roster: unknown) =>
    postMessage(alpha, await sign(messageDocument(from, 'alpha', 'forum.roster', { roster }, { tlp: 'AMBER' }), from));
  const next = { ...v1.document, version: 7 };
  const members = v1.document.members as Array<Record<string, unknown>>;
  const cases: Array<[string, () => Promise<{ status: number; json: { code: string } }>, number, string]> = [
    [
      'from a member who is not the operator',
      async () => post('mallory', await rosterAs({ ...next, operator: 'mallory' }, 'mallory')),
      422,
      'roster-invalid',
    ],
    ['signed by another key than the operator’s', async () => post('cc', await rosterAs(next, 'mallory')), 422, 'roster-invalid'],
    [
      'version 1 again with other content (a fork)',
      async () => post('cc', await rosterAs({ ...v1.document, issued: new Date().toISOString() }, 'cc')),
      409,
      'roster-stale',
    ],
    [
      'a member listed twice',
      async () => post('cc', await rosterAs({ ...next, members: [...members, members[1]] }, 'cc')),
      422,
      'roster-invalid',
    ],
    [
      'a sponsor who is not a member',
      async () =>
        post(
          'cc',
          await rosterAs({ ...next, members: members.map((m) => (m.team === 'bravo' ? { ...m, sponsors: ['mallory'] } : m)) }, 'cc'),
        ),
      422,
      'roster-invalid',
    ],
    ['of a forum alpha did not join', async () => post('cc', await rosterAs({ ...next, forum: 'other' }, 'cc')), 422, 'roster-invalid'],
    [
      'a version that is not a number',
      async () => post('cc', { ...(await rosterAs(next, 'cc')), document: { ...next, version: '7' } }),
      400,
      'validation-failed',
    ],
  ];
  for (const [name, attempt, status, code] of cases) {
    const res = await attempt();
    t.equal(res.status, status, `${name}: ${JSON.stringify(res.json)}`);
    t.equal(res.json.code, code, name);
  }
  t.equal((await forum(alpha)).rosterVersion, 1, 'still version 1');
  t.same(await groupMembers(alpha), ['bravo:full:roster', 'cc:full:roster']);
  // The same version again (the operator retrying) is a repeat, not an error.
  const again = await post('cc', v1);
  t.equal(again.status, 200, JSON.stringify(again.json));
  t.equal((await api(alpha, 'GET', '/forums/first/roster', 'reader')).json().signature, v1.signature);
});

t.test('removal: version 2 drops bravo; its floor and the vouch go at once, and it is told', async (t) => {
  t.equal((await api(cc, 'DELETE', '/forums/first/draft/bravo', 'admin')).statusCode, 204);
  t.equal((await api(cc, 'DELETE', '/forums/first/draft/bravo', 'admin')).statusCode, 404);
  const published = await api(cc, 'POST', '/forums/first/roster', 'admin');
  t.same(published.json(), { version: 2, sentTo: ['alpha', 'bravo'] }, 'the dropped member is told too');
  await waitFor('alpha has v2', async () => (await forum(alpha)).rosterVersion === 2);
  t.same(await groupMembers(alpha), ['cc:full:roster']);
  t.equal(await assurance(alpha, 'bravo'), 'unverified', 'the roster no longer vouches for bravo');
  t.match(await auditKinds(alpha, { kind: 'trust.group-membership', peer: 'bravo' }), [
    { details: { action: 'added', roster: 'first v1' } },
    { details: { action: 'removed', roster: 'first v2' } },
  ]);
  await waitFor('bravo has v2', async () => (await forum(bravo)).rosterVersion === 2);
  t.match(await forum(bravo), { ourMembership: 'none' });
  // Version 1 again, as a new message (someone kept the old signed copy): it would bring bravo back.
  const v1 = await signDocument(
    {
      ...JSON.parse(
        (await cc.database.db.selectFrom('forum_roster').select('document').where('version', '=', 1).executeTakeFirstOrThrow()).document,
      ),
    },
    await loadFixtureSigner('cc'),
  );
  const rollback = await postMessage(
    alpha,
    await sign(messageDocument('cc', 'alpha', 'forum.roster', { roster: v1 }, { tlp: 'AMBER' }), 'cc'),
  );
  t.equal(rollback.status, 409, rollback.text);
  t.equal(rollback.json.code, 'roster-stale');
  t.same(await groupMembers(alpha), ['cc:full:roster'], 'bravo stays out');
});

t.test('fetching: a listed member refreshes from the operator; others learn nothing', async (t) => {
  const refreshed = await api(alpha, 'POST', '/forums/first/refresh', 'admin');
  t.equal(refreshed.statusCode, 200, refreshed.body);
  t.same(refreshed.json(), { version: 2, applied: false });
  const url = `${cc.url}/federation/v1/forums/first/roster`;
  const anonymous = await fetch(url);
  t.equal(anonymous.status, 401);
  t.match(anonymous.headers.get('content-type'), /problem\+json/);
  const client = createPeerClient(globalThis.fetch, { timeoutMs: 5000, maxResponseBytes: 1 << 20 });
  const tokenFor = (node: TestNode) =>
    requestPeerToken({ client, signer: node.signer, clock: () => new Date(), teamId: node.config.teamId }, { teamId: 'cc', url: cc.url });
  const asBravo = await fetch(url, { headers: { authorization: `Bearer ${await tokenFor(bravo)}` } });
  t.equal(asBravo.status, 404, 'bravo is not in version 2');
  const asAlpha = await fetch(url, { headers: { authorization: `Bearer ${await tokenFor(alpha)}` } });
  t.equal(asAlpha.status, 200);
  t.equal(((await asAlpha.json()) as { document: { version: number } }).document.version, 2);
  for (const node of [cc, alpha, bravo]) t.match(await verifyAuditChain(node.database.db), { ok: true });
});

t.test('hikeshi forum: list and show through the running node; usage errors', async (t) => {
  const cli = async (node: TestNode, ...args: string[]) => (await forumCli(node, ...args)).join('\n');
  t.match(await cli(alpha, 'list'), /^first\s+member\s+operator cc\s+roster v2\s+2 member\(s\)\s+ours: full$/);
  const shown = await cli(alpha, 'show', 'first');
  t.match(shown, /alpha\s+full\s+active\s+[0-9A-F]{40}\s+here: self/);
  t.match(shown, /cc\s+full\s+active\s+[0-9A-F]{40}\s+here: pinned \(verified\)/);
  t.notMatch(shown, /bravo/);
  t.match(await cli(cc, 'publish', 'first'), /^signed version 3; sent to alpha$/);
  await t.rejects(cli(alpha, 'admit', 'first'), { name: 'UsageError' });
  await t.rejects(cli(alpha, 'spin'), { name: 'UsageError' });
  await t.rejects(cli(alpha, 'publish', 'first'), /operated by "cc"/);
});
