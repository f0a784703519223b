import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import { ProblemResponse, errorResponses } from '../../../schemas/common.schema.js';
import {
  InvestigationAnswerSchema,
  InvestigationCreateSchema,
  InvestigationListSchema,
  InvestigationParamsSchema,
  InvestigationSchema,
  ShareCreateSchema,
  ShareListSchema,
  ShareSchema,
} from '../../../schemas/federation.schema.js';
import { IncidentRefParamsSchema } from '../../../schemas/incident.schema.js';
import { principalOf, requireRole } from '../../http/auth.js';
import type { Actor } from '../incidents/incidents.module.js';
import type { ShareService } from './share.service.js';

const conflictResponses = { ...errorResponses, 409: ProblemResponse };

/** /api/v1: shares and investigations, for this team's handlers. */
export const shareRoutes: FastifyPluginAsyncTypebox<{ shares: ShareService; teamId: string }> = async (app, { shares, teamId }) => {
  const actorOf = (request: FastifyRequest): Actor => ({ subject: principalOf(request).subject, team: teamId });

  app.post(
    '/incidents/:ref/shares',
    {
      preHandler: requireRole('handler'),
      schema: {
        tags: ['shares'],
        operationId: 'shareIncident',
        summary: 'Share the incident with a peer: queues a signed incident.report for delivery',
        description:
          "Asks the sharing policy first (purpose direct; the handler's choice is the peer's need to know) and records its decision in the audit log either way. Allowed: writes the outbox row in the same transaction as the share, with the content the policy lets go; the 202 answer says what went (detail, redactions with reasons); later journal entries and phase changes travel to the peer as incident.update, each decided again. Refused: 403 policy-denied with reasons and deniedBy; nothing is queued. Follow the state with GET .../shares.",
        params: IncidentRefParamsSchema,
        body: ShareCreateSchema,
        response: { 202: ShareSchema, ...conflictResponses },
      },
    },
    async (request, reply) => reply.code(202).send(await shares.share(request.params.ref, request.body.peer, actorOf(request))),
  );

  app.get(
    '/incidents/:ref/shares',
    {
      preHandler: requireRole('reader'),
      schema: {
        tags: ['shares'],
        operationId: 'listIncidentShares',
        summary: 'The peers this incident is linked to, with the delivery state of each share',
        params: IncidentRefParamsSchema,
        response: { 200: ShareListSchema, ...errorResponses },
      },
    },
    async (request) => ({ items: await shares.listShares(request.params.ref) }),
  );

  app.post(
    '/incidents/:ref/investigations',
    {
      preHandler: requireRole('handler'),
      schema: {
        tags: ['shares'],
        operationId: 'requestInvestigation',
        summary: 'Ask a peer to check the facts about hosts in its network (investigation.request)',
        description:
          'Decided and audited by the sharing policy like a share (403 policy-denied when refused); does not widen what the peer is sent later.',
        params: IncidentRefParamsSchema,
        body: InvestigationCreateSchema,
        response: { 202: InvestigationSchema, ...conflictResponses },
      },
    },
    async (request, reply) => reply.code(202).send(await shares.requestInvestigation(request.params.ref, request.body, actorOf(request))),
  );

  app.get(
    '/incidents/:ref/investigations',
    {
      preHandler: requireRole('reader'),
      schema: {
        tags: ['shares'],
        operationId: 'listInvestigations',
        summary: 'Investigations asked of peers, or by peers, on this incident',
        params: IncidentRefParamsSchema,
        response: { 200: InvestigationListSchema, ...errorResponses },
      },
    },
    async (request) => ({ items: await shares.listInvestigations(request.params.ref) }),
  );

  app.post(
    '/incidents/:ref/investigations/:id/result',
    {
      preHandler: requireRole('handler'),
      schema: {
        tags: ['shares'],
        operationId: 'answerInvestigation',
        summary: "Answer a peer's investigation request (investigation.result)",
        description:
          'Decided and audited by the sharing policy (403 policy-denied when refused, e.g. a RED incident the requester is not named on).',
        params: InvestigationParamsSchema,
        body: InvestigationAnswerSchema,
        response: { 202: InvestigationSchema, ...conflictResponses },
      },
    },
    async (request, reply) =>
      reply.code(202).send(await shares.answerInvestigation(request.params.ref, request.params.id, request.body, actorOf(request))),
  );
};
