import { createMessage, enums, readSignature, verify, type Signature, type SignaturePacket } from 'openpgp';

import { canonicalize, CanonicalizationError } from './canonical-json.js';
import { normalizeFingerprint } from './fingerprint.js';
import { parseEddsaSignature, verifyEddsaSignature } from './native-eddsa.js';
import { nativeKeyOf, openpgpKeyOf, type PeerKey } from './peer-key.js';
import type { NodeSigner } from './signer.js';

/**
 * The federation envelope: `signature` is an armored detached OpenPGP
 * signature over the RFC 8785 canonical UTF-8 bytes of `document`. Because
 * the canonical form is derived rather than transmitted, the document may be
 * re-serialized freely in transit (key order, whitespace) without breaking it,
 * and a partner can check it with `gpg --verify sig.asc canonical.json`.
 */
export interface SignedEnvelope<T extends object = Record<string, unknown>> {
  document: T;
  signature: string;
}

export type VerificationFailure = 'malformed' | 'bad-signature' | 'wrong-key';

export type VerificationResult =
  | {
      ok: true;
      /** Primary fingerprint of the peer key that verified the signature. */
      signerFingerprint: string;
      /** The (sub)key that actually produced the signature; equals signerFingerprint for Hikeshi-made keys. */
      signingKeyFingerprint: string;
      /** Signature creation time claimed by the signer (ISO 8601); useful for replay windows, not proof of time. */
      signedAt: string;
      /** The RFC 8785 canonical text of the document, whose UTF-8 bytes the signature covers. */
      canonical: string;
    }
  | { ok: false; reason: VerificationFailure };

export interface VerifyOptions {
  /** Reference time for validity checks; defaults to now. */
  now?: Date;
  /** Tolerated amount by which the signer's clock may run ahead of ours. Default 5 minutes. */
  maxClockSkewMs?: number;
  /**
   * 'openpgp.js' skips the native Ed25519 fast path (native-eddsa.ts): the benchmark measures
   * openpgp.js itself as its yardstick, and tests compare both paths. Default 'fastest'.
   */
  implementation?: 'fastest' | 'openpgp.js';
}

export interface SignatureIssuer {
  /** 16 upper-case hex characters. */
  keyId: string;
  /** 40 upper-case hex characters, or null when the signature carries only a key ID (old implementations). */
  fingerprint: string | null;
}

export const DEFAULT_MAX_CLOCK_SKEW_MS = 5 * 60 * 1000;

/** A detached EdDSA signature armors to well under 1 KiB; anything huge is not ours. */
const MAX_ARMORED_SIGNATURE_LENGTH = 64 * 1024;
// Exactly one armor block: openpgp would silently ignore anything after the first one.
const ARMORED_SIGNATURE = /^\s*-----BEGIN PGP SIGNATURE-----\r?\n(?:(?!-----)[\s\S])*\n-----END PGP SIGNATURE-----\s*$/;

/**
 * Signs the canonical form of `document`. The returned envelope holds a deep
 * copy re-parsed from the canonical bytes, so later mutation of the caller's
 * object cannot desynchronize it from the signature.
 *
 * @throws CanonicalizationError if the document is not a plain JSON object.
 */
export async function signDocument<T extends object>(document: T, signer: NodeSigner): Promise<SignedEnvelope<T>> {
  if (!isPlainObject(document)) {
    throw new CanonicalizationError('document must be a JSON object', '');
  }
  const canonical = canonicalize(document);
  const signature = await signer.signDetached(canonical);
  return { document: JSON.parse(canonical) as T, signature };
}

/**
 * Checks an envelope received from the network against the expected peer key.
 * Never throws for bad input and never mutates or coerces the envelope:
 * anything not exactly `{ document: object, signature: armored string }` is
 * 'malformed'; a signature by some other key is 'wrong-key'; a signature by
 * this key that does not match the document (or is expired, revoked, from the
 * future, or uses a rejected hash) is 'bad-signature'.
 *
 * @throws InvalidKeyError only when `peerKey` did not come from readPeerKey (a programming error).
 */
