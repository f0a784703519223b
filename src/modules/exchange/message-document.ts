import { randomUUID } from 'node:crypto';
import { canonicalize, signDocument, type NodeSigner } from '../../crypto/index.js';
import { ProblemError } from '../../http/problem.js';
import type { Tlp } from '../../../schemas/common.schema.js';
import {
  FEDERATION_PROTOCOL_VERSION,
  MESSAGE_DOCUMENT_SCHEMAS,
  MESSAGE_TYPES,
  type MessageDocument,
  type MessageType,
} from '../../../schemas/federation.schema.js';
import { compileOnFirstUse } from '../../util/compile-on-first-use.js';

/**
 * Message documents: building and signing what we send, and the shape and schema checks of what
 * we receive. Everything that reads a received document before its signature is checked lives
 * here and only LOOKS (typeof, key sets): nothing is coerced, stripped or defaulted.
 */

export const TEAM_ID = /^[a-z0-9][a-z0-9-]{1,62}$/;
/** A peer's clock may run this far ahead of ours. */
export const MAX_CLOCK_SKEW_MS = 5 * 60 * 1000;

/** Body of a message we are about to send, by type. */
export interface OutgoingMessage {
  type: MessageType;
  to: string;
  tlp: Tlp;
  inReplyTo?: string;
  body: Record<string, unknown>;
}

export interface SignedMessage {
  id: string;
  /** The RFC 8785 canonical JSON text of the document: exactly the bytes the signature covers. */
  documentText: string;
  signature: string;
  document: MessageDocument;
}

export function newDocument(from: string, created: Date, message: OutgoingMessage, id: string = randomUUID()): MessageDocument {
  return {
    v: FEDERATION_PROTOCOL_VERSION,
    id,
    type: message.type,
    from,
    to: message.to,
    created: created.toISOString(),
    ...(message.inReplyTo ? { inReplyTo: message.inReplyTo } : {}),
    tlp: message.tlp,
    body: message.body,
  } as MessageDocument;
}

export async function signMessage(document: MessageDocument, signer: NodeSigner): Promise<SignedMessage> {
  const signed = await signDocument(document, signer);
  return {
    id: document.id,
    documentText: canonicalize(signed.document),
    signature: signed.signature,
    document: signed.document,
  };
}

/**
 * The JSON text of an envelope, built around the stored canonical document so that every send of
 * the same message is byte-identical (and the document part is already canonical).
 */
export function envelopeText(documentText: string, signature: string): string {
  return `{"document":${documentText},"signature":${JSON.stringify(signature)}}`;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

function hasExactlyKeys(value: Record<string, unknown>, keys: string[]): boolean {
  const own = Object.keys(value);
  return own.length === keys.length && keys.every((k) => own.includes(k));
}

export type EnvelopeShape =
  | { kind: 'signed'; document: Record<string, unknown>; signature: string }
  | { kind: 'sealed'; sealed: string }
  | { kind: 'invalid'; reason: string };

/** Which kind of envelope a parsed body is, by its keys alone. */
export function envelopeShape(value: unknown): EnvelopeShape {
  if (!isPlainObject(value)) return { kind: 'invalid', reason: 'the body must be a JSON object' };
  if (hasExactlyKeys(value, ['sealed'])) {
    const sealed = value['sealed'];
    return typeof sealed === 'string' ? { kind: 'sealed', sealed } : { kind: 'invalid', reason: '"sealed" must be a string' };
  }
  if (hasExactlyKeys(value, ['document', 'signature'])) {
    const document = value['document'];
    const signature = value['signature'];
    if (!isPlainObject(document)) return { kind: 'invalid', reason: '"document" must be a JSON object' };
    if (typeof signature !== 'string') return { kind: 'invalid', reason: '"signature" must be a string' };
    return { kind: 'signed', document, signature };
  }
  return { kind: 'invalid', reason: 'expected exactly {"document", "signature"} or {"sealed"}' };
}

// Each type's validator is compiled on its first document, not when the node starts (ADR 0031).
const validators = Object.fromEntries(
  Object.entries(MESSAGE_DOCUMENT_SCHEMAS).map(([type, schema]) => [type, compileOnFirstUse(schema)]),
) as {
  [K in MessageType]: ReturnType<typeof compileOnFirstUse>;
};

export interface SchemaError {
  location: 'document';
  pointer: string;
  message: string;
}

/**
 * Checks a verified document against the schema of its type. Never changes the document: the
 * compiled checker only reads. Throws validation-failed with a pointer per problem.
 */
export function validateDocument(document: Record<string, unknown>): MessageDocument {
  const type = document['type'];
  if (typeof type !== 'string' || !(MESSAGE_TYPES as readonly string[]).includes(type)) {
    throw new ProblemError(
      'validation-failed',
      `unknown document type ${typeof type === 'string' ? `"${type.slice(0, 64)}"` : ''}`.trim(),
      {
        errors: [{ location: 'document', pointer: '/type', message: `must be one of: ${MESSAGE_TYPES.join(', ')}` }],
      },
    );
  }
  const validator = validators[type as MessageType];
  if (!validator.Check(document)) {
    const errors: SchemaError[] = [...validator.Errors(document)]
      .filter((e) => e.keyword !== 'boolean') // "schema is false" repeats the additionalProperties error
      .slice(0, 20)
      .map((e) => ({ location: 'document', pointer: e.instancePath || '/', message: e.message }));
    throw new ProblemError('validation-failed', `the ${type} document does not match its schema`, { errors });
  }
  return document as unknown as MessageDocument;
}

/** TLP labels that always travel sealed (the recipient's organisation or named people only). */
export function tlpRequiresSealing(tlp: string): boolean {
  return tlp === 'AMBER+STRICT' || tlp === 'RED';
}
