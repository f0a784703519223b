import { sql } from 'kysely';
import type { Db } from '../../src/db/database.js';

/**
 * Disclosure and erasure tests plant marker strings and then scan the WHOLE database, not only
 * the tables they expect the data in: every row of every table of the node, as text.
 * Answers `table: row` for each row that names a marker (rows cut to `width` characters).
 */
export async function rowsNamingMarkers(db: Db, markersIn: (text: string) => string[], width = 300): Promise<string[]> {
  const tables = await sql<{ table_name: string }>`
    select table_name from information_schema.tables where table_schema = current_schema() and table_type = 'BASE TABLE' order by 1`.execute(
    db,
  );
  const found: string[] = [];
  for (const { table_name } of tables.rows) {
    const rows = await sql<{ row: string }>`select t::text as row from ${sql.table(table_name)} t`.execute(db);
    for (const { row } of rows.rows) if (markersIn(row).length > 0) found.push(`${table_name}: ${row.slice(0, width)}`);
  }
  return found;
}
