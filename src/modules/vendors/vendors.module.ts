import type { FastifyBaseLogger, FastifyPluginAsync } from 'fastify';
import type { Clock } from '../../clock.js';
import type { NodeSigner } from '../../crypto/index.js';
import type { Db } from '../../db/database.js';
import type { AuditLog } from '../audit/audit.module.js';
import { oneByOne, type Exchange, type ExchangeMail, type MailHandOver } from '../exchange/exchange.module.js';
import type { PeerDirectory } from '../peers/peers.module.js';
import { createAdvisoryService, type AdvisoryService } from './advisory.service.js';
import { csafApiRoutes, csafPublicRoutes } from './csaf.routes.js';
import { createVendorEmailChannel, createVendorMailer, createVendorReplyHandler, type VendorMailDeps } from './vendor-mail.js';
import { createVendorQuestionService, type VendorQuestionService } from './vendor-question.service.js';
import { caseRoutes, vendorQuestionRoutes, vendorRoutes } from './vendor.routes.js';
import { createVendorService, type VendorService } from './vendor.service.js';

export interface VendorsModuleDeps {
  config: { teamId: string; teamName: string; publicUrl: string; delivery: VendorMailDeps['config']['delivery'] };
  db: Db;
  clock: Clock;
  audit: AuditLog;
  signer: Pick<NodeSigner, 'signDetached' | 'fingerprint'>;
  peers: Pick<PeerDirectory, 'find'>;
  exchange: Pick<Exchange, 'inbox' | 'outbox'>;
  log: FastifyBaseLogger;
  /**
   * The exchange's signed e-mail channel (ADR 0025): replies to our questions come through its
   * intake; without an outgoing channel (no HIKESHI_SMTP_URL) e-mail questions wait as
   * awaiting-email, and are sent once a node starts with one.
   */
  mail: Pick<ExchangeMail, 'channel' | 'intake'>;
}

export interface VendorsModule {
  vendors: VendorService;
  questions: VendorQuestionService;
  advisories: AdvisoryService;
  /** Mounted under /api/v1: /vendors, /cases, /cases/{id}/advisory, /vendor-questions. */
  apiRoutes: FastifyPluginAsync;
  /** Mounted at the root with the open routes' per-address limit: /.well-known/csaf. */
  publicRoutes: FastifyPluginAsync;
  /** Hands vendor questions' mails to the mail server; null without an outgoing mail channel. */
  mailer: MailHandOver | null;
}

/**
 * Vendor coordination and CSAF 2.0 advisories (issue 17 parts 1 and 2, ADR 0024). Registers
 * `vendor.question` and `vendor.statement` with the exchange's inbox; a ProblemError from a
 * handler is refused and audited by the inbox.
 */
export function createVendorsModule(deps: VendorsModuleDeps): VendorsModule {
  const vendors = createVendorService(deps);
  const channel = deps.mail.channel;
  const mailDeps = channel ? { ...deps, mail: channel } : null;
  let mailer: MailHandOver | null = null;
  const email = mailDeps ? { email: createVendorEmailChannel(mailDeps), kickMail: () => mailer?.kick() } : {};
  const questions = createVendorQuestionService({ ...deps, vendors, ...email });
  mailer = mailDeps ? createVendorMailer(mailDeps, questions.sendWaiting) : null;
  deps.mail.intake.onSignedReply(createVendorReplyHandler(deps.db, questions.recordMailed));
  const advisories = createAdvisoryService({ ...deps, vendors });
  deps.exchange.inbox.registerHandler('vendor.question', oneByOne(questions.receiveQuestion));
  deps.exchange.inbox.registerHandler('vendor.statement', oneByOne(questions.receiveStatement));
  return {
    vendors,
    questions,
    advisories,
    mailer,
    apiRoutes: async (api) => {
      await api.register(vendorRoutes, { vendors });
      await api.register(caseRoutes, { vendors, questions });
      await api.register(vendorQuestionRoutes, { questions });
      await api.register(csafApiRoutes, { advisories });
    },
    publicRoutes: async (open) => {
      await open.register(csafPublicRoutes, { advisories, config: deps.config, signer: deps.signer, clock: deps.clock });
    },
  };
}

export { type VendorEmailChannel } from './vendor-question.service.js';
