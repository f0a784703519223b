import type { ColumnType, JSONColumnType } from 'kysely';

/** The contacts module's table (migration 0024), composed into DatabaseSchema in tables.ts. */
type Timestamp = ColumnType<Date, Date | string, Date | string>;

/** What an outside source said about one lookup key, until it expires. */
export interface ContactCacheTable {
  source: string;
  lookup_key: string;
  result: JSONColumnType<object, string, string>;
  fetched_at: Timestamp;
  expires_at: Timestamp;
}
