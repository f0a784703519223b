import Type, { type Static } from 'typebox';
import { DateTimeSchema, TlpSchema, UuidSchema, named } from './common.schema.js';
import { IncidentSchema } from './incident.schema.js';
import {
  ActivitySummarySchema,
  AssuranceSchema,
  DetailSchema,
  MembershipLevelSchema,
  POLICY_RULES,
  ProvenanceHopSchema,
  ProvenanceSchema,
  PurposeSchema,
  RedactionSchema,
  ScrubbedSchema,
  RelationshipSchema,
  SectionMinimumsSchema,
  TrustLevelSchema,
} from './policy.schema.js';

/**
 * The sharing service on the wire (docs/trust-model.md "Where the policy runs"): per-incident
 * policy facts, law-enforcement approvals, a peer's effective trust, and the explain answer.
 * The decision inside is the pure policy's (schemas/policy.schema.ts); these add what the node
 * knows around it (who the recipient is, whether we exchange with it at all).
 */

const SLUG = '^[a-z0-9][a-z0-9-]{1,62}$';
const TeamIdSchema = Type.String({ pattern: SLUG, description: 'A team id.' });

export const PEER_STATUSES_SEEN = ['active', 'suspended', 'key-changed'] as const;

/**
 * Why a recipient gets nothing before the policy's own rules are even relevant: the sharing
 * service denies for these, next to whatever `decide` found.
 */
export const RECIPIENT_BLOCKS = ['recipient-unknown', 'peer-suspended', 'peer-key-changed'] as const;
export type RecipientBlock = (typeof RECIPIENT_BLOCKS)[number];

/** Stable ids of everything that can deny a disclosure: the policy's rules and the recipient blocks. */
export const DENIAL_IDS = [...RECIPIENT_BLOCKS, ...POLICY_RULES] as const;
export const DenialIdSchema = Type.Enum(DENIAL_IDS);

// ---------------------------------------------------------------------------------------------
// Per-incident policy facts (/api/v1/incidents/{ref}/policy)

export const LawEnforcementApprovalRecordSchema = named(
  'LawEnforcementApprovalRecord',
  Type.Object(
    {
      id: UuidSchema,
      incidentId: UuidSchema,
      recipient: Type.String({ description: 'The law-enforcement recipient (a team id).' }),
      legalBasis: Type.String(),
      approvedBy: Type.String(),
      approvedAt: DateTimeSchema,
    },
    { additionalProperties: false },
  ),
);
export type LawEnforcementApprovalRecord = Static<typeof LawEnforcementApprovalRecordSchema>;

export const LawEnforcementApprovalCreateSchema = named(
  'LawEnforcementApprovalCreate',
  Type.Object(
    {
      recipient: TeamIdSchema,
      legalBasis: Type.String({
        minLength: 1,
        maxLength: 2000,
        pattern: '\\S',
        description: 'The statute, court order or agreement the disclosure rests on.',
      }),
    },
    { additionalProperties: false },
  ),
);
export type LawEnforcementApprovalCreate = Static<typeof LawEnforcementApprovalCreateSchema>;

export const IncidentPolicySchema = named(
  'IncidentPolicy',
  Type.Object(
    {
      incidentId: UuidSchema,
      ref: Type.String(),
      tlp: TlpSchema,
      redRecipients: Type.Array(Type.String(), { description: 'Teams a handler named for TLP:RED.' }),
      chosenRecipients: Type.Array(Type.String(), {
        description: 'Recipients a handler chose (shares): their need to know.',
      }),
      sectionMinimums: SectionMinimumsSchema,
      provenance: Type.Union([ProvenanceSchema, Type.Null()], {
        description: 'For a received report: its originator, label, limits and chain; null for our own.',
      }),
      lawEnforcementApprovals: Type.Array(LawEnforcementApprovalRecordSchema),
      version: Type.Integer({ minimum: 0, description: '0 until something was recorded.' }),
      updatedAt: Type.Union([DateTimeSchema, Type.Null()]),
      updatedBy: Type.Union([Type.String(), Type.Null()]),
    },
    { additionalProperties: false },
  ),
);
export type IncidentPolicy = Static<typeof IncidentPolicySchema>;

export const IncidentPolicyPutSchema = named(
  'IncidentPolicyPut',
  Type.Object(
    {
      redRecipients: Type.Array(TeamIdSchema, {
        maxItems: 1000,
        uniqueItems: true,
        description: 'Teams named for TLP:RED (replaces the list).',
      }),
      sectionMinimums: SectionMinimumsSchema,
    },
    { additionalProperties: false, description: 'What a handler sets for one incident; both replace what was there.' },
  ),
);
export type IncidentPolicyPut = Static<typeof IncidentPolicyPutSchema>;

// ---------------------------------------------------------------------------------------------
// Effective trust (/api/v1/policy/trust/{teamId})

export const TeamIdParamsSchema = Type.Object({ teamId: TeamIdSchema }, { additionalProperties: false });

