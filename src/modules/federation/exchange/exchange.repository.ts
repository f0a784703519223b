import { createHash } from 'node:crypto';
import type { InboundMessageTable, OutboundMessageTable } from '../../../db/tables.js';
import type { Selectable } from 'kysely';
import { sql } from 'kysely';
import type { Db, DbOrTx, Tx } from '../../../db/database.js';
import { jsonbParameter } from '../../../db/jsonb-parameter.js';
import { canonicalize } from '../../../crypto/index.js';
import { envelopeShape } from './message-document.js';

/**
 * SQL of the exchange: links, the outbox, the inbox, the quarantine, investigations and used
 * token requests. Rows are mapped to plain objects here; rules live in the services. (The pull
 * feed reads incidents in their order of changes: incident.repository.ts.)
 */

const iso = (d: Date | string | null): string | null => (d === null ? null : new Date(d).toISOString());

// ---------------------------------------------------------------------------------------------
// Links

export interface LinkRow {
  incidentId: string;
  peerTeam: string;
  direction: 'outgoing' | 'incoming';
  peerRef: string | null;
  reportMessageId: string | null;
  createdAt: string;
  createdBy: string;
}

type RawLink = {
  incident_id: string;
  peer_team: string;
  direction: string;
  peer_ref: string | null;
  report_message_id: string | null;
  created_at: Date | string;
  created_by: string;
};
const toLink = (r: RawLink): LinkRow => ({
  incidentId: r.incident_id,
  peerTeam: r.peer_team,
  direction: r.direction as LinkRow['direction'],
  peerRef: r.peer_ref,
  reportMessageId: r.report_message_id,
  createdAt: iso(r.created_at)!,
  createdBy: r.created_by,
});

export async function findLink(db: DbOrTx, incidentId: string, peerTeam: string): Promise<LinkRow | null> {
  const row = await db.selectFrom('incident_link').selectAll().where('incident_id', '=', incidentId).where('peer_team', '=', peerTeam).executeTakeFirst();
  return row ? toLink(row) : null;
}

export async function listLinks(db: DbOrTx, incidentId: string): Promise<LinkRow[]> {
  const rows = await db.selectFrom('incident_link').selectAll().where('incident_id', '=', incidentId).orderBy('created_at').orderBy('peer_team').execute();
  return rows.map(toLink);
}

/** Our incident linked to `peerTeam` whose reference number at that peer is `peerRef`. */
export async function findLinkByPeerRef(db: DbOrTx, peerTeam: string, peerRef: string): Promise<LinkRow | null> {
  const row = await db.selectFrom('incident_link').selectAll().where('peer_team', '=', peerTeam).where('peer_ref', '=', peerRef).executeTakeFirst();
  return row ? toLink(row) : null;
}

/** Our incident `ourRef`, if it is linked to `peerTeam`. */
export async function findLinkByOurRef(db: DbOrTx, peerTeam: string, ourRef: string): Promise<LinkRow | null> {
  const row = await db
    .selectFrom('incident_link')
    .innerJoin('incident', 'incident.id', 'incident_link.incident_id')
    .selectAll('incident_link')
    .where('incident_link.peer_team', '=', peerTeam)
    .where('incident.ref', '=', ourRef)
    .executeTakeFirst();
  return row ? toLink(row) : null;
}

export async function insertLink(tx: Tx, link: Omit<LinkRow, 'createdAt'> & { at: Date }): Promise<void> {
  await tx
    .insertInto('incident_link')
    .values({
      incident_id: link.incidentId,
      peer_team: link.peerTeam,
      direction: link.direction,
      peer_ref: link.peerRef,
      report_message_id: link.reportMessageId,
      created_at: link.at,
      created_by: link.createdBy,
    })
    .execute();
}

export async function setLinkReport(tx: Tx, incidentId: string, peerTeam: string, reportMessageId: string): Promise<void> {
  await tx.updateTable('incident_link').set({ report_message_id: reportMessageId }).where('incident_id', '=', incidentId).where('peer_team', '=', peerTeam).execute();
}

export async function setLinkPeerRef(db: DbOrTx, incidentId: string, peerTeam: string, peerRef: string): Promise<void> {
  await db.updateTable('incident_link').set({ peer_ref: peerRef }).where('incident_id', '=', incidentId).where('peer_team', '=', peerTeam).execute();
}

