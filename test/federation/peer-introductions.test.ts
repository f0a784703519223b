import t from 'tap';
import { peerIntroduce, peerVouches } from '../../src/cli/peer-commands.js';
import { ConfigError, loadConfig } from '../../src/config.js';
import { loadFixtureKey, type FixtureKeyName } from '../fixtures/keys/index.js';
import { buildTestNode, type Teardown, type TestNode } from '../helpers/build-test-app.js';
import {
  addPeer,
  api,
  auditKinds,
  createIncident,
  fastDelivery,
  messageDocument,
  postMessage,
  rotationBody,
  sign,
  trustPeer,
  waitFor,
} from '../helpers/federation-harness.js';

/**
 * Introductions (issue 14 part 4): a team we verified vouches that a key is another team's, and
 * that key's assurance becomes `introduced` (capped at partner by the policy); a withdrawal, a
 * voucher we no longer trust or a key change takes it away. cc is the receiving node throughout;
 * bravo (verified by cc) and mallory vouch; alpha is introduced.
 */
fastDelivery();
const ALPHA = loadFixtureKey('alpha');
const ALPHA2 = loadFixtureKey('alpha-2');
const CC = loadFixtureKey('cc');

// The other teams' nodes: they serve their signed profiles, so cc can add them.
const alpha = await buildTestNode(t, { key: 'alpha', listen: true });
const bravo = await buildTestNode(t, { key: 'bravo', listen: true });
const mallory = await buildTestNode(t, { key: 'mallory', listen: true });

/** A fresh cc that pins bravo and verified it out of band. */
async function receiver(t: Teardown, config: Record<string, unknown> = {}): Promise<TestNode> {
  const cc = await buildTestNode(t, { key: 'cc', listen: true, config });
  await addPeer(cc, bravo);
  await trustPeer(cc, bravo);
  return cc;
}

async function introduction(from: FixtureKeyName, to: string, body: Record<string, unknown>, overrides: Record<string, unknown> = {}) {
  const team = loadFixtureKey(from).teamId;
  return sign(messageDocument(team, to, 'peer.introduction', body, { tlp: 'GREEN', ...overrides }), from);
}

async function peer(node: TestNode, team: string): Promise<{ assurance: string; fingerprint: string; status: string }> {
  const res = await api(node, 'GET', `/peers/${team}`, 'reader');
  if (res.statusCode !== 200) throw new Error(`GET /peers/${team}: ${res.statusCode} ${res.body}`);
  return res.json();
}

async function vouches(node: TestNode, team: string) {
  const res = await api(node, 'GET', `/peers/${team}/vouches`, 'reader');
  if (res.statusCode !== 200) throw new Error(`vouches: ${res.statusCode} ${res.body}`);
  return res.json();
}

async function noted(node: TestNode, envelope: unknown): Promise<void> {
  const res = await postMessage(node, envelope);
  if (res.status !== 200) throw new Error(`expected a receipt, got ${res.status} ${res.text}`);
  if (res.json.document.body.status !== 'noted') throw new Error(`receipt ${res.text}`);
}

const alphaKey = { team: 'alpha', fingerprint: ALPHA.fingerprint };

