import Type, { type Static } from 'typebox';
import { DateTimeSchema, TlpSchema, named } from './common.schema.js';
import { CategorySchema, IncidentCreateSchema, PhaseSchema } from './incident.schema.js';
import { ActivitySummarySchema } from './policy.schema.js';

/**
 * Coordination on the wire (issue 4 item 5, domain §4: "a coordinating CSIRT wants to be told of
 * all activity in its domain, to keep the overview and to warn other teams of related
 * activity"): the bodies of the two federation documents a member and its coordinator exchange
 * (`activity.summary`, `activity.related`; docs/federation-protocol.md §5.8, §5.9), and the
 * coordinator's `GET /api/v1/overview`. Every object is closed.
 *
 * This file does not import federation.schema.ts (which imports the bodies from here), so the
 * two modules never load each other in a cycle.
 */

const TeamId = (description: string) => Type.String({ pattern: '^[a-z0-9][a-z0-9-]{1,62}$', description });
const Ref = (description: string) => Type.String({ minLength: 1, maxLength: 200, description });

export const ReportRefSchema = named(
  'ReportRef',
  Type.Object(
    {
      team: TeamId('Team id.'),
      ref: Ref("That team's reference number."),
    },
    { additionalProperties: false },
  ),
);
export type ReportRef = Static<typeof ReportRefSchema>;

// ---------------------------------------------------------------------------------------------
// activity.summary: member -> coordinator

const { phase: _phase, ...reportFields } = IncidentCreateSchema.properties;
/** The incident as an incident.report carries it (POST /api/v1/incidents minus the phase), after redaction. */
const RedactedIncidentSchema = Type.Object(reportFields, {
  additionalProperties: false,
  description:
    "Only with detail full: the incident with the policy's redactions applied (each redacted section carries a marker saying why), as an incident.report carries it; no phase (`summary.phase` is the sender's).",
});

export const ACTIVITY_DETAILS = ['summary', 'full'] as const;

export const ActivitySummaryBodySchema = named(
  'ActivitySummaryBody',
  Type.Object(
    {
      detail: Type.Enum(ACTIVITY_DETAILS, {
        description:
          "What the sender's policy allowed for this coordinator: summary (counts, category, phase, indicators) or full (also the redacted incident).",
      }),
      summary: ActivitySummarySchema,
      incident: Type.Optional(RedactedIncidentSchema),
      links: Type.Array(ReportRefSchema, {
        maxItems: 100,
        description:
          "Other teams' reference numbers of this same incident (the incident was shared between them): the coordinator does not take one incident held by two teams for related activity.",
      }),
    },
    {
      additionalProperties: false,
      description:
        "activity.summary: a member's incident as its policy lets its coordinator see it, sent on every recorded change. The coordinator keeps the newest per (from, summary.ref).",
    },
  ),
);
export type ActivitySummaryBody = Static<typeof ActivitySummaryBodySchema>;

// ---------------------------------------------------------------------------------------------
// activity.withdrawn: member -> coordinator

export const WITHDRAWAL_REASONS = ['label', 'policy'] as const;

export const ActivityWithdrawnBodySchema = named(
  'ActivityWithdrawnBody',
  Type.Object(
    {
      ref: Type.String({
        minLength: 1,
        maxLength: 200,
        description: "The sender's reference number, as its activity.summary gave it.",
      }),
      version: Type.Integer({
        minimum: 1,
        maximum: 2147483647,
        description:
          "The incident's version at the sender when it withdrew the summary: an older summary arriving later does not bring it back.",
      }),
      updatedAt: DateTimeSchema,
      reason: Type.Enum(WITHDRAWAL_REASONS, {
        description:
          "label: the report now carries a label that keeps it from the coordinator (e.g. TLP:RED); policy: the sender's policy no longer lets this coordinator have it.",
      }),
    },
    {
      additionalProperties: false,
      description:
        'activity.withdrawn: the member takes back a summary it sent. The coordinator forgets the report (its summary, observables and place in the overview) and never names it in a warning again, unless a newer summary comes.',
    },
  ),
);
export type ActivityWithdrawnBody = Static<typeof ActivityWithdrawnBodySchema>;

// ---------------------------------------------------------------------------------------------
// activity.related: coordinator -> member

export const OBSERVABLE_KINDS = ['ip', 'network', 'domain', 'indicator'] as const;
export type ObservableKind = (typeof OBSERVABLE_KINDS)[number];
export const ObservableSchema = named(
  'Observable',
  Type.Object(
    {
      kind: Type.Enum(OBSERVABLE_KINDS, {
        description:
          'ip: the same host address; network: addresses in the same /24 (IPv4) or /48 (IPv6), not the same address; domain: the same host or domain name; indicator: the same indicator ("<kind>:<value>").',
      }),
      value: Type.String({ minLength: 1, maxLength: 600 }),
    },
    { additionalProperties: false },
  ),
);
export type Observable = Static<typeof ObservableSchema>;

