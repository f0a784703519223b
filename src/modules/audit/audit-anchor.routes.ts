import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import { AuditAnchorResultSchema } from '../../../schemas/audit.schema.js';
import { errorResponses } from '../../../schemas/common.schema.js';
import { WitnessedAuditHeadsQuerySchema, WitnessedAuditHeadsSchema } from '../../../schemas/federation.schema.js';
import { principalOf, requireRole } from '../../http/auth.js';
import { federationErrors } from '../exchange/exchange.module.js';
import type { AuditAnchoring } from './audit-anchor.service.js';
import type { AuditWitness } from './audit-witness.service.js';

/** /api/v1: anchor the chain's head at the witnesses now (admins: it discloses to other teams). */
export const auditAnchorApiRoutes: FastifyPluginAsyncTypebox<{ anchoring: AuditAnchoring }> = async (app, { anchoring }) => {
  app.post(
    '/audit/anchors',
    {
      preHandler: requireRole('admin'),
      schema: {
        tags: ['audit'],
        operationId: 'anchorAuditHead',
        summary: "Send the audit chain's head, signed, to every witness it moved for since the last anchor there",
        description:
          'Witnesses: the active coordinators and the teams named in HIKESHI_AUDIT_WITNESSES. Each gets an audit.head through the outbox (delivery, retries, receipts), unless it was sent this head already. Each anchoring is audited (audit.anchor): the head sent is the chain as it was before those entries. The node also does this every HIKESHI_AUDIT_ANCHOR_INTERVAL_SECONDS. See docs/federation-protocol.md §5.11.',
        response: { 200: AuditAnchorResultSchema, ...errorResponses },
      },
    },
    async (request) => anchoring.anchor(principalOf(request).subject),
  );
};

/** /federation/v1: the audit heads this node witnessed, served back to the team that sent them and to no one else. */
export const auditWitnessFederationRoutes: FastifyPluginAsyncTypebox<{
  witness: AuditWitness;
  authenticatePeer(request: FastifyRequest): Promise<{ teamId: string }>;
}> = async (app, { witness, authenticatePeer }) => {
  app.get(
    '/audit-heads',
    {
      schema: {
        tags: ['federation'],
        operationId: 'listWitnessedAuditHeads',
        summary: 'The audit heads the calling peer sent this node to witness, as it signed them: highest seq first',
        description:
          "With a peer token (POST /federation/v1/token). Only the calling team's own heads, each as its signed envelope exactly as received, with when it arrived and whether this node found it contradicting an earlier one. The caller checks its audit chain against them (hikeshi audit verify). See docs/federation-protocol.md §15.3.",
        security: [{ bearer: [] }],
        querystring: WitnessedAuditHeadsQuerySchema,
        response: { 200: WitnessedAuditHeadsSchema, ...federationErrors },
      },
    },
    async (request, reply) => {
      const peer = await authenticatePeer(request);
      const text = await witness.headsFor(peer.teamId, request.query.limit ?? 20);
      // The stored signed text, not a re-serialisation of it.
      return reply
        .code(200)
        .type('application/json')
        .serializer((payload: unknown) => payload as string)
        .send(text as never);
    },
  );
};
