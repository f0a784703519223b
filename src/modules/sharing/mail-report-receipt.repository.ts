import type { DbOrTx, Tx } from '../../db/database.js';
import { mailOutboxTableStore, type MailOutboxStore } from '../exchange/exchange.module.js';

/** SQL of mail_report_receipt (migration 0036): the receipts to people who mailed a report, one per report mail. */

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
      encrypted: row.encrypted,
      next_attempt_at: row.at,
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
