import type { FastifyBaseLogger } from 'fastify';
import type { Clock } from '../../clock.js';
import type { Config } from '../../config.js';
import { sealForRecipient, verifyDocumentSignature, type NodeSigner, type PeerKey } from '../../crypto/index.js';
import type { Db, Tx } from '../../db/database.js';
import { createGroupCommit } from '../../db/group-commit.js';
import { validateDocument, envelopeShape, envelopeText, tlpRequiresSealing } from './message-document.js';
import type { AuditLog } from '../audit/audit.module.js';
import type { DeliveredHook, DeliveryFailedHook } from './outbox.js';
import { PeerCallError, type PeerClient } from './peer-client.js';
import type { ExchangePeer, PeerKeyring } from './peer-keyring.js';
import { retryDelayMs, type DeliverySettings } from './delivery-settings.js';
import { claimDue, findOutbound, markDeliveredMany, markFailed, markRetry, markSent, type OutboundRow } from './outbox.repository.js';
import type { ReceiptDocument } from '../../../schemas/federation.schema.js';
import { noExchangeMetrics, type ExchangeMetrics } from './exchange-metrics.js';
import { composeEnvelopeMail, composeTeamMail, mailNeedsEncryption, MailSendError, type MailChannel } from './mail-outgoing.js';
import { teamMailSubject, teamMailText } from './mail-team-text.js';

/**
 * The delivery worker: claims due outbox rows, sends each (sealed when required), verifies and
 * stores the peer's signed receipt, and otherwise schedules a retry with exponential backoff and
 * jitter until the message is too old. Several workers (processes) may run on one database:
 * claims use FOR UPDATE SKIP LOCKED and a lease, and every outcome is written only by the worker
 * holding the claim (the attempt number fences it). Errors recorded never carry incident content.
 */
export interface DeliveryWorkerDeps {
  db: Db;
  clock: Clock;
  config: Pick<Config, 'teamId' | 'teamName'>;
  peers: Pick<PeerKeyring, 'find' | 'findMany' | 'keyOf'>;
  audit: AuditLog;
  log: FastifyBaseLogger;
  client: PeerClient;
  settings: DeliverySettings;
  /** The outbox's delivery hooks (domain modules' work in the delivery's transaction). */
  delivered: DeliveredHook;
  /** The outbox's failure hooks (domain modules' work in the transaction that gives a message up); none when absent. */
  failed?: DeliveryFailedHook;
  /** Where deliveries are counted and timed (the metrics module's port); nothing when absent. */
  metrics?: ExchangeMetrics;
  /** The e-mail channel (ADR 0025): for peers that take mail only, and as the fallback when HTTP keeps failing; absent: none. */
  mail?: MailChannel & { signer: NodeSigner };
}

export interface DeliveryWorker {
  start(): void;
  stop(): Promise<void>;
  /** Look for due messages now (after a commit that queued some). */
  kick(): void;
  /** One pass: claim and deliver what is due; resolves when those deliveries finished. Tests and the bench use it. */
  runOnce(): Promise<number>;
  /**
   * A receipt that came back by e-mail for a message sent by e-mail: checked as an HTTP answer
   * would be (signed by the peer, for this message) and recorded. Answers false when it is not
   * for a pending message of that peer.
   */
  receiptByMail(peer: ExchangePeer, receiptText: string): Promise<boolean>;
}

/** A failure the peer will not get over by itself: give up now instead of retrying for a day. */
class PermanentFailure extends Error {}
class RetryableFailure extends Error {}

/** Statuses after which the same bytes can never succeed: the document itself is wrong for that peer. */
const PERMANENT_STATUSES = new Set([400, 413, 415]);

function sealingNeeded(peer: ExchangePeer, tlp: string): boolean {
  return peer.requiresSealed || tlpRequiresSealing(tlp);
}

function problemCodeOf(text: string): string {
  try {
    const body = JSON.parse(text) as { code?: unknown };
    return typeof body.code === 'string' ? body.code.slice(0, 64) : '';
  } catch {
    return '';
  }
}

