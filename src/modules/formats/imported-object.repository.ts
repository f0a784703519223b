import type { DbOrTx } from '../../db/database.js';

/** SQL of imported_object and format_pull_cursor (migration 0027): which outside object became which incident, and where pulls stopped. */

export type ImportFormat = 'stix' | 'misp' | 'iodef';

export interface ImportedObjectRecord {
  incidentId: string;
  digest: string;
}

export async function findImported(db: DbOrTx, format: ImportFormat, objectId: string): Promise<ImportedObjectRecord | null> {
  const row = await db
    .selectFrom('imported_object')
    .select(['incident_id', 'digest'])
    .where('format', '=', format)
    .where('object_id', '=', objectId)
    .executeTakeFirst();
  return row ? { incidentId: row.incident_id, digest: row.digest } : null;
}

/** Records a first import; false when another import of the same object got there first. */
export async function insertImported(
  db: DbOrTx,
  row: { format: ImportFormat; objectId: string; incidentId: string; digest: string; source: string | null; at: Date },
): Promise<boolean> {
  const inserted = await db
    .insertInto('imported_object')
    .values({
      format: row.format,
      object_id: row.objectId,
      incident_id: row.incidentId,
      digest: row.digest,
      source: row.source,
      imported_at: row.at,
    })
    .onConflict((oc) => oc.columns(['format', 'object_id']).doNothing())
    .returning('object_id')
    .executeTakeFirst();
  return inserted !== undefined;
}

/** Moves an import to a new digest, only from the one the caller read: false when another import moved it first. */
export async function updateImportedDigest(
  db: DbOrTx,
  row: { format: ImportFormat; objectId: string; from: string; digest: string; source: string | null; at: Date },
): Promise<boolean> {
  const updated = await db
    .updateTable('imported_object')
    .set({ digest: row.digest, source: row.source, imported_at: row.at })
    .where('format', '=', row.format)
    .where('object_id', '=', row.objectId)
    .where('digest', '=', row.from)
    .executeTakeFirst();
  return Number(updated.numUpdatedRows) > 0;
}

export async function readPullCursor(db: DbOrTx, source: string): Promise<string | null> {
  const row = await db.selectFrom('format_pull_cursor').select('cursor').where('source', '=', source).executeTakeFirst();
  return row?.cursor ?? null;
}

export async function writePullCursor(db: DbOrTx, source: string, cursor: string, at: Date): Promise<void> {
  await db
    .insertInto('format_pull_cursor')
    .values({ source, cursor, updated_at: at })
    .onConflict((oc) => oc.column('source').doUpdateSet({ cursor, updated_at: at }))
    .execute();
}
