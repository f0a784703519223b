import type { FastifyBaseLogger } from 'fastify';
import type { Clock } from '../../clock.js';
import type { Config } from '../../config.js';
import type { Db } from '../../db/database.js';
import { createMailHandOver, type MailChannel, type MailHandOver, type MailOutboxStore } from '../exchange/exchange.module.js';
import { claimDueMail, listCutHandOvers, markMailRetry, markMailSent, settleCutHandOver } from './notification.repository.js';
import type { SiteNotificationService } from './site-notification.service.js';

/**
 * Hands approved notifications to the mail server (ADR 0026) from their own outbox, up to
 * HIKESHI_MAIL_CONCURRENCY at once over pooled connections, with the exchange's hand-over loop
 * (exchange/mail-hand-over.ts): claimed (queued ->
 * handing-over, committed) BEFORE the SMTP hand-over and marked sent after it; a server that is
 * down or refuses: back to queued with a backoff. A mail still in handing-over past its lease
 * (the delivery lease, HIKESHI_DELIVERY_LEASE_SECONDS: the process handing it over died) may or
 * may not have reached the server; it is never handed over again (at-most-once): it is marked
 * sent with `sendUncertain`, journaled and audited, and a handler checks the mail server's log for
 * its Message-ID. A receiving domain's hourly limit (HIKESHI_MAIL_PER_DOMAIN_PER_HOUR) is kept by
 * the claim.
 */
export type NotificationMailer = MailHandOver;

export interface NotificationMailerDeps {
  db: Db;
  clock: Clock;
  log: FastifyBaseLogger;
  settings: Pick<Config['delivery'], 'pollMs' | 'retryBaseMs' | 'retryMaxMs' | 'leaseMs'>;
  mail: MailChannel | null;
  notifications: Pick<SiteNotificationService, 'markSent'>;
}

/** Without an outgoing channel nothing is approved (409 mail-not-configured), so there is nothing to hand over. */
const idle: NotificationMailer = { start() {}, stop: async () => {}, kick() {}, runOnce: async () => 0 };

export function createNotificationMailer(deps: NotificationMailerDeps): NotificationMailer {
  const channel = deps.mail;
  if (!channel) return idle;
  const store: MailOutboxStore = {
    async claimDue(tx, now, leaseUntil) {
      const entry = await claimDueMail(tx, now, leaseUntil, channel.settings.perDomainPerHour);
      return (
        entry && { id: entry.notificationId, from: entry.envelopeFrom, to: entry.envelopeTo, raw: entry.raw, attempts: entry.attempts }
      );
    },
    markRetry: markMailRetry,
    markSent: (tx, id, at) => markMailSent(tx, id, at),
    listCut: listCutHandOvers,
    settleCut: settleCutHandOver,
  };
  return createMailHandOver({
    db: deps.db,
    clock: deps.clock,
    log: deps.log,
    settings: deps.settings,
    mail: channel,
    store,
    what: 'site notification',
    onSent: (tx, id, uncertain) => deps.notifications.markSent(tx, id, uncertain),
  });
}
