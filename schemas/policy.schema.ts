import Type, { type Static } from 'typebox';
import { DateTimeSchema, TLP_LABELS, TlpSchema, named } from './common.schema.js';
import {
  CategorySchema,
  HOST_ROLES,
  IncidentSchema,
  INDICATOR_KINDS,
  IncidentTypeSchema,
  PhaseSchema,
  SeveritySchema,
} from './incident.schema.js';

/**
 * The trust and sharing vocabulary (architecture §5, docs/trust-model.md) as wire types: routes
 * (peers, groups, policy explain, audit) and federation documents use these, and the pure policy
 * module (src/modules/policy/) takes and returns exactly these shapes, so what the API shows, what
 * the audit log records and what the policy decided are one and the same object.
 *
 * Ordered vocabularies are listed lowest first: their index is their rank.
 */

// ---------------------------------------------------------------------------------------------
// Vocabulary
// ---------------------------------------------------------------------------------------------

/** How a peer team stands to us in the informal hierarchy (domain §4). */
export const RELATIONSHIPS = ['coordinator', 'member', 'peer'] as const;
export type Relationship = (typeof RELATIONSHIPS)[number];
export const RelationshipSchema = Type.Enum(RELATIONSHIPS, {
  description: 'coordinator: the team coordinates us; member: we coordinate the team; peer: lateral.',
});

/** How sure we are that a key belongs to the team it claims to be, lowest first. */
export const ASSURANCES = ['unverified', 'introduced', 'verified'] as const;
export type Assurance = (typeof ASSURANCES)[number];
export const AssuranceSchema = Type.Enum(ASSURANCES, {
  description:
    'unverified: key fetched, not confirmed; introduced: vouched for by signed introductions of teams we trust; verified: fingerprint confirmed out of band.',
});

/** What a recipient may receive, lowest first. */
export const TRUST_LEVELS = ['unknown', 'community', 'partner', 'close'] as const;
export type TrustLevel = (typeof TRUST_LEVELS)[number];
const trustLevel = (description: string) => Type.Enum(TRUST_LEVELS, { description });
export const TrustLevelSchema = Type.Enum(TRUST_LEVELS, {
  description: 'Ordered: unknown < community < partner < close.',
});

/** A team's membership level in a trust group (a FIRST-like forum, a national or sector community). */
export const MEMBERSHIP_LEVELS = ['full', 'liaison'] as const;
export type MembershipLevel = (typeof MEMBERSHIP_LEVELS)[number];
export const MembershipLevelSchema = Type.Enum(MEMBERSHIP_LEVELS);

/** Why something leaves the team. Each purpose has its own rule (docs/trust-model.md). */
export const PURPOSES = ['direct', 'relay', 'broadcast', 'coordinator-feed', 'pull-feed', 'law-enforcement', 'press'] as const;
export type Purpose = (typeof PURPOSES)[number];
export const PurposeSchema = Type.Enum(PURPOSES, {
  description:
    'direct: notification to the recipient; relay: on behalf of the originating team; broadcast: to a trust group; coordinator-feed: activity summary to our coordinator; pull-feed: what a peer pulls; law-enforcement; press.',
});

/** Parts of an incident with their own minimum trust level. */
export const POLICY_SECTIONS = ['reporter', 'poc', 'victims', 'evidence', 'internalHosts'] as const;
export type PolicySection = (typeof POLICY_SECTIONS)[number];
export const PolicySectionSchema = Type.Enum(POLICY_SECTIONS, {
  description:
    'reporter: the reporter contact; poc: the person in charge; victims: target hosts (names, addresses); evidence: evidence and logs; internalHosts: hosts in internal/private address space or names.',
});

/** Who receives: a peer CSIRT, one of our own constituency's sites, or an outside organisation (police, press, vendor). */
export const RECIPIENT_KINDS = ['team', 'site', 'external'] as const;
export type RecipientKind = (typeof RECIPIENT_KINDS)[number];
export const RecipientKindSchema = Type.Enum(RECIPIENT_KINDS, {
  description: 'team: a peer CSIRT; site: one of our own constituency sites; external: police, press, vendor, anyone else.',
});

