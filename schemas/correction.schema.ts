import Type, { type Static } from 'typebox';
import { DateTimeSchema, TlpSchema, named } from './common.schema.js';

/**
 * Corrections that follow the copies (issue 15 part 4; docs/federation-protocol.md §5.19, §5.20;
 * ADR 0018). The originator of a report re-labels or retracts it with a statement signed by its
 * own node key; the statement travels, unchanged, inside an `incident.correction` message to
 * every team holding a copy, hop by hop along the report's provenance, and each hop's
 * acknowledgement travels back as its receipt or as an `incident.correction-ack`. Every object
 * is closed.
 */

const TeamIdSchema = Type.String({ pattern: '^[a-z0-9][a-z0-9-]{1,62}$', description: 'A team id.' });
const RefSchema = (description: string) => Type.String({ minLength: 1, maxLength: 200, description });
const UtcSchema = Type.String({
  format: 'date-time',
  pattern: '^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}(\\.\\d{1,9})?Z$',
  description: 'RFC 3339 date-time in UTC (ending in Z).',
});

export const CORRECTION_KINDS = ['relabel', 'retract'] as const;
export type CorrectionKind = (typeof CORRECTION_KINDS)[number];
export const RETRACTION_REASONS = ['false-positive', 'hoax', 'mistaken', 'other'] as const;
export type RetractionReason = (typeof RETRACTION_REASONS)[number];
const ReasonSchema = Type.Enum(RETRACTION_REASONS, { description: 'Why the originator retracts the report.' });
const NoteSchema = Type.String({ minLength: 1, maxLength: 2000, description: "The originator's words to every holder." });

/** The statement the originator signs: what it corrects and how. */
export const CorrectionStatementSchema = named(
  'CorrectionStatement',
  Type.Object(
    {
      v: Type.Literal(1),
      type: Type.Literal('incident.correction'),
      id: Type.String({ format: 'uuid', description: 'The correction id: the same at every holder.' }),
      originator: TeamIdSchema,
      originatorRef: RefSchema("The originator's reference number for the report: the report's identity along its provenance."),
      kind: Type.Enum(CORRECTION_KINDS),
      tlp: Type.Optional(TlpSchema),
      reason: Type.Optional(ReasonSchema),
      note: Type.Optional(NoteSchema),
      issued: UtcSchema,
    },
    {
      additionalProperties: false,
      description: 'relabel carries tlp (the label the report now carries); retract carries reason (and may carry note).',
    },
  ),
);
export type CorrectionStatement = Static<typeof CorrectionStatementSchema>;

/** The statement with the originator's detached signature over its RFC 8785 canonical bytes. */
export const SignedCorrectionSchema = named(
  'SignedCorrection',
  Type.Object(
    {
      document: CorrectionStatementSchema,
      signature: Type.String({
        minLength: 1,
        maxLength: 64 * 1024,
        description: "Armored OpenPGP detached signature by the originator's node key over the canonical bytes of `document`.",
      }),
    },
    { additionalProperties: false },
  ),
);
export type SignedCorrection = Static<typeof SignedCorrectionSchema>;

/** incident.correction: one hop of a correction on its way to every copy. */
export const IncidentCorrectionBodySchema = named(
  'IncidentCorrectionBody',
  Type.Object(
    {
      ref: RefSchema("The sender's reference number for its copy (as in the report it sent)."),
      peerRef: Type.Optional(RefSchema("The receiver's reference number for its copy, when the sender knows it from the receipt.")),
      correction: SignedCorrectionSchema,
      originatorKey: Type.Optional(
        Type.String({
          minLength: 1,
          maxLength: 64 * 1024,
          description:
            "The originator's armored public key, as the forwarding holder verified the statement with; absent when the originator sends. A receiver that pinned the originator's key uses its own pin.",
        }),
      ),
    },
    { additionalProperties: false },
  ),
);
export type IncidentCorrectionBody = Static<typeof IncidentCorrectionBodySchema>;

export const CORRECTION_ACK_STATUSES = ['applied', 'pending'] as const;
export type CorrectionAckStatus = (typeof CORRECTION_ACK_STATUSES)[number];

