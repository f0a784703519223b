import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import { ProblemResponse, errorResponses } from '../../../schemas/common.schema.js';
import { AdvisoryEditsSchema, CsafAdvisorySchema, CsafPublishedSchema, CsafPublishInputSchema } from '../../../schemas/csaf.schema.js';
import { CaseParamsSchema } from '../../../schemas/vendor.schema.js';
import type { Clock } from '../../clock.js';
import { ProblemError } from '../../http/problem.js';
import { principalOf, requireRole } from '../../http/auth.js';
import type { AdvisoryService } from './advisory.service.js';
import { rolieFeed } from './csaf-rolie.js';

/** /api/v1/cases/{id}/advisory: draft, edit and publish a case's CSAF 2.0 advisory (ADR 0024). */
export const csafApiRoutes: FastifyPluginAsyncTypebox<{ advisories: AdvisoryService }> = async (app, { advisories }) => {
  const tags = ['advisories'];
  const reader = requireRole('reader');
  const handler = requireRole('handler');
  app.post(
    '/cases/:id/advisory',
    {
      preHandler: handler,
      schema: {
        tags,
        operationId: 'draftCaseAdvisory',
        summary: 'Draft the CSAF 2.0 advisory of a case (kept once; drafting again answers the draft)',
        params: CaseParamsSchema,
        response: { 201: CsafAdvisorySchema, ...errorResponses },
      },
    },
    async (request, reply) => reply.code(201).send(await advisories.draft(request.params.id, principalOf(request).subject)),
  );
  app.get(
    '/cases/:id/advisory',
    {
      preHandler: reader,
      schema: {
        tags,
        operationId: 'getCaseAdvisory',
        summary: 'The advisory as publishing it now would make it',
        params: CaseParamsSchema,
        response: { 200: CsafAdvisorySchema, ...errorResponses },
      },
    },
    async (request) => advisories.view(request.params.id),
  );
  app.put(
    '/cases/:id/advisory/edits',
    {
      preHandler: handler,
      schema: {
        tags,
        operationId: 'replaceCaseAdvisoryEdits',
        summary: "Replace the handler's notes and remediation texts of the advisory",
        params: CaseParamsSchema,
        body: AdvisoryEditsSchema,
        response: { 200: CsafAdvisorySchema, ...errorResponses },
      },
    },
    async (request) => advisories.edit(request.params.id, request.body, principalOf(request).subject),
  );
  app.post(
    '/cases/:id/advisory/publish',
    {
      preHandler: handler,
      schema: {
        tags,
        operationId: 'publishCaseAdvisory',
        summary: 'Publish (or revise) the advisory: embargo checked, validated, signed with the node key',
        description:
          'Refused before the embargo (409 embargo-in-force with embargoUntil) and when the CSAF validator finds errors (422 csaf-invalid listing them). TLP:CLEAR goes to the public white folder of /.well-known/csaf; any other label is kept for handlers.',
        params: CaseParamsSchema,
        body: CsafPublishInputSchema,
        response: { 201: CsafPublishedSchema, 409: ProblemResponse, 422: ProblemResponse, ...errorResponses },
      },
    },
    async (request, reply) => reply.code(201).send(await advisories.publish(request.params.id, request.body, principalOf(request).subject)),
  );
  app.get(
    '/cases/:id/advisory/published',
    {
      preHandler: reader,
      schema: {
        tags,
        operationId: 'getPublishedCaseAdvisory',
        summary: 'The published advisory: its exact bytes, signature and hashes (also for labels not served publicly)',
        params: CaseParamsSchema,
        response: { 200: CsafPublishedSchema, ...errorResponses },
      },
    },
    async (request) => advisories.getPublished(request.params.id),
  );
};

const FileParamsSchema = Type.Object(
  {
    year: Type.String({ pattern: '^[0-9]{4}$' }),
    file: Type.String({ pattern: '^[+a-z0-9_-]{1,200}[.]json([.]asc|[.]sha256|[.]sha512)?$', maxLength: 220 }),
  },
  { additionalProperties: false },
);

/**
 * /.well-known/csaf (CSAF 2.0 §7.1, trusted provider): public and unauthenticated, limited per
 * address like the other open routes. provider-metadata.json, and the white folder in the
 * year-folder layout with index.txt, changes.csv, and per document .asc, .sha256 and .sha512.
 */
