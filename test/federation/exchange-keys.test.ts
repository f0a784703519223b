import t from 'tap';
import { loadFixtureKey } from '../fixtures/keys/index.js';
import { buildTestNode } from '../helpers/build-test-app.js';
import {
  addPeer,
  api,
  auditKinds,
  fastDelivery,
  incidentCount,
  messageDocument,
  postMessage,
  reportBody,
  rotationBody,
  sign,
} from '../helpers/federation-harness.js';

/**
 * A peer's new key is accepted only when a key.rotation signed by its old key announces it.
 * A document signed by any other key is a claim (anyone can claim to be a peer): it is held in
 * the quarantine, the admin is told, and the pinned key keeps working (issue 13).
 */
fastDelivery();
const alpha = await buildTestNode(t, { key: 'alpha', listen: true });
const ALPHA = loadFixtureKey('alpha');
const ALPHA2 = loadFixtureKey('alpha-2');
let seq = 500;
const ref = () => `ALPHA#2026-${String(++seq).padStart(6, '0')}`;

async function peerState(node: Awaited<ReturnType<typeof buildTestNode>>) {
  const res = await api(node, 'GET', '/peers/alpha', 'reader');
  return res.json() as { fingerprint: string; status: string };
}

t.test('a rotation signed by the old key is applied; then the new key is accepted', async (t) => {
  const bravo = await buildTestNode(t, { key: 'bravo', listen: true });
  await addPeer(bravo, alpha);
  const rotation = await sign(
    messageDocument('alpha', 'bravo', 'key.rotation', await rotationBody('alpha', 'alpha', 'alpha-2'), { tlp: 'GREEN' }),
    'alpha',
  );
  const res = await postMessage(bravo, rotation);
  t.equal(res.status, 200, res.text);
  t.match(res.json.document, { type: 'receipt', body: { status: 'applied' } });
  t.match(await peerState(bravo), { fingerprint: ALPHA2.fingerprint, status: 'active' });
  // The rotation itself is stored like any message, replayable to the same receipt.
  t.equal((await postMessage(bravo, rotation)).text, res.text);

  const byNewKey = await postMessage(bravo, await sign(messageDocument('alpha', 'bravo', 'incident.report', reportBody(ref())), 'alpha-2'));
  t.equal(byNewKey.status, 200, byNewKey.text);
  t.equal(byNewKey.json.document.body.status, 'filed');

  // A bad rotation (fingerprint not of the key) is refused and changes nothing.
  const bogus = await sign(
    messageDocument('alpha', 'bravo', 'key.rotation', {
      newPublicKey: ALPHA.armoredPublicKey,
      newFingerprint: ALPHA2.fingerprint,
      newKeySignature: (await rotationBody('alpha', 'alpha-2', 'alpha')).newKeySignature,
    }),
    'alpha-2',
  );
  const refused = await postMessage(bravo, bogus);
  t.equal(refused.status, 422, refused.text);
  t.equal(refused.json.code, 'key-rotation-invalid');
  t.match(await peerState(bravo), { fingerprint: ALPHA2.fingerprint, status: 'active' });
});

t.test('a rotation without the new key’s own signature is refused and changes nothing', async (t) => {
  const bravo = await buildTestNode(t, { key: 'bravo', listen: true });
  await addPeer(bravo, alpha);
  const { newKeySignature, ...unproven } = await rotationBody('alpha', 'alpha', 'alpha-2');
  const missing = await postMessage(bravo, await sign(messageDocument('alpha', 'bravo', 'key.rotation', unproven), 'alpha'));
  t.equal(missing.status, 400, missing.text);
  t.equal(missing.json.code, 'validation-failed');
  // Alpha announcing mallory's public key as its own: mallory never signed for it.
  const borrowed = await sign(
    messageDocument('alpha', 'bravo', 'key.rotation', {
      newPublicKey: loadFixtureKey('mallory').armoredPublicKey,
      newFingerprint: loadFixtureKey('mallory').fingerprint,
      newKeySignature,
    }),
    'alpha',
  );
  const refused = await postMessage(bravo, borrowed);
  t.equal(refused.status, 422, refused.text);
  t.equal(refused.json.code, 'key-rotation-invalid');
  t.match(refused.json.detail, /newKeySignature/);
  t.match(await peerState(bravo), { fingerprint: ALPHA.fingerprint, status: 'active' });
});

