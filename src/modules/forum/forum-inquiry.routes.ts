import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { ProblemResponse, errorResponses } from '../../../schemas/common.schema.js';
import {
  InquiryAnswerInputSchema,
  InquiryCreateSchema,
  InquiryForumParamsSchema,
  InquiryIdParamsSchema,
  InquiryListQuerySchema,
  InquiryListSchema,
  InquiryPostedSchema,
  InquirySchema,
} from '../../../schemas/forum-inquiry.schema.js';
import { principalOf, requireRole } from '../../http/auth.js';
import type { ForumInquiryService } from './forum-inquiry.service.js';

/**
 * /api/v1/forums/{id}/inquiries and /api/v1/inquiries (docs/federation-protocol.md §5.14,
 * §5.15): handlers post inquiries to every member of a forum and answer the ones they receive;
 * readers see both, with what matched here and each member's answer.
 */
export const forumInquiryRoutes: FastifyPluginAsyncTypebox<{ inquiries: ForumInquiryService }> = async (app, { inquiries }) => {
  const tags = ['forums'];
  const reader = requireRole('reader');
  const handler = requireRole('handler');

  app.post(
    '/forums/:id/inquiries',
    {
      preHandler: handler,
      schema: {
        tags,
        operationId: 'postForumInquiry',
        summary: 'Ask every member of a forum (one forum.inquiry each, through the outbox)',
        description:
          'To each active member of the newest roster that is a peer of ours, one sharing-policy decision (purpose broadcast), audited; members the policy refuses, and members that are not our peers, are skipped and listed. TLP:RED is never broadcast.',
        params: InquiryForumParamsSchema,
        body: InquiryCreateSchema,
        response: { 202: InquiryPostedSchema, 409: ProblemResponse, ...errorResponses },
      },
    },
    async (request, reply) => {
      const posted = await inquiries.post(request.params.id, request.body, principalOf(request).subject);
      return reply.code(202).header('location', `/api/v1/inquiries/${posted.id}`).send(posted);
    },
  );
  app.get(
    '/inquiries',
    {
      preHandler: reader,
      schema: {
        tags,
        operationId: 'listInquiries',
        summary: 'Inquiries we posted and inquiries we received, newest first',
        querystring: InquiryListQuerySchema,
        response: { 200: InquiryListSchema, ...errorResponses },
      },
    },
    async (request) => ({ items: await inquiries.list(request.query.direction) }),
  );
  app.get(
    '/inquiries/:id',
    {
      preHandler: reader,
      schema: {
        tags,
        operationId: 'getInquiry',
        summary: 'One inquiry: received, what matched here; sent, each member and its answer',
        params: InquiryIdParamsSchema,
        response: { 200: InquirySchema, ...errorResponses },
      },
    },
    async (request) => inquiries.get(request.params.id),
  );
  app.post(
    '/inquiries/:id/answer',
    {
      preHandler: handler,
      schema: {
        tags,
        operationId: 'answerInquiry',
        summary: 'Answer a received inquiry (forum.inquiry-answer to the poster only)',
        description:
          'The sharing policy decides the answer for the poster (purpose direct), audited. A later answer replaces an earlier one; all are kept.',
        params: InquiryIdParamsSchema,
        body: InquiryAnswerInputSchema,
        response: { 200: InquirySchema, 409: ProblemResponse, ...errorResponses },
      },
    },
    async (request) => inquiries.answer(request.params.id, request.body, principalOf(request).subject),
  );
};
