import { createCleartextMessage, createMessage, decryptKey, readPrivateKey, sign, type PrivateKey } from 'openpgp';

import { InvalidKeyError, KeyPassphraseError, SealedMessageError, SignatureFormatError } from './crypto-errors.js';
import { nativeSignerFrom, signEddsa, type NativeEd25519Signer } from './native-eddsa.js';
import { countArmorBlocks, describePublicKey, eddsaMaterialOf, type PeerKey } from './peer-key.js';
import { openWithPrivateKey, type OpenSealedOptions } from './sealing.js';
import { hasLoneSurrogate } from './utf8.js';

/**
 * The node's own key, unlocked once at startup. Holds the decrypted secret
 * key in memory only; nothing here exposes or serializes it.
 */
export interface NodeSigner {
  /** Primary key fingerprint, 40 upper-case hex characters. */
  readonly fingerprint: string;
  readonly armoredPublicKey: string;
  /** The public half, usable wherever a PeerKey is expected (self-verification, sealing to self). */
  readonly publicKey: PeerKey;
  /**
   * Keys this node signed with before its last rotations (`hikeshi key rotate`), newest first:
   * documents it signed then still verify against them, and messages a peer sealed to an old key
   * before it learnt of the rotation still open.
   */
  readonly retiredPublicKeys: readonly PeerKey[];
  /** Armored detached binary-mode signature over the bytes (strings are UTF-8 encoded first). */
  signDetached(data: Uint8Array | string): Promise<string>;
  /**
   * An OpenPGP cleartext-signed text (RFC 4880 §7), as RFC 9116 asks of a security.txt: the text
   * stays readable, `gpg --verify` checks it. Lines are signed with trailing whitespace removed.
   */
  clearSign(text: string): Promise<string>;
  /** Opens a message sealed to this node's key or to one of its retired keys; see {@link openSealed}. */
  decrypt(armoredMessage: string, options?: OpenSealedOptions): Promise<string>;
}

const MAX_ARMORED_PRIVATE_KEY_LENGTH = 1024 * 1024;

/**
 * @throws InvalidKeyError when the text is not a usable v4 private key.
 * @throws KeyPassphraseError when the key is encrypted and the passphrase is missing or wrong.
 *   A passphrase given for an unencrypted key is ignored.
 */
export async function loadNodeSigner(
  armoredPrivateKey: string,
  passphrase?: string,
  retiredPrivateKeys: readonly string[] = [],
): Promise<NodeSigner> {
  const key = await unlockPrivateKey(armoredPrivateKey, passphrase);
  const retired: PrivateKey[] = [];
  for (const armored of retiredPrivateKeys) retired.push(await unlockPrivateKey(armored, passphrase));
  const publicKey = await describePublicKey(key.toPublic());
  const retiredPublic: PeerKey[] = [];
  for (const old of retired) retiredPublic.push(await describePublicKey(old.toPublic()));
  const expiration = await key.getExpirationTime();
  // Hikeshi keys sign with their primary key: sign those natively (native-eddsa.ts).
  const signingKey = await key.getSigningKey();
  const seed = (key.keyPacket as { privateParams?: { seed?: Uint8Array } | null }).privateParams?.seed ?? null;
  const native = signingKey.getKeyID().equals(key.getKeyID())
    ? nativeSignerFrom(eddsaMaterialOf(key.keyPacket, expiration instanceof Date ? expiration : null), seed)
    : null;
  return new OpenpgpNodeSigner(key, publicKey, native, retired, retiredPublic);
}

