import { readCleartextMessage, verify } from 'openpgp';

import { openpgpKeyOf, type PeerKey } from './peer-key.js';

/** A pasted clear-signed text is a statement, not a novel: anything larger is refused before parsing. */
export const MAX_CLEAR_SIGNED_LENGTH = 64 * 1024;

export type ClearSignedVerification =
  | { ok: true; text: string; signingKeyFingerprint: string; signedAt: string | null }
  | { ok: false; reason: 'malformed' | 'unknown-key' | 'bad-signature' };

export interface ClearSignedOptions {
  /** Longest armored text read (default MAX_CLEAR_SIGNED_LENGTH); a mailed report may be longer. */
  maxLength?: number;
  /** The time the signature is checked at (default now); a signer's clock may run 5 minutes ahead. */
  now?: Date;
}

/**
 * Verifies an OpenPGP cleartext-signed text (RFC 4880 §7, what `gpg --clearsign` writes) against
 * one pinned key: a vendor's pasted statement, or a report a person mailed. `unknown-key`: the
 * signature names an issuer that is not that key (nor one of its subkeys), so we cannot tell who
 * signed; `bad-signature`: the key is the pinned one but the text was changed, or the signature
 * is broken. The text answered is the signed text (dash-escaping undone).
 */
export async function verifyClearSigned(armored: string, key: PeerKey, options: ClearSignedOptions = {}): Promise<ClearSignedVerification> {
  const maxLength = options.maxLength ?? MAX_CLEAR_SIGNED_LENGTH;
  if (typeof armored !== 'string' || armored.length > maxLength) return { ok: false, reason: 'malformed' };
  let message;
  try {
    message = await readCleartextMessage({ cleartextMessage: armored });
  } catch {
    return { ok: false, reason: 'malformed' };
  }
  const issuers = message.getSigningKeyIDs().map((id) => id.toHex().toUpperCase());
  if (issuers.length === 0) return { ok: false, reason: 'malformed' };
  const ours = key.keyFingerprints.map((fp) => fp.slice(-16));
  if (!issuers.some((id) => ours.includes(id))) return { ok: false, reason: 'unknown-key' };
  try {
    const date = new Date((options.now ?? new Date()).getTime() + 5 * 60_000);
    const result = await verify({ message, verificationKeys: openpgpKeyOf(key), expectSigned: false, date });
    const outcome = result.signatures.find((s) => ours.includes(s.keyID.toHex().toUpperCase()));
    if (!outcome) return { ok: false, reason: 'unknown-key' };
    await outcome.verified;
    const packet = (await outcome.signature).packets[0];
    const fingerprint = key.keyFingerprints.find((fp) => fp.endsWith(outcome.keyID.toHex().toUpperCase())) ?? key.fingerprint;
    return { ok: true, text: message.getText(), signingKeyFingerprint: fingerprint, signedAt: packet?.created?.toISOString() ?? null };
  } catch {
    return { ok: false, reason: 'bad-signature' };
  }
}
