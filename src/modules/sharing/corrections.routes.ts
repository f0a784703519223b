import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { ProblemResponse, errorResponses } from '../../../schemas/common.schema.js';
import { CorrectionCreateSchema, CorrectionListSchema, CorrectionViewSchema } from '../../../schemas/correction.schema.js';
import { IncidentRefParamsSchema } from '../../../schemas/incident.schema.js';
import { principalOf, requireRole } from '../../http/auth.js';
import type { CorrectionService } from './correction.service.js';

/** /api/v1: the originator's corrections of its reports, and every copy's acknowledgement. */
export const correctionRoutes: FastifyPluginAsyncTypebox<{ corrections: CorrectionService; teamId: string }> = async (
  app,
  { corrections, teamId },
) => {
  app.post(
    '/incidents/:ref/corrections',
    {
      preHandler: requireRole('handler'),
      schema: {
        tags: ['shares'],
        operationId: 'correctIncident',
        summary: 'Re-label or retract our report everywhere it went (incident.correction, signed by this node)',
        description:
          "Originator only: 409 correction-not-originator on a copy received from another team. relabel (tlp) changes our label at once; retract (reason: false-positive, hoax, mistaken, other; an optional note) marks the incident retracted, keeps it, and the sharing policy refuses it from then on (rule retracted). The statement is signed with this node's key and sent to every team we passed the report to; each forwards it to the teams it passed it to. Follow the acknowledgements with GET .../corrections.",
        params: IncidentRefParamsSchema,
        body: CorrectionCreateSchema,
        response: { 202: CorrectionViewSchema, ...errorResponses, 409: ProblemResponse, 422: ProblemResponse },
      },
    },
    async (request, reply) =>
      reply
        .code(202)
        .send(await corrections.issue(request.params.ref, request.body, { subject: principalOf(request).subject, team: teamId })),
  );

  app.get(
    '/incidents/:ref/corrections',
    {
      preHandler: requireRole('reader'),
      schema: {
        tags: ['shares'],
        operationId: 'listIncidentCorrections',
        summary: 'Corrections of this incident and which copies acknowledged each (signed receipts and acknowledgements)',
        description:
          "On the originator: every correction issued, with each holder (direct, and further down as the forwarding holders' signed incident.correction-ack tell) acknowledged, pending (kept until the report reaches it) or waiting. On a holder: the corrections applied to its copy and the copies below it.",
        params: IncidentRefParamsSchema,
        response: { 200: CorrectionListSchema, ...errorResponses },
      },
    },
    async (request) => ({ items: await corrections.list(request.params.ref) }),
  );
};
