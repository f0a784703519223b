import { generateKey, readPrivateKey } from 'openpgp';

import { normalizeFingerprint } from './fingerprint.js';

export interface NodeKeyOptions {
  /** Stable federation identifier of the team; recorded in the user ID comment so operators can tell keys apart in GnuPG. */
  teamId: string;
  name: string;
  email: string;
  /** When given, the secret key material is encrypted (S2K) with it. */
  passphrase?: string;
  /** Creation time; only useful for reproducible fixtures and tests. */
  date?: Date;
}

export interface GeneratedNodeKey {
  armoredPrivateKey: string;
  armoredPublicKey: string;
  /** 40 upper-case hex characters (v4 fingerprint of the primary key). */
  fingerprint: string;
}

/**
 * v4 + legacy Curve25519 (EdDSA primary, ECDH subkey) is the newest key
 * format GnuPG 2.2 reads; v6 keys and the RFC 9580 X25519/Ed25519 algorithms
 * would lock out partner CSIRTs still on 2.2.
 */
export async function generateNodeKey(options: NodeKeyOptions): Promise<GeneratedNodeKey> {
  const { teamId, name, email, passphrase, date } = options;
  if (teamId.trim() === '' || name.trim() === '' || email.trim() === '') {
    throw new TypeError('teamId, name and email must be non-empty');
  }
  if (passphrase !== undefined && passphrase === '') {
    // openpgp would silently produce an unencrypted key, contradicting the caller's intent.
    throw new TypeError('passphrase must be non-empty when given');
  }

  const generated = await generateKey({
    type: 'ecc',
    curve: 'curve25519Legacy',
    userIDs: [{ name, email, comment: `hikeshi team ${teamId}` }],
    ...(passphrase !== undefined ? { passphrase } : {}),
    ...(date !== undefined ? { date } : {}),
    format: 'armored',
    config: { v6Keys: false },
  });

  const parsed = await readPrivateKey({ armoredKey: generated.privateKey });
  return {
    armoredPrivateKey: generated.privateKey,
    armoredPublicKey: generated.publicKey,
    fingerprint: normalizeFingerprint(parsed.getFingerprint()),
  };
}
