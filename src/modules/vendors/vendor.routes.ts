import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { ProblemResponse, errorResponses } from '../../../schemas/common.schema.js';
import {
  CaseCreateSchema,
  CaseParamsSchema,
  CasePatchSchema,
  QuestionParamsSchema,
  SentVendorStatementListSchema,
  StatementInputSchema,
  StatementRecordSchema,
  VendorCreateSchema,
  VendorListSchema,
  VendorParamsSchema,
  VendorPatchSchema,
  VendorQuestionAskSchema,
  VendorQuestionListSchema,
  VendorQuestionSchema,
  VendorQuestionsAskedSchema,
  VendorSchema,
  VulnerabilityCaseListSchema,
  VulnerabilityCaseSchema,
} from '../../../schemas/vendor.schema.js';
import { principalOf, requireRole } from '../../http/auth.js';
import type { VendorQuestionService } from './vendor-question.service.js';
import type { VendorService } from './vendor.service.js';

/**
 * /api/v1/vendors, /api/v1/cases and /api/v1/vendor-questions (issue 17 part 1, ADR 0024):
 * vendors as contacts, vulnerability cases, questions to party vendors and their statements; on
 * a vendor's node, the questions it received and its answers.
 */
export const vendorRoutes: FastifyPluginAsyncTypebox<{ vendors: VendorService }> = async (app, { vendors }) => {
  const tags = ['vendors'];
  const reader = requireRole('reader');
  const handler = requireRole('handler');
  const conflict = { 409: ProblemResponse };

  app.get(
    '/vendors',
    {
      preHandler: reader,
      schema: {
        tags,
        operationId: 'listVendors',
        summary: 'Vendors we coordinate with',
        response: { 200: VendorListSchema, ...errorResponses },
      },
    },
    async () => ({ items: await vendors.listVendors() }),
  );
  app.post(
    '/vendors',
    {
      preHandler: handler,
      schema: {
        tags,
        operationId: 'createVendor',
        summary: 'Add a vendor: a node peer (teamId) or an e-mail address with a pinned OpenPGP key',
        body: VendorCreateSchema,
        response: { 201: VendorSchema, ...conflict, ...errorResponses },
      },
    },
    async (request, reply) => reply.code(201).send(await vendors.createVendor(request.body, principalOf(request).subject)),
  );
  app.get(
    '/vendors/:id',
    {
      preHandler: reader,
      schema: {
        tags,
        operationId: 'getVendor',
        summary: 'One vendor',
        params: VendorParamsSchema,
        response: { 200: VendorSchema, ...errorResponses },
      },
    },
    async (request) => vendors.getVendor(request.params.id),
  );
  app.patch(
    '/vendors/:id',
    {
      preHandler: handler,
      schema: {
        tags,
        operationId: 'updateVendor',
        summary: "Change a vendor's name, e-mail address or pinned key",
        params: VendorParamsSchema,
        body: VendorPatchSchema,
        response: { 200: VendorSchema, ...conflict, ...errorResponses },
      },
    },
    async (request) => vendors.patchVendor(request.params.id, request.body, principalOf(request).subject),
  );
  app.delete(
    '/vendors/:id',
    {
      preHandler: handler,
      schema: {
        tags,
        operationId: 'deleteVendor',
        summary: 'Remove a vendor no case names',
        params: VendorParamsSchema,
        response: { 204: { type: 'null', description: 'Removed.' }, ...conflict, ...errorResponses },
      },
    },
    async (request, reply) => {
      await vendors.deleteVendor(request.params.id, principalOf(request).subject);
      return reply.code(204).send(null);
    },
  );
};