/** Sends one message; resolves with the verified receipt's text and body, or throws. */
async function send(
  deps: DeliveryWorkerDeps,
  row: OutboundRow,
  peer: ExchangePeer,
  key: PeerKey,
): Promise<{ text: string; receipt: ReceiptDocument }> {
  let payload = envelopeText(row.document, row.signature);
  if (sealingNeeded(peer, row.tlp)) payload = JSON.stringify({ sealed: await sealForRecipient(payload, key) });
  let response: { status: number; text: string };
  const url = peer.url;
  if (url === null) throw new PermanentFailure(`peer "${peer.teamId}" has no node`);
  try {
    response = await deps.client.call(url, 'federation/v1/messages', {
      method: 'POST',
      body: payload,
      timeoutMs: deps.settings.timeoutMs,
    });
  } catch (err) {
    throw new RetryableFailure(err instanceof PeerCallError ? err.message : `cannot reach ${new URL(url).host}`);
  }
  if (response.status === 202) throw new RetryableFailure('quarantined by the peer: waiting for its handler to accept this node');
  if (response.status !== 200) {
    const code = problemCodeOf(response.text);
    const what = `peer answered ${response.status}${code ? ` ${code}` : ''}`;
    throw PERMANENT_STATUSES.has(response.status) ? new PermanentFailure(what) : new RetryableFailure(what);
  }
  const text = response.text;
  return { text, receipt: await checkReceipt(deps, text, row, peer, key) };
}

/** A receipt's text: a signed envelope from the peer, a receipt document, for this message. */
async function checkReceipt(
  deps: Pick<DeliveryWorkerDeps, 'clock' | 'config'>,
  text: string,
  row: OutboundRow,
  peer: ExchangePeer,
  key: PeerKey,
): Promise<ReceiptDocument> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new RetryableFailure('the receipt is not JSON');
  }
  const shape = envelopeShape(parsed);
  if (shape.kind !== 'signed') throw new RetryableFailure('the receipt is not a signed envelope');
  const verified = await verifyDocumentSignature(parsed, key, { now: deps.clock() });
  if (!verified.ok) throw new RetryableFailure(`the receipt signature does not verify (${verified.reason})`);
  let receipt: ReceiptDocument;
  try {
    const document = validateDocument(shape.document);
    if (document.type !== 'receipt') throw new Error('not a receipt');
    receipt = document;
  } catch {
    throw new RetryableFailure('the receipt does not match the receipt schema');
  }
  if (receipt.from !== peer.teamId || receipt.to !== deps.config.teamId || receipt.inReplyTo !== row.id) {
    throw new RetryableFailure('the receipt is not for this message');
  }
  return receipt;
}

/** A message is sent by mail when the peer takes mail only, or when HTTP has failed for longer than the fallback time. */
function mailFallbackDue(deps: DeliveryWorkerDeps, row: OutboundRow, peer: ExchangePeer, now: Date): boolean {
  const after = deps.mail?.settings.fallbackAfterMs ?? 0;
  return peer.email !== null && after > 0 && now.getTime() - Date.parse(row.createdAt) >= after;
}

/**
 * Hands the message to the SMTP server as PGP/MIME (encrypted when the label asks for it). The
 * message stays pending: it is delivered when the peer's signed receipt comes back (by mail),
 * and is sent again (the same bytes) when none came after the resend time.
 */
async function sendByMail(deps: DeliveryWorkerDeps, row: OutboundRow, peer: ExchangePeer, key: PeerKey): Promise<Date> {
  const mail = deps.mail;
  if (!mail) throw new RetryableFailure('no e-mail channel is configured here (HIKESHI_SMTP_URL, HIKESHI_MAIL_FROM)');
  if (peer.email === null) throw new RetryableFailure(`peer "${peer.teamId}" has no e-mail address`);
  const raw = await composeEnvelopeMail(
    mail.signer,
    { from: mail.from, to: peer.email, subject: 'Hikeshi signed message', date: deps.clock() },
    envelopeText(row.document, row.signature),
    mailNeedsEncryption(row.tlp, peer.requiresSealed) ? key : null,
  );
  try {
    await mail.sender.send({ from: mail.from, to: peer.email, raw });
  } catch (err) {
    throw new RetryableFailure(err instanceof MailSendError ? err.message : 'the mail server did not take the message');
  }
  const next = new Date(Math.min(deps.clock().getTime() + mail.settings.resendAfterMs, Date.parse(row.createdAt) + deps.settings.maxAgeMs));
  if (await markRetry(deps.db, row.id, row.attempts, 'sent by e-mail; waiting for the receipt', next, 'mail')) {
    deps.log.info({ messageId: row.id, peer: row.peerTeam, attempt: row.attempts }, 'message sent by e-mail');
  }
  return next;
}

