import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import { ProblemResponse, errorResponses } from '../../../schemas/common.schema.js';
import {
  InboxBodySchema,
  QuarantineAcceptSchema,
  QuarantineDecisionSchema,
  QuarantineIdParamsSchema,
  QuarantineListQuerySchema,
  QuarantinePageSchema,
  QuarantinedAnswerSchema,
  QuarantinedMessageSchema,
  QuarantineRejectSchema,
  SignedReceiptSchema,
} from '../../../schemas/federation.schema.js';
import { principalOf, requireRole } from '../../http/auth.js';
import { documentedBodyOnly, keepJsonBodiesAsText } from '../../http/raw-json-body.js';
import type { Inbox } from './inbox.service.js';
import {
  MailQuarantineDecisionSchema,
  MailQuarantineRejectSchema,
  MailTestResultSchema,
  MailTestSchema,
  QuarantinedMailListQuerySchema,
  QuarantinedMailPageSchema,
  QuarantinedMailSchema,
  type MailTestResult,
} from '../../../schemas/mail.schema.js';
import type { MailQuarantine } from './mail-quarantine.service.js';

const conflictResponses = { ...errorResponses, 409: ProblemResponse };

/** /api/v1: the quarantine, for this team's handlers. */
export const exchangeApiRoutes: FastifyPluginAsyncTypebox<{
  inbox: Inbox;
  mailQuarantine: MailQuarantine;
  mailTest: (to: string, actor: string) => Promise<MailTestResult>;
}> = async (app, { inbox, mailQuarantine, mailTest }) => {
  const actorOf = (request: FastifyRequest): { subject: string } => ({ subject: principalOf(request).subject });

  app.get(
    '/quarantine',
    {
      preHandler: requireRole('handler'),
      schema: {
        tags: ['shares'],
        operationId: 'listQuarantinedMessages',
        summary: 'Messages from senders that are not peers, newest first',
        querystring: QuarantineListQuerySchema,
        response: { 200: QuarantinePageSchema, ...errorResponses },
      },
    },
    async (request) => inbox.quarantine.list(request.query),
  );

  // Incoming mail that was not filed (ADR 0025): unsigned, unknown or bad signature, malformed, refused.
  app.get(
    '/mail/quarantine',
    {
      preHandler: requireRole('handler'),
      schema: {
        tags: ['shares'],
        operationId: 'listQuarantinedMail',
        summary: 'Incoming e-mail that was not filed, with the reason, newest first',
        querystring: QuarantinedMailListQuerySchema,
        response: { 200: QuarantinedMailPageSchema, ...errorResponses },
      },
    },
    async (request) => mailQuarantine.list(request.query),
  );

  app.post(
    '/mail/test',
    {
      preHandler: requireRole('admin'),
      schema: {
        tags: ['shares'],
        operationId: 'sendMailTest',
        summary: 'Send a signed test message through the e-mail channel',
        description: 'A PGP/MIME signed text that says it is a test; nothing of the node is in it. Audited.',
        body: MailTestSchema,
        response: { 200: MailTestResultSchema, ...conflictResponses, 502: ProblemResponse },
      },
    },
    async (request) => mailTest(request.body.to, principalOf(request).subject),
  );

  app.get(
    '/mail/quarantine/:id',
    {
      preHandler: requireRole('handler'),
      schema: {
        tags: ['shares'],
        operationId: 'getQuarantinedMail',
        summary: 'One quarantined e-mail, with the message exactly as received (base64)',
        params: QuarantineIdParamsSchema,
        response: { 200: QuarantinedMailSchema, ...errorResponses },
      },
    },
    async (request) => mailQuarantine.get(request.params.id),
  );

  app.post(
    '/mail/quarantine/:id/accept',
    {
      preHandler: requireRole('admin'),
      schema: {
        tags: ['shares'],
        operationId: 'acceptQuarantinedMail',
        summary: 'Accept a quarantined e-mail: it goes through the mail intake again, as if it had just arrived',
        description:
          'For a mail whose reason is gone (a peer or vendor key pinned since, an error of ours). It is filed, or held again under a new quarantine id with its reason (outcome). Audited (mail-quarantine-accepted); a mail is decided once.',
        params: QuarantineIdParamsSchema,
        response: { 200: MailQuarantineDecisionSchema, ...conflictResponses },
      },
    },
    async (request) => mailQuarantine.accept(request.params.id, principalOf(request).subject),
  );

  app.post(
    '/mail/quarantine/:id/reject',
    {
      preHandler: requireRole('admin'),
      schema: {
        tags: ['shares'],
        operationId: 'rejectQuarantinedMail',
        summary: 'Reject a quarantined e-mail: it is never processed; the reason is kept with it and audited',
        params: QuarantineIdParamsSchema,
        body: MailQuarantineRejectSchema,
        response: { 200: MailQuarantineDecisionSchema, ...conflictResponses },
      },
    },
    async (request) => mailQuarantine.reject(request.params.id, request.body.reason, principalOf(request).subject),
  );

  app.get(
    '/quarantine/:id',
    {
      preHandler: requireRole('handler'),
      schema: {
        tags: ['shares'],
        operationId: 'getQuarantinedMessage',
        summary: 'One quarantined message, with its envelope exactly as received',
        params: QuarantineIdParamsSchema,
        response: { 200: QuarantinedMessageSchema, ...errorResponses },
      },
    },
    async (request) => inbox.quarantine.get(request.params.id),
  );

  app.post(
    '/quarantine/:id/accept',
    {
      preHandler: requireRole('admin'),
      schema: {
        tags: ['shares'],
        operationId: 'acceptQuarantinedMessage',
        summary: "Accept a quarantined message: add its sender as a peer (from its node's URL), then verify and process the message",
        description:
          'Adding the peer pins the key its signed profile carries, as POST /api/v1/peers does; confirm the fingerprint out of band (POST /api/v1/peers/{teamId}/verify). The message must verify against that key.',
        params: QuarantineIdParamsSchema,
        body: QuarantineAcceptSchema,
        response: {
          200: QuarantineDecisionSchema,
          ...conflictResponses,
          401: ProblemResponse,
          422: ProblemResponse,
          502: ProblemResponse,
        },
      },
    },
    async (request) => inbox.quarantine.accept(request.params.id, request.body.url, actorOf(request)),
  );

  app.post(
    '/quarantine/:id/reject',
    {
      preHandler: requireRole('admin'),
      schema: {
        tags: ['shares'],
        operationId: 'rejectQuarantinedMessage',
        summary: 'Reject a quarantined message: it is never processed, and a repeat of it is refused',
        params: QuarantineIdParamsSchema,
        body: QuarantineRejectSchema,
        response: { 200: QuarantineDecisionSchema, ...conflictResponses },
      },
    },
    async (request) => inbox.quarantine.reject(request.params.id, request.body.reason, actorOf(request)),
  );
};

