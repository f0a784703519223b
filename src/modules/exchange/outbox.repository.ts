import type { Selectable, Updateable } from 'kysely';
import { sql } from 'kysely';
import type { Db, DbOrTx, Tx } from '../../db/database.js';
import type { OutboundMessageTable } from '../../db/tables.js';
import { jsonbParameter } from '../../db/jsonb-parameter.js';

/** SQL of the outbox (outbound_message): signed messages waiting for delivery, and their outcomes. */

const iso = (d: Date | string | null): string | null => (d === null ? null : new Date(d).toISOString());

// ---------------------------------------------------------------------------------------------
// Outbox

export interface OutboundRow {
  id: string;
  seq: number;
  peerTeam: string;
  incidentId: string | null;
  type: string;
  tlp: string;
  document: string;
  signature: string;
  /** sent: handed to the mail server for a team without a node (ADR 0028), delivered once it replies. */
  state: 'pending' | 'sent' | 'delivered' | 'failed';
  attempts: number;
  nextAttemptAt: string;
  lastAttemptAt: string | null;
  lastError: string | null;
  receipt: string | null;
  receiptStatus: string | null;
  peerRef: string | null;
  deliveredAt: string | null;
  failedAt: string | null;
  createdAt: string;
  /** Where the last attempt went (http, or mail waiting for its receipt); null before the first. */
  channel: 'http' | 'mail' | null;
  /** The Message-ID of the mail that carried it to a team without a node; null otherwise. */
  mailMessageId: string | null;
  sentAt: string | null;
}

type RawOutbound = Selectable<OutboundMessageTable>;
const toOutbound = (r: RawOutbound): OutboundRow => ({
  id: r.id,
  seq: Number(r.seq),
  peerTeam: r.peer_team,
  incidentId: r.incident_id,
  type: r.type,
  tlp: r.tlp,
  document: r.document,
  signature: r.signature,
  state: r.state as OutboundRow['state'],
  attempts: r.attempts,
  nextAttemptAt: iso(r.next_attempt_at)!,
  lastAttemptAt: iso(r.last_attempt_at),
  lastError: r.last_error,
  receipt: r.receipt,
  receiptStatus: r.receipt_status,
  peerRef: r.peer_ref,
  deliveredAt: iso(r.delivered_at),
  failedAt: iso(r.failed_at),
  createdAt: iso(r.created_at)!,
  channel: (r.channel ?? null) as OutboundRow['channel'],
  mailMessageId: r.mail_message_id ?? null,
  sentAt: iso(r.sent_at ?? null),
});

/** A signed message to queue: the row's identity and content, queued (and first due) at `at`. */
export type OutboundInsert = Pick<OutboundRow, 'id' | 'peerTeam' | 'incidentId' | 'type' | 'tlp' | 'document' | 'signature'> & { at: Date };

/** One message, or many in one statement (a forum inquiry to every member). */
export async function insertOutbound(tx: Tx, rows: OutboundInsert | readonly OutboundInsert[]): Promise<void> {
  const list = Array.isArray(rows) ? rows : [rows as OutboundInsert];
  if (list.length === 0) return;
  await tx
    .insertInto('outbound_message')
    .values(
      list.map((row) => ({
        id: row.id,
        peer_team: row.peerTeam,
        incident_id: row.incidentId,
        type: row.type,
        tlp: row.tlp,
        document: row.document,
        signature: row.signature,
        next_attempt_at: row.at,
        created_at: row.at,
      })),
    )
    .execute();
}

export async function findOutbound(db: DbOrTx, id: string): Promise<OutboundRow | null> {
  const row = await db.selectFrom('outbound_message').selectAll().where('id', '=', id).executeTakeFirst();
  return row ? toOutbound(row) : null;
}

export async function listOutboundForIncident(db: DbOrTx, incidentId: string): Promise<OutboundRow[]> {
  const rows = await db.selectFrom('outbound_message').selectAll().where('incident_id', '=', incidentId).orderBy('seq').execute();
  return rows.map((r) => toOutbound(r));
}

/**
 * Claims up to `limit` due messages for this worker: in one short transaction the rows are
 * locked (rows another worker holds are skipped, never waited for) and their next attempt is
 * pushed past the lease, so no other worker takes them while this one delivers; a worker that
 * dies leaves them to come due again when the lease ends. A message waits while an older message
 * for the same peer and incident is pending, so a peer gets the report before its updates, and
 * while an older `key.rotation` for the peer is pending, so a peer learns this node's new key
 * before anything signed with it arrives (src/cli/key-commands.ts).
 * Returns each row with the attempt number it was claimed at (a fencing token for the outcome).
 */
