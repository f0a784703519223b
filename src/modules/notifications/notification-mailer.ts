import type { FastifyBaseLogger } from 'fastify';
import type { Clock } from '../../clock.js';
import type { Config } from '../../config.js';
import type { Db } from '../../db/database.js';
import { MailSendError, type MailChannel } from '../exchange/exchange.module.js';
import {
  claimDueMail,
  listCutHandOvers,
  markMailRetry,
  markMailSent,
  settleCutHandOver,
  type OutboxEntry,
} from './notification.repository.js';
import type { SiteNotificationService } from './site-notification.service.js';

/**
 * Hands approved notifications to the mail server (ADR 0026) from their own outbox, up to
 * HIKESHI_MAIL_CONCURRENCY at once over the sender's pooled connections. A mail is claimed
 * (queued -> handing-over, committed) BEFORE its SMTP hand-over and marked sent after it; claims
 * are made one after the other, so each one's per-domain count sees every earlier claim. A server that is down or refuses: back to queued with a backoff. A mail
 * still in handing-over past its lease (the delivery lease, HIKESHI_DELIVERY_LEASE_SECONDS: the
 * process handing it over died) may or may not have reached the server; it is never handed over
 * again (at-most-once): it is marked sent with `sendUncertain`, journaled and audited, and a
 * handler checks the mail server's log for its Message-ID. Every pass looks for those first, so
 * several processes on one database settle each other's.
 */
export interface NotificationMailer {
  start(): void;
  stop(): Promise<void>;
  kick(): void;
  /** One pass over what is due; tests use it. */
  runOnce(): Promise<number>;
}

export interface NotificationMailerDeps {
  db: Db;
  clock: Clock;
  log: FastifyBaseLogger;
  settings: Pick<Config['delivery'], 'pollMs' | 'retryBaseMs' | 'retryMaxMs' | 'leaseMs'>;
  /** The outgoing channel; its settings.concurrency bounds the hand-overs in flight. */
  mail: MailChannel | null;
  notifications: Pick<SiteNotificationService, 'markSent'>;
}

/** Mails claimed in one pass: the cut hand-overs of other processes are looked for between passes. */
const MAX_PER_PASS = 100;

