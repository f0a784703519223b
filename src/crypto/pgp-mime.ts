import { createMessage, readSignature, verify, type Signature, type SignaturePacket } from 'openpgp';

import { normalizeFingerprint } from './fingerprint.js';
import { openpgpKeyOf, type PeerKey } from './peer-key.js';

/**
 * The OpenPGP side of the e-mail channel (RFC 3156, ADR 0025): a detached signature over the
 * exact bytes of a MIME part (multipart/signed), and a clear-signed text a person made with
 * GnuPG. Signing and encryption reuse NodeSigner.signDetached and sealForRecipient; only the
 * verifications are new, and they go through openpgp.js (mail is not the hot path).
 */

export type MailVerification =
  | { ok: true; signerFingerprint: string; signingKeyFingerprint: string }
  | { ok: false; reason: 'malformed' | 'bad-signature' | 'wrong-key' };

/** A detached signature armors to a few hundred bytes; anything large is not one. */
const MAX_SIGNATURE_LENGTH = 64 * 1024;
/** A clear-signed report a person writes; larger ones are refused before parsing. */
export const MAX_MAILED_CLEAR_SIGNED_LENGTH = 1024 * 1024;

async function oneSignature(armored: string): Promise<{ signature: Signature; packet: SignaturePacket } | null> {
  if (armored.length > MAX_SIGNATURE_LENGTH || !armored.includes('-----BEGIN PGP SIGNATURE-----')) return null;
  try {
    const signature = await readSignature({ armoredSignature: armored });
    if (signature.packets.length !== 1) return null;
    return { signature, packet: signature.packets[0] as SignaturePacket };
  } catch {
    return null;
  }
}

function issuerIsOf(packet: SignaturePacket, key: PeerKey): boolean {
  const fpr = packet.issuerFingerprint ? Buffer.from(packet.issuerFingerprint).toString('hex').toUpperCase() : null;
  if (fpr !== null) return key.keyFingerprints.includes(fpr);
  return openpgpKeyOf(key).getKeys(packet.issuerKeyID).length > 0;
}

/**
 * Verifies an armored detached signature over `bytes` (binary or text mode, as GnuPG and mail
 * clients make them) against a pinned key. Never throws for bad input.
 */
export async function verifyDetachedBytes(
  bytes: Uint8Array,
  armoredSignature: string,
  key: PeerKey,
  now = new Date(),
): Promise<MailVerification> {
  const parsed = await oneSignature(armoredSignature);
  if (!parsed) return { ok: false, reason: 'malformed' };
  if (!issuerIsOf(parsed.packet, key)) return { ok: false, reason: 'wrong-key' };
  const publicKey = openpgpKeyOf(key);
  try {
    const result = await verify({
      message: await createMessage({ binary: bytes }),
      signature: parsed.signature,
      verificationKeys: publicKey,
      format: 'binary',
      date: new Date(now.getTime() + 5 * 60_000),
    });
    const [outcome] = result.signatures;
    if (!outcome) return { ok: false, reason: 'bad-signature' };
    await outcome.verified;
    const signing = publicKey.getKeys(outcome.keyID)[0];
    if (!signing) return { ok: false, reason: 'bad-signature' };
    return { ok: true, signerFingerprint: key.fingerprint, signingKeyFingerprint: normalizeFingerprint(signing.getFingerprint()) };
  } catch {
    return { ok: false, reason: 'bad-signature' };
  }
}

/** Who claims to have made a detached signature (unverified): its issuer fingerprint or key id, for the quarantine. */
export async function detachedSignatureIssuer(armoredSignature: string): Promise<string | null> {
  const parsed = await oneSignature(armoredSignature);
  if (!parsed) return null;
  const fpr = parsed.packet.issuerFingerprint;
  return fpr ? Buffer.from(fpr).toString('hex').toUpperCase() : parsed.packet.issuerKeyID.toHex().toUpperCase();
}

/** The hash a detached signature used, as RFC 3156's micalg parameter wants it (pgp-sha512, ...). */
export async function micalgOf(armoredSignature: string): Promise<string> {
  const parsed = await oneSignature(armoredSignature);
  const names: Record<number, string> = { 2: 'sha1', 8: 'sha256', 9: 'sha384', 10: 'sha512', 11: 'sha224' };
  return `pgp-${names[parsed?.packet.hashAlgorithm ?? 10] ?? 'sha512'}`;
}
