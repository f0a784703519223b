import Type, { type Static } from 'typebox';
import { DateTimeSchema, TlpSchema, named } from './common.schema.js';
import { CategorySchema, IncidentTypeSchema, SeveritySchema } from './incident.schema.js';

/**
 * Campaigns (issue 19 part 4, ADR 0027): a feed of many events (CSV, a JSON array or JSON lines)
 * filed as one incident, and so one notification, per constituency site and period. Every object
 * is closed.
 */

export const CampaignParamsSchema = named(
  'CampaignParams',
  Type.Object(
    {
      campaign: Type.String({
        pattern: '^[a-z0-9][a-z0-9._-]{0,99}$',
        description: 'The campaign name (e.g. "open-resolvers-2026-12"): events are de-duplicated per campaign.',
      }),
    },
    { additionalProperties: false },
  ),
);

const flag = (description: string) => Type.Optional(Type.Enum(['true', 'false'], { description }));

export const CampaignRunQuerySchema = named(
  'CampaignRunQuery',
  Type.Object(
    {
      category: CategorySchema,
      type: IncidentTypeSchema,
      tlp: Type.Optional(TlpSchema),
      severity: Type.Optional(SeveritySchema),
      role: Type.Optional(
        Type.Enum(['source', 'target'], {
          description: 'What the listed hosts did: source (default: scanning, a bot calling home) or target (attacked).',
        }),
      ),
      period: Type.Optional(
        Type.Enum(['once', 'day', 'week'], {
          description:
            "How events are grouped in time (default day, by each event's time, UTC): one incident and notification per site and period.",
        }),
      ),
      dryRun: flag('true: show what would go to whom, write nothing (default false).'),
      approve: flag('true: approve the proposed notifications at once (default false: they wait as drafts).'),
      counterMeasure: Type.Optional(
        Type.String({ minLength: 1, maxLength: 100, description: 'The counter-measure template the notifications use.' }),
      ),
      source: Type.Optional(
        Type.String({
          minLength: 1,
          maxLength: 200,
          description: "Who provided the feed (the incidents' reporter; a site never sees it).",
        }),
      ),
    },
    { additionalProperties: false },
  ),
);
export type CampaignRunQuery = Static<typeof CampaignRunQuerySchema>;

const Count = Type.Integer({ minimum: 0 });

export const CampaignReportSchema = named(
  'CampaignReport',
  Type.Object(
    {
      campaign: Type.String(),
      dryRun: Type.Boolean(),
      counts: Type.Object(
        {
          rows: Count,
          events: Count,
          rejected: Count,
          unmatched: Count,
          duplicates: Count,
          alreadyFiled: Count,
          sites: Count,
          incidents: Count,
          notifications: Count,
        },
        { additionalProperties: false },
      ),
      rejected: Type.Array(Type.Object({ row: Count, reason: Type.String() }, { additionalProperties: false }), {
        description: 'Malformed rows (the first 1000), each with why; the other rows are filed.',
      }),
      unmatched: Type.Array(Type.Object({ row: Count, value: Type.String() }, { additionalProperties: false }), {
        description: 'Rows no site of the constituency holds (the first 1000).',
      }),
      sites: Type.Array(
        Type.Object(
          {
            siteId: Type.String(),
            siteName: Type.String(),
            period: Type.String(),
            events: Count,
            newEvents: Type.Integer({ minimum: 0, description: 'Events the campaign had not filed for this site and period before.' }),
            recipients: Type.Array(Type.String(), { description: "The site's POC e-mail addresses; empty: unreachable." }),
            incidents: Type.Array(Type.String(), { description: 'Reference numbers of the incidents this run filed for the site.' }),
            notifications: Type.Array(
              Type.Object(
                { id: Type.Union([Type.String(), Type.Null()]), state: Type.String(), reason: Type.Union([Type.String(), Type.Null()]) },
                { additionalProperties: false },
              ),
            ),
          },
          { additionalProperties: false },
        ),
      ),
    },
    { additionalProperties: false },
  ),
);

export const CampaignListSchema = named(
  'CampaignList',
  Type.Object(
    {
      items: Type.Array(
        Type.Object(
          { campaign: Type.String(), runs: Count, lastRunAt: DateTimeSchema, events: Count, incidents: Count },
          { additionalProperties: false },
        ),
      ),
    },
    { additionalProperties: false },
  ),
);
