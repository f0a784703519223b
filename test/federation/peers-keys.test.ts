import { createPeerClient } from '../../src/modules/exchange/peer-client.js';
import t from 'tap';
import { ProblemError } from '../../src/http/problem.js';
import { createAuditModule } from '../../src/modules/audit/audit.module.js';
import type { PeerDirectory } from '../../src/modules/peers/peer-directory.js';
import { createPeerService } from '../../src/modules/peers/peer.service.js';
import { loadFixtureKey, loadFixtureSigner } from '../fixtures/keys/index.js';
import { proveKeyRotation } from '../../src/modules/peers/key-rotation-proof.js';
import { rotationBody } from '../helpers/federation-harness.js';
import { buildTestNode, type TestNode } from '../helpers/build-test-app.js';

/**
 * Key changes, through the PeerDirectory the exchange uses (the exchange's own tests cover the
 * message path that leads here). Team alpha runs a node with its first key (alphaOld) and one
 * with its second (alphaNew); cc reaches "alpha" at http://alpha.test, which its fetch routes
 * to whichever of the two plays alpha at the moment.
 */

const ALPHA = loadFixtureKey('alpha');
const ALPHA2 = loadFixtureKey('alpha-2');
const BRAVO = loadFixtureKey('bravo');
const MALLORY = loadFixtureKey('mallory');
const ALPHA_URL = 'http://alpha.test';

const alphaOld = await buildTestNode(t, { key: 'alpha', listen: true });
const alphaNew = await buildTestNode(t, { key: 'alpha-2', listen: true });
const bravo = await buildTestNode(t, { key: 'bravo', listen: true });
let alphaTarget = alphaOld.url;
const routingFetch: typeof fetch = (input, init) => {
  const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
  return fetch(url.startsWith(ALPHA_URL) ? alphaTarget + url.slice(ALPHA_URL.length) : url, init);
};
const cc = await buildTestNode(t, { key: 'cc', fetch: routingFetch });
const db = cc.database.db;
// A second service over cc's database: the same rules and tables as the one behind cc's API.
const directory: PeerDirectory = createPeerService({
  db,
  clock: () => new Date(),
  teamId: 'cc',
  ownFingerprint: cc.signer.fingerprint,
  audit: createAuditModule({ db, clock: () => new Date() }).log,
  client: createPeerClient(routingFetch),
});

async function api(node: TestNode, method: 'GET' | 'POST' | 'DELETE', url: string, payload?: unknown) {
  const res = await node.app.inject({
    method,
    url: `/api/v1${url}`,
    headers: node.auth.admin,
    ...(payload === undefined ? {} : { payload: payload as object }),
  });
  return { status: res.statusCode, body: res.body ? res.json() : null };
}
async function auditKinds(peer: string): Promise<string[]> {
  const rows = await db.selectFrom('audit_entry').select('kind').where('peer', '=', peer).orderBy('seq').execute();
  return rows.map((r) => r.kind);
}
async function keyHistory(): Promise<Array<[string, string, boolean]>> {
  const { body } = await api(cc, 'GET', '/peers/alpha/keys');
  return body.items.map((k: { fingerprint: string; how: string; retiredAt: string | null }) => [
    k.fingerprint,
    k.how,
    k.retiredAt !== null,
  ]);
}
async function addAlphaFresh(target: string): Promise<void> {
  await api(cc, 'DELETE', '/peers/alpha');
  alphaTarget = target;
  const added = await api(cc, 'POST', '/peers', { url: ALPHA_URL });
  if (added.status !== 201) throw new Error(`adding alpha failed: ${JSON.stringify(added.body)}`);
}

t.test('find and keyOf give the exchange the pinned key', async (t) => {
  await addAlphaFresh(alphaOld.url);
  t.equal(await directory.find(db, 'nobody'), null);
  const peer = await directory.find(db, 'alpha');
  t.ok(peer);
  t.same(Object.keys(peer!).sort(), [
    'assurance',
    'email',
    'fingerprint',
    'kind',
    'mailOnly',
    'name',
    'publicKey',
    'relationship',
    'requiresSealed',
    'status',
    'teamId',
    'trustLevel',
    'url',
  ]);
  t.match(peer, {
    teamId: 'alpha',
    kind: 'node',
    url: ALPHA_URL,
    fingerprint: ALPHA.fingerprint,
    status: 'active',
    assurance: 'unverified',
    requiresSealed: false,
  });
  const key = await directory.keyOf(peer!);
  t.equal(key.fingerprint, ALPHA.fingerprint);
  t.equal(await directory.keyOf(peer!), key, 'cached');
  await t.rejects(directory.keyOf({ ...peer!, fingerprint: BRAVO.fingerprint }), /does not match/);
});

