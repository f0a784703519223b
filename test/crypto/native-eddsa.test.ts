/**
 * The native Ed25519 fast path must agree with openpgp.js on every input: what one accepts the
 * other accepts, what one refuses the other refuses. These tests sign with each implementation,
 * verify with the other, and corrupt every byte of a signature packet to compare the verdicts.
 * (GnuPG's view of natively made signatures is in gnupg-interop.test.ts.)
 */
import { createMessage, readKey, readPrivateKey, sign } from 'openpgp';
import t from 'tap';

import { canonicalBytes, signDocument, verifyDocumentSignature, type PeerKey } from '../../src/crypto/index.js';
import { parseEddsaSignature } from '../../src/crypto/native-eddsa.js';
import { loadFixtureKey, loadFixturePeerKey, loadFixtureSigner } from '../fixtures/keys/index.js';

const report = { id: 'inc-2026-0001', title: 'Web shell on a member site — 検知', hosts: ['192.0.2.7'], severity: 3 };

/** Both verdicts for one envelope: the default (fast path first) and openpgp.js alone. */
async function verdicts(envelope: unknown, key: PeerKey) {
  const fast = await verifyDocumentSignature(envelope, key);
  const reference = await verifyDocumentSignature(envelope, key, { implementation: 'openpgp.js' });
  return { fast, reference };
}

function packetOf(armored: string): Buffer {
  const body = armored
    .split('\n')
    .filter((l) => l && !l.startsWith('-----') && !l.startsWith('='))
    .join('');
  return Buffer.from(body, 'base64');
}

function armor(packet: Buffer): string {
  // No checksum line: it is optional (RFC 9580 §6.1), and would only hide the corruption under test.
  return `-----BEGIN PGP SIGNATURE-----\n\n${packet.toString('base64').replace(/.{1,64}/g, '$&\n')}-----END PGP SIGNATURE-----\n`;
}

t.test('a natively made signature has the v4 EdDSA shape and openpgp.js verifies it', async (t) => {
  const envelope = await signDocument(report, await loadFixtureSigner('alpha'));
  const parsed = parseEddsaSignature(envelope.signature);
  t.ok(parsed, 'parsed by the fast path');
  t.equal(parsed?.hashAlgorithm, 10, 'SHA-512');
  t.equal(parsed?.issuerFingerprint?.toString('hex').toUpperCase(), loadFixtureKey('alpha').fingerprint);
  const { fast, reference } = await verdicts(envelope, await loadFixturePeerKey('alpha'));
  t.match(fast, { ok: true, signerFingerprint: loadFixtureKey('alpha').fingerprint });
  t.match(reference, { ok: true, signerFingerprint: loadFixtureKey('alpha').fingerprint });
  t.equal(fast.ok && reference.ok && fast.signedAt, reference.ok ? reference.signedAt : null, 'same signing time read');
});

t.test('an openpgp.js-made signature (salt notation, hashed key ID) verifies on the fast path', async (t) => {
  const fixture = loadFixtureKey('alpha');
  const key = await readPrivateKey({ armoredKey: fixture.armoredPrivateKey });
  const signature = await sign({
    message: await createMessage({ binary: canonicalBytes(report) }),
    signingKeys: key,
    detached: true,
    format: 'armored',
  });
  t.ok(parseEddsaSignature(signature), 'the fast path reads it');
  const { fast, reference } = await verdicts({ document: report, signature }, await loadFixturePeerKey('alpha'));
  t.match(fast, { ok: true });
  t.match(reference, { ok: true });
  const other = await verdicts({ document: { ...report, severity: 4 }, signature }, await loadFixturePeerKey('alpha'));
  t.match(other.fast, { ok: false, reason: 'bad-signature' });
  t.match(other.reference, { ok: false, reason: 'bad-signature' });
});

t.test('a passphrase-protected key signs natively once unlocked', async (t) => {
  const envelope = await signDocument(report, await loadFixtureSigner('bravo'));
  t.ok(parseEddsaSignature(envelope.signature));
  t.match(await verifyDocumentSignature(envelope, await loadFixturePeerKey('bravo'), { implementation: 'openpgp.js' }), { ok: true });
});