t.test(
  'bravo introduces alpha to cc over the exchange: alpha becomes introduced, the policy cap follows; withdrawal takes it back',
  async (t) => {
    // A bravo of its own, with its delivery worker: it verified alpha and tells cc.
    const voucher = await buildTestNode(t, { key: 'bravo', listen: true, startWorker: true });
    const cc = await buildTestNode(t, { key: 'cc', listen: true });
    await addPeer(voucher, alpha);
    await addPeer(voucher, cc);
    await addPeer(cc, voucher);
    await trustPeer(cc, voucher);
    await addPeer(cc, alpha);
    const patched = await api(cc, 'PATCH', '/peers/alpha', 'admin', { trustLevel: 'partner' });
    t.equal(patched.statusCode, 200, patched.body);

    // Only a key bravo verified itself can be introduced.
    const early = await api(voucher, 'POST', '/peers/alpha/introductions', 'admin', { to: ['cc'] });
    t.equal(early.statusCode, 409, early.body);
    t.equal(early.json().code, 'peer-not-verified');
    await trustPeer(voucher, alpha);

    const { ref } = await createIncident(cc, { tlp: 'AMBER' });
    const explain = async () =>
      (
        await api(cc, 'POST', '/policy/explain', 'reader', { incident: ref, peer: 'alpha', purpose: 'direct', explicitlyChosen: true })
      ).json();
    t.match(await explain(), { allow: false, deniedBy: ['tlp-trust'], trust: { cap: 'unknown', level: 'unknown' } });

    const sent = await api(voucher, 'POST', '/peers/alpha/introductions', 'admin', { to: ['cc'], vouchesFor: 'met at FIRST 2026' });
    t.equal(sent.statusCode, 202, sent.body);
    t.match(sent.json(), { subject: 'alpha', items: [{ to: 'cc', fingerprint: ALPHA.fingerprint, withdrawn: false }] });
    t.match(await auditKinds(voucher, { kind: 'disclosure.introduction' }), [
      { decision: 'allow', details: { subject: 'alpha', fingerprint: ALPHA.fingerprint, withdrawn: false } },
    ]);

    await waitFor('alpha introduced at cc', async () => (await peer(cc, 'alpha')).assurance === 'introduced');
    t.match(await explain(), { allow: true, trust: { cap: 'partner', level: 'partner' } });
    const trust = (await api(cc, 'GET', '/policy/trust/alpha', 'reader')).json();
    t.match(trust, { assurance: 'introduced', cap: 'partner', level: 'partner' });
    const report = await vouches(cc, 'alpha');
    t.match(report, {
      assurance: 'introduced',
      counting: { introductions: ['bravo'], roster: [] },
      items: [{ kind: 'introduction', voucher: 'bravo', fingerprint: ALPHA.fingerprint, counts: true, vouchesFor: 'met at FIRST 2026' }],
    });
    t.ok(report.items[0].statement.signature.includes('BEGIN PGP SIGNATURE'), 'the signed statement is kept as received');
    t.match(await auditKinds(cc, { kind: 'peer.assurance-changed' }), [
      { details: { from: 'unverified', to: 'introduced', introductions: ['bravo'], fingerprint: ALPHA.fingerprint } },
    ]);
    // The CLI reads the same.
    t.match(await peerVouches(cc.url, cc.mint('reader'), 'alpha'), /assurance introduced[\s\S]*introduction\s+bravo\s+yes/);
    t.match((await vouches(voucher, 'alpha')).sent, [{ to: 'cc', fingerprint: ALPHA.fingerprint, withdrawnAt: null }]);

    const withdrawn = await peerIntroduce(voucher.url, voucher.mint('admin'), 'alpha', { withdraw: true });
    t.match(withdrawn, /Withdrew the introduction of alpha from 1 peer/);
    await waitFor('alpha back to unverified at cc', async () => (await peer(cc, 'alpha')).assurance === 'unverified');
    t.match(await explain(), { allow: false, trust: { cap: 'unknown' } });
    t.match((await vouches(cc, 'alpha')).items, [{ voucher: 'bravo', withdrawn: true, counts: false, standing: 'withdrawn' }]);
    t.match(await auditKinds(cc, { kind: 'peer.assurance-changed' }), [
      { details: { to: 'introduced' } },
      { details: { from: 'introduced', to: 'unverified' } },
    ]);
    const again = await api(voucher, 'DELETE', '/peers/alpha/introductions', 'admin');
    t.equal(again.statusCode, 200, again.body);
    t.same(again.json().items, [], 'nothing left to withdraw');
  },
);

t.test('an introduction that comes before the team is a peer: introduced as soon as it is added', async (t) => {
  const cc = await receiver(t);
  await noted(cc, await introduction('bravo', 'cc', { ...alphaKey, vouchesFor: 'our constituency neighbour' }));
  t.match(await vouches(cc, 'alpha'), { assurance: null, items: [{ voucher: 'bravo', standing: 'subject-not-a-peer', counts: false }] });
  const added = await api(cc, 'POST', '/peers', 'admin', { url: alpha.url });
  t.equal(added.statusCode, 201, added.body);
  t.equal(added.json().assurance, 'introduced', 'derived in the transaction that adds the peer');
  t.equal((await peer(cc, 'alpha')).assurance, 'introduced');
  t.match(await auditKinds(cc, { peer: 'alpha' }), [
    { kind: 'peer.introduction-received', details: { standing: 'subject-not-a-peer' } },
    { kind: 'peer.added' },
    { kind: 'peer.assurance-changed', details: { from: 'unverified', to: 'introduced', reason: 'peer added' } },
  ]);
});

