import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { ProblemResponse, errorResponses } from '../../../schemas/common.schema.js';
import { ForumIdParamsSchema } from '../../../schemas/forum.schema.js';
import {
  ForumApplicationListSchema,
  ForumApplyInputSchema,
  ForumMessageQueuedSchema,
  ForumSponsorInputSchema,
} from '../../../schemas/forum-joining.schema.js';
import { principalOf, requireRole } from '../../http/auth.js';
import type { ForumJoiningService } from './forum-joining.service.js';

/** /api/v1/forums/{id}/application, /sponsorships, /applications: joining a forum (admins, audited). */
export const forumJoiningRoutes: FastifyPluginAsyncTypebox<{ joining: ForumJoiningService }> = async (app, { joining }) => {
  const actor = (request: Parameters<typeof principalOf>[0]) => principalOf(request).subject;
  const tags = ['forums'];
  const admin = requireRole('admin');
  const queued = { 202: ForumMessageQueuedSchema, 409: ProblemResponse, ...errorResponses };

  app.post(
    '/forums/:id/application',
    {
      preHandler: admin,
      schema: {
        tags,
        operationId: 'applyToForum',
        summary: "Apply to the forum's operator for membership (a signed forum.application)",
        description: 'First join the forum as a member-to-be (POST /forums with role member): that names its operator.',
        params: ForumIdParamsSchema,
        body: ForumApplyInputSchema,
        response: queued,
      },
    },
    async (request, reply) => reply.code(202).send(await joining.apply(request.params.id, request.body, actor(request))),
  );
  app.post(
    '/forums/:id/sponsorships',
    {
      preHandler: admin,
      schema: {
        tags,
        operationId: 'sponsorForumCandidate',
        summary: 'Sponsor a candidate whose key this node verified (a signed forum.sponsorship to the operator), or withdraw that',
        params: ForumIdParamsSchema,
        body: ForumSponsorInputSchema,
        response: { ...queued, 403: ProblemResponse },
      },
    },
    async (request, reply) => reply.code(202).send(await joining.sponsor(request.params.id, request.body, actor(request))),
  );
  app.get(
    '/forums/:id/applications',
    {
      preHandler: admin,
      schema: {
        tags,
        operationId: 'listForumApplications',
        summary: 'The operator: candidates, their applications and signed sponsorships, and which count',
        params: ForumIdParamsSchema,
        response: { 200: ForumApplicationListSchema, ...errorResponses },
      },
    },
    async (request) => ({ items: await joining.applications(request.params.id) }),
  );
};