export async function claimDue(db: Db, now: Date, leaseMs: number, limit: number): Promise<OutboundRow[]> {
  return db.transaction().execute(async (tx) => {
    const due = await sql<{ id: string }>`
      select o.id from outbound_message o
      where o.state = 'pending' and o.next_attempt_at <= ${now}
        and not exists (
          select 1 from outbound_message p
          where p.peer_team = o.peer_team and p.incident_id = o.incident_id and p.seq < o.seq and p.state = 'pending')
        and not exists (
          select 1 from outbound_message r
          where r.peer_team = o.peer_team and r.type = 'key.rotation' and r.seq < o.seq and r.state = 'pending')
      order by o.seq
      limit ${limit}
      for update of o skip locked`.execute(tx);
    const ids = due.rows.map((r) => r.id);
    if (ids.length === 0) return [];
    const rows = await tx
      .updateTable('outbound_message')
      .set({ next_attempt_at: new Date(now.getTime() + leaseMs), last_attempt_at: now, attempts: sql`attempts + 1` })
      .where('id', 'in', ids)
      .returningAll()
      .execute();
    return rows.map((r) => toOutbound(r)).sort((a, b) => a.seq - b.seq);
  });
}

/**
 * Changes a pending message, but only for the worker still holding its claim (the same attempt
 * number): a worker whose lease ran out and whose message another worker claimed changes nothing.
 */
async function updateClaimed(db: DbOrTx, id: string, attempt: number, set: Updateable<OutboundMessageTable>): Promise<boolean> {
  const result = await db
    .updateTable('outbound_message')
    .set(set)
    .where('id', '=', id)
    .where('attempts', '=', attempt)
    .where('state', '=', 'pending')
    .executeTakeFirst();
  return Number(result.numUpdatedRows) > 0;
}

/**
 * Records several deliveries in one statement (the receipts a group commit gathered), each only
 * only for the worker still holding its claim (the same attempt number): answers the ids it moved.
 */
export async function markDeliveredMany(
  tx: Tx,
  items: ReadonlyArray<{
    id: string;
    attempt: number;
    outcome: { receipt: string; receiptStatus: string; peerRef: string | null; at: Date; channel: 'http' | 'mail' };
  }>,
): Promise<Set<string>> {
  if (items.length === 0) return new Set();
  const values = JSON.stringify(
    items.map(({ id, attempt, outcome }) => ({
      id,
      attempt,
      channel: outcome.channel,
      receipt: outcome.receipt,
      receipt_status: outcome.receiptStatus,
      peer_ref: outcome.peerRef,
      at: outcome.at.toISOString(),
    })),
  );
  const { rows } = await sql<{ id: string }>`
    update outbound_message o
       set state = 'delivered', channel = v.channel, receipt = v.receipt, receipt_status = v.receipt_status,
           peer_ref = v.peer_ref, delivered_at = v.at, last_error = null
      from jsonb_to_recordset(${jsonbParameter(values)}::jsonb)
           as v(id uuid, attempt int, channel text, receipt text, receipt_status text, peer_ref text, at timestamptz)
     where o.id = v.id and o.attempts = v.attempt and o.state = 'pending'
     returning o.id`.execute(tx);
  return new Set(rows.map((r) => r.id));
}

/**
 * Records the hand-over of a message to a team without a node (ADR 0028): `sent`, never tried
 * again (such a team sends no machine receipt); its reply moves it to delivered (markReplied).
 */
export function markSent(db: DbOrTx, id: string, attempt: number, sent: { mailMessageId: string; at: Date }): Promise<boolean> {
  return updateClaimed(db, id, attempt, {
    state: 'sent',
    channel: 'mail',
    mail_message_id: sent.mailMessageId,
    sent_at: sent.at,
    last_error: null,
  });
}

/** The message a mail with this Message-ID carried (without angle brackets), or null. */
export async function findByMailMessageId(db: DbOrTx, mailMessageId: string): Promise<OutboundRow | null> {
  const row = await db.selectFrom('outbound_message').selectAll().where('mail_message_id', '=', mailMessageId).executeTakeFirst();
  return row ? toOutbound(row) : null;
}

/** What was mailed to a team about incidents, newest first (a reply naming our reference number is matched among them). */
export async function listMailedToTeam(db: DbOrTx, peerTeam: string, limit: number): Promise<OutboundRow[]> {
  const rows = await db
    .selectFrom('outbound_message')
    .selectAll()
    .where('peer_team', '=', peerTeam)
    .where('mail_message_id', 'is not', null)
    // About an incident (named by our reference number), or a forum inquiry (named by its id).
    .where((eb) => eb.or([eb('incident_id', 'is not', null), eb('type', '=', 'forum.inquiry')]))
    .orderBy('seq', 'desc')
    .limit(limit)
    .execute();
  return rows.map((r) => toOutbound(r));
}