/** How much of an allowed item goes: the incident (with redactions) or its activity summary. */
export const DETAILS = ['none', 'summary', 'full'] as const;
export type Detail = (typeof DETAILS)[number];
export const DetailSchema = Type.Enum(DETAILS, {
  description:
    'none: denied; summary: activity summary only (counts, category, phase, indicators); full: the incident, with the listed redactions.',
});

/** A redistribution limit set by the originator, on top of what its TLP label implies. */
export const REDISTRIBUTION_LIMITS = ['none', 'constituency', 'no-further'] as const;
export type RedistributionLimit = (typeof REDISTRIBUTION_LIMITS)[number];
export const RedistributionLimitSchema = Type.Enum(REDISTRIBUTION_LIMITS, {
  description:
    "none: the TLP label alone governs; constituency: only to the holder's own constituency sites; no-further: not re-shared at all.",
});

/** Stable ids of the rules that can deny; the explain route and the audit log use them. */
export const POLICY_RULES = [
  'provenance-invalid',
  'provenance-no-further',
  'provenance-constituency-only',
  'relay-own-incident',
  'relay-not-requested',
  'coordinator-feed-not-coordinator',
  'press-not-chosen',
  'press-not-clear',
  'law-enforcement-not-approved',
  'red-channel',
  'red-not-named',
  'tlp-need-to-know',
  'tlp-trust',
  'retracted',
] as const;
export type PolicyRuleId = (typeof POLICY_RULES)[number];
export const PolicyRuleIdSchema = Type.Enum(POLICY_RULES);

// ---------------------------------------------------------------------------------------------
// Trust inputs and effective trust
// ---------------------------------------------------------------------------------------------

const teamId = (description = 'Team id.') => Type.String({ minLength: 1, maxLength: 200, description });
const text = (max: number, description?: string) => Type.String({ minLength: 1, maxLength: max, ...(description ? { description } : {}) });

export const GroupMembershipSchema = named(
  'GroupMembership',
  Type.Object(
    {
      group: Type.String({ minLength: 1, maxLength: 200, description: 'Trust group id.' }),
      level: MembershipLevelSchema,
    },
    { additionalProperties: false },
  ),
);
export type GroupMembership = Static<typeof GroupMembershipSchema>;

/** What we know about a peer team that decides its effective trust level. */
export const PeerTrustProfileSchema = named(
  'PeerTrustProfile',
  Type.Object(
    {
      teamId: teamId(),
      relationship: RelationshipSchema,
      assurance: AssuranceSchema,
      bilateral: trustLevel('The level we set for this team ourselves.'),
      memberships: Type.Array(GroupMembershipSchema, {
        maxItems: 1000,
        description: "The team's memberships in trust groups.",
      }),
    },
    { additionalProperties: false },
  ),
);
export type PeerTrustProfile = Static<typeof PeerTrustProfileSchema>;

/** A trust group we belong to, and what its membership is worth to us. */
export const TrustGroupPolicySchema = named(
  'TrustGroupPolicy',
  Type.Object(
    {
      group: Type.String({ minLength: 1, maxLength: 200, description: 'Trust group id.' }),
      ourLevel: MembershipLevelSchema,
      fullMemberFloor: Type.Optional(trustLevel('Floor for its full members; default community; never above partner.')),
      liaisonFloor: Type.Optional(trustLevel('Floor for its liaison members; default unknown (no effect); never above partner.')),
    },
    { additionalProperties: false },
  ),
);
export type TrustGroupPolicy = Static<typeof TrustGroupPolicySchema>;

export const EffectiveTrustSchema = named(
  'EffectiveTrust',
  Type.Object(
    {
      level: TrustLevelSchema,
      bilateral: TrustLevelSchema,
      floor: trustLevel('Highest floor from relationship and groups.'),
      cap: trustLevel('Cap from identity assurance.'),
      reasons: Type.Array(Type.String(), { description: 'How the level was reached, in words.' }),
    },
    { additionalProperties: false },
  ),
);
export type EffectiveTrust = Static<typeof EffectiveTrustSchema>;

