import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import { errorResponses } from '../../../schemas/common.schema.js';
import {
  CampaignListSchema,
  CampaignParamsSchema,
  CampaignReportSchema,
  CampaignRunQuerySchema,
} from '../../../schemas/campaign.schema.js';
import { principalOf, requireRole } from '../../http/auth.js';
import { ProblemError } from '../../http/problem.js';
import { documentedBodyOnly } from '../../http/raw-json-body.js';
import type { CampaignFormat } from './campaign-events.js';
import type { CampaignService } from './campaign.service.js';

/** The largest campaign file taken in one request (413 beyond): 1M rows of an IntelMQ CSV. */
export const CAMPAIGN_BODY_LIMIT = 128 * 1024 * 1024;

const FORMAT_OF: Record<string, CampaignFormat> = {
  'text/csv': 'csv',
  'application/json': 'json',
  'application/x-ndjson': 'ndjson',
  'application/jsonl': 'ndjson',
};

/** /api/v1: campaigns, for this team's handlers. */
export const campaignRoutes: FastifyPluginAsyncTypebox<{ campaigns: CampaignService; teamId: string }> = async (
  app,
  { campaigns, teamId },
) => {
  // The file is kept as text and parsed row by row by the service (encapsulated to this plugin).
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser(Object.keys(FORMAT_OF), { parseAs: 'string', bodyLimit: CAMPAIGN_BODY_LIMIT }, (_r, body, done) =>
    done(null, body),
  );

  app.post(
    '/campaigns/:campaign/events',
    {
      preHandler: requireRole('handler'),
      bodyLimit: CAMPAIGN_BODY_LIMIT,
      validatorCompiler: documentedBodyOnly,
      schema: {
        operationId: 'runCampaign',
        tags: ['notifications'],
        summary:
          'File a feed of events (CSV, JSON, JSON lines) as one incident and notification per site and period, or show the plan (dryRun)',
        description:
          'Each event goes to the site whose network holds its address (else whose domain holds its host name, else whose AS number it has). Events are de-duplicated within the file and against what this campaign filed before for the same site and period. Malformed rows are listed with their row numbers and the rest are filed; rows no site holds are listed as unmatched. Each site and period gets one incident with only its own events, and its notification is proposed (the policy decides; approve=true approves it at once). dryRun=true writes nothing. Counts and the input digest are audited (campaign.filed), never a row. CSV needs a header row; IntelMQ field names (source.ip, time.source, source.asn, ...) are understood.',
        params: CampaignParamsSchema,
        querystring: CampaignRunQuerySchema,
        consumes: Object.keys(FORMAT_OF),
        body: Type.String({ description: 'The feed: text/csv with a header row, a JSON array of events, or JSON lines.' }),
        response: { 200: CampaignReportSchema, ...errorResponses },
      },
    },
    async (request) => {
      const type = (request.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
      const format = FORMAT_OF[type];
      if (!format || typeof request.body !== 'string')
        throw new ProblemError('unsupported-media-type', 'send the campaign as text/csv, application/json or application/x-ndjson');
      const q = request.query;
      return campaigns.run(
        request.body,
        {
          campaign: request.params.campaign,
          format,
          category: q.category,
          type: q.type,
          tlp: q.tlp ?? 'GREEN',
          severity: q.severity ?? 'low',
          role: q.role ?? 'source',
          period: q.period ?? 'day',
          dryRun: q.dryRun === 'true',
          approve: q.approve === 'true',
          ...(q.counterMeasure ? { counterMeasure: q.counterMeasure } : {}),
          ...(q.source ? { source: q.source } : {}),
        },
        { subject: principalOf(request).subject, team: teamId },
      );
    },
  );

  app.get(
    '/campaigns',
    {
      preHandler: requireRole('reader'),
      schema: {
        operationId: 'listCampaigns',
        tags: ['notifications'],
        summary: 'The campaigns filed: runs, events and incidents per campaign, the latest first',
        response: { 200: CampaignListSchema, ...errorResponses },
      },
    },
    async () => ({ items: (await campaigns.list()).map((c) => ({ ...c, lastRunAt: c.lastRunAt.toISOString() })) }),
  );
};
