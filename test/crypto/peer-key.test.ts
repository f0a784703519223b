import t from 'tap';

import {
  clearPeerKeyCache,
  InvalidKeyError,
  isV4Fingerprint,
  normalizeFingerprint,
  readPeerKey,
  signDocument,
  verifyDocumentSignature,
} from '../../src/crypto/index.js';
import { loadFixtureKey, loadFixtureSigner } from '../fixtures/keys/index.js';

t.test('reads a public key and reports its identity', async (t) => {
  const fixture = loadFixtureKey('cc');
  const peer = await readPeerKey(fixture.armoredPublicKey);
  t.equal(peer.fingerprint, fixture.fingerprint);
  t.match(peer.fingerprint, /^[0-9A-F]{40}$/);
  t.equal(peer.keyId, fixture.fingerprint.slice(-16));
  t.equal(peer.keyFingerprints.length, 2, 'primary + encryption subkey');
  t.equal(peer.keyFingerprints[0], fixture.fingerprint);
  t.same(peer.userIds, ['Coordination Centre (hikeshi team cc) <cc@hikeshi.invalid>']);
  t.equal(peer.createdAt, '2025-01-01T00:00:00.000Z');
  t.equal(peer.expiresAt, null);
  t.match(peer.armored, /^-----BEGIN PGP PUBLIC KEY BLOCK-----\n/);
  t.ok(Object.isFrozen(peer));
});

t.test('re-armored key text reads back to the same key', async (t) => {
  const peer = await readPeerKey(loadFixtureKey('bravo').armoredPublicKey);
  const again = await readPeerKey(peer.armored);
  t.equal(again.fingerprint, peer.fingerprint);
});

t.test('parsed keys are cached by armored text', async (t) => {
  clearPeerKeyCache();
  const armored = loadFixtureKey('alpha').armoredPublicKey;
  const first = await readPeerKey(armored);
  t.equal(await readPeerKey(armored), first, 'same instance on a cache hit');
  clearPeerKeyCache();
  const fresh = await readPeerKey(armored);
  t.not(fresh, first, 'new instance after clearing');
  t.equal(fresh.fingerprint, first.fingerprint);
});

t.test('rejects private keys', async (t) => {
  await t.rejects(readPeerKey(loadFixtureKey('alpha').armoredPrivateKey), {
    name: 'InvalidKeyError',
    message: /private key/,
  });
  // A private key relabelled as public must not slip through on the armor header alone.
  const relabelled = loadFixtureKey('alpha')
    .armoredPrivateKey.replace('BEGIN PGP PRIVATE KEY BLOCK', 'BEGIN PGP PUBLIC KEY BLOCK')
    .replace('END PGP PRIVATE KEY BLOCK', 'END PGP PUBLIC KEY BLOCK');
  await t.rejects(readPeerKey(relabelled), InvalidKeyError);
});

t.test('rejects garbage and ambiguous input', async (t) => {
  const alpha = loadFixtureKey('alpha').armoredPublicKey;
  const bad: [string, unknown][] = [
    ['empty', ''],
    ['text', 'hello'],
    ['not a string', 42],
    ['truncated', alpha.slice(0, 200)],
    ['corrupted body', alpha.replace(/\n[A-Za-z0-9+/]{10}/, '\nAAAAAAAAAA')],
    ['two keys in one block', loadFixtureKey('alpha').armoredPublicKey + loadFixtureKey('bravo').armoredPublicKey],
    ['too large', `${alpha}${' '.repeat(1024 * 1024)}`],
  ];
  for (const [label, input] of bad) {
    await t.rejects(readPeerKey(input as string), InvalidKeyError, label);
  }
});

t.test('a PeerKey-shaped object not produced by readPeerKey is refused', async (t) => {
  const real = await readPeerKey(loadFixtureKey('alpha').armoredPublicKey);
  const forged = { ...real };
  const envelope = await signDocument({ a: 1 }, await loadFixtureSigner('alpha'));
  await t.rejects(verifyDocumentSignature(envelope, forged), InvalidKeyError);
});

t.test('fingerprint helpers accept GnuPG-style input', async (t) => {
  const fpr = loadFixtureKey('cc').fingerprint;
  const spaced = fpr
    .toLowerCase()
    .replace(/(.{4})/g, '$1 ')
    .trim();
  t.equal(normalizeFingerprint(spaced), fpr);
  t.ok(isV4Fingerprint(fpr));
  t.notOk(isV4Fingerprint(spaced), 'only the normalized form passes');
  t.notOk(isV4Fingerprint(fpr.slice(1)));
  t.notOk(isV4Fingerprint(`${fpr}00`));
});
