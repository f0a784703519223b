import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import t from 'tap';
import { checkIncidentReferences } from '../../src/cli/db-commands.js';
import { main } from '../../src/cli/main.js';
import { findOrphanedRows, INCIDENT_REFERENCES_WITHOUT_FOREIGN_KEY } from '../../src/modules/incidents/incident-integrity.repository.js';
import { buildTestNode } from '../helpers/build-test-app.js';
import { createIncident } from '../helpers/federation-harness.js';

/**
 * The integrity check that stands in for the foreign keys the incident's own tables do not
 * have (ADR 0010, ADR 0013): it finds rows naming no incident, and every incident_id column of
 * the schema is either checked by a foreign key or by this check.
 */
const node = await buildTestNode(t);
const db = node.database.db;

/** incident_id columns with no foreign key on purpose: the audit log outlives what it names (0004); the inbox keeps documents as received (0003). */
const NOT_INCIDENT_ROWS = new Set(['audit_entry', 'inbound_message']);

t.test('a database written through the API has no orphaned rows', async (t) => {
  const created = await createIncident(node);
  await node.app.inject({
    method: 'POST',
    url: `/api/v1/incidents/${encodeURIComponent(created.ref)}/journal`,
    headers: node.auth.handler,
    payload: { note: 'n' },
  });
  t.same(await findOrphanedRows(db), []);
  const report = await checkIncidentReferences(db);
  t.equal(report.ok, true);
  t.match(report.lines[0], /^no orphaned rows/);
});

t.test('rows naming no incident are found, table by table, with the ids they name', async (t) => {
  const ghost = randomUUID();
  await sql`insert into incident_host (incident_id, ip, hostname) values (${ghost}, '192.0.2.1', null), (${ghost}, null, 'ghost.example')`.execute(
    db,
  );
  await sql`insert into journal_entry (incident_id, at, actor, actor_team, kind) values (${ghost}, now(), 'bug', 'alpha', 'note')`.execute(
    db,
  );
  const orphaned = await findOrphanedRows(db);
  t.same(orphaned, [
    { table: 'incident_host', rows: 2, sampleIncidentIds: [ghost] },
    { table: 'journal_entry', rows: 1, sampleIncidentIds: [ghost] },
  ]);
  const report = await checkIncidentReferences(db);
  t.equal(report.ok, false);
  t.match(report.lines.join('\n'), new RegExp(`incident_host: 2 row\\(s\\) name no incident, e\\.g\\. incident id ${ghost}`));
  await sql`delete from incident_host where incident_id = ${ghost}`.execute(db);
  t.same(
    (await findOrphanedRows(db)).map((o) => o.table),
    ['journal_entry'],
    'the journal keeps its orphan: it is append-only',
  );
});

t.test('every incident_id column is covered by a foreign key or by the check', async (t) => {
  const { rows } = await sql<{ table_name: string; has_fk: boolean }>`
    select cls.relname as table_name,
           exists (select 1 from pg_constraint con
                    where con.conrelid = cls.oid and con.contype = 'f'
                      and con.confrelid = 'incident'::regclass and con.conkey = array[att.attnum]) as has_fk
      from pg_attribute att
      join pg_class cls on cls.oid = att.attrelid
      join pg_namespace ns on ns.oid = cls.relnamespace
     where att.attname = 'incident_id' and not att.attisdropped and cls.relkind = 'r' and ns.nspname = current_schema()
     order by 1`.execute(db);
  t.ok(rows.length >= INCIDENT_REFERENCES_WITHOUT_FOREIGN_KEY.length, `${rows.length} tables name incidents`);
  const checked = new Set<string>(INCIDENT_REFERENCES_WITHOUT_FOREIGN_KEY);
  for (const row of rows) {
    if (NOT_INCIDENT_ROWS.has(row.table_name)) continue;
    t.ok(
      row.has_fk || checked.has(row.table_name),
      `${row.table_name}: a foreign key, or listed in INCIDENT_REFERENCES_WITHOUT_FOREIGN_KEY`,
    );
  }
  for (const table of checked) {
    const row = rows.find((r) => r.table_name === table);
    t.ok(row, `${table} exists`);
    t.equal(row?.has_fk, false, `${table} has no foreign key (else it leaves the list)`);
  }
  t.equal(rows.find((r) => r.table_name === 'incident_legal_hold')?.has_fk, true, 'the legal hold keeps its foreign key');
  await t.rejects(
    sql`insert into incident_legal_hold (incident_id, reason, set_by, set_at) values (${randomUUID()}, 'r', 'x', now())`.execute(db),
    /foreign key/,
  );
});

t.test('hikeshi db: usage errors exit 2; check on a migrated embedded database exits 0', async (t) => {
  const quiet = (): void => {};
  t.equal(await main(['db'], quiet), 2, 'no subcommand');
  t.equal(await main(['db', 'repair'], quiet), 2, 'unknown subcommand');
  t.equal(await main(['db', 'check', '--colour', 'blue'], quiet), 2, 'unknown flag');
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'hikeshi-db-check-'));
  t.teardown(() => rm(dataDir, { recursive: true, force: true }));
  const out: string[] = [];
  t.equal(await main(['migrate', '--data-dir', dataDir], (s) => out.push(s)), 0, 'migrate');
  t.equal(await main(['db', 'check', '--data-dir', dataDir], (s) => out.push(s)), 0, 'check');
  t.match(out.at(-1), /^no orphaned rows/);
});
