import { createMessage, decrypt, encrypt, readMessage, type Message, type PrivateKey } from 'openpgp';

import { SealedMessageError } from './crypto-errors.js';
import { openpgpKeyOf, type PeerKey } from './peer-key.js';
import type { NodeSigner } from './signer.js';
import { hasLoneSurrogate } from './utf8.js';

/**
 * Confidentiality layer for federation traffic. The plaintext is an already
 * signed envelope, so sealing is encrypt-only: authenticity comes from the
 * inner signature, which survives being stored or forwarded after opening.
 */

export interface OpenSealedOptions {
  /** Upper bound on the decrypted (and decompressed) size; guards against compression bombs. Default 16 MiB. */
  maxPlaintextBytes?: number;
}

export const DEFAULT_MAX_SEALED_PLAINTEXT_BYTES = 16 * 1024 * 1024;

/**
 * Encrypts to the recipient's encryption subkey as SEIPDv1 (no AEAD) so that
 * GnuPG 2.2 recipients can open it too. The payload is carried as binary
 * literal data: text mode would rewrite line endings and change the bytes.
 *
 * @returns an armored `-----BEGIN PGP MESSAGE-----` block.
 */
export async function sealForRecipient(plaintext: string, recipient: PeerKey): Promise<string> {
  if (typeof plaintext !== 'string') {
    throw new SealedMessageError('malformed', 'plaintext must be a string');
  }
  if (hasLoneSurrogate(plaintext)) {
    // UTF-8 encoding would silently replace it, so the recipient would get different text.
    throw new SealedMessageError('malformed', 'plaintext contains a lone surrogate');
  }
  const encryptionKey = openpgpKeyOf(recipient);
  try {
    const message = await createMessage({ binary: new TextEncoder().encode(plaintext) });
    return await encrypt({
      message,
      encryptionKeys: encryptionKey,
      format: 'armored',
      config: { aeadProtect: false },
    });
  } catch (error) {
    throw new SealedMessageError('encryption-failed', 'could not seal message for recipient', { cause: error });
  }
}

/**
 * @throws SealedMessageError (see its `reason`) when
 *   the input is not an OpenPGP message, is not addressed to this node, fails
 *   integrity checks, exceeds the size limit or is not valid UTF-8.
 */
export function openSealed(armoredMessage: string, signer: NodeSigner, options?: OpenSealedOptions): Promise<string> {
  return signer.decrypt(armoredMessage, options);
}

/** @internal Used by NodeSigner, which owns the private key. */
export async function openWithPrivateKey(armoredMessage: string, key: PrivateKey, options: OpenSealedOptions = {}): Promise<string> {
  const maxPlaintextBytes = options.maxPlaintextBytes ?? DEFAULT_MAX_SEALED_PLAINTEXT_BYTES;
  if (typeof armoredMessage !== 'string' || !armoredMessage.includes('-----BEGIN PGP MESSAGE-----')) {
    throw new SealedMessageError('malformed', 'not an armored OpenPGP message');
  }
  // Armor inflates by 4/3 plus headers; twice the limit is a generous bound that still stops absurd input before parsing.
  if (armoredMessage.length > maxPlaintextBytes * 2 + 4096) {
    throw new SealedMessageError('too-large', `sealed message exceeds ${maxPlaintextBytes} bytes`);
  }

  let message: Message<string>;
  try {
    message = await readMessage({ armoredMessage });
  } catch (error) {
    throw new SealedMessageError('malformed', 'could not parse OpenPGP message', { cause: error });
  }

  const ownKeyIds = key.getKeys().map((k) => k.getKeyID());
  const addressedToUs = message.getEncryptionKeyIDs().some((recipientId) => ownKeyIds.some((own) => own.equals(recipientId, true)));
  if (!addressedToUs) {
    throw new SealedMessageError('wrong-recipient', "message is not sealed to this node's key");
  }

  let data: Uint8Array;
  try {
    const result = await decrypt({
      message,
      decryptionKeys: key,
      format: 'binary',
      config: { maxDecompressedMessageSize: maxPlaintextBytes },
    });
    data = result.data as Uint8Array;
  } catch (error) {
    const text = error instanceof Error ? error.message : '';
    if (/decompressed message size exceeded/i.test(text)) {
      throw new SealedMessageError('too-large', `sealed message exceeds ${maxPlaintextBytes} bytes`, { cause: error });
    }
    throw new SealedMessageError('decryption-failed', 'could not decrypt sealed message', { cause: error });
  }

  if (data.byteLength > maxPlaintextBytes) {
    throw new SealedMessageError('too-large', `sealed message exceeds ${maxPlaintextBytes} bytes`);
  }
  try {
    // ignoreBOM keeps a leading U+FEFF so the text round-trips byte for byte.
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(data);
  } catch (error) {
    throw new SealedMessageError('not-utf8', 'sealed message is not valid UTF-8', { cause: error });
  }
}
