import Type, { type Static, type TSchema } from 'typebox';
import Format from 'typebox/format';
import { isRfc3339DateTime } from '../src/util/date-time.js';

// Every schema's `date-time` follows the node's one rule (src/util/date-time.ts), not TypeBox's
// wider one (which admits year 0000, leap seconds and RFC 9557 suffixes that no Date or
// PostgreSQL timestamp holds). Set here, where every schema with a date-time gets its type from.
Format.Set('date-time', isRfc3339DateTime);

/** Shared wire types. Every object is closed (additionalProperties: false): unknown fields are a 400, not silently dropped. */

/** Where `named` keeps a schema's name: a symbol, which JSON, Ajv and TypeBox's checks never read. */
export const SCHEMA_NAME = Symbol.for('hikeshi.schemaName');

/**
 * A named schema: one component of the OpenAPI document (`#/components/schemas/<name>`),
 * referenced with `$ref` wherever a route uses it, so a generated client has one `Incident` type
 * instead of a copy per operation. The name is the export's without `Schema`, unique across
 * schemas/ (test/app/openapi-operations.test.ts checks). Name request bodies and responses;
 * query, params and headers stay inline (they become OpenAPI parameters).
 *
 * The name is not an `$id`: the schemas the node validates and serializes with stay exactly as
 * they were (fast-json-stringify's Ajv refuses one `$id` met twice in a union). Only the copy the
 * OpenAPI document is built from gets `$id`s (src/http/openapi-names.ts). The symbol is
 * enumerable so that `Type.Optional(...)` copies carry it; the copy keeps TypeBox's
 * non-enumerable kind marker, which a spread would drop.
 */
export function named<T extends TSchema>(name: string, schema: T): T {
  const copy = Object.create(Object.getPrototypeOf(schema), Object.getOwnPropertyDescriptors(schema)) as T;
  Object.defineProperty(copy, SCHEMA_NAME, { value: name, enumerable: true, writable: false, configurable: true });
  return copy;
}

export const TLP_LABELS = ['CLEAR', 'GREEN', 'AMBER', 'AMBER+STRICT', 'RED'] as const;
export const TlpSchema = Type.Enum(TLP_LABELS, {
  description: 'Traffic Light Protocol 2.0 label (FIRST).',
});
export type Tlp = Static<typeof TlpSchema>;

export const DateTimeSchema = Type.String({
  format: 'date-time',
  description:
    "RFC 3339 date-time with any offset (Z or ±hh:mm), year 0001-9999, seconds 00-59 (a leap second is refused). Times a person gives (an incident's firstSeen, lastSeen, systemChanges[].at, evidence[].collectedAt) are kept as written, offset and fraction included; times the node sets are UTC.",
});

export const UuidSchema = Type.String({ format: 'uuid' });

export const ProblemSchema = Type.Object(
  {
    type: Type.String({ description: 'urn:hikeshi:problem:<code>' }),
    title: Type.String(),
    status: Type.Integer(),
    code: Type.String({ description: 'Stable error code, listed in docs/errors.md.' }),
    detail: Type.Optional(Type.String()),
    instance: Type.Optional(Type.String()),
    errors: Type.Optional(
      Type.Array(
        Type.Object({
          location: Type.String(),
          pointer: Type.String(),
          message: Type.String(),
          params: Type.Optional(Type.Object({}, { additionalProperties: true })),
        }),
      ),
    ),
  },
  { additionalProperties: true, description: 'RFC 9457 problem details.' },
);
export type Problem = Static<typeof ProblemSchema>;

const s = (max = 500) => Type.String({ minLength: 1, maxLength: max });
export const ShortText = s;

/** A person or mailbox as §7 asks: at least phone and e-mail, if possible postal address, fax, mobile. */
export const ContactSchema = named(
  'Contact',
  Type.Object(
    {
      name: s(200),
      organisation: Type.Optional(s(200)),
      email: Type.Optional(Type.String({ format: 'email', maxLength: 320 })),
      phone: Type.Optional(s(64)),
      fax: Type.Optional(s(64)),
      mobile: Type.Optional(s(64)),
      postalAddress: Type.Optional(s(1000)),
      timeZone: Type.Optional(s(64)),
      language: Type.Optional(s(35)),
    },
    { additionalProperties: false },
  ),
);
export type Contact = Static<typeof ContactSchema>;

export const CidrSchema = Type.String({
  maxLength: 49,
  description: 'IPv4 or IPv6 network in CIDR notation, e.g. 192.0.2.0/24 or 2001:db8::/32.',
});
export const AsnSchema = Type.Integer({ minimum: 0, maximum: 4294967295, description: 'Autonomous system number.' });
export const DomainSchema = Type.String({
  minLength: 1,
  maxLength: 253,
  pattern: '^(?=.{1,253}$)([A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9])?\\.)*[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\\.?$',
});

export const PageQuerySchema = {
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 50 })),
  cursor: Type.Optional(Type.String({ maxLength: 200, description: 'Opaque cursor from a previous page.' })),
};

/**
 * An error answer as the OpenAPI document declares it: RFC 9457 problem details under their own
 * media type, `application/problem+json`, which is what the error handler sends. Generated
 * clients then know an error body from a success body by its type.
 */
export const ProblemResponse = {
  description: 'Problem details (RFC 9457). `code` is stable and listed in docs/errors.md.',
  // One named schema (components/schemas/Problem, registered in app.ts): generated clients get
  // one Problem type, not one per operation and status.
  content: { 'application/problem+json': { schema: { $ref: 'Problem#' } } },
} as const;

export const errorResponses = {
  400: ProblemResponse,
  401: ProblemResponse,
  403: ProblemResponse,
  404: ProblemResponse,
  413: ProblemResponse,
  415: ProblemResponse,
  500: ProblemResponse,
} as const;
