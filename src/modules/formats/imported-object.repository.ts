import { sql } from 'kysely';
import type { DbOrTx, Tx } from '../../db/database.js';

/** SQL of imported_object and format_pull_cursor (migration 0027): which outside object became which incident, and where pulls stopped. */

export type ImportFormat = 'stix' | 'misp' | 'iodef';

/** What an earlier import of an object filed, and the digest it filed. */
export interface ImportedObjectRef {
  incidentId: string;
  digest: string;
}

export async function findImported(db: DbOrTx, format: ImportFormat, objectId: string): Promise<ImportedObjectRef | null> {
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

// The IODEF import's calls: a transaction-long lock on the object, then find, insert or update.

/** imported_object (migration 0027): which outside object was filed as which incident, with its digest. */
export interface ImportedObjectRecord {
  format: ImportFormat;
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

/** An IODEF import's new content: the row follows it (the caller holds the object's lock). */
export async function setImportedDigest(db: DbOrTx, record: ImportedObjectRecord, at: Date): Promise<void> {
  await db
    .updateTable('imported_object')
    .set({ digest: record.digest, source: record.source, imported_at: at })
    .where('format', '=', record.format)
    .where('object_id', '=', record.objectId)
    .execute();
}
