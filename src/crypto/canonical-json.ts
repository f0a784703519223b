/**
 * RFC 8785 JSON Canonicalization Scheme (JCS).
 *
 * Signatures in the federation cover the canonical bytes of a document, so two
 * nodes (or a node and an analyst with GnuPG) must derive byte-identical
 * output from the same JSON data no matter how it was formatted in transit.
 *
 * The serializer is deliberately strict: anything JSON.stringify would
 * silently drop or coerce (undefined, functions, Dates via toJSON, sparse
 * array holes, lone surrogates) is rejected, because a signature over a
 * coerced value would vouch for data the signer never saw.
 */

import { hasLoneSurrogate } from './utf8.js';

export type JsonPrimitive = string | number | boolean | null;
export type JsonValue = JsonPrimitive | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

export class CanonicalizationError extends Error {
  /** JSON-pointer-like location of the offending value, e.g. `/items/3/name`. */
  readonly path: string;

  constructor(message: string, path: string) {
    super(`${message} at ${path === '' ? '(root)' : path}`);
    this.name = 'CanonicalizationError';
    this.path = path;
  }
}

/**
 * Legitimate documents are shallow; the limit keeps hostile input from
 * exhausting the stack (a RangeError would escape as an unclassified crash).
 */
export const MAX_CANONICAL_DEPTH = 256;

export function canonicalize(value: unknown): string {
  // Every received document is canonicalised to check its signature. A document parsed from
  // canonical text (what every sender sends) has its keys in order already, and then
  // JSON.stringify writes exactly the canonical text: RFC 8785 takes its number and string
  // forms from ECMAScript's. Otherwise plain JSON data takes the lean path, which sorts; anything
  // neither expects goes to the strict serializer, which says exactly what is wrong and where.
  if (inCanonicalOrder(value, 0)) return JSON.stringify(value);
  const fast = lean(value, 0);
  return fast !== undefined ? fast : canonicalizeStrictly(value);
}

/** The reference serializer: checks every value and names where one is wrong. */
export function canonicalizeStrictly(value: unknown): string {
  const parts: string[] = [];
  serialize(value, [], new Set<object>(), 0, parts);
  return parts.join('');
}

const hasOwn = Object.prototype.hasOwnProperty;

/** An object both fast paths may write: a plain prototype (or none) and no symbol keys. */
function isPlainRecord(value: object): boolean {
  const proto: unknown = Object.getPrototypeOf(value);
  return (proto === Object.prototype || proto === null) && Object.getOwnPropertySymbols(value).length === 0;
}

/**
 * Whether `value` is plain JSON data whose objects' keys are already in canonical order (UTF-16
 * code units, strictly increasing), with no value JSON.stringify would drop, coerce or escape
 * differently from RFC 8785 (a lone surrogate). Then JSON.stringify(value) is its canonical text.
 */
function inCanonicalOrder(value: unknown, depth: number): boolean {
  switch (typeof value) {
    case 'string':
      return !hasLoneSurrogate(value);
    case 'number':
      return Number.isFinite(value);
    case 'boolean':
      return true;
    case 'object':
      break;
    default:
      return false;
  }
  if (value === null) return true;
  if (depth >= MAX_CANONICAL_DEPTH) return false;
  if (Array.isArray(value)) {
    // JSON.stringify writes only the indices, unless the array has a toJSON of its own.
    if (hasOwn.call(value, 'toJSON')) return false;
    for (let i = 0; i < value.length; i++) {
      if (!hasOwn.call(value, i) || !inCanonicalOrder(value[i], depth + 1)) return false;
    }
    return true;
  }
  if (!isPlainRecord(value)) return false;
  const keys = Object.keys(value);
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i]!;
    if ((i > 0 && !(keys[i - 1]! < key)) || hasLoneSurrogate(key)) return false;
    if (!inCanonicalOrder((value as Record<string, unknown>)[key], depth + 1)) return false;
  }
  return true;
}

/**
 * The canonical text of plain JSON data, or undefined where `serialize` must decide (a value that
 * is not JSON, a lone surrogate, a symbol-keyed property, too deep: a cycle also ends there). Same
 * output as `serialize` for everything it accepts; tested against it.
 */
interface LeanOptions {
  /** An object property whose value is undefined is left out, as JSON.stringify leaves it out. */
  skipUndefined?: boolean;
  /** Objects whose canonical text the caller has already (written in their place, not walked again). */
  known?: KnownTexts;
}