/**
 * A team without a node (ADR 0028): the document as a text a person reads with the signed
 * envelope attached, signed and always encrypted to its pinned key, handed to the SMTP server
 * once. The message is then `sent` and never mailed again: such a team sends no machine receipt,
 * and its signed reply (mail-team-reply.ts) moves it to delivered.
 */
async function sendToTeam(deps: DeliveryWorkerDeps, row: OutboundRow, peer: ExchangePeer, key: PeerKey): Promise<void> {
  const mail = deps.mail;
  if (!mail) throw new RetryableFailure('no e-mail channel is configured here (HIKESHI_SMTP_URL, HIKESHI_MAIL_FROM)');
  if (peer.email === null) throw new PermanentFailure(`peer "${peer.teamId}" has no e-mail address`);
  const document = JSON.parse(row.document) as Record<string, unknown>;
  // The outbox row's id names the mail: a second hand-over of the same row (a lease that ran out) keeps it.
  const mailMessageId = `${row.id}@${mail.from.split('@')[1] ?? 'hikeshi.invalid'}`;
  const text = teamMailText(document, {
    ourTeam: { teamId: deps.config.teamId, teamName: deps.config.teamName },
    ourFingerprint: mail.signer.fingerprint,
    theirFingerprint: peer.fingerprint,
  });
  const headers = {
    from: mail.from,
    to: peer.email,
    subject: teamMailSubject(document, deps.config.teamId),
    date: deps.clock(),
    messageId: mailMessageId,
  };
  const raw = await composeTeamMail(mail.signer, headers, text, envelopeText(row.document, row.signature), key);
  try {
    await mail.sender.send({ from: mail.from, to: peer.email, raw });
  } catch (err) {
    throw new RetryableFailure(err instanceof MailSendError ? err.message : 'the mail server did not take the message');
  }
  if (await markSent(deps.db, row.id, row.attempts, { mailMessageId, at: deps.clock() })) {
    deps.log.info({ messageId: row.id, peer: row.peerTeam, attempt: row.attempts }, 'message mailed to a team without a node');
  }
}

/** A delivery on record, counted: the attempt, and the seconds from enqueue to the receipt. */
function countDelivered(metrics: ExchangeMetrics, row: OutboundRow, now: Date): void {
  metrics.deliveryAttempt(row.peerTeam, 'delivered');
  metrics.delivered(row.peerTeam, (now.getTime() - Date.parse(row.createdAt)) / 1000);
}

/** A verified receipt to record, and the channel it came by. */
interface ReceiptRecord {
  row: OutboundRow;
  text: string;
  receipt: ReceiptDocument;
  peerRef: string | null;
  channel: 'http' | 'mail';
}

/**
 * Verified receipts on record: the messages delivered (one statement for the group), the hooks
 * of the modules that wait for them, the audit entries. Receipts that come back together are
 * recorded in one transaction (group commit): a fan-out to hundreds of members otherwise pays one
 * commit, and on the embedded engine one flush, per receipt. An item answers false when another
 * worker's claim won.
 */
async function recordMany(deps: DeliveryWorkerDeps, tx: Tx, items: readonly ReceiptRecord[]): Promise<boolean[]> {
  const moved = await markDeliveredMany(
    tx,
    items.map(({ row, text, receipt, peerRef, channel }) => ({
      id: row.id,
      attempt: row.attempts,
      outcome: { receipt: text, receiptStatus: receipt.body.status, peerRef, at: deps.clock(), channel },
    })),
  );
  const out: boolean[] = [];
  for (const item of items) {
    // One receipt per move: the same message's receipt by mail and by HTTP in one group records once.
    if (!moved.delete(item.row.id)) {
      out.push(false);
      continue;
    }
    await afterDelivered(deps, tx, item);
    out.push(true);
  }
  return out;
}