export async function verifyDocumentSignature(
  envelope: unknown,
  peerKey: PeerKey,
  options: VerifyOptions = {},
): Promise<VerificationResult> {
  if (!isPlainObject(envelope)) return { ok: false, reason: 'malformed' };
  const keys = Object.keys(envelope);
  if (keys.length !== 2 || !keys.includes('document') || !keys.includes('signature')) {
    return { ok: false, reason: 'malformed' };
  }
  // Read each field once: a getter could otherwise return different values to the checks and the verifier.
  const document: unknown = envelope['document'];
  const armoredSignature: unknown = envelope['signature'];
  if (!isPlainObject(document) || typeof armoredSignature !== 'string') {
    return { ok: false, reason: 'malformed' };
  }

  if (armoredSignature.length > MAX_ARMORED_SIGNATURE_LENGTH || !ARMORED_SIGNATURE.test(armoredSignature)) {
    return { ok: false, reason: 'malformed' };
  }
  let canonical: string;
  let bytes: Uint8Array;
  try {
    canonical = canonicalize(document);
    bytes = new TextEncoder().encode(canonical);
  } catch {
    return { ok: false, reason: 'malformed' };
  }
  const now = options.now ?? new Date();
  const skew = options.maxClockSkewMs ?? DEFAULT_MAX_CLOCK_SKEW_MS;

  // The common case, a v4 Ed25519 signature by the peer's primary key, natively; anything else
  // (or any doubt) goes through openpgp.js below.
  const native = options.implementation === 'openpgp.js' ? null : nativeKeyOf(peerKey);
  const parsed = native ? parseEddsaSignature(armoredSignature) : null;
  if (native && parsed) {
    const verdict = verifyEddsaSignature(parsed, bytes, native, Math.floor((now.getTime() + skew) / 1000));
    if (verdict === 'valid') {
      return {
        ok: true,
        signerFingerprint: peerKey.fingerprint,
        signingKeyFingerprint: native.fingerprint,
        signedAt: new Date(parsed.createdSeconds * 1000).toISOString(),
        canonical,
      };
    }
    if (verdict === 'invalid') return { ok: false, reason: 'bad-signature' };
  }

  const packet = await parseSingleSignature(armoredSignature);
  if (packet === null) return { ok: false, reason: 'malformed' };
  const { signature, signaturePacket } = packet;

  const key = openpgpKeyOf(peerKey);
  const issuerKeys = key.getKeys(signaturePacket.issuerKeyID);
  const issuerFingerprint = signaturePacket.issuerFingerprint === null ? null : toHex(signaturePacket.issuerFingerprint);
  if (issuerKeys.length === 0 || (issuerFingerprint !== null && !peerKey.keyFingerprints.includes(issuerFingerprint))) {
    return { ok: false, reason: 'wrong-key' };
  }

  try {
    const result = await verify({
      message: await createMessage({ binary: bytes }),
      signature,
      verificationKeys: key,
      format: 'binary',
      // openpgp rejects signatures created after `date`; shifting it forward tolerates a peer whose clock runs ahead.
      date: new Date(now.getTime() + skew),
    });
    const [outcome] = result.signatures;
    if (outcome === undefined) return { ok: false, reason: 'bad-signature' };
    await outcome.verified;
    const signingKey = key.getKeys(outcome.keyID)[0];
    if (signingKey === undefined || signaturePacket.created === null) return { ok: false, reason: 'bad-signature' };
    return {
      ok: true,
      signerFingerprint: peerKey.fingerprint,
      signingKeyFingerprint: normalizeFingerprint(signingKey.getFingerprint()),
      signedAt: signaturePacket.created.toISOString(),
      canonical,
    };
  } catch {
    return { ok: false, reason: 'bad-signature' };
  }
}

/**
 * Which key claims to have made the signature, read without verifying it, so
 * a receiver can pick the right peer key or notice a rotated/unknown key
 * before calling {@link verifyDocumentSignature}. Returns null for anything
 * that is not a single armored detached signature. The claim is unauthenticated:
 * only a successful verification proves it.
 */
export async function readSignatureIssuer(armoredSignature: string): Promise<SignatureIssuer | null> {
  const parsed = await parseSingleSignature(armoredSignature);
  if (parsed === null) return null;
  const { signaturePacket } = parsed;
  const fingerprint = signaturePacket.issuerFingerprint;
  return {
    keyId: signaturePacket.issuerKeyID.toHex().toUpperCase(),
    fingerprint: fingerprint !== null && fingerprint.length === 20 ? toHex(fingerprint) : null,
  };
}

/** Convenience form of {@link readSignatureIssuer}: the issuer fingerprint, or null if absent or unparseable. */
export async function signatureIssuerFingerprint(armoredSignature: string): Promise<string | null> {
  return (await readSignatureIssuer(armoredSignature))?.fingerprint ?? null;
}

async function parseSingleSignature(armoredSignature: unknown): Promise<{ signature: Signature; signaturePacket: SignaturePacket } | null> {
  if (
    typeof armoredSignature !== 'string' ||
    armoredSignature.length > MAX_ARMORED_SIGNATURE_LENGTH ||
    !ARMORED_SIGNATURE.test(armoredSignature)
  ) {
    return null;
  }
  let signature: Signature;
  try {
    signature = await readSignature({ armoredSignature });
  } catch {
    return null;
  }
  // Exactly one document signature: extra packets would make "who signed this" ambiguous.
  if (signature.packets.length !== 1) return null;
  const signaturePacket = signature.packets[0] as SignaturePacket;
  if (signaturePacket.signatureType !== enums.signature.binary && signaturePacket.signatureType !== enums.signature.text) {
    return null;
  }
  return { signature, signaturePacket };
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex').toUpperCase();
}
