import { randomUUID } from 'node:crypto';
import { sql, type Selectable } from 'kysely';
import type { DbOrTx, Tx } from '../../db/database.js';
import { jsonbParameter } from '../../db/jsonb-parameter.js';
import type { IncidentCorrectionTable } from '../../db/correction-tables.js';
import type { CorrectionAckStatus, SignedCorrection } from '../../../schemas/correction.schema.js';

/**
 * SQL of corrections (migration 0025): the ones issued here, applied to a copy here or kept
 * until the report they correct arrives (incident_correction), and the holders' acknowledgements
 * (incident_correction_ack). The sharing module owns both tables.
 */

const iso = (d: Date | string | null): string | null => (d === null ? null : new Date(d).toISOString());

export type CorrectionState = 'issued' | 'applied' | 'pending' | 'refused';

export interface CorrectionRow {
  rowId: string;
  correctionId: string;
  incidentId: string | null;
  originator: string;
  originatorRef: string;
  kind: 'relabel' | 'retract';
  statement: SignedCorrection;
  originatorKey: string | null;
  receivedFrom: string | null;
  receivedRef: string | null;
  messageId: string | null;
  state: CorrectionState;
  outcome: string | null;
  createdAt: string;
  appliedAt: string | null;
}

/** A row as read: the table's own column types (src/db/correction-tables.ts). */
type Raw = Selectable<IncidentCorrectionTable>;

const toRow = (r: Raw): CorrectionRow => ({
  rowId: r.row_id,
  correctionId: r.correction_id,
  incidentId: r.incident_id,
  originator: r.originator,
  originatorRef: r.originator_ref,
  kind: r.kind as CorrectionRow['kind'],
  statement: (typeof r.statement === 'string' ? JSON.parse(r.statement) : r.statement) as SignedCorrection,
  originatorKey: r.originator_key,
  receivedFrom: r.received_from,
  receivedRef: r.received_ref,
  messageId: r.message_id,
  state: r.state as CorrectionState,
  outcome: r.outcome,
  createdAt: iso(r.created_at)!,
  appliedAt: iso(r.applied_at),
});

/** What a new row holds: a row's facts, with the time it was written. */
export type NewCorrection = Omit<CorrectionRow, 'rowId' | 'createdAt' | 'appliedAt'> & { at: Date };

export async function insertCorrection(tx: Tx, c: NewCorrection): Promise<string> {
  const rowId = randomUUID();
  await tx
    .insertInto('incident_correction')
    .values({
      row_id: rowId,
      correction_id: c.correctionId,
      incident_id: c.incidentId,
      originator: c.originator,
      originator_ref: c.originatorRef,
      kind: c.kind,
      statement: JSON.stringify(c.statement),
      originator_key: c.originatorKey,
      received_from: c.receivedFrom,
      received_ref: c.receivedRef,
      message_id: c.messageId,
      state: c.state,
      outcome: c.outcome,
      created_at: c.at,
      applied_at: c.state === 'pending' ? null : c.at,
    })
    .execute();
  return rowId;
}

/** This correction on this copy, if it was issued or applied here already. */
export async function findCorrectionOnCopy(db: DbOrTx, correctionId: string, incidentId: string): Promise<CorrectionRow | null> {
  const row = await db
    .selectFrom('incident_correction')
    .selectAll()
    .where('correction_id', '=', correctionId)
    .where('incident_id', '=', incidentId)
    .executeTakeFirst();
  return row ? toRow(row as Raw) : null;
}

/** Any row of this correction here (to answer a forwarder's ack: who sent it to us). */
export async function findCorrectionRows(db: DbOrTx, correctionId: string): Promise<CorrectionRow[]> {
  const rows = await db
    .selectFrom('incident_correction')
    .selectAll()
    .where('correction_id', '=', correctionId)
    .orderBy('created_at')
    .execute();
  return rows.map((r) => toRow(r as Raw));
}

export async function listCorrectionsOf(db: DbOrTx, incidentId: string): Promise<CorrectionRow[]> {
  const rows = await db
    .selectFrom('incident_correction')
    .selectAll()
    .where('incident_id', '=', incidentId)
    .orderBy('created_at')
    .orderBy('row_id')
    .execute();
  return rows.map((r) => toRow(r as Raw));
}

/** Corrections kept for a report `from` sent under `ref`, not applied yet (locked: the filing applies them). */
export async function takePending(tx: Tx, from: string, ref: string): Promise<CorrectionRow[]> {
  return (await takePendingForEach(tx, [{ from, ref }]))[0]!;
}

