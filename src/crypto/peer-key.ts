import { createHash } from 'node:crypto';

import { readKeys, type PublicKey } from 'openpgp';

import { InvalidKeyError } from './crypto-errors.js';
import { normalizeFingerprint } from './fingerprint.js';
import { nativeKeyFrom, type EddsaKeyMaterial, type NativeEd25519Key } from './native-eddsa.js';

/**
 * A validated public key of a federation peer. Instances are frozen and
 * shared through the cache, so they expose only immutable data; the openpgp
 * object stays private to src/crypto (see {@link openpgpKeyOf}).
 */
export interface PeerKey {
  /** Primary key fingerprint, 40 upper-case hex characters. */
  readonly fingerprint: string;
  /** Long key ID of the primary key, 16 upper-case hex characters. */
  readonly keyId: string;
  /** Fingerprints of every (sub)key in the certificate, primary first; a signature's issuer may name a subkey. */
  readonly keyFingerprints: readonly string[];
  /** Re-armored public key, stripped of armor headers. */
  readonly armored: string;
  readonly userIds: readonly string[];
  /** ISO 8601 creation time of the primary key. */
  readonly createdAt: string;
  /** ISO 8601 expiry of the primary key, null if it never expires. */
  readonly expiresAt: string | null;
}

/** Real keys are a few KiB; the cap bounds parsing work on hostile input. */
export const MAX_ARMORED_KEY_LENGTH = 1024 * 1024;

/** Expiry and revocation are time-dependent, so a cached verdict must not live forever. */
const CACHE_TTL_MS = 10 * 60 * 1000;
const CACHE_MAX_ENTRIES = 512;

interface CacheEntry {
  peerKey: PeerKey;
  validatedAt: number;
}

const cache = new Map<string, CacheEntry>();
const openpgpKeys = new WeakMap<PeerKey, PublicKey>();
const nativeKeys = new WeakMap<PeerKey, NativeEd25519Key>();

/**
 * Parses and validates a peer's armored public key. Parsing plus self-signature
 * checks cost about a millisecond, and every inbound document needs its sender's
 * key, so results are cached by a digest of the exact armored text (the
 * fingerprint is not known before parsing).
 *
 * @throws InvalidKeyError for garbage, private keys, several keys, non-v4 keys,
 *   revoked/expired keys, or keys lacking a valid signing or encryption key.
 */
export async function readPeerKey(armoredPublicKey: string): Promise<PeerKey> {
  if (typeof armoredPublicKey !== 'string') {
    throw new InvalidKeyError('public key must be an armored string');
  }
  if (armoredPublicKey.length > MAX_ARMORED_KEY_LENGTH) {
    throw new InvalidKeyError(`public key is larger than ${MAX_ARMORED_KEY_LENGTH} characters`);
  }

  const digest = createHash('sha256').update(armoredPublicKey, 'utf8').digest('hex');
  const now = Date.now();
  const hit = cache.get(digest);
  if (hit !== undefined && now - hit.validatedAt < CACHE_TTL_MS) {
    // Re-insert to keep Map iteration order = least recently used first.
    cache.delete(digest);
    cache.set(digest, hit);
    return hit.peerKey;
  }

  const peerKey = await parsePeerKey(armoredPublicKey);
  cache.delete(digest);
  cache.set(digest, { peerKey, validatedAt: now });
  while (cache.size > CACHE_MAX_ENTRIES) {
    const oldest = cache.keys().next().value;
    if (oldest === undefined) break;
    cache.delete(oldest);
  }
  return peerKey;
}

/** Drops cached parse results (tests, or after an operator revokes a key out of band). */
export function clearPeerKeyCache(): void {
  cache.clear();
}

/** @internal For src/crypto only: the parsed openpgp key behind a PeerKey. */
export function openpgpKeyOf(peerKey: PeerKey): PublicKey {
  const key = openpgpKeys.get(peerKey);
  if (key === undefined) {
    // A structurally similar object not produced by readPeerKey would let callers bypass validation.
    throw new InvalidKeyError('peer key was not produced by readPeerKey');
  }
  return key;
}

/** @internal For src/crypto only: the node:crypto form of the key, when its primary key signs with Ed25519. */
export function nativeKeyOf(peerKey: PeerKey): NativeEd25519Key | null {
  return nativeKeys.get(peerKey) ?? null;
}

