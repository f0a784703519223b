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
  sign,
} from '../helpers/federation-harness.js';

/**
 * A peer's new key is accepted only when a key.rotation signed by its old key announces it.
 * A document signed by any other key flags the peer key-changed, and nothing from it is
 * processed until a human re-verifies the peer.
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
    messageDocument(
      'alpha',
      'bravo',
      'key.rotation',
      { newPublicKey: ALPHA2.armoredPublicKey, newFingerprint: ALPHA2.fingerprint },
      { tlp: 'GREEN' },
    ),
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
    }),
    'alpha-2',
  );
  const refused = await postMessage(bravo, bogus);
  t.equal(refused.status, 422, refused.text);
  t.equal(refused.json.code, 'key-rotation-invalid');
  t.match(await peerState(bravo), { fingerprint: ALPHA2.fingerprint, status: 'active' });
});

t.test('a rotation signed only by the new key flags the peer; nothing is processed until a human re-verifies', async (t) => {
  const cc = await buildTestNode(t, { key: 'cc', listen: true });
  await addPeer(cc, alpha);
  const selfSigned = await sign(
    messageDocument('alpha', 'cc', 'key.rotation', {
      newPublicKey: ALPHA2.armoredPublicKey,
      newFingerprint: ALPHA2.fingerprint,
    }),
    'alpha-2',
  );
  const res = await postMessage(cc, selfSigned);
  t.equal(res.status, 409);
  t.equal(res.json.code, 'key-changed');
  t.match(await peerState(cc), { fingerprint: ALPHA.fingerprint, status: 'key-changed' }, 'the old key stays pinned');
  const flagged = await auditKinds(cc, { kind: 'key-change' });
  t.match(flagged, [
    {
      decision: 'deny',
      details: { action: 'flagged', pinnedFingerprint: ALPHA.fingerprint, seenFingerprint: ALPHA2.fingerprint },
    },
  ]);

  // Messages by the new key, and even by the old one, are refused while the peer is flagged.
  const byNew = await postMessage(cc, await sign(messageDocument('alpha', 'cc', 'incident.report', reportBody(ref())), 'alpha-2'));
  t.equal(byNew.status, 409);
  t.equal(byNew.json.code, 'key-changed');
  const byOld = await sign(messageDocument('alpha', 'cc', 'incident.report', reportBody(ref())), 'alpha');
  const refused = await postMessage(cc, byOld);
  t.equal(refused.status, 409);
  t.equal(refused.json.code, 'key-changed');
  t.equal(await incidentCount(cc), 0, 'nothing processed');

  // A handler confirms the old key out of band: the change is dismissed, exchange resumes.
  const verified = await api(cc, 'POST', '/peers/alpha/verify', 'admin', { fingerprint: ALPHA.fingerprint });
  t.equal(verified.statusCode, 200, verified.body);
  t.match(await peerState(cc), { fingerprint: ALPHA.fingerprint, status: 'active' });
  const after = await postMessage(cc, byOld);
  t.equal(after.status, 200, after.text);
  t.equal(await incidentCount(cc), 1);
});

t.test('a rotation signed by the old key explains a change seen before it (messages racing the rotation)', async (t) => {
  const cc = await buildTestNode(t, { key: 'cc', listen: true });
  await addPeer(cc, alpha);
  const early = await sign(messageDocument('alpha', 'cc', 'incident.report', reportBody(ref())), 'alpha-2');
  t.equal((await postMessage(cc, early)).json.code, 'key-changed');
  t.match(await peerState(cc), { status: 'key-changed' });
  const rotation = await sign(
    messageDocument('alpha', 'cc', 'key.rotation', {
      newPublicKey: ALPHA2.armoredPublicKey,
      newFingerprint: ALPHA2.fingerprint,
    }),
    'alpha',
  );
  const applied = await postMessage(cc, rotation);
  t.equal(applied.status, 200, applied.text);
  t.match(await peerState(cc), { fingerprint: ALPHA2.fingerprint, status: 'active' });
  const resent = await postMessage(cc, early);
  t.equal(resent.status, 200, resent.text);
  t.equal(await incidentCount(cc), 1);
});

t.test('a document by a stranger key claiming to be the peer flags it too (mallory signs as alpha)', async (t) => {
  const cc = await buildTestNode(t, { key: 'cc', listen: true });
  await addPeer(cc, alpha);
  const forged = await postMessage(cc, await sign(messageDocument('alpha', 'cc', 'incident.report', reportBody(ref())), 'mallory'));
  t.equal(forged.status, 409);
  t.equal(forged.json.code, 'key-changed');
  t.match(await auditKinds(cc, { kind: 'key-change' }), [{ details: { seenFingerprint: loadFixtureKey('mallory').fingerprint } }]);
  t.equal(await incidentCount(cc), 0);
});