/** incident.correction-ack: a holder further down acknowledged a correction; sent to the team the correction came from. */
export const IncidentCorrectionAckBodySchema = named(
  'IncidentCorrectionAckBody',
  Type.Object(
    {
      correctionId: Type.String({ format: 'uuid' }),
      originator: TeamIdSchema,
      holder: TeamIdSchema,
      status: Type.Enum(CORRECTION_ACK_STATUSES, {
        description: 'applied: the copy is corrected; pending: the holder keeps the correction until the report reaches it.',
      }),
      holderRef: Type.Optional(RefSchema("The holder's reference number for its copy.")),
      at: UtcSchema,
    },
    { additionalProperties: false },
  ),
);
export type IncidentCorrectionAckBody = Static<typeof IncidentCorrectionAckBodySchema>;

// ---------------------------------------------------------------------------------------------
// /api/v1

export const CorrectionCreateSchema = named(
  'CorrectionCreate',
  Type.Object(
    {
      kind: Type.Enum(CORRECTION_KINDS),
      tlp: Type.Optional(TlpSchema),
      reason: Type.Optional(ReasonSchema),
      note: Type.Optional(NoteSchema),
    },
    { additionalProperties: false, description: 'relabel: tlp required; retract: reason required, note optional.' },
  ),
);
export type CorrectionCreate = Static<typeof CorrectionCreateSchema>;

/** How a retracted report is marked on every copy (GET /api/v1/incidents/{ref}: `retracted`). */
export const RetractionSchema = named(
  'Retraction',
  Type.Object(
    {
      correctionId: Type.String({ format: 'uuid' }),
      originator: TeamIdSchema,
      reason: ReasonSchema,
      note: Type.Union([NoteSchema, Type.Null()]),
      at: DateTimeSchema,
    },
    { additionalProperties: false },
  ),
);
export type Retraction = Static<typeof RetractionSchema>;

const HolderSchema = Type.Object(
  {
    team: Type.String(),
    via: Type.String({ description: 'The team whose receipt or incident.correction-ack told us (the holder itself for a direct copy).' }),
    status: Type.Enum(['acknowledged', 'pending', 'waiting'], {
      description:
        'acknowledged: the copy is corrected (signed receipt or ack); pending: the holder keeps it until the report reaches it; waiting: no acknowledgement yet.',
    }),
    holderRef: Type.Union([Type.String(), Type.Null()]),
    at: Type.Union([DateTimeSchema, Type.Null()]),
  },
  { additionalProperties: false },
);

export const CorrectionViewSchema = named(
  'CorrectionView',
  Type.Object(
    {
      id: Type.String({ format: 'uuid' }),
      kind: Type.Enum(CORRECTION_KINDS),
      tlp: Type.Union([TlpSchema, Type.Null()]),
      reason: Type.Union([ReasonSchema, Type.Null()]),
      note: Type.Union([Type.String(), Type.Null()]),
      originator: Type.String(),
      originatorRef: Type.String(),
      state: Type.Enum(['issued', 'applied', 'pending', 'refused'], {
        description:
          'issued: ours; applied: applied to our copy; pending: kept until the report arrives; refused: the report arrived and showed the sender had no say.',
      }),
      receivedFrom: Type.Union([Type.String(), Type.Null()]),
      outcome: Type.Union([Type.String(), Type.Null()]),
      createdAt: DateTimeSchema,
      holders: Type.Array(HolderSchema, {
        description: 'Every team known to hold a copy below us: direct holders and those further down, as acknowledgements tell.',
      }),
      noteRedacted: Type.Optional(
        Type.Array(Type.Enum(['reporter', 'poc', 'victims', 'internalHosts'] as const), {
          description:
            "Only in the answer to issuing a retraction whose note named someone: the sections whose identifiers were scrubbed from the note. The note goes signed to every holder, however many hops away and whatever each one's redaction, so it names no reporter, POC, victim or internal host.",
        }),
      ),
    },
    { additionalProperties: false },
  ),
);
export type CorrectionView = Static<typeof CorrectionViewSchema>;

export const CorrectionListSchema = named(
  'CorrectionList',
  Type.Object({ items: Type.Array(CorrectionViewSchema) }, { additionalProperties: false }),
);