t.test('the voucher suspended or its key in doubt: its introductions stop counting; back when it is trusted again', async (t) => {
  const cc = await receiver(t);
  await addPeer(cc, alpha);
  await noted(cc, await introduction('bravo', 'cc', alphaKey));
  t.equal((await peer(cc, 'alpha')).assurance, 'introduced');

  t.equal((await api(cc, 'POST', '/peers/bravo/suspend', 'admin')).statusCode, 200);
  t.equal((await peer(cc, 'alpha')).assurance, 'unverified', 'a suspended voucher does not count');
  t.match((await vouches(cc, 'alpha')).items, [{ voucher: 'bravo', standing: 'voucher-not-active', counts: false }]);
  t.equal((await api(cc, 'POST', '/peers/bravo/resume', 'admin')).statusCode, 200);
  t.equal((await peer(cc, 'alpha')).assurance, 'introduced');

  // A verified voucher stays verified; the other two ways it stops counting: a flagged key change, not verified at all.
  await cc.app.federation.peers.flagKeyChange(cc.database.db, 'bravo', loadFixtureKey('mallory').fingerprint);
  t.equal((await peer(cc, 'bravo')).status, 'key-changed');
  t.equal((await peer(cc, 'alpha')).assurance, 'unverified', 'a voucher whose key is in doubt does not count');
  await trustPeer(cc, bravo, {});
  t.equal((await peer(cc, 'alpha')).assurance, 'introduced', 'confirming the voucher’s key out of band restores it');
  t.match(
    (await auditKinds(cc, { kind: 'peer.assurance-changed' })).map((e) => [e.details.to, e.details.reason]),
    [
      ['introduced', 'introduced by bravo'],
      ['unverified', 'peer suspended'],
      ['introduced', 'peer resumed'],
      ['unverified', 'key change flagged'],
      ['introduced', 'key change dismissed'],
    ],
  );
});

t.test("alpha's key rotation: vouches for the old key stop counting, an introduction of the new key counts", async (t) => {
  const cc = await receiver(t);
  await addPeer(cc, alpha);
  await noted(cc, await introduction('bravo', 'cc', alphaKey));
  t.equal((await peer(cc, 'alpha')).assurance, 'introduced');
  const rotation = await sign(
    messageDocument('alpha', 'cc', 'key.rotation', await rotationBody('alpha', 'alpha', 'alpha-2'), { tlp: 'CLEAR' }),
    'alpha',
  );
  const rotated = await postMessage(cc, rotation);
  t.equal(rotated.status, 200, rotated.text);
  t.match(await peer(cc, 'alpha'), { fingerprint: ALPHA2.fingerprint, assurance: 'unverified' });
  t.match((await vouches(cc, 'alpha')).items, [{ fingerprint: ALPHA.fingerprint, standing: 'other-key', counts: false }]);
  await noted(
    cc,
    await introduction('bravo', 'cc', { team: 'alpha', fingerprint: ALPHA2.fingerprint, publicKey: ALPHA2.armoredPublicKey }),
  );
  t.equal((await peer(cc, 'alpha')).assurance, 'introduced');
  t.match(await auditKinds(cc, { kind: 'peer.assurance-changed' }), [
    { details: { to: 'introduced' } },
    { details: { from: 'introduced', to: 'unverified', reason: 'key rotated', fingerprint: ALPHA2.fingerprint } },
    { details: { from: 'unverified', to: 'introduced', fingerprint: ALPHA2.fingerprint } },
  ]);
});

t.test('HIKESHI_INTRODUCTIONS_NEEDED=2: one verified voucher is not enough, two are', async (t) => {
  const cc = await receiver(t, { introductionsNeeded: 2 });
  await addPeer(cc, alpha);
  await addPeer(cc, mallory);
  await noted(cc, await introduction('bravo', 'cc', alphaKey));
  t.equal((await peer(cc, 'alpha')).assurance, 'unverified');
  t.match(await vouches(cc, 'alpha'), { needed: 2, counting: { introductions: ['bravo'] } });
  // mallory's introduction is stored but counts only once cc verified mallory.
  await noted(cc, await introduction('mallory', 'cc', alphaKey));
  t.equal((await peer(cc, 'alpha')).assurance, 'unverified');
  t.match((await vouches(cc, 'alpha')).items, [
    { voucher: 'bravo', counts: true },
    { voucher: 'mallory', standing: 'voucher-not-verified' },
  ]);
  await trustPeer(cc, mallory, {});
  t.equal((await peer(cc, 'alpha')).assurance, 'introduced', 'two verified vouchers');

  // The setting as an operator writes it.
  t.equal(loadConfig({}).introductionsNeeded, 1);
  t.equal(loadConfig({ HIKESHI_INTRODUCTIONS_NEEDED: '3' }).introductionsNeeded, 3);
  for (const bad of ['0', '-1', '1.5', 'two', '101']) {
    t.throws(() => loadConfig({ HIKESHI_INTRODUCTIONS_NEEDED: bad }), ConfigError, bad);
  }
});