t.test('a refresh that sees another key flags it; a signed rotation to that key clears the flag', async (t) => {
  t.equal((await api(cc, 'POST', '/peers/alpha/verify', { fingerprint: ALPHA.fingerprint })).body.assurance, 'verified');
  alphaTarget = alphaNew.url;
  const refreshed = await api(cc, 'POST', '/peers/alpha/refresh');
  t.equal(refreshed.status, 200);
  t.equal(refreshed.body.status, 'key-changed');
  t.equal(refreshed.body.fingerprint, ALPHA.fingerprint, 'the old key stays pinned');
  t.equal(refreshed.body.pendingFingerprint, ALPHA2.fingerprint);
  t.match(refreshed.body.confirm, /another key/);
  t.equal((await directory.find(db, 'alpha'))!.status, 'key-changed');

  const rotated = await directory.applyKeyRotation(db, 'alpha', await rotationBody('alpha', 'alpha', 'alpha-2'));
  t.equal(rotated.fingerprint, ALPHA2.fingerprint);
  t.equal(rotated.status, 'active');
  t.equal(rotated.assurance, 'verified', 'a rotation signed by the old key keeps the assurance');
  t.equal((await directory.keyOf(rotated)).fingerprint, ALPHA2.fingerprint);
  const read = (await api(cc, 'GET', '/peers/alpha')).body;
  t.equal(read.pendingFingerprint, null);
  t.equal(read.keyChangedAt, null);
  t.same(await keyHistory(), [
    [ALPHA.fingerprint, 'added', true],
    [ALPHA2.fingerprint, 'rotation', false],
  ]);
  // A repeat of the same rotation changes nothing.
  const kinds = await auditKinds('alpha');
  const again = await directory.applyKeyRotation(db, 'alpha', await rotationBody('alpha', 'alpha', 'alpha-2'));
  t.same(again, rotated);
  t.same(await auditKinds('alpha'), kinds);
  t.same(kinds, ['peer.added', 'peer.verified', 'peer.key-changed', 'peer.key-rotated']);
});

t.test('rotations that cannot be accepted', async (t) => {
  await api(cc, 'POST', '/peers', { url: bravo.url });
  const rotate = (newPublicKey: string, newFingerprint: string, newKeySignature = 'not checked before the key is') =>
    directory.applyKeyRotation(db, 'alpha', { newPublicKey, newFingerprint, newKeySignature });
  // A fresh key for the team, signed for by another key or for another rotation.
  const fresh = loadFixtureKey('mallory');
  const byOther = await proveKeyRotation('alpha', ALPHA2.fingerprint, await loadFixtureSigner('bravo'));
  const otherTeam = await proveKeyRotation('bravo', ALPHA2.fingerprint, await loadFixtureSigner('mallory'));
  const otherOld = await proveKeyRotation('alpha', ALPHA.fingerprint, await loadFixtureSigner('mallory'));
  const cases: Array<[string, () => Promise<unknown>, RegExp]> = [
    ['back to a retired key', () => rotate(ALPHA.armoredPublicKey, ALPHA.fingerprint), /retired/],
    ["to another peer's key", () => rotate(BRAVO.armoredPublicKey, BRAVO.fingerprint), /pinned for team "bravo"/],
    ["to this node's own key", () => rotate(cc.signer.armoredPublicKey, cc.signer.fingerprint), /own key/],
    ['to garbage', () => rotate('not a key', ALPHA2.fingerprint), /not usable/],
    ['to a private key', () => rotate(MALLORY.armoredPrivateKey, MALLORY.fingerprint), /not usable/],
    ['with a fingerprint of another key', () => rotate(MALLORY.armoredPublicKey, ALPHA2.fingerprint), /does not match/],
    ['without the new key’s signature', () => rotate(fresh.armoredPublicKey, fresh.fingerprint, ''), /newKeySignature/],
    ['with a signature by another key', () => rotate(fresh.armoredPublicKey, fresh.fingerprint, byOther), /newKeySignature/],
    ['with a signature for another team', () => rotate(fresh.armoredPublicKey, fresh.fingerprint, otherTeam), /newKeySignature/],
    ['with a signature for another rotation', () => rotate(fresh.armoredPublicKey, fresh.fingerprint, otherOld), /newKeySignature/],
  ];
  for (const [name, attempt, detail] of cases) {
    const err = await attempt().then(
      () => null,
      (e: unknown) => e,
    );
    t.ok(err instanceof ProblemError, name);
    t.equal((err as ProblemError).code, 'key-rotation-invalid', name);
    t.match((err as ProblemError).detail, detail, name);
  }
  await t.rejects(directory.applyKeyRotation(db, 'nobody', await rotationBody('nobody', 'alpha', 'mallory')), { code: 'not-found' });
  t.equal((await directory.find(db, 'alpha'))!.fingerprint, ALPHA2.fingerprint, 'still the rotated key');
});

