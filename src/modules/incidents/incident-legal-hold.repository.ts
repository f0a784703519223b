import type { DbOrTx, Tx } from '../../db/database.js';

/** SQL for legal holds (migration 0014): one row per held incident. */

export interface LegalHoldRow {
  incidentId: string;
  reason: string;
  setBy: string;
  setAt: string;
}

export async function findLegalHold(db: DbOrTx, incidentId: string): Promise<LegalHoldRow | null> {
  const row = await db.selectFrom('incident_legal_hold').selectAll().where('incident_id', '=', incidentId).executeTakeFirst();
  return row ? { incidentId: row.incident_id, reason: row.reason, setBy: row.set_by, setAt: new Date(row.set_at).toISOString() } : null;
}

/** Sets the hold, or re-states it with a new reason (the latest statement is kept; the audit log keeps the rest). */
export async function holdIncident(tx: Tx, hold: { incidentId: string; reason: string; setBy: string; at: Date }): Promise<void> {
  await tx
    .insertInto('incident_legal_hold')
    .values({ incident_id: hold.incidentId, reason: hold.reason, set_by: hold.setBy, set_at: hold.at })
    .onConflict((oc) => oc.column('incident_id').doUpdateSet({ reason: hold.reason, set_by: hold.setBy, set_at: hold.at }))
    .execute();
}

export async function releaseIncident(tx: Tx, incidentId: string): Promise<void> {
  await tx.deleteFrom('incident_legal_hold').where('incident_id', '=', incidentId).execute();
}
