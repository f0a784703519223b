import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { errorResponses } from '../../../schemas/common.schema.js';
import { ReceiptOutboxListSchema, ReceiptOutboxQuerySchema } from '../../../schemas/mail.schema.js';
import type { Db } from '../../db/database.js';
import { requireRole } from '../../http/auth.js';
import { listReportReceipts } from './mail-report-receipt.repository.js';

/**
 * GET /api/v1/mail/receipts: the receipts outbox (issue 17). A node without outgoing mail still
 * records the receipts it owes people who mailed a report; an admin sees them here, and what was
 * sent. Ids, addresses and states only: never the report or the receipt's text.
 */
export function mailReceiptRoutes(db: Db): FastifyPluginAsync {
  return async (instance) => {
    const app = instance.withTypeProvider<TypeBoxTypeProvider>();
    app.get(
      '/mail/receipts',
      {
        preHandler: requireRole('admin'),
        schema: {
          tags: ['shares'],
          operationId: 'listMailReceipts',
          summary: 'The receipts owed, queued and sent to people who mailed a signed report, newest first',
          querystring: ReceiptOutboxQuerySchema,
          response: { 200: ReceiptOutboxListSchema, ...errorResponses },
        },
      },
      async (request) => {
        const rows = await listReportReceipts(db, {
          limit: request.query.limit ?? 100,
          ...(request.query.state ? { state: request.query.state } : {}),
        });
        return {
          items: rows.map((r) => ({
            id: r.id,
            incident: r.ref,
            peer: r.peerTeam,
            state: r.state,
            to: r.to,
            encrypted: r.encrypted,
            attempts: r.attempts,
            lastError: r.lastError,
            sendUncertain: r.sendUncertain,
            queuedAt: r.queuedAt.toISOString(),
            sentAt: r.sentAt === null ? null : r.sentAt.toISOString(),
          })),
        };
      },
    );
  };
}
