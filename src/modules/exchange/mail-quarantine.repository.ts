import { sql, type Selectable } from 'kysely';
import type { QuarantinedMailTable } from '../../db/mail-tables.js';
import type { DbOrTx } from '../../db/database.js';
import type { MAIL_QUARANTINE_STATES } from '../../../schemas/mail.schema.js';

/** SQL of the mail quarantine (quarantined_mail): incoming mail that could not be filed, kept whole. */

export interface QuarantinedMailRow {
  id: string;
  seq: number;
  envelopeFrom: string | null;
  headerFrom: string | null;
  messageId: string | null;
  reason: string;
  detail: string;
  issuerFingerprint: string | null;
  raw: string;
  sizeBytes: number;
  sourceAddress: string | null;
  state: (typeof MAIL_QUARANTINE_STATES)[number];
  receivedAt: string;
  decidedBy: string | null;
  decidedAt: string | null;
  decisionNote: string | null;
}

/** A row as Kysely selects it (the table's type, db/mail-tables.ts). */
type Raw = Selectable<QuarantinedMailTable>;

const toRow = (r: Raw): QuarantinedMailRow => ({
  id: r.id,
  seq: Number(r.seq),
  envelopeFrom: r.envelope_from,
  headerFrom: r.header_from,
  messageId: r.message_id,
  reason: r.reason,
  detail: r.detail,
  issuerFingerprint: r.issuer_fingerprint,
  raw: r.raw,
  sizeBytes: r.size_bytes,
  sourceAddress: r.source_address,
  state: r.state as QuarantinedMailRow['state'],
  receivedAt: new Date(r.received_at).toISOString(),
  decidedBy: r.decided_by,
  decidedAt: r.decided_at ? new Date(r.decided_at).toISOString() : null,
  decisionNote: r.decision_note,
});

export type NewQuarantinedMail = Omit<QuarantinedMailRow, 'seq' | 'state' | 'receivedAt' | 'decidedBy' | 'decidedAt' | 'decisionNote'> & {
  at: Date;
};

export async function insertQuarantinedMail(db: DbOrTx, row: NewQuarantinedMail): Promise<void> {
  await db
    .insertInto('quarantined_mail')
    .values({
      id: row.id,
      envelope_from: row.envelopeFrom,
      header_from: row.headerFrom,
      message_id: row.messageId,
      reason: row.reason,
      detail: row.detail,
      issuer_fingerprint: row.issuerFingerprint,
      raw: row.raw,
      size_bytes: row.sizeBytes,
      source_address: row.sourceAddress,
      received_at: row.at,
    })
    .execute();
}

/** How many mails wait and how many bytes they hold: the quarantine's bounds. */
export async function quarantinedMailTotals(db: DbOrTx): Promise<{ count: number; bytes: number }> {
  const row = await db
    .selectFrom('quarantined_mail')
    .select((eb) => [eb.fn.countAll<number>().as('n'), sql<number>`coalesce(sum(size_bytes), 0)`.as('bytes')])
    .where('state', '=', 'quarantined')
    .executeTakeFirstOrThrow();
  return { count: Number(row.n), bytes: Number(row.bytes) };
}

/** Newest first, after the cursor's seq. */
export async function listQuarantinedMail(
  db: DbOrTx,
  query: { state?: QuarantinedMailRow['state']; before?: number; limit: number },
): Promise<QuarantinedMailRow[]> {
  let q = db.selectFrom('quarantined_mail').selectAll().orderBy('seq', 'desc').limit(query.limit);
  if (query.state) q = q.where('state', '=', query.state);
  if (query.before !== undefined) q = q.where('seq', '<', query.before);
  return (await q.execute()).map((r) => toRow(r));
}

export async function findQuarantinedMail(db: DbOrTx, id: string): Promise<QuarantinedMailRow | null> {
  const row = await db.selectFrom('quarantined_mail').selectAll().where('id', '=', id).executeTakeFirst();
  return row ? toRow(row) : null;
}

/** Decides a mail still quarantined (conditional: false when it was decided already). */
export async function decideQuarantinedMail(
  db: DbOrTx,
  id: string,
  decision: { state: 'accepted' | 'rejected'; by: string; at: Date; note: string | null },
): Promise<boolean> {
  const result = await db
    .updateTable('quarantined_mail')
    .set({ state: decision.state, decided_by: decision.by, decided_at: decision.at, decision_note: decision.note })
    .where('id', '=', id)
    .where('state', '=', 'quarantined')
    .executeTakeFirst();
  return Number(result.numUpdatedRows) > 0;
}

/** What became of an accepted mail. */
export async function noteQuarantinedMail(db: DbOrTx, id: string, note: string): Promise<void> {
  await db
    .updateTable('quarantined_mail')
    .set({ decision_note: note.slice(0, 2000) })
    .where('id', '=', id)
    .execute();
}

/** An acceptance undone (the intake could not keep the mail: the quarantine was full again). */
export async function undecideQuarantinedMail(db: DbOrTx, id: string): Promise<void> {
  await db
    .updateTable('quarantined_mail')
    .set({ state: 'quarantined', decided_by: null, decided_at: null, decision_note: null })
    .where('id', '=', id)
    .execute();
}