/** @internal What the native fast path needs to know about a key packet (see native-eddsa.ts). */
export function eddsaMaterialOf(keyPacket: PublicKey['keyPacket'], expiresAt: Date | null): EddsaKeyMaterial {
  const params = keyPacket.publicParams as { oid?: { oid?: Uint8Array }; Q?: Uint8Array };
  return {
    algorithm: keyPacket.algorithm as number,
    oid: params.oid?.oid ?? null,
    q: params.Q ?? null,
    fingerprintHex: keyPacket.getFingerprint(),
    createdAt: keyPacket.getCreationTime(),
    expiresAt,
  };
}

async function parsePeerKey(armored: string): Promise<PeerKey> {
  if (!armored.includes('-----BEGIN PGP PUBLIC KEY BLOCK-----')) {
    if (armored.includes('-----BEGIN PGP PRIVATE KEY BLOCK-----')) {
      throw new InvalidKeyError('expected a public key but got a private key');
    }
    throw new InvalidKeyError('not an armored OpenPGP public key block');
  }

  // openpgp reads only the first armor block and ignores the rest, which would hide what was actually stored.
  if (countArmorBlocks(armored) !== 1) {
    throw new InvalidKeyError('expected exactly one armored key block');
  }

  let keys: PublicKey[];
  try {
    keys = await readKeys({ armoredKeys: armored });
  } catch (error) {
    throw new InvalidKeyError('could not parse OpenPGP public key', { cause: error });
  }
  if (keys.length !== 1) {
    throw new InvalidKeyError(`expected exactly one key, found ${keys.length}`);
  }
  const key = keys[0] as PublicKey;
  if (key.isPrivate()) {
    throw new InvalidKeyError('expected a public key but got a private key');
  }
  return describePublicKey(key);
}

/** @internal Validates an already parsed key and wraps it; also used for a signer's own public half. */
export async function describePublicKey(key: PublicKey): Promise<PeerKey> {
  if (key.keyPacket.version !== 4) {
    // GnuPG 2.2 peers cannot use v5/v6 keys, and federation fingerprints are the 40-hex v4 form.
    throw new InvalidKeyError(`unsupported key version ${key.keyPacket.version}; only v4 keys are accepted`);
  }
  try {
    await key.verifyPrimaryKey();
  } catch (error) {
    throw new InvalidKeyError('key is revoked, expired, or lacks a valid self-signature', { cause: error });
  }
  let signingKey: Awaited<ReturnType<PublicKey['getSigningKey']>>;
  try {
    signingKey = await key.getSigningKey();
  } catch (error) {
    throw new InvalidKeyError('key has no valid signing-capable (sub)key', { cause: error });
  }
  try {
    await key.getEncryptionKey();
  } catch (error) {
    throw new InvalidKeyError('key has no valid encryption-capable subkey', { cause: error });
  }

  const expiration = await key.getExpirationTime();
  const publicKey = key.isPrivate() ? key.toPublic() : key;
  const peerKey: PeerKey = Object.freeze({
    fingerprint: normalizeFingerprint(publicKey.getFingerprint()),
    keyId: publicKey.getKeyID().toHex().toUpperCase(),
    keyFingerprints: Object.freeze(publicKey.getKeys().map((k) => normalizeFingerprint(k.getFingerprint()))),
    armored: publicKey.armor(),
    userIds: Object.freeze(publicKey.getUserIDs()),
    createdAt: publicKey.getCreationTime().toISOString(),
    expiresAt: expiration instanceof Date ? expiration.toISOString() : null,
  });
  openpgpKeys.set(peerKey, publicKey);
  // The fast path takes signatures by the primary key only (Hikeshi keys sign with it); a
  // subkey signature goes through openpgp.js.
  if (signingKey.getKeyID().equals(key.getKeyID())) {
    const native = nativeKeyFrom(eddsaMaterialOf(publicKey.keyPacket, expiration instanceof Date ? expiration : null));
    if (native) nativeKeys.set(peerKey, native);
  }
  return peerKey;
}

/** @internal */
export function countArmorBlocks(armored: string): number {
  return armored.match(/^-----BEGIN PGP /gm)?.length ?? 0;
}
