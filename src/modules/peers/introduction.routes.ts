import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { ProblemResponse, errorResponses } from '../../../schemas/common.schema.js';
import {
  IntroductionSendSchema,
  IntroductionsSentSchema,
  PeerTeamIdParamsSchema,
  VouchReportSchema,
  type VouchReportWire,
} from '../../../schemas/peer.schema.js';
import { principalOf, requireRole } from '../../http/auth.js';
import type { IntroductionService } from './introduction.service.js';
import type { VouchReport } from './key-vouch.service.js';

const iso = (d: Date | null) => (d === null ? null : d.toISOString());

function toWireReport(report: VouchReport, needed: number): VouchReportWire {
  return {
    teamId: report.teamId,
    assurance: report.peer?.assurance ?? null,
    fingerprint: report.peer?.fingerprint ?? null,
    needed: report.derivation?.needed ?? needed,
    counting: { roster: report.derivation?.roster ?? [], introductions: report.derivation?.introductions ?? [] },
    reason: report.derivation?.reason ?? null,
    items: report.vouches.map((v) => ({
      kind: v.kind,
      voucher: v.voucher,
      fingerprint: v.fingerprint,
      vouchesFor: v.vouchesFor,
      counts: v.standing === 'counts',
      standing: v.standing,
      withdrawn: v.withdrawnAt !== null,
      withdrawnAt: iso(v.withdrawnAt),
      statedAt: v.statedAt.toISOString(),
      createdAt: v.createdAt.toISOString(),
      updatedAt: v.updatedAt.toISOString(),
      messageId: v.messageId,
      statement: v.document !== null && v.signature !== null ? { document: v.document, signature: v.signature } : null,
    })),
    sent: report.sent.map((s) => ({
      to: s.recipient,
      fingerprint: s.fingerprint,
      messageId: s.messageId,
      vouchesFor: s.vouchesFor,
      sentAt: s.sentAt.toISOString(),
      sentBy: s.sentBy,
      withdrawnAt: iso(s.withdrawnAt),
    })),
  };
}

/** /api/v1/peers/{teamId}/introductions and /vouches: the web of trust behind assurance `introduced`. */
export function introductionApiRoutes(deps: {
  introductions: IntroductionService;
  report(teamId: string): Promise<VouchReport>;
  introductionsNeeded: number;
}): FastifyPluginAsync {
  return async (instance) => {
    const app = instance.withTypeProvider<TypeBoxTypeProvider>();
    const actor = (request: Parameters<typeof principalOf>[0]) => principalOf(request).subject;

    app.post(
      '/peers/:teamId/introductions',
      {
        preHandler: requireRole('admin'),
        schema: {
          tags: ['peers'],
          operationId: 'introducePeer',
          summary: 'Introduce the key we verified for this peer to other peers (one signed peer.introduction each)',
          description:
            'Only a peer whose fingerprint a handler confirmed out of band (assurance verified) can be introduced (409 peer-not-verified). Each recipient must be an active peer (404 unknown-peer, 409 peer-not-active) other than the team introduced (422 introduction-invalid). Each introduction is audited as a disclosure (disclosure.introduction).',
          params: PeerTeamIdParamsSchema,
          body: IntroductionSendSchema,
          response: { 202: IntroductionsSentSchema, ...errorResponses, 409: ProblemResponse, 422: ProblemResponse },
        },
      },
      async (request, reply) => {
        const sent = await deps.introductions.introduce(request.params.teamId, request.body, actor(request));
        request.log.info({ peer: sent.subject, recipients: sent.items.length }, 'introductions queued');
        return reply.code(202).send(sent);
      },
    );

    app.delete(
      '/peers/:teamId/introductions',
      {
        preHandler: requireRole('admin'),
        schema: {
          tags: ['peers'],
          operationId: 'withdrawPeerIntroductions',
          summary: 'Withdraw our introductions of this team: every peer we introduced it to is told (withdrawn: true)',
          params: PeerTeamIdParamsSchema,
          response: { 200: IntroductionsSentSchema, ...errorResponses },
        },
      },
      async (request) => {
        const done = await deps.introductions.withdraw(request.params.teamId, actor(request));
        request.log.info({ peer: done.subject, recipients: done.items.length }, 'introductions withdrawn');
        return done;
      },
    );

    app.get(
      '/peers/:teamId/vouches',
      {
        preHandler: requireRole('reader'),
        schema: {
          tags: ['peers'],
          operationId: 'getPeerVouches',
          summary: 'The vouches held for a team (introductions, forum rosters), whether each counts, and the introductions of it we sent',
          description:
            'Why a peer is `introduced` (or not). A team that is not a peer yet is listed when vouches for it are held (assurance null); 404 when nothing is known of it.',
          params: PeerTeamIdParamsSchema,
          response: { 200: VouchReportSchema, ...errorResponses },
        },
      },
      async (request) => toWireReport(await deps.report(request.params.teamId), deps.introductionsNeeded),
    );
  };
}
