import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyRequest, FastifySchemaCompiler } from 'fastify';
import Type from 'typebox';
import { ProblemResponse, errorResponses } from '../../../../schemas/common.schema.js';
import {
  FeedPageSchema,
  FeedQuerySchema,
  InboxBodySchema,
  InvestigationAnswerSchema,
  InvestigationCreateSchema,
  InvestigationListSchema,
  InvestigationParamsSchema,
  InvestigationSchema,
  PeerTokenSchema,
  QuarantineAcceptSchema,
  QuarantineDecisionSchema,
  QuarantineIdParamsSchema,
  QuarantineListQuerySchema,
  QuarantinePageSchema,
  QuarantinedAnswerSchema,
  QuarantinedMessageSchema,
  QuarantineRejectSchema,
  ShareCreateSchema,
  ShareListSchema,
  ShareSchema,
  SignedEnvelopeSchema,
  SignedReceiptSchema,
} from '../../../../schemas/federation.schema.js';
import { IncidentRefParamsSchema } from '../../../../schemas/incident.schema.js';
import { strictValidatorCompiler } from '../../../http/strict-validator.js';
import { principalOf, requireRole } from '../../../http/auth.js';
import { ProblemError } from '../../../http/problem.js';
import type { Actor } from '../../incidents/incident.service.js';
import { FEDERATION_AUDIENCE } from '../../tokens/token-codec.js';
import type { Feed } from './feed.service.js';
import type { Inbox } from './inbox.service.js';
import type { PeerAccess } from './peer-access.service.js';
import type { ShareService } from './share.service.js';

const conflictResponses = { ...errorResponses, 409: ProblemResponse };

/** /api/v1: shares, investigations and the quarantine, for this team's handlers. */
export const exchangeApiRoutes: FastifyPluginAsyncTypebox<{ shares: ShareService; inbox: Inbox; teamId: string }> = async (app, { shares, inbox, teamId }) => {
  const actorOf = (request: FastifyRequest): Actor => ({ subject: principalOf(request).subject, team: teamId });

  app.post(
    '/incidents/:ref/shares',
    {
      preHandler: requireRole('handler'),
      schema: {
        tags: ['shares'],
        summary: 'Share the incident with a peer: queues a signed incident.report for delivery',
        description:
          'Asks the sharing policy first (purpose direct; the handler\'s choice is the peer\'s need to know) and records its decision in the audit log either way. Allowed: writes the outbox row in the same transaction as the share, with the content the policy lets go; the 202 answer says what went (detail, redactions with reasons); later journal entries and phase changes travel to the peer as incident.update, each decided again. Refused: 403 policy-denied with reasons and deniedBy; nothing is queued. Follow the state with GET .../shares.',
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
        summary: 'Ask a peer to check the facts about hosts in its network (investigation.request)',
        description: 'Decided and audited by the sharing policy like a share (403 policy-denied when refused); does not widen what the peer is sent later.',
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
        summary: "Answer a peer's investigation request (investigation.result)",
        description: 'Decided and audited by the sharing policy (403 policy-denied when refused, e.g. a RED incident the requester is not named on).',
        params: InvestigationParamsSchema,
        body: InvestigationAnswerSchema,
        response: { 202: InvestigationSchema, ...conflictResponses },
      },
    },
    async (request, reply) =>
      reply.code(202).send(await shares.answerInvestigation(request.params.ref, request.params.id, request.body, actorOf(request))),
  );

  app.get(
    '/quarantine',
    {
      preHandler: requireRole('handler'),
      schema: {
        tags: ['shares'],
        summary: 'Messages from senders that are not peers, newest first',
        querystring: QuarantineListQuerySchema,
        response: { 200: QuarantinePageSchema, ...errorResponses },
      },
    },
    async (request) => inbox.listQuarantine(request.query),
  );

  app.get(
    '/quarantine/:id',
    {
      preHandler: requireRole('handler'),
      schema: {
        tags: ['shares'],
        summary: 'One quarantined message, with its envelope exactly as received',
        params: QuarantineIdParamsSchema,
        response: { 200: QuarantinedMessageSchema, ...errorResponses },
      },
    },
    async (request) => inbox.getQuarantine(request.params.id),
  );

  app.post(
    '/quarantine/:id/accept',
    {
      preHandler: requireRole('admin'),
      schema: {
        tags: ['shares'],
        summary: "Accept a quarantined message: add its sender as a peer (from its node's URL), then verify and process the message",
        description:
          'Adding the peer pins the key its signed profile carries, as POST /api/v1/peers does; confirm the fingerprint out of band (POST /api/v1/peers/{teamId}/verify). The message must verify against that key.',
        params: QuarantineIdParamsSchema,
        body: QuarantineAcceptSchema,
        response: { 200: QuarantineDecisionSchema, ...conflictResponses, 401: ProblemResponse, 422: ProblemResponse, 502: ProblemResponse },
      },
    },
    async (request) => inbox.acceptQuarantine(request.params.id, request.body.url, actorOf(request)),
  );

  app.post(
    '/quarantine/:id/reject',
    {
      preHandler: requireRole('admin'),
      schema: {
        tags: ['shares'],
        summary: 'Reject a quarantined message: it is never processed, and a repeat of it is refused',
        params: QuarantineIdParamsSchema,
        body: QuarantineRejectSchema,
        response: { 200: QuarantineDecisionSchema, ...conflictResponses },
      },
    },
    async (request) => inbox.rejectQuarantine(request.params.id, request.body.reason, actorOf(request)),
  );
};

