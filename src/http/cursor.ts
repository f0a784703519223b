import { ProblemError } from './problem.js';

/**
 * Opaque keyset cursors: base64url of a small JSON object. Clients must not build them; the
 * server can change what is inside without breaking anyone.
 */
export function encodeCursor(position: Record<string, string | number>): string {
  return Buffer.from(JSON.stringify(position)).toString('base64url');
}

const invalidCursor = () =>
  new ProblemError('validation-failed', 'cursor is not valid', {
    errors: [{ location: 'querystring', pointer: '/cursor', message: 'not a cursor this node issued' }],
  });

export function decodeCursor<K extends string>(cursor: string, keys: Record<K, 'string' | 'number'>): Record<K, string | number> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw invalidCursor();
  }
  if (typeof parsed !== 'object' || parsed === null) throw invalidCursor();
  const out = {} as Record<K, string | number>;
  for (const [key, type] of Object.entries(keys) as Array<[K, 'string' | 'number']>) {
    const value = (parsed as Record<string, unknown>)[key];
    if (typeof value !== type || (type === 'number' && !Number.isSafeInteger(value))) {
      throw invalidCursor();
    }
    out[key] = value as string | number;
  }
  return out;
}