// ---------------------------------------------------------------------------------------------
// Decision inputs
// ---------------------------------------------------------------------------------------------

/** Minimum trust level per section; absent sections fall back to the next layer (incident -> config -> defaults). */
export const SectionMinimumsSchema = named(
  'SectionMinimums',
  Type.Object(
    {
      reporter: Type.Optional(TrustLevelSchema),
      poc: Type.Optional(TrustLevelSchema),
      victims: Type.Optional(TrustLevelSchema),
      evidence: Type.Optional(TrustLevelSchema),
      internalHosts: Type.Optional(TrustLevelSchema),
    },
    { additionalProperties: false },
  ),
);
export type SectionMinimums = Static<typeof SectionMinimumsSchema>;

/** One hop of the path a report travelled: the team that sent it on, and the label it carried. */
export const ProvenanceHopSchema = named(
  'ProvenanceHop',
  Type.Object(
    {
      team: teamId(),
      tlp: TlpSchema,
      at: Type.Optional(DateTimeSchema),
    },
    { additionalProperties: false },
  ),
);
export type ProvenanceHop = Static<typeof ProvenanceHopSchema>;

/** Where a received report came from and the limits its originator set. */
export const ProvenanceSchema = named(
  'Provenance',
  Type.Object(
    {
      originator: teamId('The team that first reported it.'),
      originatorTlp: TlpSchema,
      receivedFrom: teamId('The team we received it from (the last hop).'),
      limit: Type.Optional(RedistributionLimitSchema),
      relayRequestedTo: Type.Optional(
        Type.Array(teamId(), {
          maxItems: 1000,
          description: 'Recipients the originator asked us to relay this report to.',
        }),
      ),
      chain: Type.Array(ProvenanceHopSchema, {
        minItems: 1,
        maxItems: 100,
        description: 'Originator first, last hop last.',
      }),
    },
    { additionalProperties: false },
  ),
);
export type Provenance = Static<typeof ProvenanceSchema>;

/** A handler's approval to give an incident to a law-enforcement recipient, with its legal basis. */
export const LawEnforcementApprovalSchema = named(
  'LawEnforcementApproval',
  Type.Object(
    {
      recipient: teamId('The law-enforcement recipient id.'),
      approvedBy: text(200, 'The handler who approved.'),
      legalBasis: text(2000, 'The recorded legal basis (statute, court order, agreement).'),
      approvedAt: Type.Optional(DateTimeSchema),
    },
    { additionalProperties: false },
  ),
);
export type LawEnforcementApproval = Static<typeof LawEnforcementApprovalSchema>;

/** The facts about one incident (ours or received) that the policy needs; built by the caller. */
export const PolicyItemSchema = named(
  'PolicyItem',
  Type.Object(
    {
      ourTeamId: teamId('Our own team id (the hop added to the provenance chain).'),
      tlp: TlpSchema,
      sections: Type.Array(PolicySectionSchema, {
        maxItems: POLICY_SECTIONS.length,
        description: 'Sections present in the incident.',
      }),
      sectionMinimums: Type.Optional(SectionMinimumsSchema),
      redRecipients: Type.Optional(
        Type.Array(teamId(), { maxItems: 1000, description: 'Recipients a handler named on this incident (TLP:RED).' }),
      ),
      chosenRecipients: Type.Optional(
        Type.Array(teamId(), {
          maxItems: 10000,
          description: 'Recipients a handler explicitly chose to share this incident with.',
        }),
      ),
      involvedRecipients: Type.Optional(
        Type.Array(teamId(), {
          maxItems: 10000,
          description: 'Recipients whose constituency is involved (for a site: the site itself).',
        }),
      ),
      lawEnforcementApprovals: Type.Optional(Type.Array(LawEnforcementApprovalSchema, { maxItems: 100 })),
      provenance: Type.Optional(Type.Union([ProvenanceSchema, Type.Null()], { description: 'Absent or null: our own incident.' })),
      retracted: Type.Optional(
        Type.Object(
          { originator: teamId('The team that retracted it.'), reason: text(100, 'Why (false-positive, hoax, mistaken, other).') },
          { additionalProperties: false, description: 'Present when the originator retracted the report: nothing of it goes anywhere.' },
        ),
      ),
    },
    { additionalProperties: false },
  ),
);
export type PolicyItem = Static<typeof PolicyItemSchema>;

