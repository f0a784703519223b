import type { FastifyBaseLogger, FastifyPluginAsync } from 'fastify';
import type { Clock } from '../../clock.js';
import type { Config } from '../../config.js';
import type { NodeSigner } from '../../crypto/index.js';
import type { Db, Tx } from '../../db/database.js';
import type { AuditLog } from '../audit/audit.module.js';
import { createDeliveryWorker, type DeliveryWorker } from './delivery-worker.js';
import { exchangeApiRoutes, exchangeFederationRoutes } from './exchange.routes.js';
import { createInbox, type Inbox } from './inbox.service.js';
import { createOutbox, type DeliveredHook, type Outbox } from './outbox.js';
import { createTeamReplies } from './mail-team-reply.js';
import type { PeerClient } from './peer-client.js';
import type { PeerKeyring } from './peer-keyring.js';
import { eraseStoredMessages, type Scrub, type StoredErasureResult } from './stored-erasure.js';
import type { ExchangeMetrics } from './exchange-metrics.js';
import { createMailQuarantine } from './mail-quarantine.service.js';
import { pendingByPeer } from './outbox.repository.js';
import { composeTestMail, createSmtpSender, MailSendError, type MailChannel } from './mail-outgoing.js';
import { ProblemError } from '../../http/problem.js';
import { createMailIntake, type MailIntake } from './mail-intake.service.js';
import { createMailListener } from './mail-listener.js';

/**
 * The exchange: transport only. Signed messages in (the inbox and its quarantine, receipts) and
 * out (the outbox and its delivery worker), over the one peer HTTP client. It imports no domain
 * module: it knows the other teams through the PeerKeyring port, and the modules that own
 * document types register batch handlers with the inbox and delivery hooks with the outbox.
 *
 * Public surface: `inbox.registerHandler`, `inbox.documentsFor`, `outbox` (enqueue, kick,
 * onDelivered, supersede, lastQueued, find, lastDelivered, countPending), `eraseStoredMessages`, `worker` (tests
 * and the bench), the two route plugins, start and stop; `pendingByPeer` for the metrics.
 */
export interface ExchangeModuleDeps {
  config: Config;
  db: Db;
  clock: Clock;
  signer: NodeSigner;
  audit: AuditLog;
  log: FastifyBaseLogger;
  peers: PeerKeyring;
  client: PeerClient;
  /** Where the inbox's decisions and the deliveries are counted (the metrics module's port, passed in by src/app.ts). */
  metrics?: ExchangeMetrics;
}

export interface ExchangeModule {
  /** Mounted under /api/v1: the quarantine. */
  apiRoutes: FastifyPluginAsync;
  /** Mounted under /federation/v1: POST /messages. */
  federationRoutes: FastifyPluginAsync;
  start(): void;
  /** Stops background work; waits for in-flight deliveries. */
  stop(): Promise<void>;
  inbox: Inbox;
  outbox: Outbox;
  worker: DeliveryWorker;
  /**
   * Erases identifiers from the messages stored about an incident, inside the caller's
   * transaction (an erasure of personal data; stored-erasure.ts, ADR 0016).
   */
  eraseStoredMessages(tx: Tx, incidentId: string, scrub: Scrub): Promise<StoredErasureResult>;
  /** Per peer, messages not delivered yet and when the oldest was queued (one query; the metrics read it at scrape time). */
  pendingByPeer(): Promise<Array<{ peerTeam: string; pending: number; oldestAt: string }>>;
  /** The signed e-mail channel (ADR 0025). */
  mail: ExchangeMail;
}

export interface ExchangeMail {
  /** Where incoming mail is filed or quarantined (the SMTP listener hands every message here). */
  intake: MailIntake;
  /** The outgoing side, when HIKESHI_SMTP_URL and HIKESHI_MAIL_FROM are set. */
  channel: MailChannel | null;
  /** Starts the SMTP listener (server.ts, when HIKESHI_MAIL_LISTEN_PORT is set); answers its port. */
  listen(port?: number): Promise<{ port: number }>;
}

/** The outgoing mail channel a configuration asks for, or null. */
function mailChannelOf(config: Config): MailChannel | null {
  const { smtpUrl, from } = config.mail;
  if (!smtpUrl || !from) return null;
  return { sender: createSmtpSender(smtpUrl, config.delivery.timeoutMs, config.mail.concurrency), from, settings: config.mail };
}

/** What domain modules use of the exchange. */
export type Exchange = Pick<ExchangeModule, 'inbox' | 'outbox' | 'eraseStoredMessages'>;

