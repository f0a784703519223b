import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import { errorResponses } from '../../../schemas/common.schema.js';
import { IncidentRefParamsSchema } from '../../../schemas/incident.schema.js';
import { requireRole } from '../../http/auth.js';
import type { IncidentService } from '../incidents/incidents.module.js';
import type { Inbox } from '../exchange/exchange.module.js';

/**
 * The signed documents peers sent about an incident, exactly as stored: the canonical document
 * text and the detached signature. Written to two files, they verify with stock GnuPG against
 * the sender's key (`hikeshi message export` does that), so a team can prove later what a peer
 * asserted, without trusting this node. A document from which personal data was erased (ADR
 * 0016) is served erased, with the digest of what was signed; it no longer verifies.
 */
export const ReceivedDocumentSchema = Type.Object(
  {
    messageId: Type.String(),
    type: Type.String(),
    from: Type.String({ description: 'Team id of the sender.' }),
    receivedAt: Type.String({ format: 'date-time' }),
    signerFingerprint: Type.String(),
    sealed: Type.Boolean({ description: 'It travelled encrypted to this node.' }),
    document: Type.String({
      description:
        'The RFC 8785 canonical bytes of the document, as UTF-8 text: the signed data. After an erasure of personal data (erasedAt set), the erased version, which the signature no longer verifies.',
    }),
    signature: Type.String({ description: 'The armored OpenPGP detached signature over `document` (as signed).' }),
    erasedAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()], {
      description: 'When personal data was erased from the document (POST /incidents/{ref}/erasure); null when it is as signed.',
    }),
    documentSha256: Type.Union([Type.String({ pattern: '^[0-9a-f]{64}$' }), Type.Null()], {
      description: 'With erasedAt: SHA-256 (hex) of the canonical document as signed, which the signature covers.',
    }),
  },
  { additionalProperties: false },
);

export const documentRoutes: FastifyPluginAsyncTypebox<{
  incidents: Pick<IncidentService, 'get'>;
  inbox: Pick<Inbox, 'documentsFor'>;
}> = async (app, { incidents, inbox }) => {
  app.get(
    '/incidents/:ref/documents',
    {
      preHandler: requireRole('reader'),
      schema: {
        tags: ['federation'],
        operationId: 'listIncidentDocuments',
        summary: 'Signed documents received about this incident, as stored (for re-verification with GnuPG)',
        params: IncidentRefParamsSchema,
        response: {
          200: Type.Object({ items: Type.Array(ReceivedDocumentSchema) }, { additionalProperties: false }),
          ...errorResponses,
        },
      },
    },
    async (request) => {
      const incident = await incidents.get(request.params.ref);
      const rows = await inbox.documentsFor(incident.id);
      return {
        items: rows.map((r) => ({
          messageId: r.messageId,
          type: r.type,
          from: r.sender,
          receivedAt: r.receivedAt,
          signerFingerprint: r.signerFingerprint,
          sealed: r.sealed,
          document: r.document,
          signature: r.signature,
          erasedAt: r.erasedAt,
          documentSha256: r.documentSha256,
        })),
      };
    },
  );
};
