import type { Clock } from '../../clock.js';
import type { Db } from '../../db/database.js';
import { decodeCursor, encodeCursor } from '../../http/cursor.js';
import { ProblemError } from '../../http/problem.js';
import type { MailIntakeOutcome, MailQuarantineDecision, QuarantinedMail, QuarantinedMailListQuery } from '../../../schemas/mail.schema.js';
import type { AuditLog } from '../audit/audit.module.js';
import type { MailIntake, MailOutcome } from './mail-intake.service.js';
import {
  decideQuarantinedMail,
  findQuarantinedMail,
  listQuarantinedMail,
  noteQuarantinedMail,
  undecideQuarantinedMail,
  type QuarantinedMailRow,
} from './mail-quarantine.repository.js';

/**
 * The mail quarantine (ADR 0025): incoming mail that was not filed, newest first, for handlers to
 * read and for an admin to decide on. Accepting a mail feeds it into the intake again as if it had
 * just arrived (the reason it was held may be gone: a key pinned since, a vendor's new key, an
 * error of ours); it is filed, or held again under a new id. Rejecting it records why. Both are
 * audited with the admin's name; a mail is decided once.
 */
export interface MailQuarantine {
  list(query: QuarantinedMailListQuery): Promise<{ items: QuarantinedMail[]; nextCursor: string | null }>;
  get(id: string): Promise<QuarantinedMail>;
  accept(id: string, actor: string): Promise<MailQuarantineDecision>;
  reject(id: string, reason: string, actor: string): Promise<MailQuarantineDecision>;
}

export interface MailQuarantineDeps {
  db: Db;
  clock: Clock;
  audit: AuditLog;
  intake: Pick<MailIntake, 'receive'>;
}

function toWire(row: QuarantinedMailRow, withRaw: boolean): QuarantinedMail {
  return {
    id: row.id,
    envelopeFrom: row.envelopeFrom,
    headerFrom: row.headerFrom,
    messageId: row.messageId,
    reason: row.reason,
    detail: row.detail,
    issuerFingerprint: row.issuerFingerprint,
    sizeBytes: row.sizeBytes,
    sourceAddress: row.sourceAddress,
    state: row.state,
    receivedAt: row.receivedAt,
    decidedBy: row.decidedBy,
    decidedAt: row.decidedAt,
    decisionNote: row.decisionNote,
    ...(withRaw ? { raw: row.raw } : {}),
  };
}

function outcomeOf(outcome: Exclude<MailOutcome, { kind: 'deferred' }>): MailIntakeOutcome {
  return outcome.kind === 'filed'
    ? { kind: 'filed', what: outcome.what, detail: outcome.detail }
    : { kind: 'quarantined', quarantineId: outcome.id, reason: outcome.reason, detail: outcome.detail };
}

export function createMailQuarantine(deps: MailQuarantineDeps): MailQuarantine {
  const { db, clock, audit } = deps;
  async function mustFind(id: string): Promise<QuarantinedMailRow> {
    const row = await findQuarantinedMail(db, id);
    if (!row) throw new ProblemError('not-found', `no quarantined mail ${id}`);
    return row;
  }
  const decided = (row: QuarantinedMailRow) => new ProblemError('conflict', `the mail was ${row.state} already`);

  return {
    async list(query) {
      const limit = query.limit ?? 50;
      const before = query.cursor ? (decodeCursor(query.cursor, { q: 'number' }).q as number) : undefined;
      const rows = await listQuarantinedMail(db, {
        ...(query.state ? { state: query.state } : {}),
        ...(before !== undefined ? { before } : {}),
        limit: limit + 1,
      });
      const page = rows.slice(0, limit);
      const last = page.at(-1);
      return { items: page.map((r) => toWire(r, false)), nextCursor: rows.length > limit && last ? encodeCursor({ q: last.seq }) : null };
    },
    async get(id) {
      return toWire(await mustFind(id), true);
    },
    async accept(id, actor) {
      const row = await mustFind(id);
      if (row.state !== 'quarantined') throw decided(row);
      // The decision is committed before the mail goes through the intake again: a second accept
      // is a conflict, and the mail no longer counts against the quarantine's bounds.
      const claimed = await db.transaction().execute(async (tx) => {
        if (!(await decideQuarantinedMail(tx, id, { state: 'accepted', by: actor, at: clock(), note: null }))) return false;
        await audit.append(tx, {
          kind: 'mail-quarantine-accepted',
          actor,
          decision: 'allow',
          details: { quarantineId: id, heldFor: row.reason, sizeBytes: row.sizeBytes },
        });
        return true;
      });
      if (!claimed) throw decided(await mustFind(id));
      const outcome = await deps.intake.receive(Buffer.from(row.raw, 'base64'), {
        envelopeFrom: row.envelopeFrom,
        source: row.sourceAddress,
      });
      if (outcome.kind === 'deferred') {
        // Held again, and the quarantine filled up meanwhile: the mail stays where it was.
        await undecideQuarantinedMail(db, id);
        throw new ProblemError('conflict', 'the mail quarantine is full: decide on other mails first, then accept this one again');
      }
      const result = outcomeOf(outcome);
      await noteQuarantinedMail(
        db,
        id,
        result.kind === 'filed' ? `filed (${result.what}): ${result.detail}` : `held again as ${result.quarantineId} (${result.reason})`,
      );
      return { mail: toWire(await mustFind(id), false), outcome: result };
    },
    async reject(id, reason, actor) {
      const row = await mustFind(id);
      const done = await db.transaction().execute(async (tx) => {
        if (!(await decideQuarantinedMail(tx, id, { state: 'rejected', by: actor, at: clock(), note: reason }))) return false;
        await audit.append(tx, {
          kind: 'mail-quarantine-rejected',
          actor,
          decision: 'deny',
          details: { quarantineId: id, heldFor: row.reason, why: reason.slice(0, 300) },
        });
        return true;
      });
      if (!done) throw decided(await mustFind(id));
      return { mail: toWire(await mustFind(id), false), outcome: null };
    },
  };
}
