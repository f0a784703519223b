import t from 'tap';

import {
  canonicalBytes,
  CanonicalizationError,
  readSignatureIssuer,
  signatureIssuerFingerprint,
  signDocument,
  verifyDocumentSignature,
} from '../../src/crypto/index.js';
import { loadFixtureKey, loadFixturePeerKey, loadFixtureSigner } from '../fixtures/keys/index.js';

const report = {
  id: 'inc-2025-0042',
  title: 'Phishing wave against the energy sector',
  tlp: 'amber',
  severity: 3,
  score: 0.75,
  indicators: [
    { type: 'domain', value: 'login-ënergy.example' },
    { type: 'ipv4', value: '192.0.2.7' },
  ],
  closed: false,
  assignee: null,
};

t.test('a signed document verifies against the signer key', async (t) => {
  const signer = await loadFixtureSigner('alpha');
  const envelope = await signDocument(report, signer);
  t.same(Object.keys(envelope).sort(), ['document', 'signature']);
  t.match(envelope.signature, /^-----BEGIN PGP SIGNATURE-----\n/);
  t.same(envelope.document, report);

  const result = await verifyDocumentSignature(envelope, await loadFixturePeerKey('alpha'));
  t.match(result, {
    ok: true,
    signerFingerprint: loadFixtureKey('alpha').fingerprint,
    signingKeyFingerprint: loadFixtureKey('alpha').fingerprint,
  });
  t.ok(result.ok && Math.abs(Date.parse(result.signedAt) - Date.now()) < 60_000, 'signedAt is the signing time');
});

t.test('the envelope holds a copy, so later caller mutation cannot invalidate it', async (t) => {
  const signer = await loadFixtureSigner('alpha');
  const original = { id: 'x', tags: ['a'] };
  const envelope = await signDocument(original, signer);
  original.tags.push('added-after-signing');
  t.same(envelope.document, { id: 'x', tags: ['a'] });
  t.match(await verifyDocumentSignature(envelope, await loadFixturePeerKey('alpha')), {
    ok: true,
    signerFingerprint: loadFixtureKey('alpha').fingerprint,
  });
});

t.test('survives a JSON round trip with reordered keys and whitespace', async (t) => {
  const envelope = await signDocument(report, await loadFixtureSigner('alpha'));
  const reordered = JSON.parse(
    JSON.stringify(
      {
        signature: envelope.signature,
        document: Object.fromEntries(Object.entries(envelope.document).reverse()),
      },
      null,
      4,
    ),
  ) as unknown;
  t.not(JSON.stringify((reordered as { document: unknown }).document), JSON.stringify(envelope.document));
  t.match(await verifyDocumentSignature(reordered, await loadFixturePeerKey('alpha')), { ok: true });
});

t.test('verification does not mutate or coerce the envelope', async (t) => {
  const envelope = await signDocument({ z: 1, a: { y: [2, 1], b: 0, n: -0 } }, await loadFixtureSigner('alpha'));
  const received = JSON.parse(
    '{"signature":' + JSON.stringify(envelope.signature) + ',"document":{"z":1,"a":{"y":[2,1],"n":0,"b":0}}}',
  ) as {
    document: Record<string, unknown>;
  };
  const before = JSON.stringify(received);
  t.match(await verifyDocumentSignature(received, await loadFixturePeerKey('alpha')), { ok: true });
  t.equal(JSON.stringify(received), before, 'key order and values untouched');
  t.same(Object.keys(received.document['a'] as object), ['y', 'n', 'b']);
});

t.test('tampering is detected', async (t) => {
  const envelope = await signDocument(report, await loadFixtureSigner('alpha'));
  const alpha = await loadFixturePeerKey('alpha');
  const tampered: [string, Record<string, unknown>][] = [
    ['changed field', { ...envelope.document, severity: 4 }],
    ['changed nested field', { ...envelope.document, indicators: [{ type: 'domain', value: 'x.example' }, report.indicators[1]] }],
    ['added field', { ...envelope.document, extra: true }],
    ['removed field', Object.fromEntries(Object.entries(envelope.document).filter(([k]) => k !== 'assignee'))],
    ['number type change', { ...envelope.document, severity: '3' }],
    ['array reorder', { ...envelope.document, indicators: [...report.indicators].reverse() }],
  ];
  for (const [label, document] of tampered) {
    t.same(
      await verifyDocumentSignature({ document, signature: envelope.signature }, alpha),
      { ok: false, reason: 'bad-signature' },
      label,
    );
  }
});

t.test('a tampered signature is rejected', async (t) => {
  const envelope = await signDocument(report, await loadFixtureSigner('alpha'));
  const alpha = await loadFixturePeerKey('alpha');

  // Flip one bit inside the signature MPIs (the end of the packet), keeping the armor structurally valid.
  const lines = envelope.signature.split('\n');
  const bodyEnd = lines.findIndex((l) => l.startsWith('=') || l.startsWith('-----END')) - 1;
  const packet = Buffer.from(lines.slice(2, bodyEnd + 1).join(''), 'base64');
  packet[packet.length - 5] = (packet[packet.length - 5] as number) ^ 0x01;
  const b64 = packet.toString('base64').match(/.{1,64}/g) ?? [];
  const flipped = ['-----BEGIN PGP SIGNATURE-----', '', ...b64, '-----END PGP SIGNATURE-----', ''].join('\n');
  t.same(await verifyDocumentSignature({ document: envelope.document, signature: flipped }, alpha), {
    ok: false,
    reason: 'bad-signature',
  });

  // A valid signature over a different document.
  const other = await signDocument({ ...report, severity: 5 }, await loadFixtureSigner('alpha'));
  t.same(await verifyDocumentSignature({ document: envelope.document, signature: other.signature }, alpha), {
    ok: false,
    reason: 'bad-signature',
  });
});

