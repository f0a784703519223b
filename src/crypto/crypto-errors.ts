/**
 * Error classes carry no key material or passphrases in their messages: they
 * end up in logs and HTTP problem responses.
 */

/** Armored text is not a usable key of the expected kind (public vs private, v4, capabilities). */
export class InvalidKeyError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'InvalidKeyError';
  }
}

/** The private key is encrypted and the passphrase is missing or does not unlock it. */
export class KeyPassphraseError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'KeyPassphraseError';
  }
}

export type SealedMessageFailure = 'malformed' | 'wrong-recipient' | 'decryption-failed' | 'too-large' | 'not-utf8' | 'encryption-failed';

/** A sealed (encrypted) message could not be produced or opened; `reason` lets the HTTP layer pick a status code. */
export class SealedMessageError extends Error {
  readonly reason: SealedMessageFailure;

  constructor(reason: SealedMessageFailure, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SealedMessageError';
    this.reason = reason;
  }
}

/** An armored signature could not be created or parsed. */
export class SignatureFormatError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SignatureFormatError';
  }
}
