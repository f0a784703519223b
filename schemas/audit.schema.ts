import Type, { type Static } from 'typebox';
import { DateTimeSchema, UuidSchema, named } from './common.schema.js';

/**
 * The audit log on the wire. An item is exactly what its hash covers plus the hash itself:
 * `hash = SHA-256(RFC 8785 canonical JSON of the item without "hash")`, hex, so anyone holding
 * an export can re-check it without the node (src/modules/audit/audit-chain.ts).
 */

const hashSchema = (description: string) => Type.String({ pattern: '^[0-9a-f]{64}$', description });
const HashSchema = hashSchema('SHA-256, lowercase hex.');

export const AuditEntrySchema = named(
  'AuditEntry',
  Type.Object(
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
  ),
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

export const AuditPageSchema = named(
  'AuditPage',
  Type.Object(
    {
      items: Type.Array(AuditEntrySchema),
      nextCursor: Type.Union([Type.String(), Type.Null()], {
        description: 'Pass as ?cursor= for the next page; null at the end.',
      }),
    },
    { additionalProperties: false },
  ),
);
export type AuditPage = Static<typeof AuditPageSchema>;

export const AUDIT_BREAK_REASONS = ['entry-altered', 'chain-broken', 'tail-removed', 'entry-rewritten'] as const;

const ChainHeadSchema = Type.Union([Type.Object({ seq: Type.Integer(), hash: HashSchema }, { additionalProperties: false }), Type.Null()], {
  description: 'The last entry of the intact chain: record it elsewhere to detect a truncated tail later.',
});

export const WITNESS_CHECK_STATUSES = ['confirmed', 'contradicted', 'unreachable', 'none-witnessed', 'invalid'] as const;

/** One witness's answer, as `GET /audit/verify?witnesses=true` reports it. */
export const WitnessCheckSchema = named(
  'WitnessCheck',
  Type.Object(
    {
      team: Type.String({ description: 'The witness, by team id.' }),
      status: Type.Enum(WITNESS_CHECK_STATUSES, {
        description:
          'confirmed: the chain holds every head the witness returned (with its hash) and reaches the newest; contradicted: it does not (or the witness flagged a head as a conflict); unreachable: no answer, or a refusal; none-witnessed: the witness holds no head of ours yet; invalid: what it returned does not verify against our keys.',
      }),
      detail: Type.String(),
      head: Type.Union(
        [
          Type.Object(
            {
              seq: Type.Integer(),
              hash: HashSchema,
              at: DateTimeSchema,
              receivedAt: DateTimeSchema,
              conflict: Type.Boolean(),
            },
            { additionalProperties: false },
          ),
          Type.Null(),
        ],
        { description: 'The newest head (highest seq) the witness returned that verifies against our keys.' },
      ),
      localCopy: Type.Union(
        [
          Type.Object(
            { seq: Type.Integer(), hash: HashSchema, messageId: UuidSchema, deliveredAt: DateTimeSchema, inChain: Type.Boolean() },
            { additionalProperties: false },
          ),
          Type.Null(),
        ],
        {
          description:
            'For a witness that could not be asked: the newest head we delivered to it (our outbox keeps the signed document and its receipt), and whether the chain still holds it. A fallback signal; the witness is the authority.',
        },
      ),
    },
    { additionalProperties: false },
  ),
);
export type WitnessCheck = Static<typeof WitnessCheckSchema>;

const WitnessesReportSchema = Type.Optional(
  Type.Object(
    {
      checked: Type.Integer({ minimum: 0, description: 'Witnesses asked (active coordinators and HIKESHI_AUDIT_WITNESSES).' }),
      reached: Type.Integer({ minimum: 0, description: 'Witnesses that answered.' }),
      items: Type.Array(WitnessCheckSchema),
    },
    { additionalProperties: false, description: 'Only with ?witnesses=true.' },
  ),
);

export const AuditVerifyQuerySchema = Type.Object(
  {
    witnesses: Type.Optional(
      Type.Boolean({
        description:
          "Also ask each witness for the heads of this node's chain it holds, and check the chain against them: a removed tail or a rewritten entry then fails.",
      }),
    ),
  },
  { additionalProperties: false },
);
export type AuditVerifyQuery = Static<typeof AuditVerifyQuerySchema>;

export const AuditVerifyOkSchema = named(
  'AuditVerifyOk',
  Type.Object(
    {
      ok: Type.Literal(true),
      entries: Type.Integer({ minimum: 0, description: 'Entries checked: all of them.' }),
      head: ChainHeadSchema,
      witnesses: WitnessesReportSchema,
    },
    { additionalProperties: false },
  ),
);

export const AuditVerifyBrokenSchema = named(
  'AuditVerifyBroken',
  Type.Object(
    {
      ok: Type.Literal(false),
      brokenAt: Type.Integer({ description: 'seq of the first entry that does not verify.' }),
      reason: Type.Enum(AUDIT_BREAK_REASONS, {
        description:
          'entry-altered: the entry no longer matches its own hash (edited); chain-broken: its prevHash is not the hash of the entry before it (an entry was removed, inserted or rewritten before it); tail-removed: a witness holds a head this node signed that the chain no longer reaches (its newest entries were removed); entry-rewritten: the chain holds the witnessed seq with another hash (rewritten from there on). The last two only with ?witnesses=true.',
      }),
      detail: Type.String(),
      entries: Type.Integer({ minimum: 0, description: 'Entries that verified before the broken one.' }),
      head: ChainHeadSchema,
      witnesses: WitnessesReportSchema,
    },
    { additionalProperties: false },
  ),
);

export const AuditVerifyResultSchema = named('AuditVerifyResult', Type.Union([AuditVerifyOkSchema, AuditVerifyBrokenSchema]));
export type AuditVerifyResult = Static<typeof AuditVerifyResultSchema>;

/** The head of the chain as an anchor carries it: the newest entry's seq, hash and time. */
export const AuditHeadSchema = named(
  'AuditHead',
  Type.Object({ seq: Type.Integer({ minimum: 1 }), hash: HashSchema, at: DateTimeSchema }, { additionalProperties: false }),
);
export type AuditHead = Static<typeof AuditHeadSchema>;

export const ANCHOR_STATUSES = ['queued', 'unchanged', 'skipped'] as const;

export const AuditAnchorResultSchema = named(
  'AuditAnchorResult',
  Type.Object(
    {
      head: Type.Union([AuditHeadSchema, Type.Null()], {
        description: 'The head anchored: the chain as it was before this anchoring was recorded in it. Null for an empty chain.',
      }),
      witnesses: Type.Array(
        Type.Object(
          {
            team: Type.String({ description: 'The witness, by team id.' }),
            status: Type.Enum(ANCHOR_STATUSES, {
              description:
                "queued: a signed audit.head is in the outbox for it; unchanged: the chain did not move since the head last sent to it (only the anchoring's own records and audit.head receipts came after); skipped: not a peer here, or not active.",
            }),
            messageId: Type.Union([UuidSchema, Type.Null()], { description: 'The audit.head message, when queued.' }),
            detail: Type.String(),
          },
          { additionalProperties: false },
        ),
      ),
    },
    { additionalProperties: false },
  ),
);
export type AuditAnchorResult = Static<typeof AuditAnchorResultSchema>;
