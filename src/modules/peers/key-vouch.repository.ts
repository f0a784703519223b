import { sql, type Selectable } from 'kysely';
import type { DbOrTx, Tx } from '../../db/database.js';
import type { KeyVouchTable, SentIntroductionTable } from '../../db/tables.js';
import type { VouchKind } from './key-assurance.js';
import type { PeerAssurance, PeerStatus } from './peer-directory.js';

/** A statement that a key is a team's (migration 0021): the newest one per (subject, key, kind, voucher). */
export interface VouchRow {
  subject: string;
  fingerprint: string;
  kind: VouchKind;
  voucher: string;
  messageId: string | null;
  /** The signed statement as received: its RFC 8785 text and detached signature (null for a roster vouch). */
  document: string | null;
  signature: string | null;
  vouchesFor: string | null;
  /** When the voucher signed it (the document's `created`), or when the forum module recorded it. */
  statedAt: Date;
  createdAt: Date;
  updatedAt: Date;
  withdrawnAt: Date | null;
}

export interface VouchKey {
  subject: string;
  fingerprint: string;
  kind: VouchKind;
  voucher: string;
}

export interface SentIntroductionRow {
  subject: string;
  fingerprint: string;
  recipient: string;
  messageId: string;
  vouchesFor: string | null;
  sentAt: Date;
  sentBy: string;
  withdrawnAt: Date | null;
  withdrawalMessageId: string | null;
}

const date = (value: Date | string): Date => (value instanceof Date ? value : new Date(value));
const dateOrNull = (value: Date | string | null): Date | null => (value === null ? null : date(value));

function toVouch(row: Selectable<KeyVouchTable>): VouchRow {
  return {
    subject: row.subject_team,
    fingerprint: row.fingerprint,
    kind: row.kind as VouchKind,
    voucher: row.voucher,
    messageId: row.message_id,
    document: row.document,
    signature: row.signature,
    vouchesFor: row.vouches_for,
    statedAt: date(row.stated_at),
    createdAt: date(row.created_at),
    updatedAt: date(row.updated_at),
    withdrawnAt: dateOrNull(row.withdrawn_at),
  };
}

function toSent(row: Selectable<SentIntroductionTable>): SentIntroductionRow {
  return {
    subject: row.subject_team,
    fingerprint: row.fingerprint,
    recipient: row.recipient,
    messageId: row.message_id,
    vouchesFor: row.vouches_for,
    sentAt: date(row.sent_at),
    sentBy: row.sent_by,
    withdrawnAt: dateOrNull(row.withdrawn_at),
    withdrawalMessageId: row.withdrawal_message_id,
  };
}

/**
 * Serialises the changes about one subject team until the transaction ends: a vouch recorded
 * while the team is being added must not miss the assurance computed for the new peer (each
 * would otherwise not see the other's uncommitted row). A transaction-scoped advisory lock, so
 * it needs no row that may not exist yet.
 */
export async function lockVouchSubject(tx: Tx, subject: string): Promise<void> {
  await sql`select pg_advisory_xact_lock(hashtextextended(${`hikeshi.key_vouch:${subject}`}, 0))`.execute(tx);
}

export async function findVouch(db: DbOrTx, key: VouchKey): Promise<VouchRow | null> {
  const row = await db
    .selectFrom('key_vouch')
    .selectAll()
    .where('subject_team', '=', key.subject)
    .where('fingerprint', '=', key.fingerprint)
    .where('kind', '=', key.kind)
    .where('voucher', '=', key.voucher)
    .executeTakeFirst();
  return row ? toVouch(row) : null;
}

/** Inserts the statement, or replaces the one held for the same (subject, key, kind, voucher); created_at stays. */
export async function upsertVouch(tx: Tx, vouch: Omit<VouchRow, 'createdAt' | 'updatedAt'>, at: Date): Promise<void> {
  const values = {
    message_id: vouch.messageId,
    document: vouch.document,
    signature: vouch.signature,
    vouches_for: vouch.vouchesFor,
    stated_at: vouch.statedAt,
    updated_at: at,
    withdrawn_at: vouch.withdrawnAt,
  };
  await tx
    .insertInto('key_vouch')
    .values({
      subject_team: vouch.subject,
      fingerprint: vouch.fingerprint,
      kind: vouch.kind,
      voucher: vouch.voucher,
      created_at: at,
      ...values,
    })
    .onConflict((oc) => oc.columns(['subject_team', 'fingerprint', 'kind', 'voucher']).doUpdateSet(values))
    .execute();
}