/** Where canonical texts already made are looked up: a Map or a WeakMap. */
export interface KnownTexts {
  get(value: object): string | undefined;
}

/**
 * The canonical text of each value `freezeWithCanonicalText` froze: such a value cannot change,
 * so the text made once stays its text wherever it is written (a TAXII page's marking definitions
 * and identities, the same in every incident's objects, are canonicalised once per process).
 */
const frozenText = new WeakMap<object, string>();

const NO_OPTIONS: LeanOptions = {};

function lean(value: unknown, depth: number, options: LeanOptions = NO_OPTIONS): string | undefined {
  switch (typeof value) {
    case 'string':
      return hasLoneSurrogate(value) ? undefined : JSON.stringify(value);
    case 'number':
      return Number.isFinite(value) ? JSON.stringify(value) : undefined;
    case 'boolean':
      return value ? 'true' : 'false';
    case 'object':
      break;
    default:
      return undefined;
  }
  if (value === null) return 'null';
  if (depth >= MAX_CANONICAL_DEPTH) return undefined;
  const known = frozenText.get(value) ?? options.known?.get(value);
  if (known !== undefined) return known;
  if (Array.isArray(value)) {
    // JSON.stringify would call an array's own toJSON: the fallback decides.
    if (options.skipUndefined && hasOwn.call(value, 'toJSON')) return undefined;
    let out = '[';
    for (let i = 0; i < value.length; i++) {
      if (!hasOwn.call(value, i)) return undefined;
      const item = lean(value[i], depth + 1, options);
      if (item === undefined) return undefined;
      out += i === 0 ? item : ',' + item;
    }
    return out + ']';
  }
  if (!isPlainRecord(value)) return undefined;
  const keys = Object.keys(value).sort();
  let out = '{';
  let first = true;
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i]!;
    if (hasLoneSurrogate(key)) return undefined;
    const member = (value as Record<string, unknown>)[key];
    if (member === undefined && options.skipUndefined) continue;
    const item = lean(member, depth + 1, options);
    if (item === undefined) return undefined;
    out += (first ? '' : ',') + JSON.stringify(key) + ':' + item;
    first = false;
  }
  return out + '}';
}

/**
 * The canonical text of `value` as JSON would carry it: the same as
 * `canonicalize(JSON.parse(JSON.stringify(value)))` (undefined members left out, a Date as its
 * ISO text...), in one walk for plain data. What a disclosure's payload digest hashes.
 */
export function canonicalizeJsonData(value: unknown): string {
  return lean(value, 0, { skipUndefined: true }) ?? canonicalize(JSON.parse(JSON.stringify(value)) as unknown);
}

/**
 * `canonicalize(value)`, where the objects in `known` are written as the canonical text given
 * for them instead of walked again (RFC 8785's text of an object does not depend on where it
 * stands). For a document built around parts already canonicalised (a feed page's items, each
 * hashed for the audit): the signed bytes then hold exactly the text that was hashed. The caller
 * guarantees each text is its object's, and that the object has not changed since.
 */
export function canonicalizeWithKnown(value: unknown, known: ReadonlyMap<object, string>): string {
  if (known.size === 0) return canonicalize(value);
  return lean(value, 0, { known }) ?? canonicalize(value);
}

/**
 * Deep-freezes plain JSON data and remembers its canonical text, which every canonicalisation
 * after this writes in its place (canonicalize, canonicalizeJsonData, canonicalizeWithKnown) and
 * `canonicalTextOf` returns: for data made once and written many times, or made to be hashed and
 * then served as text. Frozen, it cannot drift from its text. Throws as `canonicalize` does for
 * anything that is not JSON data (an undefined member included).
 */
export function freezeWithCanonicalText<T>(value: T): T {
  if (typeof value !== 'object' || value === null || frozenText.has(value)) return value;
  // Data made with its keys in canonical order is written by JSON.stringify (native, one flat
  // string); otherwise the lean path sorts as it writes.
  let text: string;
  if (inCanonicalOrder(value, 0)) text = JSON.stringify(value);
  else {
    text = lean(value, 0) ?? canonicalizeStrictly(value);
    // Made by concatenation, the text is a rope of every piece: reading one character makes V8
    // flatten it into one string, and the pieces are garbage at once instead of kept with it.
    text.charCodeAt(0);
  }
  deepFreeze(value);
  frozenText.set(value, text);
  return value;
}