/** Keeps the first reference number a team gave for an incident; a later, different one does not replace it. */
export async function addExternalRefIfMissing(db: DbOrTx, incidentId: string, teamId: string, ref: string): Promise<void> {
  await db
    .insertInto('incident_external_ref')
    .values({ incident_id: incidentId, team_id: teamId, ref })
    .onConflict((oc) => oc.columns(['incident_id', 'team_id']).doNothing())
    .execute();
}

/** Our incident that carries `ref` as `teamId`'s reference number, if any. */
export async function findIncidentIdByExternalRef(db: DbOrTx, teamId: string, ref: string): Promise<string | null> {
  const row = await db.selectFrom('incident_external_ref').select('incident_id').where('team_id', '=', teamId).where('ref', '=', ref).executeTakeFirst();
  return row?.incident_id ?? null;
}

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
  state: 'pending' | 'delivered' | 'failed';
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
});

export async function insertOutbound(
  tx: Tx,
  row: { id: string; peerTeam: string; incidentId: string | null; type: string; tlp: string; document: string; signature: string; at: Date },
): Promise<void> {
  await tx
    .insertInto('outbound_message')
    .values({
      id: row.id,
      peer_team: row.peerTeam,
      incident_id: row.incidentId,
      type: row.type,
      tlp: row.tlp,
      document: row.document,
      signature: row.signature,
      next_attempt_at: row.at,
      created_at: row.at,
    })
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
 * for the same peer and incident is pending, so a peer gets the report before its updates.
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

/** Records a delivery; only the worker holding the claim (same attempt number) may. */
export async function markDelivered(
  tx: Tx,
  id: string,
  attempt: number,
  outcome: { receipt: string; receiptStatus: string; peerRef: string | null; at: Date },
): Promise<boolean> {
  const result = await tx
    .updateTable('outbound_message')
    .set({ state: 'delivered', receipt: outcome.receipt, receipt_status: outcome.receiptStatus, peer_ref: outcome.peerRef, delivered_at: outcome.at, last_error: null })
    .where('id', '=', id)
    .where('attempts', '=', attempt)
    .where('state', '=', 'pending')
    .executeTakeFirst();
  return Number(result.numUpdatedRows) > 0;
}

export async function markRetry(db: DbOrTx, id: string, attempt: number, error: string, nextAttemptAt: Date): Promise<boolean> {
  const result = await db
    .updateTable('outbound_message')
    .set({ last_error: error, next_attempt_at: nextAttemptAt })
    .where('id', '=', id)
    .where('attempts', '=', attempt)
    .where('state', '=', 'pending')
    .executeTakeFirst();
  return Number(result.numUpdatedRows) > 0;
}

export async function markFailed(db: DbOrTx, id: string, attempt: number, error: string, at: Date): Promise<boolean> {
  const result = await db
    .updateTable('outbound_message')
    .set({ state: 'failed', last_error: error, failed_at: at })
    .where('id', '=', id)
    .where('attempts', '=', attempt)
    .where('state', '=', 'pending')
    .executeTakeFirst();
  return Number(result.numUpdatedRows) > 0;
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

// ---------------------------------------------------------------------------------------------
// Inbox

export interface InboundRow {
  seq: number;
  sender: string;
  messageId: string;
  type: string;
  envelope: string;
  document: string;
  signature: string;
  signerFingerprint: string;
  sealed: boolean;
  incidentId: string | null;
  /** Canonical text of the receipt document, fixed when the message was processed. */
  receiptDocument: string | null;
  /**
   * The signed receipt envelope (JSON text), signed in the processing transaction; null only on
   * rows stored by an older node, which signed after the commit.
   */
  receipt: string | null;
  receiptStatus: string | null;
  receivedAt: string;
}

// The row as the database returns it: the table's own type, not a restatement of it.
type RawInbound = Selectable<InboundMessageTable>;

/**
 * The canonical text of a stored envelope's document: the bytes its signature covers. Only
 * envelopes that parsed and verified are stored, so this is what was verified (migration 0008).
 */
function canonicalDocumentOf(envelope: string): string {
  const shape = envelopeShape(JSON.parse(envelope));
  if (shape.kind !== 'signed') throw new Error('a stored inbox envelope is not a signed envelope');
  return canonicalize(shape.document);
}

const toInbound = (r: RawInbound): InboundRow => ({
  seq: Number(r.seq),
  sender: r.sender,
  messageId: r.message_id,
  type: r.type,
  envelope: r.envelope,
  document: canonicalDocumentOf(r.envelope),
  signature: r.signature,
  signerFingerprint: r.signer_fingerprint,
  sealed: r.sealed,
  incidentId: r.incident_id,
  receiptDocument: r.receipt_document,
  receipt: r.receipt,
  receiptStatus: r.receipt_status,
  receivedAt: iso(r.received_at)!,
});

export async function findInbound(db: DbOrTx, sender: string, messageId: string): Promise<InboundRow | null> {
  const row = await db.selectFrom('inbound_message').selectAll().where('sender', '=', sender).where('message_id', '=', messageId).executeTakeFirst();
  return row ? toInbound(row) : null;
}

export async function listInboundForIncident(db: DbOrTx, incidentId: string): Promise<InboundRow[]> {
  const rows = await db.selectFrom('inbound_message').selectAll().where('incident_id', '=', incidentId).orderBy('seq').execute();
  return rows.map(toInbound);
}

/**
 * One key for a (team, id) pair, the form the inbox's lookups answer in: a message is (sender,
 * message id), a report is (sender, the sender's reference number).
 */
export const pairKey = (team: string, id: string): string => `${team}\u0000${id}`;

/**
 * Class of the transaction-scoped advisory locks on inbox slots, in the two-key form: PostgreSQL
 * keeps that key space apart from the one-key form the audit chain's lock uses.
 */
const INBOX_SLOT_LOCK_CLASS = 0x48694b65; // "HiKe"

/**
 * Locks the (sender, message id) slots of these messages until commit, in one order for every
 * transaction (so two never wait on each other). A transaction that reads the inbox after this
 * sees any copy of the same message that another transaction committed, and none is stored
 * meanwhile: concurrent copies of one message are then processed once, without a conflict error.
 * Distinct messages may share a lock (a 32-bit hash); they only wait a little longer.
 */
export async function lockInboundSlots(tx: Tx, messages: Array<{ sender: string; messageId: string }>): Promise<void> {
  if (messages.length === 0) return;
  const keys = [...new Set(messages.map((m) => createHash('sha256').update(pairKey(m.sender, m.messageId)).digest().readInt32BE(0)))].sort((a, b) => a - b);
  // The sorted subquery feeds the locks in order.
  await sql`select pg_advisory_xact_lock(${INBOX_SLOT_LOCK_CLASS}::int4, k) from (select unnest(${keys}::int4[]) as k order by 1) s`.execute(tx);
}

/** What a message's inbox row starts with; its outcome and receipt come when it is processed. */
export type InboundClaim = Pick<InboundRow, 'sender' | 'messageId' | 'type' | 'envelope' | 'signature' | 'signerFingerprint' | 'sealed'> & { at: Date };

/**
 * Takes the (sender, message id) slot for this message. Returns null when another transaction
 * holds or has committed it: on a server the insert waits for that transaction, so two copies of
 * one message arriving at once are processed once. In the same statement (one round trip, and
 * before the processing takes any lock) a quarantined copy of the message is marked accepted.
 * Several messages go in one statement; the answer is each one's seq, or null, in the order given.
 */
export async function claimInbounds(tx: Tx, rows: InboundClaim[], quarantine: { by: string; reason: string | null }): Promise<Array<number | null>> {
  if (rows.length === 0) return [];
  const inserted = await tx
    .with('closed_quarantine', (db) =>
      db
        .updateTable('quarantined_message')
        .set({ state: 'accepted', decided_by: quarantine.by, decided_at: rows[0]!.at, reason: quarantine.reason })
        .where((eb) => eb(eb.refTuple('claimed_from', 'message_id'), 'in', rows.map((r) => eb.tuple(r.sender, r.messageId))))
        .where('state', '=', 'quarantined')
        .returning('id'),
    )
    .insertInto('inbound_message')
    .values(
      rows.map((row) => ({
        sender: row.sender,
        message_id: row.messageId,
        type: row.type,
        envelope: row.envelope,
        signature: row.signature,
        signer_fingerprint: row.signerFingerprint,
        sealed: row.sealed,
        received_at: row.at,
      })),
    )
    .onConflict((oc) => oc.columns(['sender', 'message_id']).doNothing())
    .returning(['seq', 'sender', 'message_id'])
    .execute();
  const seqs = new Map(inserted.map((r) => [pairKey(r.sender, r.message_id), Number(r.seq)]));
  return rows.map((r) => seqs.get(pairKey(r.sender, r.messageId)) ?? null);
}

export async function completeInbound(
  tx: Tx,
  seq: number,
  outcome: { incidentId: string | null; receiptDocument: string; receipt: string; receiptStatus: string },
): Promise<void> {
  await tx
    .updateTable('inbound_message')
    .set({ incident_id: outcome.incidentId, receipt_document: outcome.receiptDocument, receipt: outcome.receipt, receipt_status: outcome.receiptStatus })
    .where('seq', '=', seq)
    .execute();
}

export interface FiledReportOutcome {
  seq: number;
  incidentId: string;
  peerTeam: string;
  peerRef: string;
  receiptDocument: string;
  receipt: string;
  receiptStatus: string;
  at: Date;
}

/**
 * The sender's reference number and the link to the sender of each filed report, as WITH clauses
 * over `v` (columns incident_id, peer_team, peer_ref, at): both ways of storing filed reports
 * below write them alike.
 */
const filedReportLinks = sql`
    external_ref as (
      insert into incident_external_ref (incident_id, team_id, ref)
      select incident_id, peer_team, peer_ref from v
      on conflict (incident_id, team_id) do nothing
      returning incident_id
    ),
    link as (
      insert into incident_link (incident_id, peer_team, direction, peer_ref, report_message_id, created_at, created_by)
      select incident_id, peer_team, 'incoming', peer_ref, null, at, peer_team from v
      returning incident_id
    )`;

/** A filed report's outcome as the columns of `v` in the statements below (jsonb_to_recordset). */
function filedColumns(o: Omit<FiledReportOutcome, 'seq'>) {
  return {
    incident_id: o.incidentId,
    peer_team: o.peerTeam,
    peer_ref: o.peerRef,
    receipt_document: o.receiptDocument,
    receipt: o.receipt,
    receipt_status: o.receiptStatus,
    at: o.at.toISOString(),
  };
}

/**
 * The end of filing reports whose inbox rows are claimed already: the senders' reference
 * numbers, the links to the senders and the inbox rows' outcomes, in one statement. Filing holds
 * the reference-number lock until commit, so every round trip saved here is time other reports
 * do not wait.
 */
export async function completeFiledReports(tx: Tx, outcomes: FiledReportOutcome[]): Promise<void> {
  if (outcomes.length === 0) return;
  const rows = JSON.stringify(outcomes.map((o) => ({ seq: o.seq, ...filedColumns(o) })));
  // One jsonb parameter however many reports: no parameter limit, one plan.
  await sql`
    with v as (
      select * from jsonb_to_recordset(${jsonbParameter(rows)}::jsonb) as v(seq bigint, incident_id uuid, peer_team text, peer_ref text,
        receipt_document text, receipt text, receipt_status text, at timestamptz)
    ),
    ${filedReportLinks}
    update inbound_message m
       set incident_id = v.incident_id, receipt_document = v.receipt_document, receipt = v.receipt, receipt_status = v.receipt_status
      from v
     where m.seq = v.seq`.execute(tx);
}

/** A new report filed from a message whose inbox row is not written yet: the row, complete. */
export type FiledReport = InboundClaim & Pick<FiledReportOutcome, 'incidentId' | 'peerRef' | 'receiptDocument' | 'receipt' | 'receiptStatus'> & { filedAt: Date };

/**
 * Which of these messages have an inbox row, and which of these reports (sender and the
 * sender's reference number) are linked to an incident here already, as `pairKey`s: one round
 * trip for both.
 */
export async function findReceivedAndLinked(
  tx: Tx,
  messages: Array<{ sender: string; messageId: string }>,
  reports: Array<{ peerTeam: string; peerRef: string }>,
): Promise<{ received: Set<string>; linked: Set<string> }> {
  const received = new Set<string>();
  const linked = new Set<string>();
  if (messages.length === 0 && reports.length === 0) return { received, linked };
  // Two arrays per lookup, unnested into pairs: the planner sees how many there are (the values
  // are known when it plans) and probes the unique index once per pair, and the statement text
  // stays the same whatever the group's size.
  const { rows } = await sql<{ what: 'received' | 'linked'; team: string; key: string }>`
    select 'received' as what, sender as team, message_id as key from inbound_message
     where (sender, message_id) in (select * from unnest(${messages.map((m) => m.sender)}::text[], ${messages.map((m) => m.messageId)}::text[]))
    union all
    select 'linked', peer_team, peer_ref from incident_link
     where (peer_team, peer_ref) in (select * from unnest(${reports.map((r) => r.peerTeam)}::text[], ${reports.map((r) => r.peerRef)}::text[]))`.execute(tx);
  for (const row of rows) (row.what === 'received' ? received : linked).add(pairKey(row.team, row.key));
  return { received, linked };
}

/**
 * Filed reports' inbox rows, written once and complete (message, outcome, signed receipt), with
 * the senders' reference numbers and the links, and any quarantined copy of a message marked
 * accepted: one statement. The caller holds the messages' slots (lockInboundSlots) and found no
 * row for them, so none can appear meanwhile; the unique (sender, message id) still guards it.
 */
export async function insertFiledReports(tx: Tx, reports: FiledReport[], quarantine: { by: string; reason: string | null }): Promise<void> {
  if (reports.length === 0) return;
  const rows = JSON.stringify(
    reports.map((r) => ({
      sender: r.sender,
      message_id: r.messageId,
      type: r.type,
      envelope: r.envelope,
      signature: r.signature,
      signer_fingerprint: r.signerFingerprint,
      sealed: r.sealed,
      received_at: r.at.toISOString(),
      ...filedColumns({ ...r, peerTeam: r.sender, at: r.filedAt }),
    })),
  );
  await sql`
    with v as (
      select * from rows from (jsonb_to_recordset(${jsonbParameter(rows)}::jsonb) as (sender text, message_id text, type text, envelope text,
        signature text, signer_fingerprint text, sealed boolean, received_at timestamptz, incident_id uuid,
        peer_team text, peer_ref text, receipt_document text, receipt text, receipt_status text, at timestamptz)) with ordinality as v
    ),
    closed_quarantine as (
      update quarantined_message
         set state = 'accepted', decided_by = ${quarantine.by}, decided_at = ${reports[0]!.at}, reason = ${quarantine.reason}
       where (claimed_from, message_id) in (select sender, message_id from v) and state = 'quarantined'
      returning id
    ),
    ${filedReportLinks}
    insert into inbound_message (sender, message_id, type, envelope, signature, signer_fingerprint, sealed, received_at,
                                 incident_id, receipt_document, receipt, receipt_status)
    select sender, message_id, type, envelope, signature, signer_fingerprint, sealed, received_at,
           incident_id, receipt_document, receipt, receipt_status
      from v order by v.ordinality`.execute(tx);
}

/** Stores the signed receipt unless one is stored already; returns the one stored (the first signer's). */
export async function storeReceipt(db: DbOrTx, seq: number, receipt: string): Promise<string> {
  const updated = await db
    .updateTable('inbound_message')
    .set({ receipt })
    .where('seq', '=', seq)
    .where('receipt', 'is', null)
    .returning('receipt')
    .executeTakeFirst();
  if (updated?.receipt) return updated.receipt;
  const row = await db.selectFrom('inbound_message').select('receipt').where('seq', '=', seq).executeTakeFirstOrThrow();
  return row.receipt!;
}

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
  row: { id: string; claimedFrom: string; messageId: string; type: string | null; envelope: string; sealed: boolean; issuerFingerprint: string | null; at: Date },
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
      received_at: row.at,
    })
    .onConflict((oc) => oc.columns(['claimed_from', 'message_id']).doNothing())
    .returningAll()
    .executeTakeFirst();
  if (inserted) return { row: toQuarantine(inserted as RawQuarantine), created: true };
  const existing = await db.selectFrom('quarantined_message').selectAll().where('claimed_from', '=', row.claimedFrom).where('message_id', '=', row.messageId).executeTakeFirstOrThrow();
  return { row: toQuarantine(existing as RawQuarantine), created: false };
}