/**
 * The body of a signed or sealed document is validated by the exchange itself, in protocol
 * order, on the text as received; the schema is there for the OpenAPI document only.
 */
const documentedBodyOnly: FastifySchemaCompiler<unknown> = (route) =>
  route.httpPart === 'body' ? () => true : (strictValidatorCompiler as FastifySchemaCompiler<unknown>)(route);

const federationErrors = {
  400: ProblemResponse,
  401: ProblemResponse,
  403: ProblemResponse,
  409: ProblemResponse,
  413: ProblemResponse,
  415: ProblemResponse,
  429: ProblemResponse,
  500: ProblemResponse,
};

/** /federation/v1: the inbox, peer tokens and the pull feed, for peer nodes. */
export const exchangeFederationRoutes: FastifyPluginAsyncTypebox<{ inbox: Inbox; access: PeerAccess; feed: Feed; teamId: string; bodyLimit: number }> = async (
  app,
  { inbox, access, feed, teamId, bodyLimit },
) => {
  // Signed documents are kept as received: the body reaches the handler as its JSON text, and
  // only this scope parses it that way.
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string', bodyLimit }, (_request, body, done) => done(null, body));

  app.post(
    '/messages',
    {
      validatorCompiler: documentedBodyOnly,
      schema: {
        tags: ['federation'],
        summary: 'Receive a signed (or sealed) message; answers with a signed receipt',
        description:
          'Checks in order: JSON, envelope shape, sealed -> open, sender known (unknown: 202 quarantined), not suspended, signature against the pinned key, key not changed, document schema, recipient, created time, TLP sealing. A repeat of (from, id) gets the original receipt. See docs/federation-protocol.md.',
        body: InboxBodySchema,
        response: { 200: SignedReceiptSchema, 202: QuarantinedAnswerSchema, ...federationErrors },
      },
    },
    async (request, reply) => {
      const answer = await inbox.receive(request.body as unknown as string);
      if (answer.kind === 'quarantined') {
        return reply.code(202).send({ status: 'quarantined', quarantineId: answer.quarantineId, detail: answer.detail });
      }
      // The stored receipt text, byte for byte: a repeat gets exactly the receipt the first got.
      return reply.code(200).type('application/json').serializer((payload: unknown) => payload as string).send(answer.text as never);
    },
  );

  app.post(
    '/token',
    {
      validatorCompiler: documentedBodyOnly,
      schema: {
        tags: ['federation'],
        summary: 'Exchange a fresh signed auth.token-request for a short-lived peer token (pulls)',
        body: Type.Object({ document: Type.Object({}, { additionalProperties: true }), signature: SignedEnvelopeSchema.properties.signature }, { additionalProperties: false }),
        response: { 200: PeerTokenSchema, ...federationErrors },
      },
    },
    async (request) => access.issueToken(request.body as unknown as string),
  );

  app.get(
    '/feed',
    {
      schema: {
        tags: ['federation'],
        summary: 'Every incident the sharing policy lets the calling peer see (pull-feed), redacted as decided, in server order of changes',
        description:
          'One signed feed.page document per page (sealed when an item is AMBER+STRICT or the peer asks for sealing): each incident at its latest change, as POST /api/v1/policy/explain with purpose pull-feed would preview it for this peer; TLP:RED never. Resume with nextCursor; a page may hold fewer items than asked while hasMore is true. See docs/federation-protocol.md §15.2.',
        security: [{ bearer: [] }],
        querystring: FeedQuerySchema,
        response: { 200: FeedPageSchema, ...federationErrors },
      },
    },
    async (request, reply) => {
      if (!request.headers.authorization) throw new ProblemError('unauthenticated', 'missing Authorization: Bearer header with a peer token');
      let claims: Record<string, unknown>;
      try {
        claims = await request.jwtVerify<Record<string, unknown>>({ allowedAud: FEDERATION_AUDIENCE });
      } catch {
        throw new ProblemError('unauthenticated', 'the bearer token is not a valid peer token of this node');
      }
      if (claims['iss'] !== teamId || typeof claims['sub'] !== 'string' || claims['kind'] !== 'peer') {
        throw new ProblemError('unauthenticated', 'the bearer token is not a peer token of this node');
      }
      const peer = await access.activePeer(claims['sub']);
      const page = await feed.page(peer, request.query.cursor, request.query.limit ?? 100);
      return reply.code(200).type('application/json').serializer((payload: unknown) => payload as string).send(page as never);
    },
  );
};