export const PeerTrustSchema = named(
  'PeerTrust',
  Type.Object(
    {
      teamId: Type.String(),
      relationship: RelationshipSchema,
      assurance: AssuranceSchema,
      status: Type.Enum(PEER_STATUSES_SEEN),
      bilateral: TrustLevelSchema,
      level: TrustLevelSchema,
      floor: TrustLevelSchema,
      cap: TrustLevelSchema,
      reasons: Type.Array(Type.String()),
      memberships: Type.Array(
        Type.Object(
          {
            group: Type.String(),
            level: MembershipLevelSchema,
            counts: Type.Boolean({ description: 'true when we belong to the group, so its floor applies.' }),
          },
          { additionalProperties: false },
        ),
      ),
      exchange: Type.Boolean({
        description: 'false when the peer is suspended or its key changed: nothing goes to it whatever its level.',
      }),
    },
    { additionalProperties: false },
  ),
);
export type PeerTrust = Static<typeof PeerTrustSchema>;

// ---------------------------------------------------------------------------------------------
// Explain (POST /api/v1/policy/explain)

/** team: a peer; site: one of our constituency's sites; law-enforcement, press: outside recipients without a peer record (ADR 0023). */
export const SHARING_RECIPIENT_KINDS = ['team', 'site', 'law-enforcement', 'press'] as const;

export const ExplainRequestSchema = named(
  'ExplainRequest',
  Type.Object(
    {
      incident: Type.String({ minLength: 1, maxLength: 200, description: 'Reference number or id.' }),
      peer: Type.String({
        minLength: 1,
        maxLength: 200,
        description:
          'The recipient: a peer team id, a site id with kind site, or an outside recipient id (a slug: the agency a law-enforcement approval names, or a press outlet) with kind law-enforcement or press.',
      }),
      purpose: PurposeSchema,
      kind: Type.Optional(
        Type.Enum(SHARING_RECIPIENT_KINDS, {
          description:
            'team (default), site (one of our own constituency sites), or an outside recipient without a peer record: law-enforcement (purpose law-enforcement only) or press (purpose press only).',
        }),
      ),
      explicitlyChosen: Type.Optional(
        Type.Boolean({ description: 'Explain as if a handler chose this recipient now (a share); default false.' }),
      ),
    },
    { additionalProperties: false },
  ),
);
export type ExplainRequest = Static<typeof ExplainRequestSchema>;

export const RecipientTrustSchema = named(
  'RecipientTrust',
  Type.Object(
    {
      level: TrustLevelSchema,
      reasons: Type.Array(Type.String()),
      bilateral: Type.Optional(TrustLevelSchema),
      floor: Type.Optional(TrustLevelSchema),
      cap: Type.Optional(TrustLevelSchema),
    },
    { additionalProperties: false },
  ),
);
export type RecipientTrust = Static<typeof RecipientTrustSchema>;

export const ExplainResponseSchema = named(
  'ExplainResponse',
  Type.Object(
    {
      incident: Type.Object({ id: UuidSchema, ref: Type.String() }, { additionalProperties: false }),
      recipient: Type.Object(
        {
          id: Type.String(),
          kind: Type.Enum(SHARING_RECIPIENT_KINDS),
          name: Type.Union([Type.String(), Type.Null()]),
          relationship: Type.Union([RelationshipSchema, Type.Null()]),
          status: Type.Union([Type.Enum(PEER_STATUSES_SEEN), Type.Null()]),
        },
        { additionalProperties: false },
      ),
      purpose: PurposeSchema,
      allow: Type.Boolean(),
      detail: DetailSchema,
      tlp: TlpSchema,
      mayRedistribute: Type.Boolean(),
      redactions: Type.Array(RedactionSchema, { description: 'Sections replaced by a marker, with the reason.' }),
      scrubbed: Type.Array(ScrubbedSchema, {
        description:
          "Every other field a hidden section's names and addresses were scrubbed from (redaction by identifier), and whether it was rewritten or dropped; empty on a deny.",
      }),
      deniedBy: Type.Array(DenialIdSchema, {
        description: 'Every rule (or recipient block) that denied; empty when allowed.',
      }),
      reasons: Type.Array(Type.String(), { description: 'The decision in words, in evaluation order.' }),
      policyVersion: Type.String(),
      trust: RecipientTrustSchema,
      provenance: Type.Union([Type.Array(ProvenanceHopSchema), Type.Null()], {
        description: 'The chain the recipient would receive (ours appended); null on a deny.',
      }),
      preview: Type.Union([IncidentSchema, ActivitySummarySchema, Type.Null()], {
        description:
          'Exactly what would be sent: the redacted incident (detail full) or the activity summary (detail summary); null on a deny.',
      }),
      payloadSha256: Type.Union([Type.String({ pattern: '^[0-9a-f]{64}$' }), Type.Null()], {
        description: 'SHA-256 of the RFC 8785 canonical JSON of the preview: what the audit entry of a real disclosure records.',
      }),
    },
    { additionalProperties: false },
  ),
);
export type ExplainResponse = Static<typeof ExplainResponseSchema>;