t.test('a rotation signed only by the new key is a claim: held in the quarantine, the pinned key keeps working', async (t) => {
  const cc = await buildTestNode(t, { key: 'cc', listen: true });
  await addPeer(cc, alpha);
  const selfSigned = await sign(messageDocument('alpha', 'cc', 'key.rotation', await rotationBody('alpha', 'alpha', 'alpha-2')), 'alpha-2');
  const res = await postMessage(cc, selfSigned);
  t.equal(res.status, 202, res.text);
  t.equal(res.json.status, 'quarantined');
  t.match(res.json.detail, /pinned key keeps working/);
  t.match(await peerState(cc), { fingerprint: ALPHA.fingerprint, status: 'active' }, 'the old key stays pinned, the peer active');
  t.match(await auditKinds(cc, { kind: 'key-change' }), [
    {
      decision: 'deny',
      details: { action: 'claim-quarantined', pinnedFingerprint: ALPHA.fingerprint, seenFingerprint: ALPHA2.fingerprint },
    },
  ]);

  // Messages by the new key are claims too; the pinned key's are processed as ever.
  const byNew = await postMessage(cc, await sign(messageDocument('alpha', 'cc', 'incident.report', reportBody(ref())), 'alpha-2'));
  t.equal(byNew.status, 202);
  const byOld = await postMessage(cc, await sign(messageDocument('alpha', 'cc', 'incident.report', reportBody(ref())), 'alpha'));
  t.equal(byOld.status, 200, byOld.text);
  t.equal(await incidentCount(cc), 1, 'only the pinned key’s report is filed');

  // The claims wait for a handler; accepting one does not make the other key count.
  const held = await api(cc, 'GET', '/quarantine?state=quarantined', 'handler');
  t.equal(held.statusCode, 200, held.body);
  t.equal(held.json().items.filter((m: { claimedFrom: string }) => m.claimedFrom === 'alpha').length, 2, 'both claims are held');
  const accept = await api(cc, 'POST', `/quarantine/${res.json.quarantineId}/accept`, 'admin', {});
  t.equal(accept.statusCode, 409, accept.body);
  t.equal(accept.json().code, 'quarantine-mismatch');
  t.match(await peerState(cc), { fingerprint: ALPHA.fingerprint, status: 'active' });
});

t.test('a rotation signed by the old key explains a change seen before it (messages racing the rotation)', async (t) => {
  const cc = await buildTestNode(t, { key: 'cc', listen: true });
  await addPeer(cc, alpha);
  const early = await sign(messageDocument('alpha', 'cc', 'incident.report', reportBody(ref())), 'alpha-2');
  t.equal((await postMessage(cc, early)).status, 202, 'held as a claim');
  t.match(await peerState(cc), { status: 'active' });
  const rotation = await sign(messageDocument('alpha', 'cc', 'key.rotation', await rotationBody('alpha', 'alpha', 'alpha-2')), 'alpha');
  const applied = await postMessage(cc, rotation);
  t.equal(applied.status, 200, applied.text);
  t.match(await peerState(cc), { fingerprint: ALPHA2.fingerprint, status: 'active' });
  const resent = await postMessage(cc, early);
  t.equal(resent.status, 200, resent.text);
  t.equal(await incidentCount(cc), 1);
  const open = await api(cc, 'GET', '/quarantine?state=quarantined', 'handler');
  t.same(open.json().items, [], 'the retry closed the claim it had left in the quarantine');
});

t.test('a document by a stranger key claiming to be the peer does not freeze the peering (mallory signs as alpha)', async (t) => {
  const cc = await buildTestNode(t, { key: 'cc', listen: true });
  await addPeer(cc, alpha);
  const forged = await postMessage(cc, await sign(messageDocument('alpha', 'cc', 'incident.report', reportBody(ref())), 'mallory'));
  t.equal(forged.status, 202, forged.text);
  t.match(await auditKinds(cc, { kind: 'key-change' }), [
    { details: { action: 'claim-quarantined', seenFingerprint: loadFixtureKey('mallory').fingerprint } },
  ]);
  t.equal(await incidentCount(cc), 0);
  t.match(await peerState(cc), { fingerprint: ALPHA.fingerprint, status: 'active' }, 'not flagged');
  const genuine = await postMessage(cc, await sign(messageDocument('alpha', 'cc', 'incident.report', reportBody(ref())), 'alpha'));
  t.equal(genuine.status, 200, 'the real alpha still gets through');
  t.equal(await incidentCount(cc), 1);
});
