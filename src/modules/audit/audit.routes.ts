import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { errorResponses } from '../../../schemas/common.schema.js';
import { AuditListQuerySchema, AuditPageSchema, AuditVerifyQuerySchema, AuditVerifyResultSchema } from '../../../schemas/audit.schema.js';
import { requireRole } from '../../http/auth.js';
import type { AuditAnchoring } from './audit-anchor.service.js';
import type { AuditService } from './audit.service.js';

/**
 * The audit log is read by admins only: it names every peer the team dealt with and every
 * decision taken about them, which handlers and integrators do not need to see.
 */
export const auditRoutes: FastifyPluginAsyncTypebox<{
  audit: AuditService;
  anchoring: Pick<AuditAnchoring, 'verifyWithWitnesses'> | null;
}> = async (app, { audit, anchoring }) => {
  app.get(
    '/audit',
    {
      preHandler: requireRole('admin'),
      schema: {
        tags: ['audit'],
        operationId: 'listAuditEntries',
        summary: 'List audit entries (disclosure decisions, receipts, quarantine, trust changes) with filters and a keyset cursor',
        description:
          'Oldest first unless order=desc. since is inclusive, until exclusive. Each item carries prevHash and hash: ' +
          'hash = SHA-256 of the RFC 8785 canonical JSON of the item without hash.',
        querystring: AuditListQuerySchema,
        response: { 200: AuditPageSchema, ...errorResponses },
      },
    },
    async (request) => audit.list(request.query),
  );

  app.get(
    '/audit/verify',
    {
      preHandler: requireRole('admin'),
      schema: {
        tags: ['audit'],
        operationId: 'verifyAuditChain',
        summary: 'Walk the hash chain and report the first entry that does not verify',
        description:
          'Answers 200 either way: ok true with the number of entries and the head to record elsewhere, or ok false with the seq of the first broken entry and why. ' +
          "With witnesses=true it also asks each witness (active coordinators, HIKESHI_AUDIT_WITNESSES) for the heads of this chain it keeps, checks their signatures against this node's keys and the chain against them: a removed tail (tail-removed) or a rewritten entry (entry-rewritten) then fails too. An unreachable witness is reported in witnesses, not a failure.",
        querystring: AuditVerifyQuerySchema,
        response: { 200: AuditVerifyResultSchema, ...errorResponses },
      },
    },
    async (request) => (request.query.witnesses && anchoring ? anchoring.verifyWithWitnesses() : audit.verify()),
  );
};
