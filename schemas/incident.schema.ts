import Type, { type Static } from 'typebox';
import { ContactSchema, DateTimeSchema, TlpSchema, named } from './common.schema.js';
import { RetractionSchema } from './correction.schema.js';

/**
 * An incident as §7 of the lecture says a report must carry it: the receiving team's reference
 * number, the reporter and the person in charge, the hosts involved, the intruder's activity in
 * detail, the weakness exploited, the changes made, the software installed, the logs, plus the
 * category (ENISA Reference Security Incident Taxonomy), severity, TLP and the nine-step phase.
 */

/** §5's nine steps as an incident moves through them (step 1, policies, precedes any incident). */
export const PHASES = [
  'triage',
  'analysis',
  'notification',
  'evidence',
  'containment',
  'eradication',
  'recovery',
  'lessons-learned',
  'closed',
] as const;
export type Phase = (typeof PHASES)[number];
export const PhaseSchema = Type.Enum(PHASES, {
  description:
    'triage (reported), analysis (§5.3), notification (§5.4), evidence (§5.5), containment (§5.6), eradication (§5.7), recovery (§5.8), lessons-learned (§5.9), closed.',
});

/** ENISA Reference Security Incident Taxonomy (RSIT): classification -> incident types. */
export const RSIT = {
  'abusive-content': ['spam', 'harmful-speech', 'violence'],
  'malicious-code': ['infected-system', 'c2-server', 'malware-distribution', 'malware-configuration'],
  'information-gathering': ['scanner', 'sniffing', 'social-engineering'],
  'intrusion-attempts': ['ids-alert', 'brute-force', 'exploit'],
  intrusions: [
    'privileged-account-compromise',
    'unprivileged-account-compromise',
    'application-compromise',
    'system-compromise',
    'burglary',
  ],
  availability: ['ddos', 'dos', 'outage', 'sabotage'],
  'information-content-security': ['unauthorised-information-access', 'unauthorised-information-modification', 'data-loss', 'data-leak'],
  fraud: ['unauthorised-use-of-resources', 'copyright', 'masquerade', 'phishing'],
  vulnerable: ['weak-crypto', 'ddos-amplifier', 'potentially-unwanted-accessible', 'information-disclosure', 'vulnerable-system'],
  other: ['other', 'undetermined'],
  test: ['test'],
} as const;
export type Category = keyof typeof RSIT;
export const CATEGORIES = Object.keys(RSIT) as Category[];
export const CategorySchema = Type.Enum(CATEGORIES, { description: 'RSIT classification.' });
export type IncidentType = (typeof RSIT)[Category][number];
export const INCIDENT_TYPES = [...new Set(Object.values(RSIT).flat())] as IncidentType[];
export const IncidentTypeSchema = Type.Enum(INCIDENT_TYPES, {
  description: 'RSIT incident type; must belong to the category.',
});

export const SEVERITIES = ['low', 'medium', 'high', 'critical'] as const;
export const SeveritySchema = Type.Enum(SEVERITIES);

export const HOST_ROLES = ['source', 'target', 'intermediary'] as const;
export const HostSchema = named(
  'Host',
  Type.Object(
    {
      ip: Type.Optional(Type.String({ maxLength: 45, description: 'IPv4 or IPv6 address.' })),
      hostname: Type.Optional(Type.String({ minLength: 1, maxLength: 253 })),
      role: Type.Enum(HOST_ROLES, {
        description: 'source of the access, its target, or an intermediary (stepping stone).',
      }),
      ports: Type.Optional(Type.Array(Type.Integer({ minimum: 0, maximum: 65535 }), { maxItems: 1000 })),
      protocol: Type.Optional(Type.String({ minLength: 1, maxLength: 32 })),
      spoofedSource: Type.Optional(Type.Boolean({ description: 'The source address may be spoofed (§7 threat 3).' })),
      description: Type.Optional(Type.String({ maxLength: 2000 })),
    },
    { additionalProperties: false },
  ),
);
export type Host = Static<typeof HostSchema>;

export const VulnerabilitySchema = named(
  'Vulnerability',
  Type.Object(
    {
      cve: Type.Optional(Type.String({ pattern: '^CVE-\\d{4}-\\d{4,}$' })),
      description: Type.Optional(Type.String({ minLength: 1, maxLength: 4000 })),
    },
    { additionalProperties: false },
  ),
);

export const SystemChangeSchema = named(
  'SystemChange',
  Type.Object(
    {
      description: Type.String({ minLength: 1, maxLength: 4000 }),
      at: Type.Optional(DateTimeSchema),
      host: Type.Optional(Type.String({ maxLength: 253 })),
    },
    { additionalProperties: false, description: 'A change made to the systems, by the intruder or as a fix.' },
  ),
);

export const InstalledSoftwareSchema = named(
  'InstalledSoftware',
  Type.Object(
    {
      name: Type.String({ minLength: 1, maxLength: 500 }),
      version: Type.Optional(Type.String({ maxLength: 100 })),
      path: Type.Optional(Type.String({ maxLength: 4000 })),
      sha256: Type.Optional(Type.String({ pattern: '^[a-fA-F0-9]{64}$' })),
      description: Type.Optional(Type.String({ maxLength: 4000 })),
    },
    { additionalProperties: false, description: 'Software the intruder installed.' },
  ),
);

