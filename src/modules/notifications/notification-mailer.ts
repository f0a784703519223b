import type { FastifyBaseLogger } from 'fastify';
import type { Clock } from '../../clock.js';
import type { Config } from '../../config.js';
import type { Db } from '../../db/database.js';
import { MailSendError, type MailChannel } from '../exchange/exchange.module.js';
import { claimDueMail, listCutHandOvers, markMailRetry, markMailSent, settleCutHandOver } from './notification.repository.js';
import type { SiteNotificationService } from './site-notification.service.js';

/**
 * Hands approved notifications to the mail server (ADR 0026), one at a time, from their own
 * outbox. A mail is claimed (queued -> handing-over, committed) BEFORE the SMTP hand-over and
 * marked sent after it. A server that is down or refuses: back to queued with a backoff. A mail
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
  mail: MailChannel | null;
  notifications: Pick<SiteNotificationService, 'markSent'>;
}

export function createNotificationMailer(deps: NotificationMailerDeps): NotificationMailer {
  const { db, clock, log, settings } = deps;
  let timer: NodeJS.Timeout | null = null;
  let running: Promise<unknown> | null = null;
  let stopped = true;

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

  async function sendOne(): Promise<boolean> {
    const channel = deps.mail;
    if (!channel) return false;
    const now = clock();
    const entry = await db
      .transaction()
      .execute((tx) => claimDueMail(tx, now, new Date(now.getTime() + settings.leaseMs), channel.settings.perDomainPerHour));
    if (!entry) return false;
    try {
      await channel.sender.send({ from: entry.envelopeFrom, to: entry.envelopeTo, raw: entry.raw });
    } catch (err) {
      const reason = err instanceof MailSendError ? err.message : 'the mail server did not take the message';
      const delay = Math.min(settings.retryMaxMs, settings.retryBaseMs * 2 ** Math.min(20, entry.attempts - 1));
      await markMailRetry(db, entry.notificationId, new Date(clock().getTime() + delay), reason);
      log.warn({ notificationId: entry.notificationId, attempts: entry.attempts }, 'site notification not handed over; retrying');
      return true;
    }
    await db.transaction().execute(async (tx) => {
      await markMailSent(tx, entry.notificationId, clock());
      await deps.notifications.markSent(tx, entry.notificationId, false);
    });
    log.info({ notificationId: entry.notificationId }, 'site notification handed to the mail server');
    return true;
  }

  async function runOnce(): Promise<number> {
    await settleInterrupted();
    let n = 0;
    while (n < 100 && (await sendOne())) n++;
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
    const work = runOnce().catch((err: unknown) => log.error({ err }, 'site notification mailer failed'));
    running = work;
    await work;
    running = null;
    schedule(settings.pollMs);
  }

  return {
    start() {
      if (!stopped) return;
      stopped = false;
      schedule(0);
    },
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      timer = null;
      await running;
    },
    kick() {
      if (!stopped && !running) schedule(0);
    },
    runOnce,
  };
}