t.test('every corrupted byte of the signature packet gets the same verdict from both paths', async (t) => {
  const envelope = await signDocument(report, await loadFixtureSigner('cc'));
  const key = await loadFixturePeerKey('cc');
  const packet = packetOf(envelope.signature);
  let disagreements = 0;
  let accepted = 0;
  for (let i = 0; i < packet.length; i++) {
    for (const flip of [0x01, 0x80]) {
      const corrupted = Buffer.from(packet);
      corrupted[i] = corrupted[i]! ^ flip;
      const { fast, reference } = await verdicts({ document: report, signature: armor(corrupted) }, key);
      if (fast.ok !== reference.ok) {
        disagreements++;
        t.fail(`byte ${i} ^ ${flip}: fast ${JSON.stringify(fast)}, openpgp.js ${JSON.stringify(reference)}`);
      }
      if (fast.ok) accepted++;
    }
  }
  t.equal(disagreements, 0, `${packet.length * 2} corruptions, same verdicts`);
  // Flipping a bit of the unhashed issuer key ID can still verify (it is not signed); nothing else may.
  t.ok(accepted <= 16, `only unsigned bytes may change without breaking the signature (${accepted})`);
});

t.test('a corrupted document or a signature for other bytes is refused by both', async (t) => {
  const envelope = await signDocument(report, await loadFixtureSigner('cc'));
  const key = await loadFixturePeerKey('cc');
  for (const document of [{ ...report, title: 'Web shell on a member site' }, { ...report, extra: true }, {}]) {
    const { fast, reference } = await verdicts({ document, signature: envelope.signature }, key);
    t.match(fast, { ok: false, reason: 'bad-signature' });
    t.match(reference, { ok: false, reason: 'bad-signature' });
  }
});

t.test('signatures from the future and by other keys are decided as openpgp.js decides', async (t) => {
  const envelope = await signDocument(report, await loadFixtureSigner('cc'));
  const key = await loadFixturePeerKey('cc');
  const past = { now: new Date(Date.now() - 60 * 60 * 1000), maxClockSkewMs: 0 };
  t.match(await verifyDocumentSignature(envelope, key, past), { ok: false, reason: 'bad-signature' });
  t.match(await verifyDocumentSignature(envelope, key, { ...past, implementation: 'openpgp.js' }), {
    ok: false,
    reason: 'bad-signature',
  });
  const mallory = await loadFixturePeerKey('mallory');
  t.match(await verifyDocumentSignature(envelope, mallory), { ok: false, reason: 'wrong-key' });
});

t.test('unusual armor is left to openpgp.js, which still verifies it', async (t) => {
  const envelope = await signDocument(report, await loadFixtureSigner('cc'));
  const key = await loadFixturePeerKey('cc');
  const withHeader = envelope.signature.replace(
    '-----BEGIN PGP SIGNATURE-----\n',
    '-----BEGIN PGP SIGNATURE-----\nComment: made by Hikeshi\n',
  );
  t.match(await verifyDocumentSignature({ document: report, signature: withHeader }, key), { ok: true });
  const crlf = envelope.signature.replace(/\n/g, '\r\n');
  t.match(await verifyDocumentSignature({ document: report, signature: crlf }, key), { ok: true });
  const badChecksum = envelope.signature.replace(/\n=(....)\n/, (_m, crc: string) => `\n=${crc === 'AAAA' ? 'AAAB' : 'AAAA'}\n`);
  const { fast, reference } = await verdicts({ document: report, signature: badChecksum }, key);
  t.equal(fast.ok, reference.ok, 'a wrong checksum: the fast path defers, both agree');
});

t.test('the fast path never takes a key it cannot use natively', async (t) => {
  // A fixture public key read back through openpgp.js is the same key; a parsed key stays usable.
  const armored = loadFixtureKey('alpha').armoredPublicKey;
  const key = await readKey({ armoredKey: armored });
  t.equal(key.keyPacket.algorithm, 22, 'fixture keys are EdDSALegacy');
  t.equal(parseEddsaSignature('-----BEGIN PGP SIGNATURE-----\n\nAAAA\n-----END PGP SIGNATURE-----\n'), null, 'garbage packet: not parsed');
  t.equal(parseEddsaSignature('not armor'), null);
});
