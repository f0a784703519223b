import type { DbOrTx } from '../../db/database.js';

/** The MISP rows of imported_object and format_pull_cursor (migration 0027). */

export interface ImportedRow {
  incidentId: string;
  digest: string;
  source: string | null;
}

export async function findImportedEvent(db: DbOrTx, eventUuid: string): Promise<ImportedRow | null> {
  const row = await db
    .selectFrom('imported_object')
    .select(['incident_id', 'digest', 'source'])
    .where('format', '=', 'misp')
    .where('object_id', '=', eventUuid)
    .executeTakeFirst();
  return row ? { incidentId: row.incident_id, digest: row.digest, source: row.source } : null;
}

/** Files (or moves on) the link from a MISP event to the incident it became, with the event's digest. */
export async function saveImportedEvent(
  db: DbOrTx,
  row: { eventUuid: string; incidentId: string; digest: string; source: string | null; at: Date },
): Promise<void> {
  await db
    .insertInto('imported_object')
    .values({
      format: 'misp',
      object_id: row.eventUuid,
      incident_id: row.incidentId,
      digest: row.digest,
      source: row.source,
      imported_at: row.at,
    })
    .onConflict((oc) => oc.columns(['format', 'object_id']).doUpdateSet({ digest: row.digest, source: row.source, imported_at: row.at }))
    .execute();
}

export async function readPullCursor(db: DbOrTx, source: string): Promise<string | null> {
  const row = await db.selectFrom('format_pull_cursor').select('cursor').where('source', '=', source).executeTakeFirst();
  return row?.cursor ?? null;
}

export async function savePullCursor(db: DbOrTx, source: string, cursor: string, at: Date): Promise<void> {
  await db
    .insertInto('format_pull_cursor')
    .values({ source, cursor, updated_at: at })
    .onConflict((oc) => oc.column('source').doUpdateSet({ cursor, updated_at: at }))
    .execute();
}