t.test('hostile and confused introductions: refused 4xx or kept without effect, audited, never a 5xx', async (t) => {
  const cc = await receiver(t);
  await addPeer(cc, alpha);
  await addPeer(cc, mallory);
  const refused = async (envelope: unknown, status: number, code: string) => {
    const res = await postMessage(cc, envelope);
    t.equal(res.status, status, res.text);
    t.equal(res.json?.code, code);
    return res;
  };
  const bad = [
    { team: 5, fingerprint: ALPHA.fingerprint },
    { team: 'alpha', fingerprint: ALPHA.fingerprint.toLowerCase() },
    { team: 'Alpha', fingerprint: ALPHA.fingerprint },
    { team: 'alpha' },
    { ...alphaKey, extra: true },
    { ...alphaKey, vouchesFor: 'x'.repeat(501) },
    { ...alphaKey, vouchesFor: '' },
    { ...alphaKey, withdrawn: 'yes' },
    { ...alphaKey, publicKey: 'x'.repeat(64 * 1024 + 1) },
  ];
  for (const body of bad) await refused(await introduction('bravo', 'cc', body), 400, 'validation-failed');
  await refused(
    await introduction('bravo', 'cc', { team: 'bravo', fingerprint: loadFixtureKey('bravo').fingerprint }),
    422,
    'introduction-invalid',
  );
  await refused(await introduction('bravo', 'cc', { team: 'cc', fingerprint: CC.fingerprint }), 422, 'introduction-invalid');
  await refused(await introduction('bravo', 'cc', { team: 'zulu', fingerprint: CC.fingerprint }), 422, 'introduction-invalid');
  await refused(await introduction('bravo', 'cc', { ...alphaKey, publicKey: ALPHA2.armoredPublicKey }), 422, 'introduction-invalid');
  await refused(await introduction('bravo', 'cc', { ...alphaKey, publicKey: 'not a key' }), 422, 'introduction-invalid');
  t.equal(
    (await auditKinds(cc, { kind: 'inbox-rejection' })).filter((e) => e.details.type === 'peer.introduction').length,
    bad.length + 5,
    'every refusal is audited',
  );
  t.equal((await api(cc, 'GET', '/peers/alpha/vouches', 'reader')).json().items.length, 0, 'nothing was kept');

  // From a peer we did not verify: kept, does not count.
  await noted(cc, await introduction('mallory', 'cc', alphaKey));
  t.equal((await peer(cc, 'alpha')).assurance, 'unverified');
  t.match(await auditKinds(cc, { kind: 'peer.introduction-received' }), [
    { details: { voucher: 'mallory', standing: 'voucher-not-verified' } },
  ]);

  // Another key than the one cc pins for alpha (stale, or steering us to a key that is not alpha's): kept, flagged, not counted.
  await noted(cc, await introduction('bravo', 'cc', { team: 'alpha', fingerprint: ALPHA2.fingerprint }));
  t.equal((await peer(cc, 'alpha')).assurance, 'unverified');
  t.match(await auditKinds(cc, { kind: 'peer.introduction-mismatch' }), [
    { decision: 'deny', details: { voucher: 'bravo', introducedFingerprint: ALPHA2.fingerprint, pinnedFingerprint: ALPHA.fingerprint } },
  ]);

  // Delivered out of order: a withdrawal signed later, then the introduction it withdraws: it stays withdrawn.
  const later = new Date(Date.now() + 1000).toISOString();
  const earlier = new Date(Date.now() - 1000).toISOString();
  await noted(cc, await introduction('bravo', 'cc', { ...alphaKey, withdrawn: true }, { created: later }));
  await noted(cc, await introduction('bravo', 'cc', alphaKey, { created: earlier }));
  t.equal((await peer(cc, 'alpha')).assurance, 'unverified', 'the older introduction does not undo the newer withdrawal');
  t.match((await vouches(cc, 'alpha')).items, [
    { voucher: 'bravo', fingerprint: ALPHA2.fingerprint, standing: 'other-key' },
    { voucher: 'bravo', fingerprint: ALPHA.fingerprint, standing: 'withdrawn' },
    { voucher: 'mallory', standing: 'voucher-not-verified' },
  ]);
  t.match(await auditKinds(cc, { kind: 'peer.introduction-received' }), [{}, {}, { details: { applied: false, standing: 'superseded' } }]);
  t.same(await auditKinds(cc, { kind: 'peer.assurance-changed' }), [], 'nothing moved alpha');
});

