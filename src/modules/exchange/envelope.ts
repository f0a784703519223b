import { openSealed, SealedMessageError, type NodeSigner } from '../../crypto/index.js';
import type { Claim, Reject } from './inbox-rejection.js';
import { envelopeShape } from './message-document.js';
import { IJsonError, parseIJson } from '../../util/i-json.js';

/** A received envelope, parsed (and opened when sealed); nothing in it is verified yet. */
export interface Envelope {
  /** The parsed envelope, handed to signature verification untouched. */
  value: unknown;
  document: Record<string, unknown>;
  signature: string;
  /** The envelope's JSON text as received (after opening, for sealed messages). */
  text: string;
  sealed: boolean;
}

/**
 * The inbox's first stage: a body (or a stored quarantined envelope) into an envelope, opening a
 * sealed one with our key. Refuses malformed JSON, a sealed message that does not open or opens
 * to more than the body limit, and anything that is not one signed envelope.
 */
export async function openEnvelope(
  raw: string,
  sealedBefore: boolean,
  deps: { signer: NodeSigner; maxPlaintextBytes: number; reject: Reject },
): Promise<Envelope> {
  const { reject } = deps;
  const claim: Claim = { from: null, messageId: null, type: null, sealed: sealedBefore };
  let value: unknown;
  try {
    value = parseIJson(raw);
  } catch (err) {
    // Not I-JSON (a member twice, a NUL, a lone surrogate): the signed text and what would be
    // filed from it could disagree, and PostgreSQL could not store it. Refused and audited.
    if (err instanceof IJsonError && err.reason !== 'syntax') return reject(claim, 'not-i-json', err.message);
    return reject(claim, 'malformed-json', 'the body is not valid JSON');
  }
  let shape = envelopeShape(value);
  let text = raw;
  let sealed = sealedBefore;
  if (shape.kind === 'sealed') {
    claim.sealed = true;
    let plain: string;
    try {
      plain = await openSealed(shape.sealed, deps.signer, { maxPlaintextBytes: deps.maxPlaintextBytes });
    } catch (err) {
      if (err instanceof SealedMessageError && err.reason === 'too-large')
        return reject(claim, 'body-too-large', 'the sealed message opens to more than the body limit');
      const reason = err instanceof SealedMessageError ? err.reason : 'decryption-failed';
      return reject(claim, 'sealed-invalid', `the sealed message cannot be opened (${reason})`);
    }
    try {
      value = parseIJson(plain);
    } catch (err) {
      if (err instanceof IJsonError && err.reason !== 'syntax') return reject(claim, 'not-i-json', `sealed: ${err.message}`);
      return reject(claim, 'envelope-invalid', 'the sealed message does not hold a JSON envelope');
    }
    shape = envelopeShape(value);
    if (shape.kind === 'sealed')
      return reject(claim, 'envelope-invalid', 'a sealed message must hold a signed envelope, not another sealed one');
    text = plain;
    sealed = true;
  }
  if (shape.kind !== 'signed') return reject(claim, 'envelope-invalid', shape.kind === 'invalid' ? shape.reason : 'not a signed envelope');
  return { value, document: shape.document, signature: shape.signature, text, sealed };
}
