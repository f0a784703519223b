import { inspect } from 'node:util';

import t from 'tap';

import { InvalidKeyError, KeyPassphraseError, loadNodeSigner, readPeerKey, verifyDocumentSignature } from '../../src/crypto/index.js';
import { loadFixtureKey } from '../fixtures/keys/index.js';

t.test('loads an unencrypted key', async (t) => {
  const fixture = loadFixtureKey('alpha');
  const signer = await loadNodeSigner(fixture.armoredPrivateKey);
  t.equal(signer.fingerprint, fixture.fingerprint);
  t.equal(signer.publicKey.fingerprint, fixture.fingerprint);
  t.equal((await readPeerKey(signer.armoredPublicKey)).fingerprint, fixture.fingerprint);
  t.notMatch(signer.armoredPublicKey, /PRIVATE/);
});

t.test('passphrase-protected key: right, wrong and missing passphrase', async (t) => {
  const fixture = loadFixtureKey('bravo');
  t.ok(fixture.passphrase, 'fixture is protected');
  const signer = await loadNodeSigner(fixture.armoredPrivateKey, fixture.passphrase);
  t.equal(signer.fingerprint, fixture.fingerprint);

  await t.rejects(loadNodeSigner(fixture.armoredPrivateKey, 'wrong passphrase'), KeyPassphraseError);
  await t.rejects(loadNodeSigner(fixture.armoredPrivateKey), KeyPassphraseError);
  await t.rejects(loadNodeSigner(fixture.armoredPrivateKey, ''), KeyPassphraseError);
});

t.test('error messages do not leak the passphrase', async (t) => {
  const fixture = loadFixtureKey('bravo');
  const attempt = 'hunter2-secret-attempt';
  try {
    await loadNodeSigner(fixture.armoredPrivateKey, attempt);
    t.fail('should reject');
  } catch (error) {
    t.type(error, KeyPassphraseError);
    t.notMatch(inspect(error, { depth: 5 }), attempt);
  }
});

t.test('passphrase is ignored for an unencrypted key', async (t) => {
  const fixture = loadFixtureKey('cc');
  const signer = await loadNodeSigner(fixture.armoredPrivateKey, 'unused');
  t.equal(signer.fingerprint, fixture.fingerprint);
});

t.test('rejects public keys and garbage', async (t) => {
  await t.rejects(loadNodeSigner(loadFixtureKey('cc').armoredPublicKey), InvalidKeyError);
  await t.rejects(loadNodeSigner('nonsense'), InvalidKeyError);
  await t.rejects(loadNodeSigner('-----BEGIN PGP PRIVATE KEY BLOCK-----\n\nAAAA\n-----END PGP PRIVATE KEY BLOCK-----\n'), InvalidKeyError);
  const cc = loadFixtureKey('cc').armoredPrivateKey;
  await t.rejects(loadNodeSigner(cc + loadFixtureKey('alpha').armoredPrivateKey), InvalidKeyError, 'two key blocks');
});

t.test('signDetached signs strings as their UTF-8 bytes', async (t) => {
  const signer = await loadNodeSigner(loadFixtureKey('cc').armoredPrivateKey);
  const text = '{"k":"Grüße 😀"}';
  const fromString = await signer.signDetached(text);
  t.match(fromString, /^-----BEGIN PGP SIGNATURE-----\n[\s\S]+-----END PGP SIGNATURE-----\n?$/);
  // verifyDocumentSignature hashes canonicalBytes({k: ...}), which is exactly the UTF-8 of `text`.
  t.match(await verifyDocumentSignature({ document: { k: 'Grüße 😀' }, signature: fromString }, signer.publicKey), {
    ok: true,
  });
  await t.rejects(signer.signDetached('\ud800'));
});

t.test('signer does not expose key material when logged', async (t) => {
  const signer = await loadNodeSigner(loadFixtureKey('cc').armoredPrivateKey);
  const shown = `${inspect(signer, { depth: 10 })}${JSON.stringify(signer)}`;
  t.notMatch(shown, /PRIVATE KEY|privateParams|seed/i);
  t.match(shown, loadFixtureKey('cc').fingerprint);
});
