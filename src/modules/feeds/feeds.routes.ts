import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import Type from 'typebox';

import { FeedPageSchema, FeedQuerySchema, PeerTokenSchema, SignedEnvelopeSchema } from '../../../schemas/federation.schema.js';
import { documentedBodyOnly, keepJsonBodiesAsText } from '../../http/raw-json-body.js';
import { federationErrors } from '../exchange/exchange.module.js';
import type { Feed } from './feed.service.js';
import { authenticatePeer, type PeerAccess } from './peer-access.service.js';

/** /federation/v1: peer tokens and the pull feed, for peer nodes. */
export const feedFederationRoutes: FastifyPluginAsyncTypebox<{
  access: PeerAccess;
  feed: Feed;
  teamId: string;
  bodyLimit: number;
}> = async (app, { access, feed, teamId, bodyLimit }) => {
  keepJsonBodiesAsText(app, bodyLimit);

  app.post(
    '/token',
    {
      validatorCompiler: documentedBodyOnly,
      schema: {
        tags: ['federation'],
        operationId: 'requestPeerToken',
        summary: 'Exchange a fresh signed auth.token-request for a short-lived peer token (pulls)',
        body: Type.Object(
          {
            document: Type.Object({}, { additionalProperties: true }),
            signature: SignedEnvelopeSchema.properties.signature,
          },
          { additionalProperties: false },
        ),
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
        operationId: 'getFeed',
        summary: 'Every incident the sharing policy lets the calling peer see (pull-feed), redacted as decided, in server order of changes',
        description:
          'One signed feed.page document per page (sealed when an item is AMBER+STRICT or the peer asks for sealing): each incident at its latest change, as POST /api/v1/policy/explain with purpose pull-feed would preview it for this peer; TLP:RED never. Resume with nextCursor; a page may hold fewer items than asked while hasMore is true. See docs/federation-protocol.md §15.2.',
        security: [{ bearer: [] }],
        querystring: FeedQuerySchema,
        response: { 200: FeedPageSchema, ...federationErrors },
      },
    },
    async (request, reply) => {
      const peer = await authenticatePeer(request, teamId, access);
      const page = await feed.page(peer, request.query.cursor, request.query.limit ?? 100);
      return reply
        .code(200)
        .type('application/json')
        .serializer((payload: unknown) => payload as string)
        .send(page as never);
    },
  );
};
