import type { DbOrTx, Tx } from '../../db/database.js';
import type { MailOutboxStore } from '../exchange/exchange.module.js';

/** SQL of the vendor questions' mail outbox (vendor_mail_outbox, migration 0034), one mail per question. */

export async function enqueueVendorMail(
  tx: Tx,
  mail: { questionId: string; from: string; to: string; raw: string; encrypted: boolean; at: Date },
): Promise<void> {
  await tx
    .insertInto('vendor_mail_outbox')
    .values({
      question_id: mail.questionId,
      state: 'queued',
      envelope_from: mail.from,
      envelope_to: mail.to,
      raw: mail.raw,
      encrypted: mail.encrypted,
      next_attempt_at: mail.at,
      queued_at: mail.at,
    })
    .execute();
}

/** The hand-over loop's port (exchange/mail-hand-over.ts) over this table. */
export const vendorMailStore: MailOutboxStore = {
  async claimDue(tx, now, leaseUntil) {
    const row = await tx
      .selectFrom('vendor_mail_outbox')
      .selectAll()
      .where('state', '=', 'queued')
      .where('next_attempt_at', '<=', now)
      .orderBy('next_attempt_at')
      .limit(1)
      .forUpdate()
      .executeTakeFirst();
    if (!row) return null;
    await tx
      .updateTable('vendor_mail_outbox')
      .set({ state: 'handing-over', attempts: row.attempts + 1, next_attempt_at: leaseUntil })
      .where('question_id', '=', row.question_id)
      .execute();
    return { id: row.question_id, from: row.envelope_from, to: row.envelope_to, raw: row.raw, attempts: row.attempts + 1 };
  },
  async markRetry(db, id, next, error) {
    await db
      .updateTable('vendor_mail_outbox')
      .set({ state: 'queued', next_attempt_at: next, last_error: error.slice(0, 500) })
      .where('question_id', '=', id)
      .execute();
  },
  async markSent(tx, id, at) {
    await tx
      .updateTable('vendor_mail_outbox')
      .set({ state: 'sent', sent_at: at, last_error: null })
      .where('question_id', '=', id)
      .execute();
  },
  async listCut(db, now) {
    const rows = await db
      .selectFrom('vendor_mail_outbox')
      .select('question_id')
      .where('state', '=', 'handing-over')
      .where('next_attempt_at', '<=', now)
      .limit(100)
      .execute();
    return rows.map((r) => r.question_id);
  },
  async settleCut(tx, id, at, note) {
    const result = await tx
      .updateTable('vendor_mail_outbox')
      .set({ state: 'sent', sent_at: at, last_error: note.slice(0, 500), send_uncertain: true })
      .where('question_id', '=', id)
      .where('state', '=', 'handing-over')
      .executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  },
};

/** Where a question's mail is: its outbox state, or null when it has none. */
export async function vendorMailState(db: DbOrTx, questionId: string): Promise<string | null> {
  const row = await db.selectFrom('vendor_mail_outbox').select('state').where('question_id', '=', questionId).executeTakeFirst();
  return row?.state ?? null;
}