/** Inputs from which the policy computes a recipient's effective trust itself. */
export const TrustInputsSchema = named(
  'TrustInputs',
  Type.Object(
    {
      peer: PeerTrustProfileSchema,
      ourGroups: Type.Array(TrustGroupPolicySchema, { maxItems: 1000 }),
    },
    { additionalProperties: false },
  ),
);
export type TrustInputs = Static<typeof TrustInputsSchema>;

export const PolicyRecipientSchema = named(
  'PolicyRecipient',
  Type.Object(
    {
      id: teamId('Team id, site id or outside recipient id.'),
      kind: RecipientKindSchema,
      relationship: Type.Optional(RelationshipSchema),
      trust: Type.Union([TrustLevelSchema, TrustInputsSchema], {
        description: 'The effective trust level, or the inputs to compute it (then relationship comes from them).',
      }),
    },
    { additionalProperties: false },
  ),
);
export type PolicyRecipient = Static<typeof PolicyRecipientSchema>;

// ---------------------------------------------------------------------------------------------
// Decision
// ---------------------------------------------------------------------------------------------

export const RedactionSchema = named(
  'Redaction',
  Type.Object(
    {
      section: PolicySectionSchema,
      requiredLevel: TrustLevelSchema,
      reason: Type.String(),
    },
    { additionalProperties: false },
  ),
);
export type Redaction = Static<typeof RedactionSchema>;

export const ScrubbedSchema = named(
  'Scrubbed',
  Type.Object(
    {
      path: Type.String({
        description: 'JSON pointer into the incident as the sending node holds it, e.g. /indicators/3 or /installedSoftware/0/name.',
      }),
      action: Type.Enum(['rewritten', 'dropped'] as const, {
        description:
          'rewritten: the identifiers in the text became [redacted]; dropped: the field or item names a hidden identifier and was left out.',
      }),
      sections: Type.Array(PolicySectionSchema, {
        description: 'The redacted sections whose identifiers were found there.',
      }),
    },
    {
      additionalProperties: false,
      description: 'One place a hidden identifier was scrubbed from (redaction by identifier, docs/trust-model.md §6).',
    },
  ),
);
export type Scrubbed = Static<typeof ScrubbedSchema>;

export const PolicyDecisionSchema = named(
  'PolicyDecision',
  Type.Object(
    {
      allow: Type.Boolean(),
      purpose: PurposeSchema,
      recipient: Type.String(),
      tlp: Type.Enum(TLP_LABELS, {
        description: 'The label the recipient receives and must honour: the strictest along the provenance chain.',
      }),
      trust: trustLevel('The effective trust the decision used.'),
      detail: DetailSchema,
      redactions: Type.Array(RedactionSchema, {
        description: 'Sections replaced by a redaction marker; empty unless detail is full.',
      }),
      mayRedistribute: Type.Boolean({
        description: 'false: the recipient may not pass it on outside its own organisation (AMBER+STRICT, RED), or the decision is a deny.',
      }),
      deniedBy: Type.Array(PolicyRuleIdSchema, { description: 'Every rule that denied; empty when allowed.' }),
      reasons: Type.Array(Type.String(), { description: 'The decision in words, in evaluation order.' }),
      provenance: Type.Union([Type.Array(ProvenanceHopSchema), Type.Null()], {
        description: 'The provenance chain the recipient gets (ours appended); null when denied.',
      }),
      policyVersion: Type.String(),
    },
    { additionalProperties: false },
  ),
);
export type PolicyDecision = Static<typeof PolicyDecisionSchema>;