/** The text `freezeWithCanonicalText` remembered for this value, if it froze it. */
export function canonicalTextOf(value: object): string | undefined {
  return frozenText.get(value);
}

function deepFreeze(value: object): void {
  if (Object.isFrozen(value) && frozenText.has(value)) return;
  for (const member of Object.values(value)) if (typeof member === 'object' && member !== null) deepFreeze(member as object);
  Object.freeze(value);
}

export function canonicalBytes(value: unknown): Uint8Array {
  return new TextEncoder().encode(canonicalize(value));
}

/**
 * `at` is the path of the value as keys and indices; it becomes a JSON pointer only when an
 * error needs one (every inbound document is canonicalised, and most never fail).
 */
function pointer(at: Array<string | number>): string {
  return at.map((k) => `/${typeof k === 'number' ? k : escapePointerToken(k)}`).join('');
}

function serialize(value: unknown, at: Array<string | number>, ancestors: Set<object>, depth: number, out: string[]): void {
  switch (typeof value) {
    case 'string':
      out.push(serializeString(value, at));
      return;
    case 'number':
      if (!Number.isFinite(value)) {
        throw new CanonicalizationError(`non-finite number ${String(value)} is not representable in JSON`, pointer(at));
      }
      // ECMAScript Number serialization is exactly what RFC 8785 section 3.2.2.3 mandates (-0 becomes 0).
      out.push(JSON.stringify(value));
      return;
    case 'boolean':
      out.push(value ? 'true' : 'false');
      return;
    case 'undefined':
      throw new CanonicalizationError('undefined is not a JSON value', pointer(at));
    case 'bigint':
      throw new CanonicalizationError('bigint is not a JSON value', pointer(at));
    case 'symbol':
      throw new CanonicalizationError('symbol is not a JSON value', pointer(at));
    case 'function':
      throw new CanonicalizationError('function is not a JSON value', pointer(at));
    case 'object':
      break;
  }

  if (value === null) {
    out.push('null');
    return;
  }
  const container = value as object;

  if (depth >= MAX_CANONICAL_DEPTH) {
    throw new CanonicalizationError(`nesting deeper than ${MAX_CANONICAL_DEPTH} levels`, pointer(at));
  }
  // Only the current ancestry counts: the same object appearing twice in sibling positions is a DAG, not a cycle.
  if (ancestors.has(container)) {
    throw new CanonicalizationError('cyclic structure', pointer(at));
  }
  ancestors.add(container);

  if (Array.isArray(container)) {
    out.push('[');
    for (let i = 0; i < container.length; i++) {
      at.push(i);
      if (!Object.prototype.hasOwnProperty.call(container, i)) {
        throw new CanonicalizationError('sparse array hole', pointer(at));
      }
      if (i > 0) out.push(',');
      serialize(container[i], at, ancestors, depth + 1, out);
      at.pop();
    }
    out.push(']');
  } else {
    const proto: unknown = Object.getPrototypeOf(container);
    if (proto !== Object.prototype && proto !== null) {
      // Dates, Maps, Buffers, class instances: JSON.stringify would coerce or drop them.
      const kind = (container as { constructor?: { name?: unknown } }).constructor?.name;
      throw new CanonicalizationError(`non-plain object (${typeof kind === 'string' ? kind : 'unknown'})`, pointer(at));
    }
    if (Object.getOwnPropertySymbols(container).some((s) => Object.prototype.propertyIsEnumerable.call(container, s))) {
      throw new CanonicalizationError('symbol-keyed property', pointer(at));
    }
    // Default sort compares UTF-16 code units, which is the order RFC 8785 section 3.2.3 requires.
    const keys = Object.keys(container).sort();
    out.push('{');
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i] as string;
      at.push(key);
      if (i > 0) out.push(',');
      out.push(serializeString(key, at), ':');
      serialize((container as Record<string, unknown>)[key], at, ancestors, depth + 1, out);
      at.pop();
    }
    out.push('}');
  }

  ancestors.delete(container);
}

function serializeString(s: string, at: Array<string | number>): string {
  // I-JSON (which JCS builds on) forbids them, and UTF-8 cannot encode them faithfully.
  if (hasLoneSurrogate(s)) {
    throw new CanonicalizationError('string contains a lone surrogate', pointer(at));
  }
  return JSON.stringify(s);
}

function escapePointerToken(key: string): string {
  return key.replace(/~/g, '~0').replace(/\//g, '~1');
}
