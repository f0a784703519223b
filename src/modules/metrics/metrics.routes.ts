import type { FastifyPluginAsync } from 'fastify';
import { errorResponses } from '../../../schemas/common.schema.js';
import { requireRole } from '../../http/auth.js';

/**
 * GET /metrics for an admin API token. A scrape reads counts, never incident content, so it is
 * not audited (each scrape would add an entry to the chain every 15 seconds); the token it needs
 * is audited when minted and can be revoked.
 */
export const metricsRoutes: FastifyPluginAsync<{ render: () => Promise<string>; contentType: string }> = async (app, opts) => {
  app.get(
    '/metrics',
    {
      preHandler: requireRole('admin'),
      schema: {
        tags: ['operations'],
        operationId: 'getMetrics',
        summary: 'Metrics in the Prometheus text exposition format 0.0.4 (admin token)',
        description:
          'Inbox decisions by outcome, reason and type; outbox depth and delivery latency per peer; the audit chain length; HTTP latency by route pattern; process basics. Labels never carry incident content, tokens or keys. Scrapes are not audited. A token-less listener on 127.0.0.1 can be turned on with HIKESHI_METRICS_PORT.',
        security: [{ bearer: [] }],
        response: {
          200: {
            description: 'The exposition text',
            content: { 'text/plain': { schema: { type: 'string' } } },
          },
          ...errorResponses,
        },
      },
    },
    async (_request, reply) =>
      reply
        .code(200)
        .type(opts.contentType)
        .serializer((payload: unknown) => payload as string)
        .send(await opts.render()),
  );
};
