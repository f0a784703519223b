import type { FastifyPluginAsync } from 'fastify';
import type { Clock } from '../../clock.js';
import type { Db } from '../../db/database.js';
import type { AuditLog } from '../audit/audit.module.js';
import { oneByOne, type Exchange } from '../exchange/exchange.module.js';
import type { PeerDirectory } from '../peers/peers.module.js';
import { createMessageDisclosure, type SharingService, type ShareService } from '../sharing/index.js';
import { receiveMailedAnswer } from './forum-inquiry-answer.js';
import { forumInquiryRoutes } from './forum-inquiry.routes.js';
import { createForumInquiryService, type ForumInquiryService } from './forum-inquiry.service.js';

export interface ForumInquiryModuleDeps {
  config: { teamId: string; inquiryAutoNotSeen: boolean };
  db: Db;
  clock: Clock;
  audit: AuditLog;
  peers: Pick<PeerDirectory, 'find' | 'listRecords'>;
  sharing: Pick<SharingService, 'evaluate' | 'record'>;
  /** An answer may carry one of our incidents: shared first, as any share. */
  shares: Pick<ShareService, 'share'>;
  exchange: Pick<Exchange, 'inbox' | 'outbox'>;
}

export interface ForumInquiryModule {
  service: ForumInquiryService;
  /** Mounted under /api/v1: /forums/{id}/inquiries, /inquiries. */
  apiRoutes: FastifyPluginAsync;
}

/**
 * Inquiries to all members of a forum (issue 14 part 5). Registers `forum.inquiry` and
 * `forum.inquiry-answer` with the exchange's inbox; a ProblemError from a handler is refused and
 * audited by the inbox.
 */
export function createForumInquiryModule(deps: ForumInquiryModuleDeps): ForumInquiryModule {
  const disclosure = createMessageDisclosure({
    config: deps.config,
    peers: deps.peers,
    audit: deps.audit,
    clock: deps.clock,
    sharing: deps.sharing,
  });
  const service = createForumInquiryService({
    db: deps.db,
    clock: deps.clock,
    config: deps.config,
    audit: deps.audit,
    peers: deps.peers,
    outbox: deps.exchange.outbox,
    disclosure,
    shares: deps.shares,
  });
  deps.exchange.inbox.registerHandler('forum.inquiry', oneByOne(service.receiveInquiry));
  deps.exchange.inbox.registerHandler('forum.inquiry-answer', oneByOne(service.receiveAnswer));
  // A team without a node answers by a signed reply to our mail (ADR 0028).
  deps.exchange.outbox.onDelivered((tx, delivered) => receiveMailedAnswer(deps, tx, delivered));
  return {
    service,
    apiRoutes: async (api) => {
      await api.register(forumInquiryRoutes, { inquiries: service });
    },
  };
}

export { type ForumInquiryService } from './forum-inquiry.service.js';