export const EVIDENCE_KINDS = ['log', 'packet-capture', 'file', 'screenshot', 'memory', 'other'] as const;
export const EvidenceSchema = named(
  'Evidence',
  Type.Object(
    {
      kind: Type.Enum(EVIDENCE_KINDS),
      description: Type.Optional(Type.String({ maxLength: 4000 })),
      content: Type.Optional(Type.String({ maxLength: 262144, description: 'Log lines or other text, verbatim.' })),
      timeZone: Type.Optional(
        Type.String({
          minLength: 1,
          maxLength: 64,
          description: "The log's original time zone (e.g. Asia/Tokyo, +09:00): logs keep it.",
        }),
      ),
      source: Type.Optional(Type.String({ maxLength: 500, description: 'Where it was collected (host, device).' })),
      collectedAt: Type.Optional(DateTimeSchema),
    },
    { additionalProperties: false },
  ),
);

export const INDICATOR_KINDS = ['ipv4', 'ipv6', 'domain', 'url', 'email', 'md5', 'sha1', 'sha256', 'asn', 'user-agent', 'other'] as const;
export const IndicatorSchema = named(
  'Indicator',
  Type.Object(
    {
      kind: Type.Enum(INDICATOR_KINDS),
      value: Type.String({ minLength: 1, maxLength: 2048 }),
      description: Type.Optional(Type.String({ maxLength: 2000 })),
    },
    { additionalProperties: false },
  ),
);

const reportFields = {
  title: Type.String({ minLength: 1, maxLength: 300 }),
  summary: Type.Optional(Type.String({ maxLength: 10000 })),
  category: CategorySchema,
  type: Type.Optional(IncidentTypeSchema),
  severity: SeveritySchema,
  tlp: TlpSchema,
  firstSeen: Type.Optional(DateTimeSchema),
  lastSeen: Type.Optional(DateTimeSchema),
  reporter: ContactSchema,
  poc: Type.Optional(Type.Union([ContactSchema, Type.Null()], { description: 'The person in charge of the incident.' })),
  hosts: Type.Optional(Type.Array(HostSchema, { maxItems: 10000 })),
  intruderActivity: Type.Optional(Type.String({ maxLength: 100000, description: "The intruder's activity in detail." })),
  vulnerabilities: Type.Optional(Type.Array(VulnerabilitySchema, { maxItems: 1000 })),
  systemChanges: Type.Optional(Type.Array(SystemChangeSchema, { maxItems: 1000 })),
  installedSoftware: Type.Optional(Type.Array(InstalledSoftwareSchema, { maxItems: 1000 })),
  evidence: Type.Optional(Type.Array(EvidenceSchema, { maxItems: 1000 })),
  indicators: Type.Optional(Type.Array(IndicatorSchema, { maxItems: 10000 })),
};

export const IncidentCreateSchema = named(
  'IncidentCreate',
  Type.Object({ ...reportFields, phase: Type.Optional(PhaseSchema) }, { additionalProperties: false }),
);
export type IncidentCreate = Static<typeof IncidentCreateSchema>;

/** JSON merge-patch style: a present field replaces the stored one; `phase` moves the lifecycle. */
export const IncidentPatchSchema = named(
  'IncidentPatch',
  Type.Object(
    {
      title: Type.Optional(reportFields.title),
      summary: Type.Optional(Type.Union([Type.String({ maxLength: 10000 }), Type.Null()])),
      category: Type.Optional(CategorySchema),
      type: Type.Optional(Type.Union([IncidentTypeSchema, Type.Null()])),
      severity: Type.Optional(SeveritySchema),
      tlp: Type.Optional(TlpSchema),
      phase: Type.Optional(PhaseSchema),
      firstSeen: Type.Optional(Type.Union([DateTimeSchema, Type.Null()])),
      lastSeen: Type.Optional(Type.Union([DateTimeSchema, Type.Null()])),
      reporter: Type.Optional(ContactSchema),
      poc: reportFields.poc,
      hosts: reportFields.hosts,
      intruderActivity: Type.Optional(Type.Union([Type.String({ maxLength: 100000 }), Type.Null()])),
      vulnerabilities: reportFields.vulnerabilities,
      systemChanges: reportFields.systemChanges,
      installedSoftware: reportFields.installedSoftware,
      evidence: reportFields.evidence,
      indicators: reportFields.indicators,
    },
    { additionalProperties: false, minProperties: 1 },
  ),
);
export type IncidentPatch = Static<typeof IncidentPatchSchema>;

export const ExternalRefSchema = named(
  'ExternalRef',
  Type.Object(
    {
      team: Type.String({ description: 'Team id of the other CSIRT.' }),
      ref: Type.String({ description: "That team's reference number for the same incident." }),
    },
    { additionalProperties: false },
  ),
);