t.test('roster vouches through the PeerDirectory (what the forum module calls): record, supersede, withdraw', async (t) => {
  const cc = await buildTestNode(t, { key: 'cc', listen: true });
  const peers = cc.app.federation.peers;
  const db = cc.database.db;
  const roster = (fingerprint: string) =>
    db.transaction().execute((tx) => peers.recordVouch(tx, { subject: 'alpha', fingerprint, kind: 'roster', voucher: 'first' }));
  t.match(await roster(ALPHA.fingerprint), { subject: 'alpha', assurance: null, change: null }, 'kept before alpha is a peer');
  await addPeer(cc, alpha);
  t.equal((await peer(cc, 'alpha')).assurance, 'introduced');
  t.match(await vouches(cc, 'alpha'), {
    counting: { roster: ['first'], introductions: [] },
    items: [{ kind: 'roster', voucher: 'first', counts: true, statement: null }],
  });
  // A new roster version lists another key for alpha: the forum's word for the pinned key is gone.
  t.match(await roster(ALPHA2.fingerprint), { assurance: 'unverified', change: { from: 'introduced', to: 'unverified' } });
  t.match((await vouches(cc, 'alpha')).items, [
    { fingerprint: ALPHA2.fingerprint, standing: 'other-key' },
    { fingerprint: ALPHA.fingerprint, standing: 'withdrawn' },
  ]);
  t.match(await roster(ALPHA.fingerprint), { assurance: 'introduced' });
  const withdraw = () => db.transaction().execute((tx) => peers.withdrawVouch(tx, { subject: 'alpha', kind: 'roster', voucher: 'first' }));
  t.match(await withdraw(), { assurance: 'unverified', fingerprints: [ALPHA.fingerprint], change: { to: 'unverified' } });
  t.match(await withdraw(), { assurance: 'unverified', fingerprints: [], change: null }, 'nothing left: not an error');
  await t.rejects(
    db.transaction().execute((tx) => peers.recordVouch(tx, { subject: 'alpha', fingerprint: 'abc', kind: 'roster', voucher: 'first' })),
    { code: 'validation-failed' },
  );
  t.same(
    (await auditKinds(cc, { kind: 'peer.assurance-changed' })).map((e) => [e.details.to, e.details.reason]),
    [
      ['introduced', 'peer added'],
      ['unverified', 'listed in the roster of first'],
      ['introduced', 'listed in the roster of first'],
      ['unverified', 'no longer in the roster of first'],
    ],
  );
});

t.test('the introductions API refuses hostile input with problem+json', async (t) => {
  const cc = await receiver(t);
  await addPeer(cc, alpha);
  await addPeer(cc, mallory);
  const post = (team: string, payload: unknown, role: 'admin' | 'handler' | 'reader' = 'admin') =>
    api(cc, 'POST', `/peers/${team}/introductions`, role, payload);
  const expect = async (res: Awaited<ReturnType<typeof post>>, status: number, code: string) => {
    t.equal(res.statusCode, status, res.body);
    t.equal(res.json().code, code);
    t.match(res.headers['content-type'], /application\/problem\+json/);
  };
  await expect(await post('alpha', { to: ['bravo'] }), 409, 'peer-not-verified');
  await expect(await post('zulu', { to: ['bravo'] }), 404, 'not-found');
  await expect(await post('bravo', { to: ['bravo'] }), 422, 'introduction-invalid');
  await expect(await post('bravo', { to: ['zulu'] }), 404, 'unknown-peer');
  await expect(await post('bravo', { to: ['alpha'] }, 'handler'), 403, 'forbidden');
  for (const body of [
    {},
    { to: [] },
    { to: 'everyone' },
    { to: ['Alpha'] },
    { to: ['alpha', 'alpha'] },
    { to: ['alpha'], x: 1 },
    { to: ['alpha'], vouchesFor: 'x'.repeat(501) },
  ]) {
    await expect(await post('bravo', body), 400, 'validation-failed');
  }
  await expect(await api(cc, 'GET', '/peers/zulu/vouches', 'reader'), 404, 'not-found');
  await expect(await api(cc, 'GET', '/peers/Bad!/vouches', 'reader'), 400, 'validation-failed');
  t.equal((await api(cc, 'POST', '/peers/mallory/suspend', 'admin')).statusCode, 200);
  await expect(await post('bravo', { to: ['alpha', 'mallory'] }), 409, 'peer-not-active');
  t.equal((await auditKinds(cc, { kind: 'disclosure.introduction' })).length, 0, 'nothing was sent');

  // "verified-peers": every active peer cc verified, except the team introduced.
  await trustPeer(cc, alpha, {});
  const sent = await post('bravo', { to: 'verified-peers' });
  t.equal(sent.statusCode, 202, sent.body);
  t.same(
    sent.json().items.map((i: { to: string }) => i.to),
    ['alpha'],
  );
});
