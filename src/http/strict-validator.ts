import type { FastifySchemaCompiler } from 'fastify';
import type { TSchema } from 'typebox';
import type { Compile } from 'typebox/compile';
import { compiledValidator } from '../util/compile-on-first-use.js';

/**
 * Request validation with TypeBox, converting query strings, path parameters and headers
 * strictly. The type provider's own compiler converts with `Value.Convert`, which truncates
 * `?limit=2.5` to 2, reads `0x10` as 16 and an empty value as 0: a client with a bug would get
 * an answer to a question it did not ask. Here a text becomes a number only when it is written
 * as one (an integer: digits only), and a boolean only when it is `true` or `false`; anything
 * else stays text and fails the schema with a pointer to the parameter. Bodies are JSON and are
 * never converted.
 */
const INTEGER = /^-?(?:0|[1-9][0-9]*)$/;
const NUMBER = /^-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?$/;

function convertText(schema: TSchema | undefined, text: string): unknown {
  switch ((schema as { type?: unknown } | undefined)?.type) {
    case 'integer':
      return INTEGER.test(text) && Number.isSafeInteger(Number(text)) ? Number(text) : text;
    case 'number':
      return NUMBER.test(text) ? Number(text) : text;
    case 'boolean':
      return text === 'true' ? true : text === 'false' ? false : text;
    default:
      return text;
  }
}

/** Converts the top-level values of a flat object (query, params, headers) by their schemas. */
export function convertStrictly(schema: TSchema, value: unknown): unknown {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return value;
  const properties = (schema as { properties?: Record<string, TSchema> }).properties ?? {};
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) {
    out[key] = typeof v === 'string' && Object.hasOwn(properties, key) ? convertText(properties[key], v) : v;
  }
  return out;
}

export const strictValidatorCompiler: FastifySchemaCompiler<TSchema> = ({ schema, httpPart }) => {
  // Compiled on the route's first request, not while the app is built: most of a node's routes
  // are not called in its first seconds, and compiling them all was part of every start (ADR 0031).
  let check: ReturnType<typeof Compile<TSchema>> | undefined;
  return (value: unknown) => {
    check ??= compiledValidator(schema);
    const converted = httpPart === 'body' ? value : convertStrictly(schema, value);
    if (check.Check(converted)) return { value: converted };
    return { error: check.Errors(converted) as never };
  };
};
