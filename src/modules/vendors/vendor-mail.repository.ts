import type { DbOrTx, Tx } from '../../db/database.js';
import { mailOutboxTableStore, type MailOutboxStore } from '../exchange/exchange.module.js';

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
export const vendorMailStore: MailOutboxStore = mailOutboxTableStore('vendor_mail_outbox', 'question_id');

/** Where a question's mail is: its outbox state, or null when it has none. */
export async function vendorMailState(db: DbOrTx, questionId: string): Promise<string | null> {
  const row = await db.selectFrom('vendor_mail_outbox').select('state').where('question_id', '=', questionId).executeTakeFirst();
  return row?.state ?? null;
}