async function afterDelivered(deps: DeliveryWorkerDeps, tx: Tx, { row, receipt, peerRef, channel }: ReceiptRecord): Promise<void> {
  await deps.delivered(tx, {
    id: row.id,
    type: row.type,
    peerTeam: row.peerTeam,
    incidentId: row.incidentId,
    peerRef,
    receiptStatus: receipt.body.status,
  });
  const details = {
    direction: 'received',
    messageId: row.id,
    type: row.type,
    receiptId: receipt.id,
    status: receipt.body.status,
    peerRef,
    channel,
  };
  await deps.audit.append(tx, {
    kind: 'receipt',
    actor: row.peerTeam,
    incidentId: row.incidentId,
    peer: row.peerTeam,
    decision: null,
    details,
  });
}

export function createDeliveryWorker(deps: DeliveryWorkerDeps): DeliveryWorker {
  const { db, clock, peers, audit, log, settings } = deps;
  const metrics = deps.metrics ?? noExchangeMetrics;
  let running = false;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let pass: Promise<number> | undefined;
  let again = false;

  const recordDelivery = createGroupCommit(db, (tx, items: ReceiptRecord[]) => recordMany(deps, tx, items), { maxItems: 64 });

  /** One claimed message; `peer` as looked up with its batch (null: the peer was removed). */
  async function deliver(row: OutboundRow, peer: ExchangePeer | null): Promise<void> {
    const now = clock();
    const expired = now.getTime() - Date.parse(row.createdAt) >= settings.maxAgeMs;
    try {
      if (!peer) throw new PermanentFailure(`peer "${row.peerTeam}" was removed`);
      if (peer.status !== 'active') throw new RetryableFailure(`peer "${row.peerTeam}" is ${peer.status} here`);
      const answer = await attempt(deps, row, peer, await peers.keyOf(peer), now);
      if (!answer) return;
      const { text, receipt } = answer;
      const peerRef = receipt.body.ref ?? null;
      const recorded = await recordDelivery.run({ row, text, receipt, peerRef, channel: 'http' });
      // Counted once the delivery is on record: a worker that lost its claim records nothing.
      if (recorded) countDelivered(metrics, row, clock());
      log.info({ messageId: row.id, peer: row.peerTeam, type: row.type, attempt: row.attempts }, 'message delivered');
    } catch (err) {
      if (!(err instanceof PermanentFailure) && !(err instanceof RetryableFailure)) {
        // An error of ours (database, a bug): keep the message, retry later; the log keeps the cause.
        log.error({ err, messageId: row.id, peer: row.peerTeam }, 'delivery failed unexpectedly');
      }
      const reason = err instanceof PermanentFailure || err instanceof RetryableFailure ? err.message : 'internal error while delivering';
      if (err instanceof PermanentFailure || expired) {
        const error =
          expired && !(err instanceof PermanentFailure) ? `gave up after ${Math.round(settings.maxAgeMs / 1000)} s: ${reason}` : reason;
        // The failure, the modules' work on it (a site notification bounced) and its audit entry
        // commit together: a crash leaves the message claimed and tried again, never half given up.
        const gaveUp = await db.transaction().execute(async (tx) => {
          if (!(await markFailed(tx, row.id, row.attempts, error, clock()))) return false;
          await deps.failed?.(tx, { id: row.id, type: row.type, peerTeam: row.peerTeam, incidentId: row.incidentId, error });
          await audit.append(tx, {
            kind: 'delivery-failed',
            actor: 'federation',
            incidentId: row.incidentId,
            peer: row.peerTeam,
            decision: null,
            details: { messageId: row.id, type: row.type, attempts: row.attempts, error },
          });
          return true;
        });
        if (gaveUp) {
          metrics.deliveryAttempt(row.peerTeam, 'failed');
          log.warn({ messageId: row.id, peer: row.peerTeam, attempts: row.attempts, error }, 'delivery failed for good');
        }
        return;
      }
      const delay = retryDelayMs(settings, row.attempts);
      const next = new Date(Math.min(clock().getTime() + delay, Date.parse(row.createdAt) + settings.maxAgeMs));
      if (await markRetry(db, row.id, row.attempts, reason, next, null)) metrics.deliveryAttempt(row.peerTeam, 'retry');
      log.info(
        {
          messageId: row.id,
          peer: row.peerTeam,
          attempt: row.attempts,
          error: reason,
          nextAttemptAt: next.toISOString(),
        },
        'delivery will be retried',
      );
    }
  }

  async function runOnce(): Promise<number> {
    let total = 0;
    for (;;) {
      const rows = await claimDue(db, clock(), settings.leaseMs, settings.batchSize);
      if (rows.length === 0) return total;
      total += rows.length;
      // The batch's peers in one look-up, just after the claim (a suspension after it is seen at the next claim).
      const found = await peers.findMany(db, [...new Set(rows.map((r) => r.peerTeam))]);
      // Messages of one peer and incident are claimed one at a time (see claimDue), so parallel
      // delivery here never reorders them. The whole batch is awaited before the next claim: a
      // sliding window measured slower on both engines (ADR 0032).
      await Promise.all(rows.map((row) => deliver(row, found.get(row.peerTeam) ?? null)));
      if (stopped) return total;
    }
  }

  function schedule(delay: number): void {
    if (!running) return;
    if (timer) clearTimeout(timer);
    timer = setTimeout(tick, delay);
    timer.unref?.();
  }

  function tick(): void {
    timer = undefined;
    if (!running) return;
    if (pass) {
      again = true;
      return;
    }
    pass = runOnce()
      .catch((err: unknown) => {
        log.error({ err }, 'delivery pass failed');
        return 0;
      })
      .finally(() => {
        pass = undefined;
        const soon = again;
        again = false;
        schedule(soon ? 0 : settings.pollMs);
      });
  }

  return {
    start() {
      if (running) return;
      running = true;
      stopped = false;
      schedule(0);
    },
    async stop() {
      running = false;
      stopped = true;
      if (timer) clearTimeout(timer);
      timer = undefined;
      if (pass) await pass;
    },
    kick() {
      if (!running) return;
      if (pass) again = true;
      else schedule(0);
    },
    runOnce,
    async receiptByMail(peer, text) {
      const recorded = await receiptByMail(deps, (item) => recordDelivery.run(item), peer, text);
      if (recorded) countDelivered(metrics, recorded, clock());
      return recorded !== null;
    },
  };
}