t.test('flagKeyChange: nothing from the new key counts until a human re-verifies', async (t) => {
  await addAlphaFresh(alphaOld.url);
  const before = await auditKinds('alpha');
  await directory.flagKeyChange(db, 'alpha', ALPHA.fingerprint);
  await directory.flagKeyChange(db, 'nobody', ALPHA2.fingerprint);
  t.equal((await directory.find(db, 'alpha'))!.status, 'active', 'the pinned key itself is no change');

  await directory.flagKeyChange(db, 'alpha', ALPHA2.fingerprint.toLowerCase());
  const flagged = (await api(cc, 'GET', '/peers/alpha')).body;
  t.equal(flagged.status, 'key-changed');
  t.equal(flagged.pendingFingerprint, ALPHA2.fingerprint);
  t.type(flagged.keyChangedAt, 'string');
  t.equal(flagged.fingerprint, ALPHA.fingerprint);
  t.equal((await directory.keyOf((await directory.find(db, 'alpha'))!)).fingerprint, ALPHA.fingerprint, 'the pinned key is unchanged');
  // Repeats (every message signed by that key) are recorded once.
  await directory.flagKeyChange(db, 'alpha', ALPHA2.fingerprint);
  await directory.flagKeyChange(db, 'alpha', null);
  t.same((await auditKinds('alpha')).slice(before.length), ['peer.key-changed']);
  t.equal(
    (await api(cc, 'GET', '/peers/alpha')).body.pendingFingerprint,
    ALPHA2.fingerprint,
    'an anonymous signature does not erase what was seen',
  );

  // Resuming is not a way around it.
  const resume = await api(cc, 'POST', '/peers/alpha/resume');
  t.equal(resume.status, 409);
  t.equal(resume.body.code, 'conflict');

  const neither = await api(cc, 'POST', '/peers/alpha/verify', { fingerprint: MALLORY.fingerprint });
  t.equal(neither.status, 409);
  t.equal(neither.body.code, 'fingerprint-mismatch');
  // alpha's URL still serves the old key: the human's word alone does not conjure the new one.
  const notServed = await api(cc, 'POST', '/peers/alpha/verify', { fingerprint: ALPHA2.fingerprint });
  t.equal(notServed.status, 409);
  t.equal(notServed.body.code, 'fingerprint-mismatch');
  t.match(notServed.body.detail, /serves key/);
  t.equal((await directory.find(db, 'alpha'))!.status, 'key-changed');

  alphaTarget = alphaNew.url;
  const verified = await api(cc, 'POST', '/peers/alpha/verify', { fingerprint: ALPHA2.fingerprint });
  t.equal(verified.status, 200);
  t.equal(verified.body.fingerprint, ALPHA2.fingerprint);
  t.equal(verified.body.status, 'active');
  t.equal(verified.body.assurance, 'verified');
  t.equal(verified.body.pendingFingerprint, null);
  t.same(await keyHistory(), [
    [ALPHA.fingerprint, 'added', true],
    [ALPHA2.fingerprint, 'reverified', false],
  ]);
  t.equal((await auditKinds('alpha')).at(-1), 'peer.key-repinned');
  t.equal((await directory.keyOf((await directory.find(db, 'alpha'))!)).fingerprint, ALPHA2.fingerprint);
});

