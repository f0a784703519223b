import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import Type from 'typebox';
import { ProblemResponse, errorResponses } from '../../../schemas/common.schema.js';
import { IncidentRefParamsSchema } from '../../../schemas/incident.schema.js';
import {
  MispEventDocumentSchema,
  MispExportQuerySchema,
  MispImportResultSchema,
  MispPullResultSchema,
  MispPushQuerySchema,
  MispPushResultSchema,
} from '../../../schemas/misp.schema.js';
import { principalOf, requireRole } from '../../http/auth.js';
import type { Actor } from '../incidents/incidents.module.js';
import type { MispService } from './misp.service.js';

const remoteResponses = { ...errorResponses, 409: ProblemResponse, 502: ProblemResponse };

/** /api/v1: MISP events out of and into incidents, and a MISP instance's REST API (issue 16 part 3). */
export const mispRoutes: FastifyPluginAsyncTypebox<{ misp: MispService; teamId: string; bodyLimit: number }> = async (
  app,
  { misp, teamId, bodyLimit },
) => {
  const actorOf = (request: FastifyRequest): Actor => ({ subject: principalOf(request).subject, team: teamId });

  app.get(
    '/incidents/:ref/misp',
    {
      preHandler: requireRole('handler'),
      schema: {
        operationId: 'exportIncidentMisp',
        tags: ['formats'],
        summary: 'The incident as a MISP event (MISP core format)',
        description:
          'With ?for=<teamId>: what a share to that team would carry, decided and audited by the sharing policy (403 policy-denied when refused). Without it: the incident as this node holds it, for our own tools; audited with the format and the actor.',
        params: IncidentRefParamsSchema,
        querystring: MispExportQuerySchema,
        response: { 200: MispEventDocumentSchema, ...errorResponses },
      },
    },
    async (request) => misp.exportEvent(request.params.ref, request.query.for, actorOf(request)),
  );

  app.post(
    '/imports/misp',
    {
      preHandler: requireRole('handler'),
      bodyLimit,
      schema: {
        operationId: 'importMispEvent',
        tags: ['formats'],
        summary: 'File a MISP event (with or without its {"Event": ...} wrapper) as an incident',
        description:
          'Validated first (400 import-invalid with `pointer`, nothing filed). Idempotent by event uuid: the same event again files nothing (unchanged), a changed one updates the incident it became (journaled). 201 when created, 200 otherwise.',
        body: Type.Object({}, { additionalProperties: true, description: 'A MISP event (core format).' }),
        response: { 200: MispImportResultSchema, 201: MispImportResultSchema, ...errorResponses },
      },
    },
    async (request, reply) => {
      const result = await misp.importEvent(request.body, actorOf(request));
      return reply.code(result.status === 'created' ? 201 : 200).send(result);
    },
  );

  app.post(
    '/incidents/:ref/misp/push',
    {
      preHandler: requireRole('handler'),
      schema: {
        operationId: 'pushIncidentMisp',
        tags: ['formats'],
        summary: "Push the incident as an event to the team's MISP instance (HIKESHI_MISP_URL)",
        description:
          'Adds the event, or edits it when the instance holds it already (same uuid). The export is the incident as held unless ?for=<teamId> is given (then the sharing policy decides, as for a share). 409 misp-not-configured, 502 misp-unavailable.',
        params: IncidentRefParamsSchema,
        querystring: MispPushQuerySchema,
        response: { 200: MispPushResultSchema, ...remoteResponses },
      },
    },
    async (request) => misp.push(request.params.ref, request.query.for, actorOf(request)),
  );

  app.post(
    '/misp/pull',
    {
      preHandler: requireRole('handler'),
      schema: {
        operationId: 'pullMispEvents',
        tags: ['formats'],
        summary: "Pull the events changed since the last pull from the team's MISP instance into incidents",
        description:
          'Pages through events/restSearch and imports each (idempotent); where it stopped is kept, so a pull broken halfway resumes without duplicates. 409 misp-not-configured, 502 misp-unavailable.',
        response: { 200: MispPullResultSchema, ...remoteResponses },
      },
    },
    async (request) => misp.pull(actorOf(request)),
  );
};
