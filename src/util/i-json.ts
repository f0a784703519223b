/**
 * I-JSON (RFC 7493), which RFC 8785 canonical JSON and therefore every signed document requires,
 * and which every JSON body the node accepts must be:
 *
 * - no member name twice in one object: `JSON.parse` keeps the last one silently, so a body
 *   `{"tlp":"CLEAR","tlp":"RED"}` would be stored RED while a reader of the text sees CLEAR, and
 *   a signed document's text and the data filed from it could disagree;
 * - no lone UTF-16 surrogate in a string (not Unicode text: PostgreSQL refuses it);
 * - no NUL character in a string (PostgreSQL's text cannot hold one).
 *
 * `parseIJson` parses with `JSON.parse` (fast, and the one syntax authority) and then scans the
 * text once for what it cannot see. Only strings that contain an escape are decoded again.
 */

export class IJsonError extends Error {
  /** JSON pointer of the offending member or string ('' for the whole text). */
  readonly pointer: string;
  readonly reason: 'syntax' | 'duplicate-member' | 'nul' | 'lone-surrogate' | 'too-deep' | 'forbidden-member';
  constructor(reason: IJsonError['reason'], pointer: string, message: string) {
    super(message);
    this.reason = reason;
    this.pointer = pointer;
  }
}

/** A NUL, or a surrogate half without its other half (no `u` flag: it must see code units). */
// eslint-disable-next-line no-control-regex -- NUL is exactly what this looks for
const BAD_CHARACTER_UNITS = /\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** What is wrong with a string as text the node can keep, or null. */
export function badCharacterIn(text: string): 'nul' | 'lone-surrogate' | null {
  const match = BAD_CHARACTER_UNITS.exec(text);
  if (!match) return null;
  return match[0] === '\u0000' ? 'nul' : 'lone-surrogate';
}

/** Deeper nesting than any document of ours has; refused before it can cost a stack. */
export const MAX_JSON_DEPTH = 64;

function escapePointerToken(token: string): string {
  return token.replace(/~/g, '~0').replace(/\//g, '~1');
}

interface Frame {
  kind: 'object' | 'array';
  /** Object: names seen. */
  names: Set<string> | null;
  /** Array: index of the next element. */
  index: number;
  /** Object: the name whose value comes next. */
  pending: string | null;
  pointer: string;
}

/** Parses `text` as I-JSON, or throws IJsonError naming where it is not. */
export function parseIJson(text: string): unknown {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new IJsonError('syntax', '', (err as Error).message);
  }
  checkIJsonText(text);
  return value;
}

/**
 * The scan behind parseIJson, on text `JSON.parse` accepted (so its structure is sound and only
 * strings need care). Throws IJsonError.
 */
export function checkIJsonText(text: string): void {
  const stack: Frame[] = [];
  const here = (): string => {
    const top = stack[stack.length - 1];
    if (!top) return '';
    if (top.kind === 'array') return `${top.pointer}/${top.index}`;
    return top.pending === null ? top.pointer : `${top.pointer}/${escapePointerToken(top.pending)}`;
  };
  let i = 0;
  const n = text.length;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c === 0x22 /* " */) {
      let j = i + 1;
      let escaped = false;
      for (;;) {
        const d = text.charCodeAt(j);
        if (d === 0x5c /* \ */) {
          escaped = true;
          j += 2;
          continue;
        }
        if (d === 0x22) break;
        j++;
      }
      const raw = text.slice(i + 1, j);
      const decoded = escaped ? (JSON.parse(text.slice(i, j + 1)) as string) : raw;
      const top = stack[stack.length - 1];
      const isName = top?.kind === 'object' && top.pending === null;
      const pointer = isName ? `${top.pointer}/${escapePointerToken(decoded)}` : here();
      const bad = badCharacterIn(decoded);
      if (bad) {
        throw new IJsonError(
          bad,
          pointer,
          bad === 'nul' ? `${pointer || '/'}: a string holds a NUL character` : `${pointer || '/'}: a string holds a lone UTF-16 surrogate`,
        );
      }
      if (isName) {
        // Names that reach an object's prototype when copied by assignment: never data of ours.
        if (decoded === '__proto__' || (decoded === 'prototype' && top.pointer.endsWith('/constructor')))
          throw new IJsonError('forbidden-member', pointer, `${pointer}: the member name "${decoded}" is not accepted`);
        if (top.names!.has(decoded)) throw new IJsonError('duplicate-member', pointer, `${pointer}: the member name appears twice`);
        top.names!.add(decoded);
        top.pending = decoded;
      }
      i = j + 1;
      continue;
    }
    if (c === 0x7b /* { */ || c === 0x5b /* [ */) {
      if (stack.length >= MAX_JSON_DEPTH) throw new IJsonError('too-deep', here(), `nested deeper than ${MAX_JSON_DEPTH} levels`);
      const pointer = here();
      stack.push(
        c === 0x7b
          ? { kind: 'object', names: new Set(), index: 0, pending: null, pointer }
          : { kind: 'array', names: null, index: 0, pending: null, pointer },
      );
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
      stack.pop();
    } else if (c === 0x2c /* , */) {
      const top = stack[stack.length - 1]!;
      if (top.kind === 'array') top.index++;
      else top.pending = null;
    }
    i++;
  }
}
