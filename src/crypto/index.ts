/**
 * Public crypto API of Hikeshi. The rest of the application imports from here
 * and never from `openpgp` directly, so algorithm, encoding and interop
 * decisions stay in one place.
 */
export {
  canonicalize,
  canonicalizeJsonData,
  canonicalizeWithKnown,
  canonicalBytes,
  canonicalTextOf,
  CanonicalizationError,
  freezeWithCanonicalText,
  MAX_CANONICAL_DEPTH,
  type JsonObject,
  type JsonPrimitive,
  type JsonValue,
} from './canonical-json.js';
export {
  InvalidKeyError,
  KeyPassphraseError,
  SealedMessageError,
  SignatureFormatError,
  type SealedMessageFailure,
} from './crypto-errors.js';
export { MAX_CLEAR_SIGNED_LENGTH, verifyClearSigned, type ClearSignedOptions, type ClearSignedVerification } from './clear-signed.js';
export { isV4Fingerprint, normalizeFingerprint } from './fingerprint.js';
export { isCertifiedBy } from './key-certification.js';
export { generateNodeKey, type GeneratedNodeKey, type NodeKeyOptions } from './node-key.js';
export { clearPeerKeyCache, readPeerKey, type PeerKey } from './peer-key.js';
export { DEFAULT_MAX_SEALED_PLAINTEXT_BYTES, openSealed, sealForRecipient, type OpenSealedOptions } from './sealing.js';
export {
  DEFAULT_MAX_CLOCK_SKEW_MS,
  readSignatureIssuer,
  signatureIssuerFingerprint,
  signDocument,
  verifyDocumentSignature,
  type SignatureIssuer,
  type SignedEnvelope,
  type VerificationFailure,
  type VerificationResult,
  type VerifyOptions,
} from './signed-document.js';
export { loadNodeSigner, type NodeSigner } from './signer.js';
export { measureEd25519VerifyRate, measureFastPathVerifyRate, measureOpenpgpVerifyRate, type VerifyRateOptions } from './verify-rate.js';
export {
  detachedSignatureIssuer,
  MAX_MAILED_CLEAR_SIGNED_LENGTH,
  micalgOf,
  verifyDetachedBytes,
  type MailVerification,
} from './pgp-mime.js';