export async function countQuarantined(db: DbOrTx): Promise<number> {
  const row = await db.selectFrom('quarantined_message').select((eb) => eb.fn.countAll<number>().as('n')).where('state', '=', 'quarantined').executeTakeFirstOrThrow();
  return Number(row.n);
}

export async function findQuarantine(db: DbOrTx, id: string, forUpdate = false): Promise<QuarantineRow | null> {
  let q = db.selectFrom('quarantined_message').selectAll().where('id', '=', id);
  if (forUpdate) q = q.forUpdate();
  const row = await q.executeTakeFirst();
  return row ? toQuarantine(row as RawQuarantine) : null;
}

export async function listQuarantine(db: DbOrTx, filter: { state?: string; beforeSeq?: number; limit: number }): Promise<{ items: QuarantineRow[]; more: boolean }> {
  let q = db.selectFrom('quarantined_message').selectAll();
  if (filter.state) q = q.where('state', '=', filter.state);
  if (filter.beforeSeq !== undefined) q = q.where('seq', '<', filter.beforeSeq);
  const rows = await q.orderBy('seq', 'desc').limit(filter.limit + 1).execute();
  return { items: rows.slice(0, filter.limit).map((r) => toQuarantine(r as RawQuarantine)), more: rows.length > filter.limit };
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
  q = 'id' in where ? q.where('id', '=', where.id) : q.where('claimed_from', '=', where.claimedFrom).where('message_id', '=', where.messageId);
  const result = await q.executeTakeFirst();
  return Number(result.numUpdatedRows) > 0;
}