export const RelatedReportSchema = named(
  'RelatedReport',
  Type.Object(
    {
      team: TeamId('The team that reported it.'),
      ref: Ref("That team's reference number: ask that team (or the coordinator) about it."),
      category: CategorySchema,
      tlp: TlpSchema,
    },
    { additionalProperties: false },
  ),
);
export type RelatedReport = Static<typeof RelatedReportSchema>;

export const ActivityRelatedBodySchema = named(
  'ActivityRelatedBody',
  Type.Object(
    {
      refs: Type.Array(Ref("The receiver's own reference number, from its activity.summary."), {
        minItems: 1,
        maxItems: 100,
        description: "The receiver's incidents that share the observable with the related reports.",
      }),
      observable: ObservableSchema,
      related: Type.Array(RelatedReportSchema, {
        maxItems: 100,
        description:
          "Other teams' reports sharing the observable, as far as the coordinator may name them to the receiver; only reports not named to it before.",
      }),
      withheld: Type.Integer({
        minimum: 0,
        description: 'Further related reports the coordinator may not name to the receiver (their label); ask the coordinator.',
      }),
    },
    {
      additionalProperties: false,
      description:
        "activity.related: the coordinator warns a member that other teams reported the same host, network or indicator (an incident.update-style notice on the member's incident). Sent once per (observable, receiver, related report).",
    },
  ),
);
export type ActivityRelatedBody = Static<typeof ActivityRelatedBodySchema>;

// ---------------------------------------------------------------------------------------------
// GET /api/v1/overview

export const OVERVIEW_PERIODS = ['week', 'day'] as const;
export const OverviewQuerySchema = Type.Object(
  {
    since: Type.Optional(
      Type.String({
        format: 'date-time',
        description: 'Reports active at or after this instant: last changed (updated) at or after it. RFC 3339; URL-encode a "+" as %2B.',
      }),
    ),
    until: Type.Optional(
      Type.String({
        format: 'date-time',
        description:
          'Reports active before this instant: first activity (firstSeen, else when this node first heard of it) strictly before it.',
      }),
    ),
    team: Type.Optional(TeamId("Only this team's reports in the counts, and only related activity that involves it.")),
    period: Type.Optional(
      Type.Enum(OVERVIEW_PERIODS, {
        description: 'Bucket of byPeriod: ISO week (default, e.g. 2026-W47) or UTC day (2026-11-20).',
      }),
    ),
    limit: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: 1000,
        description: 'At most this many related entries (100 by default), most teams first.',
      }),
    ),
  },
  { additionalProperties: false },
);
export type OverviewQuery = Static<typeof OverviewQuerySchema>;

const Counts = (description: string) => Type.Record(Type.String(), Type.Integer({ minimum: 0 }), { description });

export const RelatedActivitySchema = named(
  'RelatedActivity',
  Type.Object(
    {
      kind: ObservableSchema.properties.kind,
      value: ObservableSchema.properties.value,
      teams: Type.Array(Type.String(), { description: 'The teams whose reports share it, sorted.' }),
      reports: Type.Array(
        Type.Object(
          {
            team: Type.String(),
            ref: Type.String(),
            own: Type.Boolean({ description: "The report is this node's own incident." }),
            category: CategorySchema,
            phase: PhaseSchema,
            tlp: TlpSchema,
            updated: DateTimeSchema,
          },
          { additionalProperties: false },
        ),
        { description: 'The reports concerned, by team then reference number.' },
      ),
    },
    { additionalProperties: false },
  ),
);
export type RelatedActivity = Static<typeof RelatedActivitySchema>;

export const OverviewSchema = named(
  'Overview',
  Type.Object(
    {
      team: Type.String({ description: 'This node: its own incidents count under this team id.' }),
      since: Type.Union([DateTimeSchema, Type.Null()]),
      until: Type.Union([DateTimeSchema, Type.Null()]),
      period: Type.Enum(OVERVIEW_PERIODS),
      total: Type.Integer({ minimum: 0, description: 'Reports (incidents) counted.' }),
      byTeam: Counts('Reports per team (members, and this node under its own team id).'),
      byCategory: Counts('Reports per RSIT category.'),
      byPhase: Counts("Reports per phase (each team's own phase)."),
      byPeriod: Counts('Reports per period of their first activity (firstSeen, else when this node first heard of them), in UTC.'),
      related: Type.Array(RelatedActivitySchema, {
        description:
          'The same host address, network (/24, /48), host or domain name, or indicator reported by two or more teams (one incident shared between teams counts once).',
      }),
    },
    { additionalProperties: false },
  ),
);
export type Overview = Static<typeof OverviewSchema>;