t.test('a key offered by a refresh is pinned on confirmation without fetching again', async (t) => {
  await addAlphaFresh(alphaOld.url);
  alphaTarget = alphaNew.url;
  t.equal((await api(cc, 'POST', '/peers/alpha/refresh')).body.pendingFingerprint, ALPHA2.fingerprint);
  // Whatever the URL serves now, the confirmed key is the one the refresh stored.
  alphaTarget = alphaOld.url;
  const verified = await api(cc, 'POST', '/peers/alpha/verify', { fingerprint: ALPHA2.fingerprint });
  t.equal(verified.status, 200, JSON.stringify(verified.body));
  t.equal(verified.body.fingerprint, ALPHA2.fingerprint);
  t.equal(verified.body.status, 'active');
});

t.test('confirming the pinned key dismisses a flagged change', async (t) => {
  await directory.flagKeyChange(db, 'alpha', MALLORY.fingerprint);
  t.equal((await directory.find(db, 'alpha'))!.status, 'key-changed');
  const dismissed = await api(cc, 'POST', '/peers/alpha/verify', { fingerprint: ALPHA2.fingerprint });
  t.equal(dismissed.status, 200);
  t.equal(dismissed.body.status, 'active');
  t.equal(dismissed.body.pendingFingerprint, null);
  t.equal(dismissed.body.fingerprint, ALPHA2.fingerprint);
  t.equal((await auditKinds('alpha')).at(-1), 'peer.key-change-dismissed');

  // A retired key served again is flagged, and cannot be re-pinned.
  alphaTarget = alphaOld.url;
  t.equal((await api(cc, 'POST', '/peers/alpha/refresh')).body.pendingFingerprint, ALPHA.fingerprint);
  const retired = await api(cc, 'POST', '/peers/alpha/verify', { fingerprint: ALPHA.fingerprint });
  t.equal(retired.status, 409);
  t.match(retired.body.detail, /retired/);
  t.equal((await api(cc, 'POST', '/peers/alpha/verify', { fingerprint: ALPHA2.fingerprint })).body.status, 'active');
});

t.test('while suspended: a key change is remembered, a rotation refused, resume returns to key-changed', async (t) => {
  t.equal((await api(cc, 'POST', '/peers/alpha/suspend')).body.status, 'suspended');
  await directory.flagKeyChange(db, 'alpha', MALLORY.fingerprint);
  const peer = (await api(cc, 'GET', '/peers/alpha')).body;
  t.equal(peer.status, 'suspended');
  t.equal(peer.pendingFingerprint, MALLORY.fingerprint);
  await t.rejects(directory.applyKeyRotation(db, 'alpha', await rotationBody('alpha', 'alpha-2', 'mallory')), { code: 'conflict' });
  t.equal((await api(cc, 'POST', '/peers/alpha/resume')).body.status, 'key-changed');
  t.equal((await api(cc, 'POST', '/peers/alpha/verify', { fingerprint: ALPHA2.fingerprint })).body.status, 'active');
});

t.test("inside the caller's transaction, the change rolls back with it", async (t) => {
  const rollback = new Error('roll back');
  await t.rejects(
    db.transaction().execute(async (tx) => {
      await directory.flagKeyChange(tx, 'alpha', MALLORY.fingerprint);
      t.equal((await directory.find(tx, 'alpha'))!.status, 'key-changed', 'visible inside');
      throw rollback;
    }),
    rollback,
  );
  t.equal((await directory.find(db, 'alpha'))!.status, 'active', 'gone after the rollback');
});

t.test('addFromUrl pins like POST /peers', async (t) => {
  await api(cc, 'DELETE', '/peers/bravo');
  const peer = await directory.addFromUrl(bravo.url, 'handler-on-quarantine');
  t.equal(peer.teamId, 'bravo');
  t.equal(peer.fingerprint, BRAVO.fingerprint);
  t.equal(peer.assurance, 'unverified');
  t.equal((await api(cc, 'GET', '/peers/bravo')).body.addedBy, 'handler-on-quarantine');
  await t.rejects(directory.addFromUrl(bravo.url, 'x'), { code: 'conflict' });
});