// ---------------------------------------------------------------------------------------------
// Coordinator activity summary (summary-level detail)
// ---------------------------------------------------------------------------------------------

export const SummaryHostSchema = named(
  'SummaryHost',
  Type.Object(
    {
      role: Type.Enum(HOST_ROLES),
      ip: Type.Optional(Type.String({ maxLength: 45 })),
      hostname: Type.Optional(Type.String({ maxLength: 253 })),
    },
    { additionalProperties: false, description: 'A source or intermediary host (never a target or internal host).' },
  ),
);

export const ActivitySummarySchema = named(
  'ActivitySummary',
  Type.Object(
    {
      ref: Type.String({ description: "The sender's reference number." }),
      category: CategorySchema,
      type: Type.Union([IncidentTypeSchema, Type.Null()]),
      severity: SeveritySchema,
      tlp: TlpSchema,
      phase: PhaseSchema,
      firstSeen: Type.Union([DateTimeSchema, Type.Null()]),
      lastSeen: Type.Union([DateTimeSchema, Type.Null()]),
      updatedAt: DateTimeSchema,
      // Bounded like every stored integer: a larger one from a peer would be a 5xx in SQL.
      version: Type.Integer({ minimum: 1, maximum: 2147483647 }),
      counts: Type.Object(
        {
          sourceHosts: Type.Integer({ minimum: 0 }),
          targetHosts: Type.Integer({ minimum: 0 }),
          intermediaryHosts: Type.Integer({ minimum: 0 }),
          indicators: Type.Integer({ minimum: 0 }),
          vulnerabilities: Type.Integer({ minimum: 0 }),
          systemChanges: Type.Integer({ minimum: 0 }),
          installedSoftware: Type.Integer({ minimum: 0 }),
          evidence: Type.Integer({ minimum: 0 }),
        },
        { additionalProperties: false },
      ),
      hosts: Type.Array(SummaryHostSchema),
      indicators: Type.Array(
        Type.Object(
          { kind: Type.Enum(INDICATOR_KINDS), value: Type.String({ minLength: 1, maxLength: 2048 }) },
          { additionalProperties: false },
        ),
        {
          description: 'Indicators without free-text descriptions; values naming a target or internal host are left out.',
        },
      ),
      cves: Type.Array(Type.String({ pattern: '^CVE-\\d{4}-\\d{4,}$' })),
    },
    {
      additionalProperties: false,
      description:
        'Summary-level detail of an incident: counts, category, phase, indicators. No title, free text, contacts, targets, internal hosts or evidence.',
    },
  ),
);
export type ActivitySummary = Static<typeof ActivitySummarySchema>;

// ---------------------------------------------------------------------------------------------
// Explain (POST /api/v1/policy/explain)
// ---------------------------------------------------------------------------------------------

export const PolicyExplainRequestSchema = named(
  'PolicyExplainRequest',
  Type.Object(
    {
      incident: Type.String({ minLength: 1, maxLength: 200, description: 'Reference number or id.' }),
      peer: teamId('The recipient: a peer team id (or site id with kind site).'),
      purpose: PurposeSchema,
      kind: Type.Optional(RecipientKindSchema),
      explicitlyChosen: Type.Optional(
        Type.Boolean({
          description: 'Explain as if a handler explicitly chose this recipient (a share); default false.',
        }),
      ),
    },
    { additionalProperties: false },
  ),
);
export type PolicyExplainRequest = Static<typeof PolicyExplainRequestSchema>;

export const PolicyExplainResponseSchema = named(
  'PolicyExplainResponse',
  Type.Object(
    {
      decision: PolicyDecisionSchema,
      effectiveTrust: Type.Union([EffectiveTrustSchema, Type.Null()], {
        description: 'null for recipients without a trust profile.',
      }),
      preview: Type.Union([IncidentSchema, ActivitySummarySchema, Type.Null()], {
        description: 'Exactly what the recipient would receive: the redacted incident, its summary, or null when denied.',
      }),
    },
    { additionalProperties: false },
  ),
);
export type PolicyExplainResponse = Static<typeof PolicyExplainResponseSchema>;
