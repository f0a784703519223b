import type { FastifyBaseLogger } from 'fastify';
import type { Clock } from '../../clock.js';
import type { Config } from '../../config.js';
import type { Db, DbOrTx, Tx } from '../../db/database.js';
import { MailSendError, type MailChannel } from './mail-outgoing.js';

/**
 * The hand-over loop of a module's own mail outbox (composed mails kept with their Message-ID):
 * a mail is claimed (queued -> handing-over, committed) BEFORE the SMTP hand-over and marked
 * sent after it, up to HIKESHI_MAIL_CONCURRENCY hand-overs at once over the sender's pooled
 * connections; a server that is down or refuses puts it back to queued with a backoff, and one
 * that goes silent mid-session may hold the mail, so that one is settled as uncertain too. A mail
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

/** Mails claimed in one pass: the cut hand-overs of other processes are looked for between passes. */
const MAX_PER_PASS = 100;

export function createMailHandOver(deps: MailHandOverDeps): MailHandOver {
  const { db, clock, log, settings, store, what } = deps;
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

  /** Settles a hand-over that may have reached the server: sent, uncertain, never again. */
  async function settleUncertain(id: string, note: string): Promise<boolean> {
    return db.transaction().execute(async (tx) => {
      if (!(await store.settleCut(tx, id, clock(), note))) return false;
      await deps.onSent(tx, id, true);
      return true;
    });
  }

  async function settleInterrupted(): Promise<void> {
    for (const id of await store.listCut(db, clock())) {
      const note = 'the node stopped during the hand-over: the mail server may or may not have the mail (not re-sent)';
      if (await settleUncertain(id, note)) log.warn({ id }, `a ${what} mail was interrupted during its hand-over; not sent again`);
    }
  }

  /** One claimed mail to the server: sent; uncertain when the server went silent mid-session; else back to queued with a backoff. */
  async function handOver(entry: { id: string; from: string; to: string; raw: string; attempts: number }): Promise<void> {
    try {
      await deps.mail.sender.send({ from: entry.from, to: entry.to, raw: entry.raw });
    } catch (err) {
      if (err instanceof MailSendError && err.uncertain) {
        // Like a hand-over cut by a crash: the server may hold the mail, so it is never handed over again.
        await settleUncertain(
          entry.id,
          'the mail server stopped answering during the hand-over: it may or may not have the mail (not re-sent)',
        );
        log.warn({ id: entry.id }, `the mail server went silent during a ${what} hand-over; not sent again`);
        return;
      }
      const reason = err instanceof MailSendError ? err.message : 'the mail server did not take the message';
      const delay = Math.min(settings.retryMaxMs, settings.retryBaseMs * 2 ** Math.min(20, entry.attempts - 1));
      await store.markRetry(db, entry.id, new Date(clock().getTime() + delay), reason);
      log.warn({ id: entry.id, attempts: entry.attempts }, `${what} mail not handed over; retrying`);
      return;
    }
    await db.transaction().execute(async (tx) => {
      await store.markSent(tx, entry.id, clock());
      await deps.onSent(tx, entry.id, false);
    });
    log.info({ id: entry.id }, `${what} mail handed to the mail server`);
  }

  /**
   * Up to MAX_PER_PASS mails, `concurrency` of them in the server's hands at once. Claims are made
   * one after the other, each committed before its hand-over, so a claim's rules (a receiving
   * domain's hourly limit) see every earlier claim. A hand-over whose bookkeeping fails stays in
   * handing-over and is settled as uncertain after its lease: never handed over twice.
   */
  async function runOnce(): Promise<number> {
    await deps.beforePass?.();
    await settleInterrupted();
    const limit = Math.max(1, deps.mail.settings.concurrency);
    const inFlight = new Set<Promise<void>>();
    let n = 0;
    try {
      while (n < MAX_PER_PASS && !stopping) {
        if (inFlight.size >= limit) {
          await Promise.race(inFlight);
          continue;
        }
        const now = clock();
        const entry = await db.transaction().execute((tx) => store.claimDue(tx, now, new Date(now.getTime() + settings.leaseMs)));
        if (!entry) {
          if (inFlight.size === 0) break;
          // Mail queued while these are with the server goes as soon as it is queued (a kick), not after the slowest of them.
          await Promise.race([...inFlight, nextKick()]);
          continue;
        }
        n++;
        const done: Promise<void> = handOver(entry)
          .catch((err: unknown) => log.error({ err, id: entry.id }, `${what} hand-over failed`))
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
      log.error({ err }, `${what} mailer failed`);
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