/** A receipt that came by mail, checked and recorded; answers the row it delivered, or null. */
async function receiptByMail(
  deps: DeliveryWorkerDeps,
  record: (item: ReceiptRecord) => Promise<boolean>,
  peer: ExchangePeer,
  text: string,
): Promise<OutboundRow | null> {
  const row = await findOutbound(deps.db, receiptTarget(text) ?? '');
  if (!row || row.peerTeam !== peer.teamId || row.state !== 'pending') return null;
  let receipt: ReceiptDocument;
  try {
    receipt = await checkReceipt(deps, text, row, peer, await deps.peers.keyOf(peer));
  } catch {
    return null;
  }
  return (await record({ row, text, receipt, peerRef: receipt.body.ref ?? null, channel: 'mail' })) ? row : null;
}

/** One attempt on the channel the peer takes: the verified receipt (HTTP), or null when the message went by mail. */
async function attempt(
  deps: DeliveryWorkerDeps,
  row: OutboundRow,
  peer: ExchangePeer,
  key: PeerKey,
  now: Date,
): Promise<{ text: string; receipt: ReceiptDocument } | null> {
  if (peer.kind === 'mail') {
    await sendToTeam(deps, row, peer, key);
    return null;
  }
  if (peer.mailOnly) {
    await sendByMail(deps, row, peer, key);
    return null;
  }
  try {
    return await send(deps, row, peer, key);
  } catch (err) {
    if (!(err instanceof RetryableFailure) || !mailFallbackDue(deps, row, peer, now)) throw err;
    await sendByMail(deps, row, peer, key);
    return null;
  }
}

/** The message a receipt answers (unverified: only to find the row its check needs). */
function receiptTarget(text: string): string | null {
  try {
    const value = JSON.parse(text) as { document?: { inReplyTo?: unknown } };
    const id = value.document?.inReplyTo;
    return typeof id === 'string' && /^[0-9a-f-]{36}$/i.test(id) ? id : null;
  } catch {
    return null;
  }
}