t.test('a signature by a different key is wrong-key', async (t) => {
  const byMallory = await signDocument(report, await loadFixtureSigner('mallory'));
  t.same(await verifyDocumentSignature(byMallory, await loadFixturePeerKey('alpha')), {
    ok: false,
    reason: 'wrong-key',
  });
  // Same team after key rotation: the old key must not accept the new key's signatures, nor vice versa.
  const byAlpha2 = await signDocument(report, await loadFixtureSigner('alpha-2'));
  t.same(await verifyDocumentSignature(byAlpha2, await loadFixturePeerKey('alpha')), {
    ok: false,
    reason: 'wrong-key',
  });
  t.match(await verifyDocumentSignature(byAlpha2, await loadFixturePeerKey('alpha-2')), { ok: true });
});

t.test('malformed envelopes', async (t) => {
  const envelope = await signDocument(report, await loadFixtureSigner('alpha'));
  const alpha = await loadFixturePeerKey('alpha');
  const { document, signature } = envelope;
  const malformed: [string, unknown][] = [
    ['null', null],
    ['string', JSON.stringify(envelope)],
    ['array', [document, signature]],
    ['missing signature', { document }],
    ['missing document', { signature }],
    ['extra field', { document, signature, signedBy: 'alpha' }],
    ['document is array', { document: [document], signature }],
    ['document is null', { document: null, signature }],
    ['document is string', { document: JSON.stringify(document), signature }],
    ['signature is number', { document, signature: 42 }],
    ['signature is object', { document, signature: { armored: signature } }],
    ['signature not armored', { document, signature: 'deadbeef' }],
    ['signature base64 body only', { document, signature: signature.split('\n').slice(2, -3).join('\n') }],
    ['signature armor garbage', { document, signature: '-----BEGIN PGP SIGNATURE-----\n\nnot base64!!\n-----END PGP SIGNATURE-----\n' }],
    ['signature is a public key', { document, signature: loadFixtureKey('alpha').armoredPublicKey }],
    ['two signatures glued', { document, signature: signature + signature }],
    ['trailing text after armor', { document, signature: `${signature}\nextra` }],
    ['document not canonicalizable', { document: { ...document, score: Number.NaN }, signature }],
    ['document has lone surrogate', { document: { ...document, title: '\ud800' }, signature }],
    ['class instance envelope', Object.assign(new (class Envelope {})(), { document, signature })],
  ];
  for (const [label, value] of malformed) {
    t.same(await verifyDocumentSignature(value, alpha), { ok: false, reason: 'malformed' }, label);
  }
});

t.test('signatures from the future are rejected beyond the clock skew allowance', async (t) => {
  const envelope = await signDocument(report, await loadFixtureSigner('alpha'));
  const alpha = await loadFixturePeerKey('alpha');
  const tenMinutesAgo = new Date(Date.now() - 10 * 60 * 1000);
  t.same(await verifyDocumentSignature(envelope, alpha, { now: tenMinutesAgo }), {
    ok: false,
    reason: 'bad-signature',
  });
  t.match(await verifyDocumentSignature(envelope, alpha, { now: tenMinutesAgo, maxClockSkewMs: 15 * 60 * 1000 }), {
    ok: true,
  });
  t.match(
    await verifyDocumentSignature(envelope, alpha, { now: new Date(Date.now() - 60 * 1000) }),
    { ok: true },
    'default skew tolerates a minute',
  );
});

t.test('signDocument refuses non-object documents and non-JSON content', async (t) => {
  const signer = await loadFixtureSigner('alpha');
  await t.rejects(signDocument([1, 2] as unknown as object, signer), CanonicalizationError);
  await t.rejects(signDocument(new Date(), signer), CanonicalizationError);
  await t.rejects(signDocument({ when: new Date() }, signer), CanonicalizationError);
  await t.rejects(signDocument({ missing: undefined }, signer), CanonicalizationError);
});

t.test('the signature covers exactly the canonical bytes', async (t) => {
  const signer = await loadFixtureSigner('cc');
  const envelope = await signDocument(report, signer);
  const detached = await signer.signDetached(canonicalBytes(report));
  // Both verify against the same document, showing signDocument signs canonicalBytes and nothing else.
  const cc = await loadFixturePeerKey('cc');
  t.match(await verifyDocumentSignature(envelope, cc), { ok: true });
  t.match(await verifyDocumentSignature({ document: report, signature: detached }, cc), { ok: true });
});

t.test('signature issuer can be read before verification', async (t) => {
  const alpha2 = loadFixtureKey('alpha-2');
  const envelope = await signDocument(report, await loadFixtureSigner('alpha-2'));
  t.equal(await signatureIssuerFingerprint(envelope.signature), alpha2.fingerprint);
  t.same(await readSignatureIssuer(envelope.signature), {
    keyId: alpha2.fingerprint.slice(-16),
    fingerprint: alpha2.fingerprint,
  });
  t.equal(await signatureIssuerFingerprint('garbage'), null);
  t.equal(await signatureIssuerFingerprint(alpha2.armoredPublicKey), null);
});