export function createNotificationMailer(deps: NotificationMailerDeps): NotificationMailer {
  const { db, clock, log, settings } = deps;
  let timer: NodeJS.Timeout | null = null;
  let running: Promise<unknown> | null = null;
  let stopped = true;
  /** Set by stop(): a pass claims nothing more and finishes the hand-overs it started. */
  let stopping = false;
  /** A kick during a pass: the next pass starts at once rather than after the poll interval. */
  let kicked = false;
  /** Wakes a pass waiting on its hand-overs when mail is queued meanwhile. */
  let wake: (() => void) | null = null;
  const nextKick = () => new Promise<void>((resolve) => (wake = resolve));

  /** Hand-overs cut by a process that died (past their lease): never handed over again, marked uncertain. */
  async function settleInterrupted(): Promise<void> {
    for (const id of await listCutHandOvers(db, clock())) {
      const settled = await db.transaction().execute(async (tx) => {
        const note = 'the node stopped during the hand-over: the mail server may or may not have the mail (not re-sent)';
        if (!(await settleCutHandOver(tx, id, clock(), note))) return false;
        await deps.notifications.markSent(tx, id, true);
        return true;
      });
      if (settled) log.warn({ notificationId: id }, 'a site notification was interrupted during its hand-over; not sent again');
    }
  }

  /**
   * A hand-over the server went silent during: like one cut by a crash, it may have the mail, so
   * it is never handed over again; marked sent with sendUncertain for a handler to check.
   */
  async function settleUncertain(id: string): Promise<void> {
    await db.transaction().execute(async (tx) => {
      const note = 'the mail server stopped answering during the hand-over: it may or may not have the mail (not re-sent)';
      if (await settleCutHandOver(tx, id, clock(), note)) await deps.notifications.markSent(tx, id, true);
    });
    log.warn({ notificationId: id }, 'the mail server went silent during a site notification hand-over; not sent again');
  }

  /** Claims the next due mail in its own committed transaction, or answers null when none is due. */
  async function claim(channel: MailChannel): Promise<OutboxEntry | null> {
    const now = clock();
    return db
      .transaction()
      .execute((tx) => claimDueMail(tx, now, new Date(now.getTime() + settings.leaseMs), channel.settings.perDomainPerHour));
  }

  /** One claimed mail to the server: sent, or back to queued with a backoff. */
  async function handOver(channel: MailChannel, entry: OutboxEntry): Promise<void> {
    try {
      await channel.sender.send({ from: entry.envelopeFrom, to: entry.envelopeTo, raw: entry.raw });
    } catch (err) {
      if (err instanceof MailSendError && err.uncertain) return settleUncertain(entry.notificationId);
      const reason = err instanceof MailSendError ? err.message : 'the mail server did not take the message';
      const delay = Math.min(settings.retryMaxMs, settings.retryBaseMs * 2 ** Math.min(20, entry.attempts - 1));
      await markMailRetry(db, entry.notificationId, new Date(clock().getTime() + delay), reason);
      log.warn({ notificationId: entry.notificationId, attempts: entry.attempts }, 'site notification not handed over; retrying');
      return;
    }
    await db.transaction().execute(async (tx) => {
      await markMailSent(tx, entry.notificationId, clock());
      await deps.notifications.markSent(tx, entry.notificationId, false);
    });
    log.info({ notificationId: entry.notificationId }, 'site notification handed to the mail server');
  }

  /**
   * Up to MAX_PER_PASS mails, `concurrency` of them in the server's hands at once. A hand-over
   * whose bookkeeping fails stays in handing-over and is settled as uncertain after its lease,
   * like one cut by a crash: it is never handed over twice.
   */
  async function runOnce(): Promise<number> {
    await settleInterrupted();
    const channel = deps.mail;
    if (!channel) return 0;
    const inFlight = new Set<Promise<void>>();
    let n = 0;
    try {
      while (n < MAX_PER_PASS && !stopping) {
        if (inFlight.size >= Math.max(1, channel.settings.concurrency)) {
          await Promise.race(inFlight);
          continue;
        }
        const entry = await claim(channel);
        if (!entry) {
          if (inFlight.size === 0) break;
          // Mail approved while these are with the server goes as soon as it is queued (a kick),
          // not after the slowest of them.
          await Promise.race([...inFlight, nextKick()]);
          continue;
        }
        n++;
        const done: Promise<void> = handOver(channel, entry)
          .catch((err: unknown) => log.error({ err, notificationId: entry.notificationId }, 'site notification hand-over failed'))
          .finally(() => inFlight.delete(done));
        inFlight.add(done);
      }
    } finally {
      await Promise.all(inFlight);
    }
    return n;
  }

  function schedule(ms: number): void {
    if (stopped) return;
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => void pass(), ms);
    timer.unref();
  }

  async function pass(): Promise<void> {
    if (stopped || running) return;
    kicked = false;
    const work = runOnce().catch((err: unknown) => {
      log.error({ err }, 'site notification mailer failed');
      return 0;
    });
    running = work;
    const n = await work;
    running = null;
    // A full pass may have left due mail behind; a kick may have queued some: go again at once.
    schedule(n >= MAX_PER_PASS || kicked ? 0 : settings.pollMs);
  }

  return {
    start() {
      if (!stopped) return;
      stopped = false;
      stopping = false;
      schedule(0);
    },
    async stop() {
      stopped = true;
      stopping = true;
      if (timer) clearTimeout(timer);
      timer = null;
      await running;
    },
    kick() {
      if (stopped) return;
      if (!running) return schedule(0);
      kicked = true;
      wake?.();
      wake = null;
    },
    runOnce,
  };
}