// ---------------------------------------------------------------------------------------------
// Investigations

export interface InvestigationRow {
  id: string;
  direction: 'outgoing' | 'incoming';
  peerTeam: string;
  incidentId: string;
  peerRef: string | null;
  question: string;
  hosts: unknown[];
  state: 'open' | 'answered';
  finding: string | null;
  summary: string | null;
  resultHosts: unknown[] | null;
  resultMessageId: string | null;
  createdAt: string;
  answeredAt: string | null;
}

type RawInvestigation = {
  id: string;
  direction: string;
  peer_team: string;
  incident_id: string;
  peer_ref: string | null;
  question: string;
  hosts: unknown;
  state: string;
  finding: string | null;
  summary: string | null;
  result_hosts: unknown;
  result_message_id: string | null;
  created_at: Date | string;
  answered_at: Date | string | null;
};
const toInvestigation = (r: RawInvestigation): InvestigationRow => ({
  id: r.id,
  direction: r.direction as InvestigationRow['direction'],
  peerTeam: r.peer_team,
  incidentId: r.incident_id,
  peerRef: r.peer_ref,
  question: r.question,
  hosts: r.hosts as unknown[],
  state: r.state as InvestigationRow['state'],
  finding: r.finding,
  summary: r.summary,
  resultHosts: (r.result_hosts ?? null) as unknown[] | null,
  resultMessageId: r.result_message_id,
  createdAt: iso(r.created_at)!,
  answeredAt: iso(r.answered_at),
});

