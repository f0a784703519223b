import { sql } from 'kysely';
import type { MailOutboxStore } from './mail-hand-over.js';

/**
 * The hand-over loop's port over a plain mail outbox table: one composed mail per row, with the
 * columns state (queued, handing-over, sent), envelope_from, envelope_to, raw, attempts,
 * next_attempt_at, last_error, send_uncertain and sent_at, keyed by one uuid column. The vendor
 * questions' outbox and the receipts to people are such tables; the site notifications' outbox
 * has its own port (a receiving domain's hourly limit decides its claims).
 */
export type MailOutboxTable = 'vendor_mail_outbox' | 'mail_report_receipt';

export function mailOutboxTableStore(table: MailOutboxTable, key: 'question_id' | 'id'): MailOutboxStore {
  const t = sql.table(table);
  const k = sql.ref(key);
  return {
    async claimDue(tx, now, leaseUntil) {
      // SKIP LOCKED: a row another process is claiming is left to it, not waited on.
      const { rows } = await sql<{ id: string; envelope_from: string; envelope_to: string; raw: string; attempts: number }>`
        update ${t} set state = 'handing-over', attempts = attempts + 1, next_attempt_at = ${leaseUntil}
        where ${k} = (
          select ${k} from ${t} where state = 'queued' and next_attempt_at <= ${now}
          order by next_attempt_at limit 1 for update skip locked)
        returning ${k}::text as id, envelope_from, envelope_to, raw, attempts`.execute(tx);
      const row = rows[0];
      return row ? { id: row.id, from: row.envelope_from, to: row.envelope_to, raw: row.raw, attempts: Number(row.attempts) } : null;
    },
    async markRetry(db, id, next, error) {
      await sql`update ${t} set state = 'queued', next_attempt_at = ${next}, last_error = ${error.slice(0, 500)}
        where ${k} = ${id}::uuid`.execute(db);
    },
    async markSent(tx, id, at) {
      await sql`update ${t} set state = 'sent', sent_at = ${at}, last_error = null where ${k} = ${id}::uuid`.execute(tx);
    },
    async listCut(db, now) {
      const { rows } = await sql<{ id: string }>`
        select ${k}::text as id from ${t} where state = 'handing-over' and next_attempt_at <= ${now} limit 100`.execute(db);
      return rows.map((r) => r.id);
    },
    async settleCut(tx, id, at, note) {
      const result = await sql`
        update ${t} set state = 'sent', sent_at = ${at}, last_error = ${note.slice(0, 500)}, send_uncertain = true
        where ${k} = ${id}::uuid and state = 'handing-over'`.execute(tx);
      return Number(result.numAffectedRows ?? 0) > 0;
    },
  };
}
