import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { errorResponses } from '../../../schemas/common.schema.js';
import {
  LawEnforcementDecisionCreateSchema,
  LawEnforcementPackageParamsSchema,
  LawEnforcementPackageSchema,
  LawEnforcementRequestCreateSchema,
  LawEnforcementRequestListSchema,
  LawEnforcementRequestParamsSchema,
  LawEnforcementRequestSchema,
} from '../../../schemas/outside.schema.js';
import { principalOf, requireRole } from '../../http/auth.js';
import type { LawEnforcementService } from './law-enforcement.service.js';

/** /api/v1/law-enforcement: requests, the handler's decision, signed disclosure packages (ADR 0023). */
export const lawEnforcementRoutes: FastifyPluginAsyncTypebox<{ service: LawEnforcementService }> = async (app, { service }) => {
  const actor = (request: Parameters<typeof principalOf>[0]) => principalOf(request).subject;
  const tags = ['law-enforcement'];

  app.post(
    '/law-enforcement/requests',
    {
      preHandler: requireRole('handler'),
      schema: {
        tags,
        operationId: 'recordLawEnforcementRequest',
        summary: 'Record a request from a law-enforcement agency, or a report we decide to make (proactive); audited',
        description: 'Nothing is disclosed until a handler approves the request. An inbound request names its officer.',
        body: LawEnforcementRequestCreateSchema,
        response: { 201: LawEnforcementRequestSchema, ...errorResponses },
      },
    },
    async (request, reply) => {
      const recorded = await service.record(request.body, actor(request));
      request.log.info({ request: recorded.id, agency: recorded.agency.id }, 'law-enforcement request recorded');
      return reply.code(201).send(recorded);
    },
  );

  app.get(
    '/law-enforcement/requests',
    {
      preHandler: requireRole('reader'),
      schema: {
        tags,
        operationId: 'listLawEnforcementRequests',
        summary: 'Law-enforcement requests, newest first (up to 500)',
        response: { 200: LawEnforcementRequestListSchema, ...errorResponses },
      },
    },
    async () => ({ items: await service.list() }),
  );

  app.get(
    '/law-enforcement/requests/:id',
    {
      preHandler: requireRole('reader'),
      schema: {
        tags,
        operationId: 'getLawEnforcementRequest',
        summary: 'One law-enforcement request with its decision and packages',
        params: LawEnforcementRequestParamsSchema,
        response: { 200: LawEnforcementRequestSchema, ...errorResponses },
      },
    },
    async (request) => service.get(request.params.id),
  );

  app.post(
    '/law-enforcement/requests/:id/decision',
    {
      preHandler: requireRole('handler'),
      schema: {
        tags,
        operationId: 'decideLawEnforcementRequest',
        summary:
          "The handler's decision: approve (with the legal basis; records an approval per incident in scope) or decline (with a reason)",
        params: LawEnforcementRequestParamsSchema,
        body: LawEnforcementDecisionCreateSchema,
        response: { 200: LawEnforcementRequestSchema, ...errorResponses },
      },
    },
    async (request) => {
      const decided = await service.decide(request.params.id, request.body, actor(request));
      request.log.info({ request: decided.id, state: decided.state }, 'law-enforcement request decided');
      return decided;
    },
  );

  app.post(
    '/law-enforcement/requests/:id/packages',
    {
      preHandler: requireRole('handler'),
      schema: {
        tags,
        operationId: 'createLawEnforcementPackage',
        summary: 'Make the signed disclosure package of an approved request: what the policy allows, as canonical JSON and text',
        description:
          'Refused (409 law-enforcement-not-approved) before approval, and 403 policy-denied when the policy refuses an incident; both audited.',
        params: LawEnforcementRequestParamsSchema,
        response: { 201: LawEnforcementPackageSchema, ...errorResponses },
      },
    },
    async (request, reply) => {
      const made = await service.makePackage(request.params.id, actor(request));
      request.log.info({ request: made.requestId, package: made.id, incidents: made.incidents.length }, 'law-enforcement package made');
      return reply.code(201).send(made);
    },
  );

  app.get(
    '/law-enforcement/packages/:id',
    {
      preHandler: requireRole('handler'),
      schema: {
        tags,
        operationId: 'downloadLawEnforcementPackage',
        summary: 'Download a signed disclosure package to hand over (audited)',
        params: LawEnforcementPackageParamsSchema,
        response: { 200: LawEnforcementPackageSchema, ...errorResponses },
      },
    },
    async (request) => service.download(request.params.id, actor(request)),
  );
};