export function createExchangeModule(deps: ExchangeModuleDeps): ExchangeModule {
  const mailChannel = mailChannelOf(deps.config);
  // The outbox's kick reaches the worker, built next: it is called only after both exist.
  const outbox = createOutbox({
    clock: deps.clock,
    config: deps.config,
    signer: deps.signer,
    kick: () => worker.kick(),
  });
  const worker = createDeliveryWorker({
    db: deps.db,
    clock: deps.clock,
    config: deps.config,
    peers: deps.peers,
    audit: deps.audit,
    log: deps.log,
    client: deps.client,
    settings: deps.config.delivery,
    delivered: outbox.delivered,
    failed: outbox.failed,
    metrics: deps.metrics,
    ...(mailChannel ? { mail: { ...mailChannel, signer: deps.signer } } : {}),
  });
  const inbox = createInbox({
    db: deps.db,
    clock: deps.clock,
    config: deps.config,
    signer: deps.signer,
    peers: deps.peers,
    audit: deps.audit,
    log: deps.log,
    client: deps.client,
    metrics: deps.metrics,
  });
  const mail = wireMail(deps, { inbox, worker, channel: mailChannel, delivered: outbox.delivered });
  return {
    apiRoutes: async (api) => {
      const mailTest = (to: string, actor: string) => sendMailTest(deps, mailChannel, to, actor);
      const mailQuarantine = createMailQuarantine({ db: deps.db, clock: deps.clock, audit: deps.audit, intake: mail.intake });
      await api.register(exchangeApiRoutes, { inbox, mailQuarantine, mailTest });
    },
    federationRoutes: async (fed) => {
      await fed.register(exchangeFederationRoutes, { inbox, bodyLimit: deps.config.bodyLimitBytes });
    },
    start: () => worker.start(),
    stop: async () => {
      await worker.stop();
      await mail.stop();
      // Last: the notification mailer, which shares the sender, is stopped before the exchange.
      mailChannel?.sender.close();
    },
    inbox,
    outbox,
    worker,
    eraseStoredMessages: (tx, incidentId, scrub) => eraseStoredMessages(tx, { signer: deps.signer, clock: deps.clock }, incidentId, scrub),
    pendingByPeer: () => pendingByPeer(deps.db),
    mail: { intake: mail.intake, channel: mailChannel, listen: mail.listen },
  };
}

/** `hikeshi mail test`: a signed test message to `to`, audited. */
async function sendMailTest(
  deps: ExchangeModuleDeps,
  channel: MailChannel | null,
  to: string,
  actor: string,
): Promise<{ to: string; from: string; signedBy: string }> {
  if (!channel) throw new ProblemError('mail-not-configured', 'set HIKESHI_SMTP_URL and HIKESHI_MAIL_FROM to send mail');
  const raw = await composeTestMail(deps.signer, { from: channel.from, to, date: deps.clock() }, deps.config.teamId);
  try {
    await channel.sender.send({ from: channel.from, to, raw });
  } catch (err) {
    throw new ProblemError('mail-unavailable', err instanceof MailSendError ? err.message : 'the mail server did not take the message');
  }
  await deps.audit.append(deps.db, { kind: 'mail-test', actor, decision: null, details: { to } });
  return { to, from: channel.from, signedBy: deps.signer.fingerprint };
}

function wireMail(
  deps: ExchangeModuleDeps,
  parts: { inbox: Inbox; worker: DeliveryWorker; channel: MailChannel | null; delivered: DeliveredHook },
): { intake: MailIntake; listen(port?: number): Promise<{ port: number }>; stop(): Promise<void> } {
  // Teams without a node answer by signed mail, not receipts (ADR 0028).
  const teamReplies = createTeamReplies({ ...deps, delivered: parts.delivered });
  const intake = createMailIntake({
    teamReplies,
    db: deps.db,
    clock: deps.clock,
    signer: deps.signer,
    peers: deps.peers,
    audit: deps.audit,
    log: deps.log,
    inbox: parts.inbox,
    worker: parts.worker,
    mail: parts.channel,
    maxMessageBytes: deps.config.mail.maxMessageBytes,
  });
  intake.onSignedReply(teamReplies.handler);
  let listener: ReturnType<typeof createMailListener> | null = null;
  return {
    intake,
    async listen(port) {
      if (listener) throw new Error('the mail listener runs already');
      const settings = { ...deps.config.mail, ...(port === undefined ? {} : { listenPort: port }) };
      listener = createMailListener({ db: deps.db, clock: deps.clock, audit: deps.audit, log: deps.log, intake, settings });
      return listener.start();
    },
    async stop() {
      await listener?.stop();
      listener = null;
    },
  };
}

// Public surface for other modules (docs/architecture.md, rule 3).
export { oneByOne, type Inbox, type InboxOutcome, type ReceivedAs } from './inbox.service.js';
export {
  MAX_CLOCK_SKEW_MS,
  TEAM_ID,
  envelopeShape,
  envelopeText,
  newDocument,
  tlpRequiresSealing,
  validateDocument,
} from './message-document.js';
export { type Delivered, type DeliveryFailed, type Outbox } from './outbox.js';
export { ownLines, theirReference } from './mail-reply-lines.js';
export { type OutboundRow } from './outbox.repository.js';
export { PeerCallError, type PeerClient, type PeerResponse } from './peer-client.js';
export { type ExchangePeer, type PeerKeyring, type PeerKind, type PeerStatus } from './peer-keyring.js';
export { federationErrors } from './exchange.routes.js';
export {
  type HumanReport,
  type HumanReportHandler,
  type MailIntake,
  type MailOutcome,
  type SignedReply,
  type SignedReplyHandler,
  type UnclaimedMail,
  type UnclaimedMailHandler,
} from './mail-intake.service.js';
export { composeSignedTextMail, MailSendError, mailNeedsEncryption, type MailChannel, type MailSender } from './mail-outgoing.js';
export { createMailHandOver, type MailHandOver, type MailOutboxStore } from './mail-hand-over.js';
export { mailOutboxTableStore } from './mail-outbox-table.repository.js';
// The PGP/MIME framing, for modules that mail people rather than peers (site notifications, ADR 0026).
export {
  addressOf,
  canonicalLines,
  contentTypeOf,
  decodedBody,
  encryptedEntity,
  mailMessage,
  mailText,
  MimeError,
  parseEntity,
  signedEntity,
  splitMultipart,
  type MimeEntity,
} from './mail-mime.js';
export { noExchangeMetrics, type ExchangeMetrics, type InboxOutcomeLabel } from './exchange-metrics.js';
