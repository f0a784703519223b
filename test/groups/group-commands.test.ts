import t from 'tap';
import { NodeUnreachableError } from '../../src/cli/cli-context.js';
import {
  GroupCommandError,
  groupCreate,
  groupDelete,
  groupList,
  groupMemberAdd,
  groupMemberRemove,
  groupShow,
  groupUpdate,
  trustShow,
} from '../../src/cli/group-commands.js';
import { loadFixtureKey } from '../fixtures/keys/index.js';
import { buildTestNode, freePort } from '../helpers/build-test-app.js';

/** `hikeshi group ...` and `hikeshi trust <team>` talk to the running node over HTTP, as the CLI does. */

const alpha = await buildTestNode(t, { key: 'alpha', listen: true });
const bravo = await buildTestNode(t, { key: 'bravo', listen: true });
const admin = alpha.mint('admin', 'cli');
const reader = alpha.mint('reader', 'cli');

t.test('group list with no groups says how to create one', async (t) => {
  t.match(await groupList(alpha.url, reader), /No trust groups yet/);
});

t.test('create, update, list and show a group', async (t) => {
  const created = await groupCreate(`${alpha.url}/`, admin, {
    id: 'first',
    name: 'FIRST',
    kind: 'forum',
    ourMembership: 'full',
  });
  t.match(created, /Created trust group first/);
  t.match(created, /We are:\s+a full member/);
  t.match(created, /full members at least community \(default\)/);
  const other = await groupCreate(alpha.url, admin, { id: 'far-away', name: 'Far Away CERTs', kind: 'national' });
  t.match(other, /we are not a member: its memberships give no trust floor/);

  const updated = await groupUpdate(alpha.url, admin, 'first', {
    floorLiaison: 'community',
    description: 'Global forum',
  });
  t.match(updated, /liaisons at least community/);
  t.match(updated, /Description: Global forum/);

  const lines = (await groupList(alpha.url, reader)).split('\n');
  t.equal(lines.length, 3);
  t.match(lines[0], /^GROUP\s+KIND\s+WE ARE/);
  t.match(lines[1], /^far-away\s+national\s+none\s+-\s+-\s+0\s+Far Away CERTs$/);
  t.match(lines[2], /^first\s+forum\s+full\s+-\s+community\s+0\s+FIRST$/);
});

t.test('members, and the effective trust they give', async (t) => {
  t.match(
    await groupMemberAdd(alpha.url, admin, 'first', 'bravo', 'full', { source: 'roster' }),
    /bravo is a full member of first .*source roster/,
  );
  const shown = await groupShow(alpha.url, reader, 'first');
  t.match(shown, /Members:\s+1/);
  t.match(shown, /^bravo\s+full\s+\S+\s+roster$/m);

  // Trust needs a peer: add bravo and confirm its key, as a handler would.
  const add = await fetch(`${alpha.url}/api/v1/peers`, {
    method: 'POST',
    headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
    body: JSON.stringify({ url: bravo.url }),
  });
  t.equal(add.status, 201);
  const before = await trustShow(alpha.url, reader, 'bravo');
  t.match(before, /Effective trust: unknown\s+\(bilateral unknown, floor community, cap unknown\)/);
  t.match(before, /capped at unknown: key identity is unverified/);
  const verify = await fetch(`${alpha.url}/api/v1/peers/bravo/verify`, {
    method: 'POST',
    headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
    body: JSON.stringify({ fingerprint: loadFixtureKey('bravo').fingerprint }),
  });
  t.equal(verify.status, 200);
  const after = await trustShow(alpha.url, reader, 'bravo');
  t.match(after, /Effective trust: community/);
  t.match(after, /Groups:\s+first \(full\)/);
  t.match(after, /- full member of first, a group we belong to: at least community/);

  t.match(await groupMemberRemove(alpha.url, admin, 'first', 'bravo'), /no longer a member/);
  t.match(await trustShow(alpha.url, reader, 'bravo'), /Effective trust: unknown/);
  t.match(await groupDelete(alpha.url, admin, 'far-away'), /Deleted trust group far-away/);
});

t.test('refusals and unreachable nodes are errors with the problem code', async (t) => {
  const forbidden = await groupCreate(alpha.url, reader, { id: 'x-group', name: 'X', kind: 'other' }).catch((e: unknown) => e);
  t.ok(forbidden instanceof GroupCommandError);
  t.equal((forbidden as GroupCommandError).status, 403);
  t.equal((forbidden as GroupCommandError).code, 'forbidden');
  const duplicate = await groupCreate(alpha.url, admin, { id: 'first', name: 'FIRST', kind: 'forum' }).catch((e: unknown) => e);
  t.equal((duplicate as GroupCommandError).code, 'conflict');
  const invalid = await groupMemberAdd(alpha.url, admin, 'first', 'bravo', 'observer' as 'full').catch((e: unknown) => e);
  t.equal((invalid as GroupCommandError).code, 'validation-failed');
  const missing = await groupShow(alpha.url, reader, 'nope').catch((e: unknown) => e);
  t.equal((missing as GroupCommandError).code, 'not-found');
  const notMember = await groupMemberRemove(alpha.url, admin, 'first', 'cc').catch((e: unknown) => e);
  t.equal((notMember as GroupCommandError).code, 'not-found');
  const unknownPeer = await trustShow(alpha.url, reader, 'zulu').catch((e: unknown) => e);
  t.equal((unknownPeer as GroupCommandError).code, 'unknown-peer');
  const badToken = await groupList(alpha.url, 'not-a-token').catch((e: unknown) => e);
  t.equal((badToken as GroupCommandError).code, 'unauthenticated');
  const nobody = await groupList(`http://127.0.0.1:${await freePort()}`, reader).catch((e: unknown) => e);
  t.ok(nobody instanceof NodeUnreachableError);
});