/** /api/v1/cases: vulnerability cases, their questions to party vendors and the vendors' statements. */
export const caseRoutes: FastifyPluginAsyncTypebox<{ vendors: VendorService; questions: VendorQuestionService }> = async (
  app,
  { vendors, questions },
) => {
  const tags = ['vendors'];
  const reader = requireRole('reader');
  const handler = requireRole('handler');
  const conflict = { 409: ProblemResponse };
  const view = async (id: string) => vendors.view(await vendors.mustFindCase(vendors.db, id), questions.delivery);

  app.get(
    '/cases',
    {
      preHandler: reader,
      schema: {
        tags,
        operationId: 'listVulnerabilityCases',
        summary: 'Vulnerability cases, newest first',
        response: { 200: VulnerabilityCaseListSchema, ...errorResponses },
      },
    },
    async () => ({ items: await Promise.all((await vendors.listCases()).map((c) => vendors.view(c, questions.delivery))) }),
  );
  app.post(
    '/cases',
    {
      preHandler: handler,
      schema: {
        tags,
        operationId: 'createVulnerabilityCase',
        summary: 'Open a vulnerability case: products, CVE ids, embargo, party vendors, linked incidents',
        body: CaseCreateSchema,
        response: { 201: VulnerabilityCaseSchema, ...conflict, ...errorResponses },
      },
    },
    async (request, reply) => {
      const created = await vendors.createCase(request.body, principalOf(request).subject);
      return reply.code(201).send(await view(created.id));
    },
  );
  app.get(
    '/cases/:id',
    {
      preHandler: reader,
      schema: {
        tags,
        operationId: 'getVulnerabilityCase',
        summary: 'One case with its questions and the vendors’ statements',
        params: CaseParamsSchema,
        response: { 200: VulnerabilityCaseSchema, ...errorResponses },
      },
    },
    async (request) => view(request.params.id),
  );
  app.patch(
    '/cases/:id',
    {
      preHandler: handler,
      schema: {
        tags,
        operationId: 'updateVulnerabilityCase',
        summary: 'Change a case (its embargo, products, parties, CVE ids...)',
        params: CaseParamsSchema,
        body: CasePatchSchema,
        response: { 200: VulnerabilityCaseSchema, ...errorResponses },
      },
    },
    async (request) => {
      await vendors.patchCase(request.params.id, request.body, principalOf(request).subject);
      return view(request.params.id);
    },
  );
  app.post(
    '/cases/:id/questions',
    {
      preHandler: handler,
      schema: {
        tags,
        operationId: 'askCaseVendors',
        summary: 'Ask the party vendors whether their products are affected',
        description:
          'One decision per vendor by the vendor rules (docs/trust-model.md), audited: a node vendor gets a signed vendor.question through the outbox, an e-mail vendor’s question waits for the e-mail channel (awaiting-email).',
        params: CaseParamsSchema,
        body: VendorQuestionAskSchema,
        response: { 202: VendorQuestionsAskedSchema, ...errorResponses },
      },
    },
    async (request, reply) => reply.code(202).send(await questions.ask(request.params.id, request.body, principalOf(request).subject)),
  );
  app.post(
    '/cases/:id/statements',
    {
      preHandler: handler,
      schema: {
        tags,
        operationId: 'recordVendorStatement',
        summary: "Record a vendor's statement by hand, or paste its clear-signed statement",
        description:
          "A pasted statement is verified with the vendor's pinned key (422 statement-signature-invalid otherwise). A vendor that is not a party to the case is refused (403 not-a-case-party). Refusals are audited.",
        params: CaseParamsSchema,
        body: StatementRecordSchema,
        response: { 201: VulnerabilityCaseSchema, 422: ProblemResponse, ...errorResponses },
      },
    },
    async (request, reply) => {
      await questions.record(request.params.id, request.body, principalOf(request).subject);
      return reply.code(201).send(await view(request.params.id));
    },
  );
};

/** /api/v1/vendor-questions: on a vendor's node, the questions other teams asked it, and its signed answers. */
export const vendorQuestionRoutes: FastifyPluginAsyncTypebox<{ questions: VendorQuestionService }> = async (app, { questions }) => {
  const tags = ['vendors'];
  const reader = requireRole('reader');
  const handler = requireRole('handler');

  app.get(
    '/vendor-questions',
    {
      preHandler: reader,
      schema: {
        tags,
        operationId: 'listVendorQuestions',
        summary: 'Questions other teams asked this node as a vendor, newest first',
        response: { 200: VendorQuestionListSchema, ...errorResponses },
      },
    },
    async () => ({ items: await questions.listReceived() }),
  );
  app.get(
    '/vendor-questions/:id',
    {
      preHandler: reader,
      schema: {
        tags,
        operationId: 'getVendorQuestion',
        summary: 'One question asked of this node as a vendor',
        params: QuestionParamsSchema,
        response: { 200: VendorQuestionSchema, ...errorResponses },
      },
    },
    async (request) => questions.getReceived(request.params.id),
  );
  app.get(
    '/vendor-questions/:id/statements',
    {
      preHandler: reader,
      schema: {
        tags,
        operationId: 'listSentVendorStatements',
        summary: 'What this node answered a question asked of it with: each signed statement sent, oldest first',
        description:
          'Per product, with the delivery state of its signed vendor.statement. 404 not-found for an unknown id or a question this node asked (its answers are in the case).',
        params: QuestionParamsSchema,
        response: { 200: SentVendorStatementListSchema, ...errorResponses },
      },
    },
    async (request) => ({ items: await questions.sentStatements(request.params.id) }),
  );
  app.post(
    '/vendor-questions/:id/statement',
    {
      preHandler: handler,
      schema: {
        tags,
        operationId: 'answerVendorQuestion',
        summary: 'Answer with a signed vendor.statement (affected, not affected, under investigation)',
        params: QuestionParamsSchema,
        body: StatementInputSchema,
        response: { 202: VendorQuestionSchema, ...errorResponses },
      },
    },
    async (request, reply) => reply.code(202).send(await questions.answer(request.params.id, request.body, principalOf(request).subject)),
  );
};
