import Type, { type Static } from 'typebox';
import { DateTimeSchema, UuidSchema } from './common.schema.js';

/**
 * The audit log on the wire. An item is exactly what its hash covers plus the hash itself:
 * `hash = SHA-256(RFC 8785 canonical JSON of the item without "hash")`, hex, so anyone holding
 * an export can re-check it without the node (src/modules/audit/audit-chain.ts).
 */

const hashSchema = (description: string) => Type.String({ pattern: '^[0-9a-f]{64}$', description });
const HashSchema = hashSchema('SHA-256, lowercase hex.');

export const AuditEntrySchema = Type.Object(
  {
    seq: Type.Integer({
      minimum: 1,
      description: 'Position in the chain; increasing, gaps possible (a rolled-back append).',
    }),
    at: DateTimeSchema,
    kind: Type.String({ description: 'What was recorded, e.g. disclosure, receipt, quarantine, trust-change.' }),
    actor: Type.String({ description: 'Who acted: a token subject, a peer team, or the node itself.' }),
    incidentId: Type.Union([UuidSchema, Type.Null()]),
    peer: Type.Union([Type.String(), Type.Null()], { description: 'The other team concerned, by team id.' }),
    decision: Type.Union([Type.String(), Type.Null()], { description: 'allow | deny for decisions; null otherwise.' }),
    details: Type.Object(
      {},
      {
        additionalProperties: true,
        description: 'Ids, reasons, policy version, digests: never tokens, keys or incident content.',
      },
    ),
    prevHash: hashSchema('Hash of the previous entry; 64 zeros for the first.'),
    hash: HashSchema,
  },
  { additionalProperties: false },
);
export type AuditEntry = Static<typeof AuditEntrySchema>;

export const AUDIT_ORDERS = ['asc', 'desc'] as const;

export const AuditListQuerySchema = Type.Object(
  {
    incident: Type.Optional(Type.String({ format: 'uuid', description: 'Incident id.' })),
    peer: Type.Optional(Type.String({ minLength: 1, maxLength: 200, description: 'Team id of the peer concerned.' })),
    kind: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
    decision: Type.Optional(Type.Enum(['allow', 'deny'])),
    since: Type.Optional(
      Type.String({
        format: 'date-time',
        description: 'Entries at or after this instant (RFC 3339; URL-encode a "+" offset as %2B).',
      }),
    ),
    until: Type.Optional(Type.String({ format: 'date-time', description: 'Entries strictly before this instant.' })),
    order: Type.Optional(Type.Enum(AUDIT_ORDERS, { description: 'By seq: asc (oldest first, the default) or desc.' })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, description: 'Page size, 50 by default.' })),
    cursor: Type.Optional(
      Type.String({
        maxLength: 200,
        description: 'Opaque cursor from a previous page, with the same filters and order.',
      }),
    ),
  },
  { additionalProperties: false },
);
export type AuditListQuery = Static<typeof AuditListQuerySchema>;

export const AuditPageSchema = Type.Object(
  {
    items: Type.Array(AuditEntrySchema),
    nextCursor: Type.Union([Type.String(), Type.Null()], {
      description: 'Pass as ?cursor= for the next page; null at the end.',
    }),
  },
  { additionalProperties: false },
);
export type AuditPage = Static<typeof AuditPageSchema>;

export const AUDIT_BREAK_REASONS = ['entry-altered', 'chain-broken'] as const;

const ChainHeadSchema = Type.Union([Type.Object({ seq: Type.Integer(), hash: HashSchema }, { additionalProperties: false }), Type.Null()], {
  description: 'The last entry of the intact chain: record it elsewhere to detect a truncated tail later.',
});

export const AuditVerifyOkSchema = Type.Object(
  {
    ok: Type.Literal(true),
    entries: Type.Integer({ minimum: 0, description: 'Entries checked: all of them.' }),
    head: ChainHeadSchema,
  },
  { additionalProperties: false },
);

export const AuditVerifyBrokenSchema = Type.Object(
  {
    ok: Type.Literal(false),
    brokenAt: Type.Integer({ description: 'seq of the first entry that does not verify.' }),
    reason: Type.Enum(AUDIT_BREAK_REASONS, {
      description:
        'entry-altered: the entry no longer matches its own hash (edited); chain-broken: its prevHash is not the hash of the entry before it (an entry was removed, inserted or rewritten before it).',
    }),
    detail: Type.String(),
    entries: Type.Integer({ minimum: 0, description: 'Entries that verified before the broken one.' }),
    head: ChainHeadSchema,
  },
  { additionalProperties: false },
);

export const AuditVerifyResultSchema = Type.Union([AuditVerifyOkSchema, AuditVerifyBrokenSchema]);
export type AuditVerifyResult = Static<typeof AuditVerifyResultSchema>;