/** A sent message answered by the team's signed reply: delivered, the reply's record kept as its receipt. */
export async function markReplied(tx: Tx, id: string, outcome: { receipt: string; at: Date }): Promise<boolean> {
  const result = await tx
    .updateTable('outbound_message')
    .set({ state: 'delivered', receipt: outcome.receipt, receipt_status: 'replied', delivered_at: outcome.at })
    .where('id', '=', id)
    .where('state', '=', 'sent')
    .executeTakeFirst();
  return Number(result.numUpdatedRows) > 0;
}

/** `channel`: the channel the attempt went out on when it did (mail, waiting for the receipt); null keeps the one recorded. */
export function markRetry(
  db: DbOrTx,
  id: string,
  attempt: number,
  error: string,
  nextAttemptAt: Date,
  channel: 'http' | 'mail' | null,
): Promise<boolean> {
  return updateClaimed(db, id, attempt, { last_error: error, next_attempt_at: nextAttemptAt, ...(channel ? { channel } : {}) });
}

export function markFailed(db: DbOrTx, id: string, attempt: number, error: string, at: Date): Promise<boolean> {
  return updateClaimed(db, id, attempt, { state: 'failed', last_error: error, failed_at: at });
}

/** The newest message of `type` delivered to a peer (with its receipt), or null. */
export async function lastDeliveredOfType(db: DbOrTx, peerTeam: string, type: string): Promise<OutboundRow | null> {
  const row = await db
    .selectFrom('outbound_message')
    .selectAll()
    .where('peer_team', '=', peerTeam)
    .where('type', '=', type)
    .where('state', '=', 'delivered')
    .orderBy('seq', 'desc')
    .limit(1)
    .executeTakeFirst();
  return row ? toOutbound(row) : null;
}

/** Pending messages for a peer and incident other than `exceptId` (shown as pendingUpdates of a share). */
export async function countPending(db: DbOrTx, incidentId: string, peerTeam: string, exceptId: string | null): Promise<number> {
  let q = db
    .selectFrom('outbound_message')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('incident_id', '=', incidentId)
    .where('peer_team', '=', peerTeam)
    .where('state', '=', 'pending');
  if (exceptId) q = q.where('id', '<>', exceptId);
  const row = await q.executeTakeFirstOrThrow();
  return Number(row.n);
}

/**
 * Per peer, the messages not delivered yet and when the oldest of them was queued (metrics, read
 * at scrape time): one query over the pending rows' partial index.
 */
export async function pendingByPeer(db: DbOrTx): Promise<Array<{ peerTeam: string; pending: number; oldestAt: string }>> {
  const rows = await db
    .selectFrom('outbound_message')
    .select((eb) => ['peer_team', eb.fn.countAll<number>().as('n'), eb.fn.min('created_at').as('oldest')])
    .where('state', '=', 'pending')
    .groupBy('peer_team')
    .orderBy('peer_team')
    .execute();
  return rows.map((r) => ({ peerTeam: r.peer_team, pending: Number(r.n), oldestAt: iso(r.oldest as Date | string)! }));
}

/**
 * Drops messages of `type` about the incident for that peer that are still queued and were never
 * tried (a newer one replaces them); one already tried stays (it may be on the wire).
 */
export async function dropUntried(tx: Tx, incidentId: string, peerTeam: string, type: string): Promise<number> {
  const result = await tx
    .deleteFrom('outbound_message')
    .where('incident_id', '=', incidentId)
    .where('peer_team', '=', peerTeam)
    .where('type', '=', type)
    .where('state', '=', 'pending')
    .where('attempts', '=', 0)
    .executeTakeFirst();
  return Number(result.numDeletedRows);
}

/** The type of the latest message of one of `types` queued about the incident for that peer; null when none. */
export async function lastQueuedType(db: DbOrTx, incidentId: string, peerTeam: string, types: readonly string[]): Promise<string | null> {
  const row = await db
    .selectFrom('outbound_message')
    .select('type')
    .where('incident_id', '=', incidentId)
    .where('peer_team', '=', peerTeam)
    .where('type', 'in', [...types])
    .orderBy('seq', 'desc')
    .limit(1)
    .executeTakeFirst();
  return row?.type ?? null;
}

/** The pending messages' ids and signed texts, oldest first: what a key rotation re-signs. */
export async function listPendingTexts(tx: Tx): Promise<Array<{ id: string; document: string }>> {
  return tx.selectFrom('outbound_message').select(['id', 'document']).where('state', '=', 'pending').orderBy('seq').execute();
}

/**
 * A new signature for a pending message, which also moves it to the back of the queue (a new
 * seq, taken in the caller's order), behind the key.rotation that announces the key.
 */
export async function replaceSignature(tx: Tx, id: string, signature: string): Promise<void> {
  await tx
    .updateTable('outbound_message')
    .set({ signature, seq: sql`nextval(pg_get_serial_sequence('outbound_message', 'seq'))` })
    .where('id', '=', id)
    .where('state', '=', 'pending')
    .execute();
}
