import t from 'tap';

import {
  loadNodeSigner,
  openSealed,
  sealForRecipient,
  SealedMessageError,
  signDocument,
  verifyDocumentSignature,
} from '../../src/crypto/index.js';
import { loadFixtureKey, loadFixturePeerKey, loadFixtureSigner } from '../fixtures/keys/index.js';

t.test('round trip preserves the exact text', async (t) => {
  const bravo = await loadFixtureSigner('bravo');
  const samples = ['{"a":1}', 'line1\r\nline2\nline3\r', '\uFEFFbom first', 'Grüße 😀 — ✓', '', '  padded  '];
  for (const plaintext of samples) {
    const sealed = await sealForRecipient(plaintext, await loadFixturePeerKey('bravo'));
    t.match(sealed, /^-----BEGIN PGP MESSAGE-----\n[\s\S]+-----END PGP MESSAGE-----\n?$/);
    t.equal(await openSealed(sealed, bravo), plaintext, JSON.stringify(plaintext));
  }
});

t.test('the ciphertext does not contain the plaintext', async (t) => {
  const marker = 'very-secret-indicator-value-1234567890';
  const sealed = await sealForRecipient(JSON.stringify({ marker }), await loadFixturePeerKey('cc'));
  t.notMatch(sealed, marker);
  t.notMatch(Buffer.from(sealed.split('\n\n')[1] ?? '', 'base64').toString('latin1'), marker);
});

t.test('signed envelope survives sealing and still verifies', async (t) => {
  const envelope = await signDocument({ id: 'inc-1', tlp: 'red' }, await loadFixtureSigner('alpha'));
  const sealed = await sealForRecipient(JSON.stringify(envelope), await loadFixturePeerKey('cc'));
  const opened = JSON.parse(await openSealed(sealed, await loadFixtureSigner('cc'))) as unknown;
  t.match(await verifyDocumentSignature(opened, await loadFixturePeerKey('alpha')), { ok: true });
});

t.test('a message sealed to another key cannot be opened', async (t) => {
  const sealed = await sealForRecipient('for alpha only', await loadFixturePeerKey('alpha'));
  await t.rejects(openSealed(sealed, await loadFixtureSigner('mallory')), {
    name: 'SealedMessageError',
    reason: 'wrong-recipient',
  });
  // Key rotation: the new key does not open traffic sealed to the old one.
  await t.rejects(openSealed(sealed, await loadFixtureSigner('alpha-2')), SealedMessageError);
  t.equal(await openSealed(sealed, await loadFixtureSigner('alpha')), 'for alpha only');
});

t.test('tampered ciphertext fails the integrity check', async (t) => {
  const sealed = await sealForRecipient('x'.repeat(200), await loadFixturePeerKey('cc'));
  const lines = sealed.split('\n');
  const end = lines.findIndex((l) => l.startsWith('=') || l.startsWith('-----END'));
  const body = Buffer.from(lines.slice(2, end).join(''), 'base64');
  body[body.length - 30] = (body[body.length - 30] as number) ^ 0xff;
  const b64 = body.toString('base64').match(/.{1,64}/g) ?? [];
  const tampered = ['-----BEGIN PGP MESSAGE-----', '', ...b64, '-----END PGP MESSAGE-----', ''].join('\n');
  await t.rejects(openSealed(tampered, await loadFixtureSigner('cc')), {
    name: 'SealedMessageError',
    reason: 'decryption-failed',
  });
});

t.test('garbage and oversized input', async (t) => {
  const cc = await loadFixtureSigner('cc');
  await t.rejects(openSealed('not a message', cc), { name: 'SealedMessageError', reason: 'malformed' });
  await t.rejects(openSealed('-----BEGIN PGP MESSAGE-----\n\n!!!\n-----END PGP MESSAGE-----\n', cc), {
    name: 'SealedMessageError',
    reason: 'malformed',
  });
  const big = await sealForRecipient('y'.repeat(10_000), await loadFixturePeerKey('cc'));
  // Rejected on armored length alone, before any parsing.
  await t.rejects(openSealed(big, cc, { maxPlaintextBytes: 1000 }), {
    name: 'SealedMessageError',
    reason: 'too-large',
  });
  // Armor is small enough to parse, but the decrypted payload exceeds the limit.
  await t.rejects(openSealed(big, cc, { maxPlaintextBytes: 6000 }), {
    name: 'SealedMessageError',
    reason: 'too-large',
  });
  t.equal((await openSealed(big, cc, { maxPlaintextBytes: 10_000 })).length, 10_000);
});

t.test('refuses plaintext that UTF-8 cannot carry faithfully', async (t) => {
  await t.rejects(sealForRecipient('bad \ud800', await loadFixturePeerKey('cc')), {
    name: 'SealedMessageError',
    reason: 'malformed',
  });
});

t.test('after a rotation the node still opens messages sealed to a retired key, and only to its keys', async (t) => {
  const alpha = loadFixtureKey('alpha');
  const alpha2 = loadFixtureKey('alpha-2');
  // The node now signs with alpha-2 and keeps alpha as retired.
  const rotated = await loadNodeSigner(alpha2.armoredPrivateKey, undefined, [alpha.armoredPrivateKey]);
  t.same(
    rotated.retiredPublicKeys.map((k) => k.fingerprint),
    [alpha.fingerprint],
  );
  const toOld = await sealForRecipient('sealed before the peer learnt the new key', await loadFixturePeerKey('alpha'));
  t.equal(await openSealed(toOld, rotated), 'sealed before the peer learnt the new key');
  const toNew = await sealForRecipient('sealed to the new key', await loadFixturePeerKey('alpha-2'));
  t.equal(await openSealed(toNew, rotated), 'sealed to the new key');
  const toOther = await sealForRecipient('for bravo', await loadFixturePeerKey('bravo'));
  await t.rejects(openSealed(toOther, rotated), { name: 'SealedMessageError', reason: 'wrong-recipient' });
  // Without the retired key the old message does not open: the retired key is what opens it.
  const current = await loadNodeSigner(alpha2.armoredPrivateKey);
  await t.rejects(openSealed(toOld, current), { name: 'SealedMessageError', reason: 'wrong-recipient' });
});
