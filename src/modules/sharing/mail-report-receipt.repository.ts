import type { DbOrTx, Tx } from '../../db/database.js';
import { mailOutboxTableStore, type MailOutboxStore } from '../exchange/exchange.module.js';

/** SQL of mail_report_receipt (migration 0036): the receipts to people who mailed a report, one per report mail. */

/** The hand-over loop never claims a row due then. */
const NOT_DUE = new Date('9999-12-31T00:00:00Z');

/** Queues a receipt; false when one is already queued (or sent) for this incident and report mail. */
export async function enqueueReportReceipt(
  tx: Tx,
  row: {
    id: string;
    incidentId: string;
    reportKey: string;
    peerTeam: string;
    from: string;
    to: string;
    raw: string;
    /** A receipt owed while no mail is configured: what composes it later (raw is then empty). */
    unsent: string | null;
    encrypted: boolean;
    at: Date;
  },
): Promise<boolean> {
  const result = await tx
    .insertInto('mail_report_receipt')
    .values({
      id: row.id,
      incident_id: row.incidentId,
      report_key: row.reportKey,
      peer_team: row.peerTeam,
      state: 'queued',
      envelope_from: row.from,
      envelope_to: row.to,
      raw: row.raw,
      unsent: row.unsent,
      encrypted: row.encrypted,
      // An owed receipt has no mail to hand over: it is not due until composed (setComposedReceipt).
      next_attempt_at: row.unsent === null ? row.at : NOT_DUE,
      queued_at: row.at,
    })
    .onConflict((oc) => oc.columns(['incident_id', 'report_key']).doNothing())
    .returning('id')
    .executeTakeFirst();
  return result !== undefined;
}

/** Whether a receipt exists for this incident and report mail (so a repeat composes nothing). */
export async function hasReportReceipt(db: DbOrTx, incidentId: string, reportKey: string): Promise<boolean> {
  const row = await db
    .selectFrom('mail_report_receipt')
    .select('id')
    .where('incident_id', '=', incidentId)
    .where('report_key', '=', reportKey)
    .executeTakeFirst();
  return row !== undefined;
}

/** The incident and peer of a receipt, for what a sent receipt journals and audits. */
export async function findReportReceipt(db: DbOrTx, id: string): Promise<{ incidentId: string; peerTeam: string; raw: string } | null> {
  const row = await db
    .selectFrom('mail_report_receipt')
    .select(['incident_id', 'peer_team', 'raw'])
    .where('id', '=', id)
    .executeTakeFirst();
  return row ? { incidentId: row.incident_id, peerTeam: row.peer_team, raw: row.raw } : null;
}

/**
 * Drops a handed-over receipt's composed mail: it is never handed over again (at most once), and
 * the sender's subject in it should not outlive its purpose; the audit keeps its digest.
 */
export async function dropSentReceiptMail(tx: Tx, id: string): Promise<void> {
  await tx.updateTable('mail_report_receipt').set({ raw: '' }).where('id', '=', id).where('state', '=', 'sent').execute();
}

/** The hand-over loop's port (exchange/mail-hand-over.ts) over this table. */
export const reportReceiptStore: MailOutboxStore = mailOutboxTableStore('mail_report_receipt', 'id');

/** Receipts owed from a time without mail (queued, not composed yet), oldest first. */
export async function listOwedReceipts(
  db: DbOrTx,
  limit: number,
): Promise<Array<{ id: string; peerTeam: string; to: string; unsent: string; encrypted: boolean }>> {
  const rows = await db
    .selectFrom('mail_report_receipt')
    .select(['id', 'peer_team', 'envelope_to', 'unsent', 'encrypted'])
    .where('state', '=', 'queued')
    .where('unsent', 'is not', null)
    .orderBy('queued_at')
    .limit(limit)
    .execute();
  return rows.map((r) => ({ id: r.id, peerTeam: r.peer_team, to: r.envelope_to, unsent: r.unsent!, encrypted: r.encrypted }));
}

/** An owed receipt composed: the signed mail takes the place of its text; false when another process did it first. */
export async function setComposedReceipt(db: DbOrTx, id: string, composed: { from: string; raw: string; at: Date }): Promise<boolean> {
  const result = await db
    .updateTable('mail_report_receipt')
    .set({ envelope_from: composed.from, raw: composed.raw, unsent: null, next_attempt_at: composed.at })
    .where('id', '=', id)
    .where('state', '=', 'queued')
    .where('unsent', 'is not', null)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) > 0;
}

export interface ReceiptOutboxRow {
  id: string;
  incidentId: string;
  ref: string;
  peerTeam: string;
  state: 'owed' | 'queued' | 'handing-over' | 'sent';
  to: string;
  encrypted: boolean;
  attempts: number;
  lastError: string | null;
  sendUncertain: boolean;
  queuedAt: Date;
  sentAt: Date | null;
}

/** The receipts outbox as an admin reads it, newest first; `owed`: recorded while no mail was configured. */
export async function listReportReceipts(
  db: DbOrTx,
  filter: { state?: ReceiptOutboxRow['state']; limit: number },
): Promise<ReceiptOutboxRow[]> {
  let query = db
    .selectFrom('mail_report_receipt as r')
    .innerJoin('incident as i', 'i.id', 'r.incident_id')
    .select([
      'r.id',
      'r.incident_id',
      'i.ref',
      'r.peer_team',
      'r.state',
      'r.unsent',
      'r.envelope_to',
      'r.encrypted',
      'r.attempts',
      'r.last_error',
      'r.send_uncertain',
      'r.queued_at',
      'r.sent_at',
    ])
    .orderBy('r.queued_at', 'desc')
    .orderBy('r.id')
    .limit(filter.limit);
  if (filter.state === 'owed') query = query.where('r.state', '=', 'queued').where('r.unsent', 'is not', null);
  else if (filter.state === 'queued') query = query.where('r.state', '=', 'queued').where('r.unsent', 'is', null);
  else if (filter.state) query = query.where('r.state', '=', filter.state);
  const rows = await query.execute();
  return rows.map((r) => ({
    id: r.id,
    incidentId: r.incident_id,
    ref: r.ref,
    peerTeam: r.peer_team,
    state: r.state === 'queued' && r.unsent !== null ? 'owed' : (r.state as ReceiptOutboxRow['state']),
    to: r.envelope_to,
    encrypted: r.encrypted,
    attempts: r.attempts,
    lastError: r.last_error,
    sendUncertain: r.send_uncertain,
    queuedAt: new Date(r.queued_at),
    sentAt: r.sent_at === null ? null : new Date(r.sent_at),
  }));
}
