import { sql } from 'kysely';
import type { DbOrTx, Tx } from '../../db/database.js';

/** imported_object (migration 0027): which outside object was filed as which incident, with its digest. */
export interface ImportedObjectRecord {
  format: 'stix' | 'misp' | 'iodef';
  objectId: string;
  incidentId: string;
  digest: string;
  source: string | null;
}

/**
 * Serialises imports of one outside object until the transaction ends: a row lock cannot, as
 * the first import of an object has no row yet, and two at once would each file an incident.
 */
export async function lockImportedObject(tx: Tx, format: ImportedObjectRecord['format'], objectId: string): Promise<void> {
  await sql`select pg_advisory_xact_lock(hashtextextended(${`hikeshi.imported_object:${format}:${objectId}`}, 0))`.execute(tx);
}

/** The row for an outside object, locked for the rest of the transaction so that two imports of it file once. */
export async function findImportedObject(
  db: DbOrTx,
  format: ImportedObjectRecord['format'],
  objectId: string,
): Promise<ImportedObjectRecord | null> {
  const row = await db
    .selectFrom('imported_object')
    .select(['format', 'object_id', 'incident_id', 'digest', 'source'])
    .where('format', '=', format)
    .where('object_id', '=', objectId)
    .forUpdate()
    .executeTakeFirst();
  return row ? { format: row.format, objectId: row.object_id, incidentId: row.incident_id, digest: row.digest, source: row.source } : null;
}

export async function insertImportedObject(db: DbOrTx, record: ImportedObjectRecord, at: Date): Promise<void> {
  await db
    .insertInto('imported_object')
    .values({
      format: record.format,
      object_id: record.objectId,
      incident_id: record.incidentId,
      digest: record.digest,
      source: record.source,
      imported_at: at,
    })
    .execute();
}

export async function updateImportedDigest(db: DbOrTx, record: ImportedObjectRecord, at: Date): Promise<void> {
  await db
    .updateTable('imported_object')
    .set({ digest: record.digest, source: record.source, imported_at: at })
    .where('format', '=', record.format)
    .where('object_id', '=', record.objectId)
    .execute();
}
