import type { DbOrTx, Tx } from '../../db/database.js';

/** SQL of mail_report: which signed text from which peer was filed as which incident. */

/** The incident a signed text from a peer was filed as, with its reference number, or null. */
export async function findMailReport(
  db: DbOrTx,
  peerTeam: string,
  digest: string,
): Promise<{ incidentId: string; ref: string; filedAt: Date } | null> {
  const row = await db
    .selectFrom('mail_report')
    .innerJoin('incident', 'incident.id', 'mail_report.incident_id')
    .select(['mail_report.incident_id', 'mail_report.received_at', 'incident.ref'])
    .where('mail_report.peer_team', '=', peerTeam)
    .where('mail_report.digest', '=', digest)
    .executeTakeFirst();
  return row ? { incidentId: row.incident_id, ref: row.ref, filedAt: row.received_at } : null;
}

export async function insertMailReport(tx: Tx, row: { peerTeam: string; digest: string; incidentId: string; at: Date }): Promise<void> {
  await tx
    .insertInto('mail_report')
    .values({ peer_team: row.peerTeam, digest: row.digest, incident_id: row.incidentId, received_at: row.at })
    .execute();
}
