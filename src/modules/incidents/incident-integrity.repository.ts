import { sql } from 'kysely';
import type { DbOrTx } from '../../db/database.js';

/**
 * The integrity check that stands in for the foreign keys ADR 0010 dropped (ADR 0013).
 *
 * These tables name an incident by `incident_id` without a per-row foreign key: checking one
 * per host, indicator, journal entry, reference, link and policy row cost about a fifth of what
 * storing a received report cost. An incident is never deleted (migration 0011), so a row can
 * only be orphaned by a bug that writes an id no incident has; this finds such rows, after the
 * fact, for `hikeshi db check` and the tests. A table that gains an `incident_id` column
 * without a foreign key belongs in this list (test/incidents/incident-integrity.test.ts
 * fails until it is here).
 */
export const INCIDENT_REFERENCES_WITHOUT_FOREIGN_KEY = [
  'incident_host',
  'incident_indicator',
  'incident_external_ref',
  'journal_entry',
  'incident_link',
  'incident_policy',
] as const;

export interface OrphanedRows {
  table: string;
  /** Rows naming an incident that does not exist. */
  rows: number;
  /** A few of the incident ids they name (ids only, never content), to start a repair from. */
  sampleIncidentIds: string[];
}

/** Every table of the list with its orphaned rows; tables with none are left out. One anti-join per table. */
export async function findOrphanedRows(db: DbOrTx): Promise<OrphanedRows[]> {
  const parts = INCIDENT_REFERENCES_WITHOUT_FOREIGN_KEY.map(
    (table) => sql<{ table_name: string; orphans: number; sample: string[] | null }>`
      select ${table}::text as table_name, count(*)::int as orphans,
             (array_agg(distinct r.incident_id::text))[1:5] as sample
        from ${sql.table(table)} r
       where not exists (select 1 from incident i where i.id = r.incident_id)`,
  );
  const { rows } = await sql<{
    table_name: string;
    orphans: number;
    sample: string[] | null;
  }>`${sql.join(parts, sql` union all `)}`.execute(db);
  return rows
    .filter((r) => Number(r.orphans) > 0)
    .map((r) => ({ table: r.table_name, rows: Number(r.orphans), sampleIncidentIds: r.sample ?? [] }));
}
