import { parseArgs } from 'node:util';
import type { DbOrTx } from '../db/database.js';
import { findOrphanedRows, INCIDENT_REFERENCES_WITHOUT_FOREIGN_KEY } from '../modules/incidents/incident-integrity.repository.js';
import { openConfiguredDatabase } from '../node-init.js';
import { CONFIG_FLAGS, CONFIG_FLAGS_HELP, UsageError, configFromFlags } from './cli-context.js';

/**
 * `hikeshi db check`: the integrity check that stands in for the foreign keys the incident's
 * own tables do not have (ADR 0010, ADR 0013). It reads the database directly, like `migrate`:
 * there is no API for it, since it is an operator's tool, not a handler's.
 */
interface Command {
  summary: string;
  help: string;
  run(args: string[], out: (s: string) => void): Promise<void>;
}

/** The check's report, one line per table with orphaned rows; `ok` when there are none. */
export async function checkIncidentReferences(db: DbOrTx): Promise<{ ok: boolean; lines: string[] }> {
  const orphaned = await findOrphanedRows(db);
  if (orphaned.length === 0) {
    return {
      ok: true,
      lines: [`no orphaned rows: every row of ${INCIDENT_REFERENCES_WITHOUT_FOREIGN_KEY.join(', ')} names an incident that exists`],
    };
  }
  return {
    ok: false,
    lines: orphaned.map((o) => `${o.table}: ${o.rows} row(s) name no incident, e.g. incident id ${o.sampleIncidentIds.join(', ')}`),
  };
}

export const dbCommands: Record<string, Command> = {
  db: {
    summary: 'check the database for rows that name an incident that does not exist',
    help: `Usage: hikeshi db check

Finds rows of the incident's own tables that name an incident that does not exist:
  ${INCIDENT_REFERENCES_WITHOUT_FOREIGN_KEY.join(', ')}
These tables carry no per-row foreign keys (ADR 0010, ADR 0013); this is how their integrity
is checked. Prints each table with orphaned rows and a few of the incident ids they name, and
exits 1 if there are any.

Reads the database directly: with the embedded database stop the node first (one process may
open the data directory); on a PostgreSQL server it runs beside the nodes.

${CONFIG_FLAGS_HELP}`,
    async run(args, out) {
      const [sub, ...rest] = args;
      if (sub !== 'check') throw new UsageError('db needs a subcommand: check');
      let values: Record<string, unknown>;
      try {
        const parsed = parseArgs({ args: rest, options: CONFIG_FLAGS, allowPositionals: false, strict: true });
        values = parsed.values;
      } catch (err) {
        throw new UsageError((err as Error).message);
      }
      const database = await openConfiguredDatabase(configFromFlags(values));
      let report: { ok: boolean; lines: string[] };
      try {
        report = await checkIncidentReferences(database.db);
      } finally {
        await database.close();
      }
      for (const line of report.lines) out(line);
      if (!report.ok) throw new Error('orphaned rows found (listed above); see docs/adr/0013-incident-integrity-and-erasure.md');
    },
  },
};
