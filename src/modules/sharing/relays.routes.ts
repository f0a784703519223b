import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import { ProblemResponse, errorResponses } from '../../../schemas/common.schema.js';
import { IncidentRefParamsSchema } from '../../../schemas/incident.schema.js';
import { ProvenanceViewSchema, RelayCreateSchema, RelaySchema } from '../../../schemas/relay.schema.js';
import { principalOf, requireRole } from '../../http/auth.js';
import type { RelayService } from './relay.service.js';

const conflictResponses = { ...errorResponses, 409: ProblemResponse };

/** /api/v1: relays through a trusted team, and the signed provenance of a copy (docs/federation-protocol.md §5.18, §5.21, §5.22). */
export const relayRoutes: FastifyPluginAsyncTypebox<{ relays: RelayService; teamId: string }> = async (app, { relays, teamId }) => {
  app.post(
    '/incidents/:ref/relays',
    {
      preHandler: requireRole('handler'),
      schema: {
        tags: ['shares'],
        operationId: 'requestRelay',
        summary: 'Ask a peer to pass the incident on to a team, or to whoever serves an address (a relay)',
        description:
          "Our policy decides the report to the relay (purpose direct: the handler chose it), which is sent as a signed incident.report naming the target (relayTo); the relay's policy decides purpose relay and forwards our signed report intact, or answers relay.refused with its reasons. Follow it with GET .../relays: the target's reference number arrives with relay.delivered.",
        params: IncidentRefParamsSchema,
        body: RelayCreateSchema,
        response: { 202: RelaySchema, ...conflictResponses },
      },
    },
    async (request, reply) =>
      reply.code(202).send(await relays.request(request.params.ref, request.body, { subject: principalOf(request).subject, team: teamId })),
  );

  app.get(
    '/incidents/:ref/relays',
    {
      preHandler: requireRole('reader'),
      schema: {
        tags: ['shares'],
        operationId: 'listIncidentRelays',
        summary: 'Relays of this incident: asked by us, passed on by us, or received as the target, with their state',
        params: IncidentRefParamsSchema,
        response: { 200: Type.Object({ items: Type.Array(RelaySchema) }, { additionalProperties: false }), ...errorResponses },
      },
    },
    async (request) => ({ items: await relays.list(request.params.ref) }),
  );

  app.get(
    '/incidents/:ref/provenance',
    {
      preHandler: requireRole('reader'),
      schema: {
        tags: ['shares'],
        operationId: 'getIncidentProvenance',
        summary:
          'Where our copy came from: each hop (team, label, time, reference number), signed or not, and whether its signature verified here',
        params: IncidentRefParamsSchema,
        response: { 200: ProvenanceViewSchema, ...errorResponses },
      },
    },
    async (request) => relays.provenance(request.params.ref),
  );
};
