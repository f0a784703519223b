import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { ProblemResponse, errorResponses } from '../../../schemas/common.schema.js';
import {
  PressStatementCreateSchema,
  PressStatementListSchema,
  PressStatementParamsSchema,
  PressStatementSchema,
  PressStatementWithdrawSchema,
  PublishedPressStatementListSchema,
  PublishedPressStatementSchema,
} from '../../../schemas/outside.schema.js';
import { principalOf, requireRole } from '../../http/auth.js';
import { PRESS_PAGE_CSP, renderPressIndexHtml, renderPressStatementHtml, wantsHtml } from './press-html.js';
import { renderPressText, type PressService } from './press.service.js';

/** /api/v1/press/statements: draft, approve (a second handler: publishes), withdraw (ADR 0023). */
export const pressApiRoutes: FastifyPluginAsyncTypebox<{ service: PressService }> = async (app, { service }) => {
  const actor = (request: Parameters<typeof principalOf>[0]) => principalOf(request).subject;
  const tags = ['press'];
  const byId = { params: PressStatementParamsSchema };

  app.post(
    '/press/statements',
    {
      preHandler: requireRole('handler'),
      schema: {
        tags,
        operationId: 'draftPressStatement',
        summary: 'Draft a press statement: only from TLP:CLEAR content (422 press-not-clear otherwise; audited)',
        body: PressStatementCreateSchema,
        response: { 201: PressStatementSchema, ...errorResponses },
      },
    },
    async (request, reply) => reply.code(201).send(await service.draft(request.body, actor(request))),
  );

  app.get(
    '/press/statements',
    {
      preHandler: requireRole('reader'),
      schema: {
        tags,
        operationId: 'listPressStatements',
        summary: 'Press statements in every state, newest first (up to 500)',
        response: { 200: PressStatementListSchema, ...errorResponses },
      },
    },
    async () => ({ items: await service.list() }),
  );

  app.get(
    '/press/statements/:id',
    {
      preHandler: requireRole('reader'),
      schema: {
        tags,
        operationId: 'getPressStatement',
        summary: 'One press statement',
        ...byId,
        response: { 200: PressStatementSchema, ...errorResponses },
      },
    },
    async (request) => service.get(request.params.id),
  );

  app.post(
    '/press/statements/:id/approve',
    {
      preHandler: requireRole('handler'),
      schema: {
        tags,
        operationId: 'approvePressStatement',
        summary: 'Approve a draft as a second handler (not its drafter): publishes it at /press after checking it again',
        ...byId,
        response: { 200: PressStatementSchema, ...errorResponses },
      },
    },
    async (request) => service.approve(request.params.id, actor(request)),
  );

  app.post(
    '/press/statements/:id/withdraw',
    {
      preHandler: requireRole('handler'),
      schema: {
        tags,
        operationId: 'withdrawPressStatement',
        summary: 'Withdraw a published statement from /press (audited)',
        ...byId,
        body: PressStatementWithdrawSchema,
        response: { 200: PressStatementSchema, ...errorResponses },
      },
    },
    async (request) => service.withdraw(request.params.id, request.body.reason, actor(request)),
  );
};

/** A 200 that is the JSON schema's document, or the same as a web page. */
const jsonOrPage = <S extends object>(schema: S, description: string) => ({
  description,
  content: { 'application/json': { schema }, 'text/html': { schema: { type: 'string' as const } } },
});

/** /press: the published statements, for anyone (no token), as JSON, a web page and plain text. */
export const pressPublicRoutes: FastifyPluginAsyncTypebox<{ service: PressService; teamId: string }> = async (app, { service, teamId }) => {
  const tags = ['press'];
  // 429: the open routes take a limited number of requests per source address (app.ts).
  const open = { 404: ProblemResponse, 400: ProblemResponse, 429: ProblemResponse, 503: ProblemResponse };
  app.get(
    '/press',
    {
      schema: {
        tags,
        operationId: 'listPublishedPressStatements',
        summary: "The team's published press statements, newest first",
        description: 'JSON, or a web page when the request lists text/html first in Accept (a browser).',
        response: { 200: jsonOrPage(PublishedPressStatementListSchema, 'The statements'), ...open },
      },
    },
    async (request, reply) => {
      const items = await service.published();
      if (!wantsHtml(request.headers.accept)) return reply.send({ team: teamId, items });
      return reply
        .type('text/html; charset=utf-8')
        .header('content-security-policy', PRESS_PAGE_CSP)
        .send(renderPressIndexHtml(teamId, items));
    },
  );
  app.get(
    '/press/:id',
    {
      schema: {
        tags,
        operationId: 'getPublishedPressStatement',
        summary: 'One published press statement',
        description: 'JSON, or a web page when the request lists text/html first in Accept (a browser).',
        params: PressStatementParamsSchema,
        response: { 200: jsonOrPage(PublishedPressStatementSchema, 'The statement'), ...open },
      },
    },
    async (request, reply) => {
      const statement = await service.publishedOne(request.params.id);
      if (!wantsHtml(request.headers.accept)) return reply.send(statement);
      return reply
        .type('text/html; charset=utf-8')
        .header('content-security-policy', PRESS_PAGE_CSP)
        .send(renderPressStatementHtml(statement));
    },
  );
  app.get(
    '/press/:id/text',
    {
      schema: {
        tags,
        operationId: 'getPublishedPressStatementText',
        summary: 'One published press statement as plain text',
        params: PressStatementParamsSchema,
        response: { 200: { description: 'The statement as text', content: { 'text/plain': { schema: { type: 'string' } } } }, ...open },
      },
    },
    async (request, reply) => reply.type('text/plain; charset=utf-8').send(renderPressText(await service.publishedOne(request.params.id))),
  );
};
