import type { ColumnType } from 'kysely';

/** The formats module's tables (migration 0027), composed into DatabaseSchema in tables.ts. */
type Timestamp = ColumnType<Date, Date | string, Date | string>;

/** An outside object (STIX, MISP, IODEF) filed as an incident: imports are idempotent. */
export interface ImportedObjectTable {
  format: 'stix' | 'misp' | 'iodef';
  object_id: string;
  incident_id: string;
  digest: string;
  source: string | null;
  imported_at: Timestamp;
}

/** Where a pull from an outside source (a TAXII collection, a MISP instance) stopped. */
export interface FormatPullCursorTable {
  source: string;
  cursor: string;
  updated_at: Timestamp;
}
