import { createHash } from 'node:crypto';
import type { Selectable } from 'kysely';
import { sql } from 'kysely';
import { canonicalize } from '../../crypto/index.js';
import type { DbOrTx, Tx } from '../../db/database.js';
import { jsonbParameter } from '../../db/jsonb-parameter.js';
import type { InboundMessageTable } from '../../db/tables.js';
import { envelopeShape } from './message-document.js';

/** SQL of the inbox (inbound_message): every verified message exactly as received, its outcome and its signed receipt. */

const iso = (d: Date | string | null): string | null => (d === null ? null : new Date(d).toISOString());

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
  /** Set when personal data was erased from the document (ADR 0016): `document` is the erased version. */
  erasedAt: string | null;
  /** With erasedAt: SHA-256 (hex) of the canonical document as signed. */
  documentSha256: string | null;
}

/**
 * Whether `canonical` is the document this row stored: the same text, or, once erased, the text
 * whose digest the row keeps (a repeat of an erased message is still the same message).
 */
export function storedDocumentIs(row: InboundRow, canonical: string | null): boolean {
  if (canonical === null) return false;
  if (row.documentSha256) return createHash('sha256').update(canonical).digest('hex') === row.documentSha256;
  return row.document === canonical;
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
  erasedAt: iso(r.erased_at),
  documentSha256: r.document_sha256,
});

export async function findInbound(db: DbOrTx, sender: string, messageId: string): Promise<InboundRow | null> {
  const row = await db
    .selectFrom('inbound_message')
    .selectAll()
    .where('sender', '=', sender)
    .where('message_id', '=', messageId)
    .executeTakeFirst();
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
  const keys = [...new Set(messages.map((m) => createHash('sha256').update(pairKey(m.sender, m.messageId)).digest().readInt32BE(0)))].sort(
    (a, b) => a - b,
  );
  // The sorted subquery feeds the locks in order.
  await sql`select pg_advisory_xact_lock(${INBOX_SLOT_LOCK_CLASS}::int4, k) from (select unnest(${keys}::int4[]) as k order by 1) s`.execute(
    tx,
  );
}

/** A processed message's inbox row, complete: the message as received, its outcome and its signed receipt. */
export type CompleteInbound = Pick<
  InboundRow,
  'sender' | 'messageId' | 'type' | 'envelope' | 'signature' | 'signerFingerprint' | 'sealed' | 'incidentId'
> & {
  receivedAt: Date;
  receiptDocument: string;
  receipt: string;
  receiptStatus: string;
};

/** Which of these messages have an inbox row already, as pairKeys (one round trip). */
export async function findReceived(tx: DbOrTx, messages: Array<{ sender: string; messageId: string }>): Promise<Set<string>> {
  const received = new Set<string>();
  if (messages.length === 0) return received;
  // Two arrays unnested into pairs: the planner probes the unique index once per pair, and the
  // statement text stays the same whatever the group's size.
  const { rows } = await sql<{ sender: string; message_id: string }>`
    select sender, message_id from inbound_message
     where (sender, message_id) in (select * from unnest(${messages.map((m) => m.sender)}::text[], ${messages.map((m) => m.messageId)}::text[]))`.execute(
    tx,
  );
  for (const row of rows) received.add(pairKey(row.sender, row.message_id));
  return received;
}

/**
 * A group's inbox rows, written once and complete (message, outcome, signed receipt), and any
 * quarantined copy of one of the messages marked accepted: one statement, one jsonb parameter
 * however many rows. The caller holds the messages' slots (lockInboundSlots) and found no row for
 * them, so none can appear meanwhile; the unique (sender, message id) still guards it.
 */
export async function insertInbounds(
  tx: Tx,
  rows: CompleteInbound[],
  quarantine: { by: string; reason: string | null; at: Date },
): Promise<void> {
  if (rows.length === 0) return;
  const values = JSON.stringify(
    rows.map((r) => ({
      sender: r.sender,
      message_id: r.messageId,
      type: r.type,
      envelope: r.envelope,
      signature: r.signature,
      signer_fingerprint: r.signerFingerprint,
      sealed: r.sealed,
      received_at: r.receivedAt.toISOString(),
      incident_id: r.incidentId,
      receipt_document: r.receiptDocument,
      receipt: r.receipt,
      receipt_status: r.receiptStatus,
    })),
  );
  await sql`
    with v as (
      select * from rows from (jsonb_to_recordset(${jsonbParameter(values)}::jsonb) as (sender text, message_id text, type text, envelope text,
        signature text, signer_fingerprint text, sealed boolean, received_at timestamptz, incident_id uuid,
        receipt_document text, receipt text, receipt_status text)) with ordinality as v
    ),
    closed_quarantine as (
      update quarantined_message
         set state = 'accepted', decided_by = ${quarantine.by}, decided_at = ${quarantine.at}, reason = ${quarantine.reason}
       where (claimed_from, message_id) in (select sender, message_id from v) and state = 'quarantined'
      returning id
    )
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