export const federationErrors = {
  400: ProblemResponse,
  401: ProblemResponse,
  403: ProblemResponse,
  409: ProblemResponse,
  413: ProblemResponse,
  415: ProblemResponse,
  429: ProblemResponse,
  500: ProblemResponse,
};

/** /federation/v1: the inbox, for peer nodes. */
export const exchangeFederationRoutes: FastifyPluginAsyncTypebox<{ inbox: Inbox; bodyLimit: number }> = async (
  app,
  { inbox, bodyLimit },
) => {
  keepJsonBodiesAsText(app, bodyLimit);

  app.post(
    '/messages',
    {
      validatorCompiler: documentedBodyOnly,
      schema: {
        tags: ['federation'],
        operationId: 'receiveMessage',
        summary: 'Receive a signed (or sealed) message; answers with a signed receipt',
        description:
          'Checks in order: JSON, envelope shape, sealed -> open, sender known (unknown: 202 quarantined), not suspended, signature against the pinned key, key not changed, document schema, recipient, created time, TLP sealing. A repeat of (from, id) gets the original receipt. See docs/federation-protocol.md.',
        body: InboxBodySchema,
        response: { 200: SignedReceiptSchema, 202: QuarantinedAnswerSchema, ...federationErrors },
      },
    },
    async (request, reply) => {
      const answer = await inbox.receive(request.body as unknown as string, request.ip);
      if (answer.kind === 'quarantined') {
        return reply.code(202).send({ status: 'quarantined', quarantineId: answer.quarantineId, detail: answer.detail });
      }
      // The stored receipt text, byte for byte: a repeat gets exactly the receipt the first got.
      return reply
        .code(200)
        .type('application/json')
        .serializer((payload: unknown) => payload as string)
        .send(answer.text as never);
    },
  );
};
