import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import { ProblemResponse, errorResponses } from '../../../schemas/common.schema.js';
import {
  IncidentCreateSchema,
  IncidentListQuerySchema,
  IncidentPageSchema,
  IncidentPatchSchema,
  IncidentRefParamsSchema,
  IncidentSchema,
  JournalEntrySchema,
  JournalNoteCreateSchema,
  JournalPageSchema,
} from '../../../schemas/incident.schema.js';
import { principalOf, requireRole } from '../../http/auth.js';
import { ProblemError } from '../../http/problem.js';
import type { Actor, IncidentService } from './incident.service.js';
import { personalDataRoutes } from './personal-data.routes.js';

/** `If-Match: "3"` or `If-Match: 3` → 3; absent or `*` (any version, RFC 9110) → undefined; anything else is a 400. */
function parseIfMatch(header: string | undefined): number | undefined {
  if (header === undefined || header.trim() === '*') return undefined;
  const m = /^\s*(?:W\/)?"?(\d{1,9})"?\s*$/.exec(header);
  if (!m) throw new ProblemError('bad-request', 'If-Match must be the incident version, e.g. "3"');
  return Number(m[1]);
}

export const incidentRoutes: FastifyPluginAsyncTypebox<{ incidents: IncidentService; teamId: string }> = async (
  app,
  { incidents, teamId },
) => {
  const actorOf = (request: Parameters<typeof principalOf>[0]): Actor => ({
    subject: principalOf(request).subject,
    team: teamId,
  });

  app.post(
    '/incidents',
    {
      preHandler: requireRole('handler'),
      schema: {
        tags: ['incidents'],
        operationId: 'createIncident',
        summary: 'Record an incident; the node assigns its reference number',
        body: IncidentCreateSchema,
        response: { 201: IncidentSchema, ...errorResponses },
      },
    },
    async (request, reply) => {
      const incident = await incidents.create(request.body, actorOf(request));
      return reply
        .code(201)
        .header('location', `/api/v1/incidents/${encodeURIComponent(incident.ref)}`)
        .header('etag', `"${incident.version}"`)
        .send(incident);
    },
  );

  app.get(
    '/incidents',
    {
      preHandler: requireRole('reader'),
      schema: {
        tags: ['incidents'],
        operationId: 'listIncidents',
        summary: 'List incidents, newest first, with filters and a keyset cursor',
        querystring: IncidentListQuerySchema,
        response: { 200: IncidentPageSchema, ...errorResponses },
      },
    },
    async (request) => incidents.list(request.query),
  );

  app.get(
    '/incidents/:ref',
    {
      preHandler: requireRole('reader'),
      schema: {
        tags: ['incidents'],
        operationId: 'getIncident',
        summary: 'Read an incident by reference number (URL-encoded) or id',
        params: IncidentRefParamsSchema,
        response: { 200: IncidentSchema, ...errorResponses },
      },
    },
    async (request, reply) => {
      const incident = await incidents.get(request.params.ref);
      return reply.header('etag', `"${incident.version}"`).send(incident);
    },
  );

  app.patch(
    '/incidents/:ref',
    {
      preHandler: requireRole('handler'),
      schema: {
        tags: ['incidents'],
        operationId: 'updateIncident',
        summary: 'Change fields or move the phase; send If-Match with the version read to avoid lost updates',
        params: IncidentRefParamsSchema,
        headers: Type.Object({ 'if-match': Type.Optional(Type.String({ maxLength: 20 })) }),
        body: IncidentPatchSchema,
        response: { 200: IncidentSchema, 409: ProblemResponse, 412: ProblemResponse, ...errorResponses },
      },
    },
    async (request, reply) => {
      const incident = await incidents.patch(request.params.ref, request.body, actorOf(request), parseIfMatch(request.headers['if-match']));
      return reply.header('etag', `"${incident.version}"`).send(incident);
    },
  );

  app.get(
    '/incidents/:ref/journal',
    {
      preHandler: requireRole('reader'),
      schema: {
        tags: ['incidents'],
        operationId: 'listJournalEntries',
        summary: 'The append-only journal: every change and note, oldest first',
        params: IncidentRefParamsSchema,
        querystring: Type.Object(
          {
            limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500 })),
            cursor: Type.Optional(Type.String({ maxLength: 200 })),
          },
          { additionalProperties: false },
        ),
        response: { 200: JournalPageSchema, ...errorResponses },
      },
    },
    async (request) => incidents.journal(request.params.ref, request.query.cursor, request.query.limit ?? 100),
  );

  app.post(
    '/incidents/:ref/journal',
    {
      preHandler: requireRole('handler'),
      schema: {
        tags: ['incidents'],
        operationId: 'addJournalNote',
        summary: 'Add a free note to the journal',
        params: IncidentRefParamsSchema,
        body: JournalNoteCreateSchema,
        response: { 201: JournalEntrySchema, ...errorResponses },
      },
    },
    async (request, reply) => reply.code(201).send(await incidents.addNote(request.params.ref, request.body.note, actorOf(request))),
  );

  await app.register(personalDataRoutes, { incidents, teamId });
};
