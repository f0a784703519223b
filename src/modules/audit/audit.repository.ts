import { sql, type Selectable } from 'kysely';
import type { DbOrTx, Tx } from '../../db/database.js';
import { jsonbParameter } from '../../db/jsonb-parameter.js';
import type { AuditEntryTable } from '../../db/tables.js';
import type { AuditEntry } from '../../../schemas/audit.schema.js';

/**
 * SQL for the audit log. Only INSERT and SELECT: the table refuses UPDATE, DELETE and TRUNCATE
 * (migration 0004), and its Kysely type makes every column non-updatable too.
 */

/**
 * Key of the transaction-scoped advisory lock that serialises appends. Arbitrary but fixed
 * ("HIKEAU" in ASCII, kept below 2^53 so it survives as a JS number); every appender, in every
 * node process sharing the database, must use the same one.
 */
export const AUDIT_CHAIN_LOCK = 0x48494b454155;

type AuditRow = Selectable<AuditEntryTable>;

function toEntry(row: AuditRow): AuditEntry {
  return {
    seq: Number(row.seq),
    at: new Date(row.at).toISOString(),
    kind: row.kind,
    actor: row.actor,
    incidentId: row.incident_id,
    peer: row.peer,
    decision: row.decision,
    details: row.details,
    prevHash: row.prev_hash,
    hash: row.hash,
  };
}

/**
 * Waits until no other transaction is appending, and holds the chain until the caller's
 * transaction ends (commit or rollback), so the tail read next is still the tail at insert.
 */
export async function lockChain(tx: Tx): Promise<void> {
  await sql`select pg_advisory_xact_lock(${AUDIT_CHAIN_LOCK}::bigint)`.execute(tx);
}

/**
 * Takes the chain lock (as lockChain does), then reads the newest entry's hash (null for an empty
 * log) and `count` new seqs, ascending: one round trip (migration 0012). The seqs are taken before
 * the insert because the hash covers them, and under the lock, so seq order is chain order; a
 * rolled-back append leaves a gap, which the chain tolerates.
 */
export async function lockChainTailAndSeqs(tx: Tx, count: number): Promise<{ tail: string | null; seqs: number[] }> {
  const { rows } = await sql<{ tail: string | null; seqs: Array<number | string> }>`
    select tail, seqs from audit_chain_lock_and_tail(${AUDIT_CHAIN_LOCK}::bigint, ${count}::int)`.execute(tx);
  return { tail: rows[0]!.tail, seqs: rows[0]!.seqs.map(Number).sort((a, b) => a - b) };
}

/**
 * Several entries in one statement (one jsonb parameter for all of them); the rows come back as
 * stored, in seq order, so the caller can check they still hash the same.
 */
export async function insertEntries(tx: Tx, entries: AuditEntry[]): Promise<AuditEntry[]> {
  const rows = entries.map((e) => ({
    seq: e.seq,
    at: e.at,
    kind: e.kind,
    actor: e.actor,
    incident_id: e.incidentId,
    peer: e.peer,
    decision: e.decision,
    details: e.details,
    prev_hash: e.prevHash,
    hash: e.hash,
  }));
  const { rows: stored } = await sql<AuditRow>`
    insert into audit_entry (seq, at, kind, actor, incident_id, peer, decision, details, prev_hash, hash)
    select seq, at, kind, actor, incident_id, peer, decision, details, prev_hash, hash
      from jsonb_populate_recordset(null::audit_entry, ${jsonbParameter(JSON.stringify(rows))}::jsonb)
    returning *`.execute(tx);
  return stored.map(toEntry).sort((a, b) => a.seq - b.seq);
}

/** Oldest first, after `afterSeq`: the verifier's walk. */
export async function readChainBatch(db: DbOrTx, afterSeq: number, limit: number): Promise<AuditEntry[]> {
  const rows = await db.selectFrom('audit_entry').selectAll().where('seq', '>', afterSeq).orderBy('seq', 'asc').limit(limit).execute();
  return rows.map(toEntry);
}