export const IncidentSchema = named(
  'Incident',
  Type.Object(
    {
      id: Type.String({ format: 'uuid' }),
      ref: Type.String({ description: 'Reference number <PREFIX>#<YEAR>-<SEQ>, assigned by this team.' }),
      title: reportFields.title,
      summary: Type.Union([Type.String(), Type.Null()]),
      category: CategorySchema,
      type: Type.Union([IncidentTypeSchema, Type.Null()]),
      severity: SeveritySchema,
      tlp: TlpSchema,
      phase: PhaseSchema,
      firstSeen: Type.Union([DateTimeSchema, Type.Null()]),
      lastSeen: Type.Union([DateTimeSchema, Type.Null()]),
      reporter: ContactSchema,
      poc: Type.Union([ContactSchema, Type.Null()]),
      hosts: Type.Array(HostSchema),
      intruderActivity: Type.Union([Type.String(), Type.Null()]),
      vulnerabilities: Type.Array(VulnerabilitySchema),
      systemChanges: Type.Array(SystemChangeSchema),
      installedSoftware: Type.Array(InstalledSoftwareSchema),
      evidence: Type.Array(EvidenceSchema),
      indicators: Type.Array(IndicatorSchema),
      externalRefs: Type.Array(ExternalRefSchema),
      retracted: Type.Optional(
        Type.Object(RetractionSchema.properties, {
          additionalProperties: false,
          description:
            'Present when the originator retracted the report (docs/federation-protocol.md §5.19): kept for the audit, no longer shared.',
        }),
      ),
      version: Type.Integer({
        description: 'Increases with every change; send it back in If-Match to avoid lost updates.',
      }),
      createdBy: Type.String(),
      createdAt: DateTimeSchema,
      updatedAt: DateTimeSchema,
    },
    { additionalProperties: false },
  ),
);
export type Incident = Static<typeof IncidentSchema>;

export const IncidentPageSchema = named(
  'IncidentPage',
  Type.Object(
    {
      items: Type.Array(IncidentSchema),
      nextCursor: Type.Union([Type.String(), Type.Null()], {
        description: 'Pass as ?cursor= for the next page; null at the end.',
      }),
    },
    { additionalProperties: false },
  ),
);

export const IncidentListQuerySchema = Type.Object(
  {
    phase: Type.Optional(PhaseSchema),
    category: Type.Optional(CategorySchema),
    tlp: Type.Optional(TlpSchema),
    severity: Type.Optional(SeveritySchema),
    updatedSince: Type.Optional(DateTimeSchema),
    host: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 253,
        description:
          'Host name, IP address, or CIDR block containing a host. A block with host bits set is refused (400), not read as a name.',
      }),
    ),
    indicator: Type.Optional(Type.String({ minLength: 1, maxLength: 2048 })),
    externalRef: Type.Optional(Type.String({ minLength: 1, maxLength: 200, description: "Another team's reference number." })),
    team: Type.Optional(
      Type.String({
        pattern: '^[a-z0-9][a-z0-9-]{1,62}$',
        description:
          'Another team (its team id): incidents received from it, shared with it or received by it (a link either way), or for which it gave its reference number.',
      }),
    ),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500 })),
    cursor: Type.Optional(Type.String({ maxLength: 200 })),
  },
  { additionalProperties: false },
);
export type IncidentListQuery = Static<typeof IncidentListQuerySchema>;

export const IncidentRefParamsSchema = Type.Object(
  {
    ref: Type.String({
      minLength: 1,
      maxLength: 200,
      description: 'Reference number (URL-encoded, e.g. CSIRT%232026-000042) or id.',
    }),
  },
  { additionalProperties: false },
);

export const JOURNAL_KINDS = [
  'created',
  'updated',
  'phase-changed',
  'note',
  'personal-data-erased',
  'legal-hold-set',
  'legal-hold-cleared',
] as const;
export const JournalEntrySchema = named(
  'JournalEntry',
  Type.Object(
    {
      id: Type.Integer(),
      at: DateTimeSchema,
      actor: Type.String({ description: 'Who: a token subject, or a peer team for entries that came from it.' }),
      team: Type.String({ description: 'The team the actor belongs to.' }),
      kind: Type.String({
        description:
          'created | updated | phase-changed | note | personal-data-erased | legal-hold-set | legal-hold-cleared, and federation kinds.',
      }),
      changes: Type.Union([Type.Object({}, { additionalProperties: true }), Type.Null()]),
      note: Type.Union([Type.String(), Type.Null()]),
    },
    { additionalProperties: false },
  ),
);
export type JournalEntry = Static<typeof JournalEntrySchema>;

export const JournalNoteCreateSchema = named(
  'JournalNoteCreate',
  Type.Object({ note: Type.String({ minLength: 1, maxLength: 20000 }) }, { additionalProperties: false }),
);

export const JournalPageSchema = named(
  'JournalPage',
  Type.Object(
    { items: Type.Array(JournalEntrySchema), nextCursor: Type.Union([Type.String(), Type.Null()]) },
    { additionalProperties: false },
  ),
);
