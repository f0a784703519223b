import { sql } from 'kysely';
import type { DbOrTx } from '../../db/database.js';

/** SQL of the quarantine (quarantined_message): messages from senders that are not peers. */

const iso = (d: Date | string | null): string | null => (d === null ? null : new Date(d).toISOString());

// ---------------------------------------------------------------------------------------------
// Quarantine

export interface QuarantineRow {
  id: string;
  seq: number;
  claimedFrom: string;
  messageId: string;
  type: string | null;
  envelope: string;
  sealed: boolean;
  issuerFingerprint: string | null;
  state: 'quarantined' | 'accepted' | 'rejected';
  receivedAt: string;
  decidedAt: string | null;
  decidedBy: string | null;
  reason: string | null;
}

type RawQuarantine = {
  id: string;
  seq: number;
  claimed_from: string;
  message_id: string;
  type: string | null;
  envelope: string;
  sealed: boolean;
  issuer_fingerprint: string | null;
  state: string;
  received_at: Date | string;
  decided_at: Date | string | null;
  decided_by: string | null;
  reason: string | null;
};
const toQuarantine = (r: RawQuarantine): QuarantineRow => ({
  id: r.id,
  seq: Number(r.seq),
  claimedFrom: r.claimed_from,
  messageId: r.message_id,
  type: r.type,
  envelope: r.envelope,
  sealed: r.sealed,
  issuerFingerprint: r.issuer_fingerprint,
  state: r.state as QuarantineRow['state'],
  receivedAt: iso(r.received_at)!,
  decidedAt: iso(r.decided_at),
  decidedBy: r.decided_by,
  reason: r.reason,
});

/** Stores a message from an unknown sender; an identical (claimed sender, id) returns the row kept before. */
export async function insertQuarantine(
  db: DbOrTx,
  row: {
    id: string;
    claimedFrom: string;
    messageId: string;
    type: string | null;
    envelope: string;
    sealed: boolean;
    issuerFingerprint: string | null;
    sourceAddress: string | null;
    at: Date;
  },
): Promise<{ row: QuarantineRow; created: boolean }> {
  const inserted = await db
    .insertInto('quarantined_message')
    .values({
      id: row.id,
      claimed_from: row.claimedFrom,
      message_id: row.messageId,
      type: row.type,
      envelope: row.envelope,
      sealed: row.sealed,
      issuer_fingerprint: row.issuerFingerprint,
      source_address: row.sourceAddress,
      received_at: row.at,
    })
    .onConflict((oc) => oc.columns(['claimed_from', 'message_id']).doNothing())
    .returningAll()
    .executeTakeFirst();
  if (inserted) return { row: toQuarantine(inserted as RawQuarantine), created: true };
  const existing = await db
    .selectFrom('quarantined_message')
    .selectAll()
    .where('claimed_from', '=', row.claimedFrom)
    .where('message_id', '=', row.messageId)
    .executeTakeFirstOrThrow();
  return { row: toQuarantine(existing as RawQuarantine), created: false };
}

/** What the quarantine holds now: in all, in bytes, in one claimed name and from one address. */
export async function countQuarantined(
  db: DbOrTx,
  of: { claimedFrom: string; sourceAddress: string | null },
): Promise<{ messages: number; bytes: number; byClaimedSender: number; bySourceAddress: number }> {
  const { rows } = await sql<{ messages: number; bytes: number; by_sender: number; by_address: number }>`
    select count(*)::int as messages,
           coalesce(sum(octet_length(envelope)), 0)::bigint as bytes,
           (count(*) filter (where claimed_from = ${of.claimedFrom}))::int as by_sender,
           (count(*) filter (where source_address = ${of.sourceAddress}))::int as by_address
      from quarantined_message
     where state = 'quarantined'`.execute(db);
  const row = rows[0]!;
  return {
    messages: Number(row.messages),
    bytes: Number(row.bytes),
    byClaimedSender: Number(row.by_sender),
    bySourceAddress: Number(row.by_address),
  };
}

export async function findQuarantine(db: DbOrTx, id: string, forUpdate = false): Promise<QuarantineRow | null> {
  let q = db.selectFrom('quarantined_message').selectAll().where('id', '=', id);
  if (forUpdate) q = q.forUpdate();
  const row = await q.executeTakeFirst();
  return row ? toQuarantine(row as RawQuarantine) : null;
}

export async function listQuarantine(
  db: DbOrTx,
  filter: { state?: string; beforeSeq?: number; limit: number },
): Promise<{ items: QuarantineRow[]; more: boolean }> {
  let q = db.selectFrom('quarantined_message').selectAll();
  if (filter.state) q = q.where('state', '=', filter.state);
  if (filter.beforeSeq !== undefined) q = q.where('seq', '<', filter.beforeSeq);
  const rows = await q
    .orderBy('seq', 'desc')
    .limit(filter.limit + 1)
    .execute();
  return {
    items: rows.slice(0, filter.limit).map((r) => toQuarantine(r as RawQuarantine)),
    more: rows.length > filter.limit,
  };
}

/** Closes a quarantined message; false when it was decided already. */
export async function decideQuarantine(
  db: DbOrTx,
  where: { id: string } | { claimedFrom: string; messageId: string },
  decision: { state: 'accepted' | 'rejected'; by: string; reason: string | null; at: Date },
): Promise<boolean> {
  let q = db
    .updateTable('quarantined_message')
    .set({ state: decision.state, decided_by: decision.by, decided_at: decision.at, reason: decision.reason })
    .where('state', '=', 'quarantined');
  q =
    'id' in where
      ? q.where('id', '=', where.id)
      : q.where('claimed_from', '=', where.claimedFrom).where('message_id', '=', where.messageId);
  const result = await q.executeTakeFirst();
  return Number(result.numUpdatedRows) > 0;
}