export const csafPublicRoutes: FastifyPluginAsyncTypebox<{
  advisories: AdvisoryService;
  config: { teamId: string; teamName: string; publicUrl: string };
  signer: { fingerprint: string };
  clock: Clock;
}> = async (app, { advisories, config, signer, clock }) => {
  const tags = ['public'];
  const base = `${config.publicUrl}/.well-known/csaf`;
  const document = (mediaType: string, description: string) =>
    ({
      200: { description, content: { [mediaType]: { schema: { type: 'string' } } } },
      429: ProblemResponse,
      503: ProblemResponse,
    }) as const;

  app.get(
    '/.well-known/csaf/provider-metadata.json',
    {
      schema: {
        tags,
        operationId: 'getCsafProviderMetadata',
        summary: 'CSAF 2.0 provider metadata (role csaf_trusted_provider)',
        response: document('application/json', 'provider-metadata.json'),
      },
    },
    async (_request, reply) => {
      const lastUpdated = (await advisories.lastPublishedAt()) ?? clock();
      const metadata = {
        canonical_url: `${base}/provider-metadata.json`,
        // Both distributions of CSAF 2.0 §7.1: the year folders, and a ROLIE feed (§7.1.20) per label served.
        distributions: [
          { directory_url: `${base}/white/` },
          { rolie: { feeds: [{ summary: 'TLP:WHITE advisories', tlp_label: 'WHITE', url: `${base}/feed-tlp-white.json` }] } },
        ],
        last_updated: lastUpdated.toISOString(),
        list_on_CSAF_aggregators: true,
        metadata_version: '2.0',
        mirror_on_CSAF_aggregators: true,
        public_openpgp_keys: [{ fingerprint: signer.fingerprint, url: `${config.publicUrl}/pgp-key.asc` }],
        publisher: { category: 'coordinator', name: config.teamName, namespace: config.publicUrl },
        role: 'csaf_trusted_provider',
      };
      return reply.type('application/json').send(JSON.stringify(metadata, null, 2) + '\n');
    },
  );
  app.get(
    '/.well-known/csaf/feed-tlp-white.json',
    {
      schema: {
        tags,
        operationId: 'getCsafRolieFeed',
        summary: 'The ROLIE feed (RFC 8322, CSAF 2.0 §7.1.20) of every published TLP:WHITE advisory',
        response: document('application/json', 'feed-tlp-white.json'),
      },
    },
    async (_request, reply) => {
      const files = await advisories.whiteFolder();
      const updated = (await advisories.lastPublishedAt()) ?? clock();
      const feed = rolieFeed({ base, teamId: config.teamId, teamName: config.teamName, updated, files });
      return reply.type('application/json').send(JSON.stringify(feed, null, 2) + '\n');
    },
  );
  app.get(
    '/.well-known/csaf/white/index.txt',
    {
      schema: {
        tags,
        operationId: 'getCsafIndex',
        summary: 'Every published TLP:WHITE advisory, one path a line',
        response: document('text/plain', 'index.txt'),
      },
    },
    async (_request, reply) => {
      const files = await advisories.whiteFolder();
      const paths = files.map((f) => f.path).sort();
      return reply.type('text/plain; charset=utf-8').send(paths.map((p) => `${p}\n`).join(''));
    },
  );
  app.get(
    '/.well-known/csaf/white/changes.csv',
    {
      schema: {
        tags,
        operationId: 'getCsafChanges',
        summary: 'Path and last change of each advisory, newest first',
        response: document('text/csv', 'changes.csv'),
      },
    },
    async (_request, reply) => {
      const files = await advisories.whiteFolder();
      return reply.type('text/csv; charset=utf-8').send(files.map((f) => `"${f.path}","${f.currentRelease.toISOString()}"\n`).join(''));
    },
  );
  app.get(
    '/.well-known/csaf/white/:year/:file',
    {
      schema: {
        tags,
        operationId: 'getCsafFile',
        summary: 'A published advisory (.json), its OpenPGP signature (.asc) or its hashes (.sha256, .sha512)',
        params: FileParamsSchema,
        response: {
          200: {
            description: 'The document (.json), its detached OpenPGP signature (.asc) or a sha256sum-style line (.sha256, .sha512)',
            content: {
              'application/json': { schema: { type: 'string' } },
              'application/pgp-signature': { schema: { type: 'string' } },
              'text/plain': { schema: { type: 'string' } },
            },
          },
          404: ProblemResponse,
          429: ProblemResponse,
          503: ProblemResponse,
        },
      },
    },
    async (request, reply) => {
      const { year, file } = request.params;
      const json = file.replace(/[.](asc|sha256|sha512)$/, '');
      const found = (await advisories.whiteFolder()).find((f) => f.path === `${year}/${json}`);
      if (!found) throw new ProblemError('not-found', `no advisory ${year}/${json}`);
      if (file.endsWith('.asc')) return reply.type('application/pgp-signature').send(found.signature);
      if (file.endsWith('.sha256'))
        return reply.type('text/plain; charset=utf-8').send(`${advisories.sha('sha256', found.documentText)}  ${json}\n`);
      if (file.endsWith('.sha512'))
        return reply.type('text/plain; charset=utf-8').send(`${advisories.sha('sha512', found.documentText)}  ${json}\n`);
      return reply.type('application/json').send(found.documentText);
    },
  );
};
