import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import { ProblemResponse, errorResponses } from '../../../schemas/common.schema.js';
import { IncidentRefParamsSchema } from '../../../schemas/incident.schema.js';
import {
  STIX_MEDIA_TYPE,
  StixBundleSchema,
  StixExportQuerySchema,
  StixExtensionSchemaResponse,
  StixImportResultSchema,
  stixExtensionJsonSchema,
} from '../../../schemas/stix.schema.js';
import { principalOf, requireRole } from '../../http/auth.js';
import { ProblemError } from '../../http/problem.js';
import { documentedBodyOnly } from '../../http/raw-json-body.js';
import { IJsonError, parseIJson } from '../../util/i-json.js';
import type { Actor } from '../incidents/incidents.module.js';
import type { StixService } from './stix.service.js';
import { TaxiiPullRequestSchema, TaxiiPullResultSchema } from '../../../schemas/taxii.schema.js';
import type { TaxiiPullResult, TaxiiPullTarget } from './taxii-client.js';
import { compileOnFirstUse } from '../../util/compile-on-first-use.js';

const checkPull = compileOnFirstUse(TaxiiPullRequestSchema);

/** The largest bundle an import takes (413 beyond): generous for one incident's indicators. */
export const STIX_IMPORT_BODY_LIMIT = 16 * 1024 * 1024;

/** A JSON body as the text received: the import parses it itself (malformed JSON is a 400, a duplicate key too). */
export function parseJsonText(text: string): unknown {
  try {
    return parseIJson(text);
  } catch (err) {
    if (err instanceof IJsonError && err.reason !== 'syntax') throw new ProblemError('not-i-json', err.message);
    throw new ProblemError('malformed-json', 'the body is not valid JSON');
  }
}

/** /api/v1: STIX 2.1 export and import, for this team's handlers. */
export const stixRoutes: FastifyPluginAsyncTypebox<{
  stix: StixService;
  teamId: string;
  pullTaxii: (target: TaxiiPullTarget, actor: Actor) => Promise<TaxiiPullResult>;
}> = async (app, { stix, teamId, pullTaxii }) => {
  const actorOf = (request: FastifyRequest): Actor => ({ subject: principalOf(request).subject, team: teamId });
  // Bundles arrive as application/stix+json or application/json; kept as text (encapsulated to this plugin).
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser(
    ['application/json', 'application/stix+json'],
    { parseAs: 'string', bodyLimit: STIX_IMPORT_BODY_LIMIT },
    (_r, body, done) => done(null, body),
  );

  app.get(
    '/incidents/:ref/stix',
    {
      preHandler: requireRole('handler'),
      schema: {
        operationId: 'exportIncidentStix',
        tags: ['formats'],
        summary: 'The incident as a STIX 2.1 bundle (for our own tools, or as a share to ?for=<team> would carry it)',
        description:
          'Content type application/stix+json;version=2.1. With `for`, the sharing policy decides (purpose direct) and records the decision with the bundle digest; refused: 403 policy-denied. Without it, the incident as this node holds it, audited (format.export). Ids are deterministic: a re-export names the same objects. See docs/stix.md.',
        params: IncidentRefParamsSchema,
        querystring: StixExportQuerySchema,
        response: {
          200: { description: 'A STIX 2.1 bundle.', content: { [STIX_MEDIA_TYPE]: { schema: StixBundleSchema } } },
          ...errorResponses,
        },
      },
    },
    async (request, reply) => {
      const bundle = await stix.exportIncident(request.params.ref, request.query.for, actorOf(request));
      return reply
        .code(200)
        .type(STIX_MEDIA_TYPE)
        .serializer((payload: unknown) => payload as string)
        .send(JSON.stringify(bundle) as never);
    },
  );

  app.post(
    '/imports/stix',
    {
      preHandler: requireRole('handler'),
      bodyLimit: STIX_IMPORT_BODY_LIMIT,
      validatorCompiler: documentedBodyOnly,
      schema: {
        operationId: 'importStix',
        tags: ['formats'],
        summary: 'File the incidents of a STIX 2.1 bundle as incidents of ours (idempotent per STIX id)',
        description:
          'Each `incident` object becomes one incident (a bundle without one: its indicators and observables as one incident). Checked first: 400 import-invalid with `pointer`, nothing filed. The same object again is `unchanged`; the same id with new content updates the incident filed before and journals it. Every import is audited (format.import). Label: the strictest TLP marking (TLP 1.0 ids read as 2.0); none: AMBER.',
        body: StixBundleSchema,
        response: { 200: StixImportResultSchema, ...errorResponses, 409: ProblemResponse },
      },
    },
    async (request) => {
      if (typeof request.body !== 'string')
        throw new ProblemError('import-invalid', 'the body must be a STIX bundle (JSON)', { pointer: '' });
      return stix.importBundle(parseJsonText(request.body), actorOf(request), null);
    },
  );

  app.post(
    '/imports/taxii',
    {
      preHandler: requireRole('handler'),
      validatorCompiler: documentedBodyOnly,
      schema: {
        operationId: 'pullTaxiiCollection',
        tags: ['formats'],
        summary: 'Pull a TAXII 2.1 collection and file what it serves through the STIX import (resumes where the last pull stopped)',
        description:
          'Pages with next, then added_after on the next pull; where it stopped is kept per collection URL after every page, so a pull broken halfway resumes without duplicates. Each page is imported as a bundle (idempotent per STIX id). 502 peer-unreachable when the server does not answer or refuses (its code in the detail).',
        body: TaxiiPullRequestSchema,
        response: { 200: TaxiiPullResultSchema, ...errorResponses, 502: ProblemResponse },
      },
    },
    async (request) => {
      if (typeof request.body !== 'string') throw new ProblemError('malformed-json', 'the body is not valid JSON');
      const body = parseJsonText(request.body) as Record<string, unknown>;
      if (!checkPull.Check(body)) {
        const first = checkPull.Errors(body)[0] as { instancePath?: string; message?: string } | undefined;
        throw new ProblemError('validation-failed', 'the body does not match the schema', {
          errors: [{ location: 'body', pointer: first?.instancePath || '/', message: first?.message ?? 'invalid' }],
        });
      }
      return pullTaxii(body as TaxiiPullTarget, actorOf(request));
    },
  );

  app.get(
    '/stix/extension-schema.json',
    {
      preHandler: requireRole('reader'),
      schema: {
        operationId: 'getStixExtensionSchema',
        tags: ['formats'],
        summary: 'The JSON schema of the Hikeshi property extension on STIX incident objects',
        response: { 200: StixExtensionSchemaResponse, ...errorResponses },
      },
    },
    async () => stixExtensionJsonSchema(),
  );
};