export async function insertInvestigation(
  tx: Tx,
  row: { id: string; direction: 'outgoing' | 'incoming'; peerTeam: string; incidentId: string; peerRef: string | null; question: string; hosts: unknown[]; at: Date },
): Promise<void> {
  await tx
    .insertInto('investigation')
    .values({
      id: row.id,
      direction: row.direction,
      peer_team: row.peerTeam,
      incident_id: row.incidentId,
      peer_ref: row.peerRef,
      question: row.question,
      hosts: JSON.stringify(row.hosts),
      created_at: row.at,
    })
    .execute();
}

export async function findInvestigation(db: DbOrTx, id: string, forUpdate = false): Promise<InvestigationRow | null> {
  let q = db.selectFrom('investigation').selectAll().where('id', '=', id);
  if (forUpdate) q = q.forUpdate();
  const row = await q.executeTakeFirst();
  return row ? toInvestigation(row as RawInvestigation) : null;
}

export async function listInvestigations(db: DbOrTx, incidentId: string): Promise<InvestigationRow[]> {
  const rows = await db.selectFrom('investigation').selectAll().where('incident_id', '=', incidentId).orderBy('created_at').orderBy('id').execute();
  return rows.map((r) => toInvestigation(r as RawInvestigation));
}

export async function answerInvestigation(
  tx: Tx,
  id: string,
  result: { finding: string; summary: string; hosts: unknown[] | null; messageId: string; peerRef: string | null; at: Date },
): Promise<void> {
  await tx
    .updateTable('investigation')
    .set({
      state: 'answered',
      finding: result.finding,
      summary: result.summary,
      result_hosts: result.hosts === null ? null : JSON.stringify(result.hosts),
      result_message_id: result.messageId,
      answered_at: result.at,
      ...(result.peerRef ? { peer_ref: result.peerRef } : {}),
    })
    .where('id', '=', id)
    .execute();
}

// ---------------------------------------------------------------------------------------------
// Token requests

/** Records a token request id; false when it was used before (a replay). Forgets expired ids first. */
export async function useTokenRequest(db: DbOrTx, peerTeam: string, requestId: string, expiresAt: Date, now: Date): Promise<boolean> {
  await db.deleteFrom('peer_token_request').where('expires_at', '<', now).execute();
  const inserted = await db
    .insertInto('peer_token_request')
    .values({ peer_team: peerTeam, request_id: requestId, expires_at: expiresAt })
    .onConflict((oc) => oc.columns(['peer_team', 'request_id']).doNothing())
    .returning('request_id')
    .executeTakeFirst();
  return inserted !== undefined;
}