/** A kept correction now applied to the copy that arrived. */
export async function markApplied(tx: Tx, rowId: string, incidentId: string, outcome: string, at: Date): Promise<void> {
  await tx
    .updateTable('incident_correction')
    .set({ incident_id: incidentId, state: 'applied', outcome, applied_at: at })
    .where('row_id', '=', rowId)
    .execute();
}

/**
 * `takePending` for the reports of one inbox group at once (one statement, not one per report):
 * the corrections kept for each (from, ref), locked, oldest first, in the order of `reports`. As
 * one by one, a (from, ref) given twice gets its corrections the first time only.
 */
export async function takePendingForEach(tx: Tx, reports: ReadonlyArray<{ from: string; ref: string }>): Promise<CorrectionRow[][]> {
  if (reports.length === 0) return [];
  const keys = JSON.stringify(reports.map((r) => ({ sender: r.from, ref: r.ref })));
  const rows = await tx
    .selectFrom('incident_correction')
    .selectAll()
    .where('state', '=', 'pending')
    .where(
      sql<boolean>`(received_from, received_ref) in (select k.sender, k.ref from jsonb_to_recordset(${jsonbParameter(keys)}::jsonb) as k(sender text, ref text))`,
    )
    .orderBy('created_at')
    .orderBy('row_id')
    .forUpdate()
    .execute();
  const taken = new Map<string, CorrectionRow[]>();
  for (const raw of rows) {
    const row = toRow(raw as Raw);
    const key = `${row.receivedFrom}\0${row.receivedRef}`;
    taken.set(key, [...(taken.get(key) ?? []), row]);
  }
  return reports.map((r) => {
    const key = `${r.from}\0${r.ref}`;
    const list = taken.get(key) ?? [];
    taken.delete(key);
    return list;
  });
}

export async function pendingExists(db: DbOrTx, correctionId: string, from: string, ref: string): Promise<boolean> {
  const row = await db
    .selectFrom('incident_correction')
    .select('row_id')
    .where('state', '=', 'pending')
    .where('correction_id', '=', correctionId)
    .where('received_from', '=', from)
    .where('received_ref', '=', ref)
    .executeTakeFirst();
  return row !== undefined;
}

// ---------------------------------------------------------------------------------------------
// Acknowledgements

export interface AckRow {
  correctionId: string;
  holder: string;
  via: string;
  status: CorrectionAckStatus;
  holderRef: string | null;
  at: string;
}

/** Records a holder's acknowledgement; `applied` replaces `pending`, never the reverse. */
export async function recordAck(
  tx: Tx,
  ack: {
    correctionId: string;
    holder: string;
    via: string;
    status: CorrectionAckStatus;
    holderRef: string | null;
    messageId: string;
    at: Date;
  },
): Promise<void> {
  const values = {
    correction_id: ack.correctionId,
    holder: ack.holder,
    via: ack.via,
    status: ack.status,
    holder_ref: ack.holderRef,
    message_id: ack.messageId,
    at: ack.at,
  };
  await tx
    .insertInto('incident_correction_ack')
    .values(values)
    .onConflict((oc) =>
      oc
        .columns(['correction_id', 'holder'])
        .doUpdateSet({
          via: values.via,
          status: values.status,
          holder_ref: values.holder_ref,
          message_id: values.message_id,
          at: values.at,
        })
        .where('incident_correction_ack.status', '=', 'pending'),
    )
    .execute();
}

export async function listAcks(db: DbOrTx, correctionIds: string[]): Promise<AckRow[]> {
  if (correctionIds.length === 0) return [];
  const rows = await db
    .selectFrom('incident_correction_ack')
    .selectAll()
    .where('correction_id', 'in', correctionIds)
    .orderBy('holder')
    .execute();
  return rows.map((r) => ({
    correctionId: r.correction_id,
    holder: r.holder,
    via: r.via,
    status: r.status as CorrectionAckStatus,
    holderRef: r.holder_ref,
    at: iso(r.at)!,
  }));
}

/** A kept correction that its report's provenance shows was not the sender's to make. */
export async function markRefused(tx: Tx, rowId: string, incidentId: string, outcome: string): Promise<void> {
  await tx
    .updateTable('incident_correction')
    .set({ incident_id: incidentId, state: 'refused', outcome })
    .where('row_id', '=', rowId)
    .execute();
}
