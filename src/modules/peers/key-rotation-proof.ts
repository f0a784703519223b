import { signDocument, verifyDocumentSignature, type NodeSigner, type PeerKey } from '../../crypto/index.js';

/**
 * The second signature of a `key.rotation` (issue 13): the envelope is signed by the old key,
 * which vouches for the new one; `newKeySignature` is the new key's signature over this
 * statement, which proves the sender holds the new key's secret half. Without it a team could
 * announce someone else's public key as its own, and documents that key signed would be
 * attributed to it. The statement names both keys and the team, so a proof is good for exactly
 * one rotation; like every signed document here, `gpg --verify` checks it over the statement's
 * RFC 8785 bytes.
 */
export interface KeyRotationStatement {
  type: 'key.rotation.proof';
  team: string;
  oldFingerprint: string;
  newFingerprint: string;
}

export function keyRotationStatement(team: string, oldFingerprint: string, newFingerprint: string): KeyRotationStatement {
  return { type: 'key.rotation.proof', team, oldFingerprint, newFingerprint };
}

/** The `newKeySignature` a rotating node puts in its `key.rotation` body. */
export async function proveKeyRotation(team: string, oldFingerprint: string, newSigner: NodeSigner): Promise<string> {
  return (await signDocument(keyRotationStatement(team, oldFingerprint, newSigner.fingerprint), newSigner)).signature;
}

/** True when `signature` is the new key's signature over this rotation's statement. */
export async function keyRotationProofHolds(
  team: string,
  oldFingerprint: string,
  newKey: PeerKey,
  signature: unknown,
  now: Date,
): Promise<boolean> {
  if (typeof signature !== 'string') return false;
  const statement = keyRotationStatement(team, oldFingerprint, newKey.fingerprint);
  const verified = await verifyDocumentSignature({ document: statement, signature }, newKey, { now });
  return verified.ok && verified.signingKeyFingerprint !== undefined;
}
