import type { FastifyBaseLogger } from 'fastify';
import type { Clock } from '../../clock.js';
import type { Config } from '../../config.js';
import type { Db, DbOrTx, Tx } from '../../db/database.js';
import { MailSendError, type MailChannel } from './mail-outgoing.js';

/**
 * The hand-over loop of a module's own mail outbox (composed mails kept with their Message-ID):
 * a mail is claimed (queued -> handing-over, committed) BEFORE the SMTP hand-over and marked
 * sent after it; a server that is down or refuses puts it back to queued with a backoff. A mail
 * still handing-over past its lease (the process died mid hand-over) may or may not have reached
 * the server: it is never handed over again (at-most-once) but settled as sent with the outcome
 * uncertain. Every pass settles those first, so several processes on one database settle each
 * other's. The module's repository does the SQL (the `MailOutboxStore` port); the module's
 * service says what a sent mail means (`onSent`, in the same transaction).
 */
export interface MailOutboxStore {
  /** Claims one due mail (queued, next attempt reached): handing-over until `leaseUntil`, attempts + 1. */
  claimDue(tx: Tx, now: Date, leaseUntil: Date): Promise<{ id: string; from: string; to: string; raw: string; attempts: number } | null>;
  markRetry(db: DbOrTx, id: string, next: Date, error: string): Promise<void>;
  markSent(tx: Tx, id: string, at: Date): Promise<void>;
  /** Ids of mails handing-over past their lease. */
  listCut(db: DbOrTx, now: Date): Promise<string[]>;
  /** Settles a cut hand-over once: false when another process settled or finished it first. */
  settleCut(tx: Tx, id: string, at: Date, note: string): Promise<boolean>;
}

export interface MailHandOver {
  start(): void;
  stop(): Promise<void>;
  kick(): void;
  /** One pass over what is due; tests use it. */
  runOnce(): Promise<number>;
}

export interface MailHandOverDeps {
  db: Db;
  clock: Clock;
  log: FastifyBaseLogger;
  settings: Pick<Config['delivery'], 'pollMs' | 'retryBaseMs' | 'retryMaxMs' | 'leaseMs'>;
  mail: MailChannel;
  store: MailOutboxStore;
  /** What the mails are, for the log ("vendor question"). */
  what: string;
  /** Inside the transaction that marks the mail sent; `uncertain`: a cut hand-over. */
  onSent(tx: Tx, id: string, uncertain: boolean): Promise<void>;
  /** Run at the start of every pass (e.g. queueing what waited for the channel). */
  beforePass?: () => Promise<void>;
}

export function createMailHandOver(deps: MailHandOverDeps): MailHandOver {
  const { db, clock, log, settings, store, what } = deps;
  let timer: NodeJS.Timeout | null = null;
  let running: Promise<unknown> | null = null;
  let stopped = true;

  async function settleInterrupted(): Promise<void> {
    for (const id of await store.listCut(db, clock())) {
      const settled = await db.transaction().execute(async (tx) => {
        const note = 'the node stopped during the hand-over: the mail server may or may not have the mail (not re-sent)';
        if (!(await store.settleCut(tx, id, clock(), note))) return false;
        await deps.onSent(tx, id, true);
        return true;
      });
      if (settled) log.warn({ id }, `a ${what} mail was interrupted during its hand-over; not sent again`);
    }
  }

  async function sendOne(): Promise<boolean> {
    const now = clock();
    const entry = await db.transaction().execute((tx) => store.claimDue(tx, now, new Date(now.getTime() + settings.leaseMs)));
    if (!entry) return false;
    try {
      await deps.mail.sender.send({ from: entry.from, to: entry.to, raw: entry.raw });
    } catch (err) {
      const reason = err instanceof MailSendError ? err.message : 'the mail server did not take the message';
      const delay = Math.min(settings.retryMaxMs, settings.retryBaseMs * 2 ** Math.min(20, entry.attempts - 1));
      await store.markRetry(db, entry.id, new Date(clock().getTime() + delay), reason);
      log.warn({ id: entry.id, attempts: entry.attempts }, `${what} mail not handed over; retrying`);
      return true;
    }
    await db.transaction().execute(async (tx) => {
      await store.markSent(tx, entry.id, clock());
      await deps.onSent(tx, entry.id, false);
    });
    log.info({ id: entry.id }, `${what} mail handed to the mail server`);
    return true;
  }

  async function runOnce(): Promise<number> {
    await deps.beforePass?.();
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
    const work = runOnce().catch((err: unknown) => log.error({ err }, `${what} mailer failed`));
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
