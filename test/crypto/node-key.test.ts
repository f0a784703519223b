import t from 'tap';

import { generateNodeKey, KeyPassphraseError, loadNodeSigner, readPeerKey } from '../../src/crypto/index.js';

// The one test that generates keys; everything else uses test/fixtures/keys.
t.test('generates a passphrase-protected v4 curve25519 key', async (t) => {
  const passphrase = 'generated in test';
  const key = await generateNodeKey({
    teamId: 'delta',
    name: 'Delta CSIRT',
    email: 'delta@hikeshi.invalid',
    passphrase,
  });
  t.match(key.fingerprint, /^[0-9A-F]{40}$/);
  t.match(key.armoredPrivateKey, /^-----BEGIN PGP PRIVATE KEY BLOCK-----/);
  t.match(key.armoredPublicKey, /^-----BEGIN PGP PUBLIC KEY BLOCK-----/);

  const peer = await readPeerKey(key.armoredPublicKey);
  t.equal(peer.fingerprint, key.fingerprint);
  t.same(peer.userIds, ['Delta CSIRT (hikeshi team delta) <delta@hikeshi.invalid>']);
  // readPeerKey accepts only v4 keys, so reaching here already proves the version.
  t.equal(peer.keyFingerprints.length, 2);

  await t.rejects(loadNodeSigner(key.armoredPrivateKey), KeyPassphraseError, 'private key really is encrypted');
  const signer = await loadNodeSigner(key.armoredPrivateKey, passphrase);
  t.equal(signer.fingerprint, key.fingerprint);
});

t.test('rejects empty identity fields and empty passphrase', async (t) => {
  await t.rejects(generateNodeKey({ teamId: '', name: 'x', email: 'x@hikeshi.invalid' }), TypeError);
  await t.rejects(generateNodeKey({ teamId: 'x', name: 'x', email: 'x@hikeshi.invalid', passphrase: '' }), TypeError);
});
