import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import { errorResponses } from '../../../schemas/common.schema.js';
import { IncidentRefParamsSchema } from '../../../schemas/incident.schema.js';
import { IodefDocumentSchema, IodefExportQuerySchema, IodefImportResultSchema } from '../../../schemas/iodef.schema.js';
import { principalOf, requireRole } from '../../http/auth.js';
import { ProblemError } from '../../http/problem.js';
import type { Actor } from '../incidents/incidents.module.js';
import type { IodefService } from './iodef.service.js';

const XML_TYPES = ['application/xml', 'text/xml'];

/** /api/v1: IODEF v2 export of an incident and import of a document. */
export const iodefRoutes: FastifyPluginAsyncTypebox<{ iodef: IodefService; teamId: string; bodyLimit: number }> = async (
  app,
  { iodef, teamId, bodyLimit },
) => {
  const actorOf = (request: FastifyRequest): Actor => ({ subject: principalOf(request).subject, team: teamId });
  // XML bodies reach the handler as text (this scope only); the service parses them safely.
  for (const type of XML_TYPES) {
    app.addContentTypeParser(type, { parseAs: 'string', bodyLimit }, (_request, body, done) => done(null, body));
  }

  app.get(
    '/incidents/:ref/iodef',
    {
      preHandler: requireRole('handler'),
      schema: {
        operationId: 'exportIncidentIodef',
        tags: ['formats'],
        summary: 'The incident as an IODEF v2 document (RFC 7970)',
        description:
          'With ?for=<team>: what a share to that team would carry, decided by the sharing policy (purpose direct) and audited; a deny is 403 policy-denied. Without it: the incident as this node holds it (with its journal as History), audited with the format and the actor.',
        params: IncidentRefParamsSchema,
        querystring: IodefExportQuerySchema,
        produces: ['application/xml'],
        response: { 200: IodefDocumentSchema, ...errorResponses },
      },
    },
    async (request, reply) => {
      const xml = await iodef.exportIncident(request.params.ref, request.query.for, actorOf(request));
      return reply.type('application/xml; charset=utf-8').send(xml);
    },
  );

  app.post(
    '/imports/iodef',
    {
      preHandler: requireRole('handler'),
      bodyLimit,
      schema: {
        operationId: 'importIodef',
        tags: ['formats'],
        summary: 'File an IODEF v2 document as an incident (idempotent by IncidentID)',
        description:
          'The body is an IODEF-Document (application/xml or text/xml). A DOCTYPE or entity declaration, malformed XML, a wrong root or a missing required element is 400 import-invalid with `pointer` (an XPath-like path to the first failing element); nothing is filed. The same IncidentID with the same content again: unchanged; with new content: the incident is updated and journaled.',
        consumes: XML_TYPES,
        body: IodefDocumentSchema,
        response: { 200: IodefImportResultSchema, 201: IodefImportResultSchema, ...errorResponses },
      },
    },
    async (request, reply) => {
      if (typeof request.body !== 'string') throw new ProblemError('unsupported-media-type', 'send the document as application/xml');
      const result = await iodef.importDocument(request.body, actorOf(request));
      return reply.code(result.status === 'created' ? 201 : 200).send(result);
    },
  );
};