/** Every statement held about a subject team, roster vouches first, then by voucher and key. */
export async function listVouchesFor(db: DbOrTx, subject: string): Promise<VouchRow[]> {
  const rows = await db
    .selectFrom('key_vouch')
    .selectAll()
    .where('subject_team', '=', subject)
    .orderBy('kind', 'desc')
    .orderBy('voucher')
    .orderBy('fingerprint')
    .execute();
  return rows.map(toVouch);
}

/** The teams a voucher has vouched for (withdrawn or not), by team id. */
export async function subjectsVouchedBy(db: DbOrTx, voucher: string, kind: VouchKind): Promise<string[]> {
  const rows = await db
    .selectFrom('key_vouch')
    .select('subject_team')
    .distinct()
    .where('voucher', '=', voucher)
    .where('kind', '=', kind)
    .orderBy('subject_team')
    .execute();
  return rows.map((r) => r.subject_team);
}

/** Marks a voucher's statements about a subject withdrawn (one key, or every key); answers the keys withdrawn. */
export async function withdrawVouches(
  tx: Tx,
  where: { subject: string; kind: VouchKind; voucher: string; fingerprint?: string },
  at: Date,
): Promise<string[]> {
  let query = tx
    .updateTable('key_vouch')
    .set({ withdrawn_at: at, updated_at: at })
    .where('subject_team', '=', where.subject)
    .where('kind', '=', where.kind)
    .where('voucher', '=', where.voucher)
    .where('withdrawn_at', 'is', null);
  if (where.fingerprint !== undefined) query = query.where('fingerprint', '=', where.fingerprint);
  const rows = await query.returning('fingerprint').execute();
  return rows.map((r) => r.fingerprint).sort();
}

/** Assurance and status of the teams among `teamIds` that are peers of ours. */
export async function peerStandings(db: DbOrTx, teamIds: string[]): Promise<Map<string, { assurance: PeerAssurance; status: PeerStatus }>> {
  if (teamIds.length === 0) return new Map();
  const rows = await db.selectFrom('peer').select(['team_id', 'assurance', 'status']).where('team_id', 'in', teamIds).execute();
  return new Map(rows.map((r) => [r.team_id, { assurance: r.assurance as PeerAssurance, status: r.status as PeerStatus }]));
}

// --- introductions this node sent ----------------------------------------------------------------

export async function upsertSentIntroduction(
  tx: Tx,
  sent: Omit<SentIntroductionRow, 'withdrawnAt' | 'withdrawalMessageId'>,
): Promise<void> {
  const values = {
    message_id: sent.messageId,
    vouches_for: sent.vouchesFor,
    sent_at: sent.sentAt,
    sent_by: sent.sentBy,
    withdrawn_at: null,
    withdrawal_message_id: null,
  };
  await tx
    .insertInto('sent_introduction')
    .values({ subject_team: sent.subject, fingerprint: sent.fingerprint, recipient: sent.recipient, ...values })
    .onConflict((oc) => oc.columns(['subject_team', 'fingerprint', 'recipient']).doUpdateSet(values))
    .execute();
}

/** What we told whom about a subject team, by recipient and key; `standing` only: not withdrawn. */
export async function listSentIntroductions(
  db: DbOrTx,
  subject: string,
  options: { standing?: boolean } = {},
): Promise<SentIntroductionRow[]> {
  let query = db.selectFrom('sent_introduction').selectAll().where('subject_team', '=', subject);
  if (options.standing) query = query.where('withdrawn_at', 'is', null);
  const rows = await query.orderBy('recipient').orderBy('fingerprint').execute();
  return rows.map(toSent);
}

export async function markSentWithdrawn(
  tx: Tx,
  key: { subject: string; fingerprint: string; recipient: string },
  at: Date,
  withdrawalMessageId: string | null,
): Promise<void> {
  await tx
    .updateTable('sent_introduction')
    .set({ withdrawn_at: at, withdrawal_message_id: withdrawalMessageId })
    .where('subject_team', '=', key.subject)
    .where('fingerprint', '=', key.fingerprint)
    .where('recipient', '=', key.recipient)
    .execute();
}