async function unlockPrivateKey(armoredPrivateKey: string, passphrase: string | undefined): Promise<PrivateKey> {
  if (typeof armoredPrivateKey !== 'string' || !armoredPrivateKey.includes('-----BEGIN PGP PRIVATE KEY BLOCK-----')) {
    throw new InvalidKeyError('not an armored OpenPGP private key block');
  }
  if (armoredPrivateKey.length > MAX_ARMORED_PRIVATE_KEY_LENGTH) {
    throw new InvalidKeyError(`private key is larger than ${MAX_ARMORED_PRIVATE_KEY_LENGTH} characters`);
  }

  if (countArmorBlocks(armoredPrivateKey) !== 1) {
    throw new InvalidKeyError('expected exactly one armored private key block');
  }

  let key: PrivateKey;
  try {
    key = await readPrivateKey({ armoredKey: armoredPrivateKey });
  } catch (error) {
    throw new InvalidKeyError('could not parse OpenPGP private key', { cause: error });
  }

  if (!key.isDecrypted()) {
    if (passphrase === undefined || passphrase === '') {
      throw new KeyPassphraseError('private key is passphrase-protected but no passphrase was given');
    }
    try {
      key = await decryptKey({ privateKey: key, passphrase });
    } catch (error) {
      // openpgp reports a wrong passphrase and corrupted key material alike; both mean "cannot unlock".
      throw new KeyPassphraseError('passphrase does not unlock the private key', { cause: error });
    }
  }
  return key;
}

class OpenpgpNodeSigner implements NodeSigner {
  readonly fingerprint: string;
  readonly armoredPublicKey: string;
  readonly publicKey: PeerKey;
  readonly retiredPublicKeys: readonly PeerKey[];
  readonly #key: PrivateKey;
  readonly #retired: readonly PrivateKey[];
  readonly #native: NativeEd25519Signer | null;

  constructor(key: PrivateKey, publicKey: PeerKey, native: NativeEd25519Signer | null, retired: PrivateKey[], retiredPublic: PeerKey[]) {
    this.#key = key;
    this.#native = native;
    this.#retired = retired;
    this.retiredPublicKeys = retiredPublic;
    this.publicKey = publicKey;
    this.fingerprint = publicKey.fingerprint;
    this.armoredPublicKey = publicKey.armored;
  }

  async signDetached(data: Uint8Array | string): Promise<string> {
    // Binary mode, never text mode: the signature must cover the exact bytes a peer (or gpg --verify) will hash.
    if (typeof data === 'string' && hasLoneSurrogate(data)) {
      throw new SignatureFormatError('refusing to sign a string containing a lone surrogate');
    }
    const bytes = typeof data === 'string' ? new TextEncoder().encode(data) : data;
    if (!(bytes instanceof Uint8Array)) {
      throw new TypeError('data must be a Uint8Array or a string');
    }
    try {
      if (this.#native) return signEddsa(bytes, this.#native, new Date());
      const message = await createMessage({ binary: bytes });
      return await sign({ message, signingKeys: this.#key, detached: true, format: 'armored' });
    } catch (error) {
      throw new SignatureFormatError('could not create signature', { cause: error });
    }
  }

  async clearSign(text: string): Promise<string> {
    if (hasLoneSurrogate(text)) throw new SignatureFormatError('refusing to sign a string containing a lone surrogate');
    try {
      const message = await createCleartextMessage({ text });
      return await sign({ message, signingKeys: this.#key, format: 'armored' });
    } catch (error) {
      throw new SignatureFormatError('could not create a cleartext signature', { cause: error });
    }
  }

  async decrypt(armoredMessage: string, options?: OpenSealedOptions): Promise<string> {
    // A peer that has not applied this node's key.rotation yet still seals to the old key.
    const keys = [this.#key, ...this.#retired];
    for (const [i, key] of keys.entries()) {
      try {
        return await openWithPrivateKey(armoredMessage, key, options);
      } catch (err) {
        const last = i === keys.length - 1;
        if (last || !(err instanceof SealedMessageError) || err.reason !== 'wrong-recipient') throw err;
      }
    }
    throw new SealedMessageError('wrong-recipient', "message is not sealed to this node's key");
  }

  // Keeps the key object out of console.log / util.inspect output.
  toJSON(): { fingerprint: string } {
    return { fingerprint: this.fingerprint };
  }

  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return `NodeSigner { fingerprint: '${this.fingerprint}' }`;
  }
}
