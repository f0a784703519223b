import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { errorResponses } from '../../../schemas/common.schema.js';
import { OverviewQuerySchema, OverviewSchema } from '../../../schemas/coordination.schema.js';
import { requireRole } from '../../http/auth.js';
import type { CoordinationService } from './coordination.service.js';

/** The coordinator's overview of its members' activity (and its own), for any role of the team. */
export const coordinationRoutes: FastifyPluginAsyncTypebox<{ coordination: CoordinationService }> = async (app, { coordination }) => {
  app.get(
    '/overview',
    {
      preHandler: requireRole('reader'),
      schema: {
        tags: ['coordination'],
        operationId: 'getOverview',
        summary: "Members' activity: incidents by team, category, phase and period, and related activity reported by two or more teams",
        description:
          "Built from the activity.summary documents members send (docs/federation-protocol.md §5.8) and this node's own incidents (counted under its own team id). " +
          'A report is in the window when it changed at or after `since` and was first active (firstSeen, else when this node first heard of it) before `until`. ' +
          '`related`: the same host address, network (/24 or /48, different addresses), host or domain name, or indicator in reports of two or more teams; ' +
          'one incident shared between teams counts once.',
        querystring: OverviewQuerySchema,
        response: { 200: OverviewSchema, ...errorResponses },
      },
    },
    async (request) => coordination.overview(request.query),
  );
};