export interface AuditFilter {
  incidentId?: string;
  peer?: string;
  kind?: string;
  decision?: string;
  /** Inclusive. */
  since?: Date;
  /** Exclusive. */
  until?: Date;
  order: 'asc' | 'desc';
  /** Keyset: entries strictly after this seq in the listing's order. */
  afterSeq?: number;
  limit: number;
}

export async function listEntries(db: DbOrTx, f: AuditFilter): Promise<{ items: AuditEntry[]; more: boolean }> {
  let q = db.selectFrom('audit_entry').selectAll();
  if (f.incidentId) q = q.where('incident_id', '=', f.incidentId);
  if (f.peer) q = q.where('peer', '=', f.peer);
  if (f.kind) q = q.where('kind', '=', f.kind);
  if (f.decision) q = q.where('decision', '=', f.decision);
  if (f.since) q = q.where('at', '>=', f.since);
  if (f.until) q = q.where('at', '<', f.until);
  if (f.afterSeq !== undefined) q = q.where('seq', f.order === 'asc' ? '>' : '<', f.afterSeq);
  const rows = await q
    .orderBy('seq', f.order)
    .limit(f.limit + 1)
    .execute();
  return { items: rows.slice(0, f.limit).map(toEntry), more: rows.length > f.limit };
}

// ---------------------------------------------------------------------------------------------
// The anchored audit (audit-anchor.service.ts)

/** Kind of the entry that records an anchoring: a head sent to one witness. */
export const ANCHOR_KIND = 'audit.anchor';

/** The newest entry's seq, hash and time; null for an empty log. */
export async function readHead(db: DbOrTx): Promise<{ seq: number; hash: string; at: string } | null> {
  const row = await db.selectFrom('audit_entry').select(['seq', 'hash', 'at']).orderBy('seq', 'desc').limit(1).executeTakeFirst();
  return row ? { seq: Number(row.seq), hash: row.hash, at: new Date(row.at).toISOString() } : null;
}

/** The head last anchored at a witness, as its anchoring entry recorded it; null when none. */
export async function lastAnchorAt(db: DbOrTx, witness: string): Promise<{ seq: number; hash: string } | null> {
  const row = await db
    .selectFrom('audit_entry')
    .select('details')
    .where('peer', '=', witness)
    .where('kind', '=', ANCHOR_KIND)
    .orderBy('seq', 'desc')
    .limit(1)
    .executeTakeFirst();
  const head = row?.details['head'] as { seq?: unknown; hash?: unknown } | undefined;
  return typeof head?.seq === 'number' && typeof head.hash === 'string' ? { seq: head.seq, hash: head.hash } : null;
}

/**
 * Whether anything was appended after `seq` but the anchoring's own traces: its records, and the
 * receipts of audit.head messages either way (the witness's receipt here, ours at a witness that
 * anchors at us). Counting those would make every anchoring cause the next, and two nodes that
 * witness each other would never fall quiet.
 */
export async function movedSince(db: DbOrTx, seq: number): Promise<boolean> {
  const { rows } = await sql<{ seq: number }>`
    select seq from audit_entry
     where seq > ${seq}
       and kind <> ${ANCHOR_KIND}
       and not (kind = 'receipt' and details->>'type' = 'audit.head')
     limit 1`.execute(db);
  return rows.length > 0;
}

/** The stored hashes of these entries, by seq (a seq the log does not hold is absent). */
export async function hashesAt(db: DbOrTx, seqs: number[]): Promise<Map<number, string>> {
  if (seqs.length === 0) return new Map();
  const rows = await db.selectFrom('audit_entry').select(['seq', 'hash']).where('seq', 'in', seqs).execute();
  return new Map(rows.map((r) => [Number(r.seq), r.hash]));
}
