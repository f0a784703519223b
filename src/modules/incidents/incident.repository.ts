import { sql, type Selectable } from 'kysely';
import type { DbOrTx, Tx } from '../../db/database.js';
import { jsonbParameter } from '../../db/jsonb-parameter.js';
import type { IncidentTable } from '../../db/tables.js';
import type { Tlp } from '../../../schemas/common.schema.js';
import type { Incident, JournalEntry } from '../../../schemas/incident.schema.js';
import { ERASED_MARKER } from '../../../schemas/personal-data.schema.js';
import { parseAddress } from '../sites/sites.module.js';

/**
 * SQL for incidents, their search tables, external references and the journal.
 * Rows are mapped to the wire shape explicitly; nothing here knows about HTTP or rules.
 */

export type IncidentContent = Omit<Incident, 'id' | 'ref' | 'externalRefs' | 'version' | 'createdBy' | 'createdAt' | 'updatedAt'>;

type IncidentRow = Selectable<IncidentTable>;

const iso = (d: Date | string | null): string | null => (d === null ? null : new Date(d).toISOString());

function toIncident(row: IncidentRow, externalRefs: Array<{ team: string; ref: string }>): Incident {
  return {
    id: row.id,
    ref: row.ref,
    title: row.title,
    summary: row.summary,
    category: row.category as Incident['category'],
    type: row.type as Incident['type'],
    severity: row.severity as Incident['severity'],
    tlp: row.tlp as Incident['tlp'],
    phase: row.phase as Incident['phase'],
    // As written, offset and fraction included; rows from before migration 0018 have no text.
    firstSeen: row.first_seen_text ?? iso(row.first_seen),
    lastSeen: row.last_seen_text ?? iso(row.last_seen),
    reporter: row.reporter as Incident['reporter'],
    poc: (row.poc ?? null) as Incident['poc'],
    hosts: row.hosts as Incident['hosts'],
    intruderActivity: row.intruder_activity,
    vulnerabilities: row.vulnerabilities as Incident['vulnerabilities'],
    systemChanges: row.system_changes as Incident['systemChanges'],
    installedSoftware: row.installed_software as Incident['installedSoftware'],
    evidence: row.evidence as Incident['evidence'],
    indicators: row.indicators as Incident['indicators'],
    externalRefs,
    ...(row.retraction ? { retracted: row.retraction as NonNullable<Incident['retracted']> } : {}),
    version: row.version,
    createdBy: row.created_by,
    createdAt: iso(row.created_at)!,
    updatedAt: iso(row.updated_at)!,
  };
}

/** Content as column values, jsonb columns as JSON values (the one-parameter inserts take these). */
function contentValues(c: IncidentContent) {
  return {
    title: c.title,
    summary: c.summary,
    phase: c.phase,
    category: c.category,
    type: c.type,
    severity: c.severity,
    tlp: c.tlp,
    first_seen: c.firstSeen,
    last_seen: c.lastSeen,
    first_seen_text: c.firstSeen,
    last_seen_text: c.lastSeen,
    reporter: c.reporter,
    poc: c.poc,
    hosts: c.hosts,
    intruder_activity: c.intruderActivity,
    vulnerabilities: c.vulnerabilities,
    system_changes: c.systemChanges,
    installed_software: c.installedSoftware,
    evidence: c.evidence,
    indicators: c.indicators,
  };
}

/** Content as Kysely parameters: jsonb columns as JSON text. */
function contentColumns(c: IncidentContent) {
  const v = contentValues(c);
  return {
    ...v,
    reporter: JSON.stringify(v.reporter),
    poc: v.poc === null ? null : JSON.stringify(v.poc),
    hosts: JSON.stringify(v.hosts),
    vulnerabilities: JSON.stringify(v.vulnerabilities),
    system_changes: JSON.stringify(v.system_changes),
    installed_software: JSON.stringify(v.installed_software),
    evidence: JSON.stringify(v.evidence),
    indicators: JSON.stringify(v.indicators),
  };
}

/**
 * PostgreSQL takes at most 65,535 parameters per statement; an incident's new content can carry
 * many hosts and indicators, so its search rows go in slices well below that.
 */
const MAX_PARAMETERS = 30_000;

function* slices<T>(rows: T[], columns: number): Generator<T[]> {
  const size = Math.max(1, Math.floor(MAX_PARAMETERS / columns));
  for (let i = 0; i < rows.length; i += size) yield rows.slice(i, i + size);
}

async function insertSearchRows(
  tx: Tx,
  incidents: Array<{ id: string; content: Pick<IncidentContent, 'hosts' | 'indicators'> }>,
): Promise<void> {
  const hosts = incidents.flatMap(({ id, content }) => hostRows(id, content));
  for (const slice of slices(hosts, 3)) await tx.insertInto('incident_host').values(slice).execute();
  const indicators = incidents.flatMap(({ id, content }) => indicatorRows(id, content));
  for (const slice of slices(indicators, 3)) await tx.insertInto('incident_indicator').values(slice).execute();
}

async function replaceSearchRows(tx: Tx, incidentId: string, c: Pick<IncidentContent, 'hosts' | 'indicators'>): Promise<void> {
  await tx.deleteFrom('incident_host').where('incident_id', '=', incidentId).execute();
  await tx.deleteFrom('incident_indicator').where('incident_id', '=', incidentId).execute();
  await insertSearchRows(tx, [{ id: incidentId, content: c }]);
}

const INCIDENT_INSERT_COLUMNS = sql.raw(
  [
    'id',
    'ref',
    'created_by',
    'created_at',
    'updated_at',
    'title',
    'summary',
    'phase',
    'category',
    'type',
    'severity',
    'tlp',
    'first_seen',
    'last_seen',
    'first_seen_text',
    'last_seen_text',
    'reporter',
    'poc',
    'hosts',
    'intruder_activity',
    'vulnerabilities',
    'system_changes',
    'installed_software',
    'evidence',
    'indicators',
  ].join(', '),
);
const JOURNAL_INSERT_COLUMNS = sql.raw('incident_id, at, actor, actor_team, kind, changes, note');

/**
 * New incidents, numbered and stored in the order given, with their search rows and each one's
 * first journal entry: one statement, whatever the number (the rows travel as one jsonb
 * parameter, so there is no parameter limit, and one parameter is far less work for the driver
 * than thousands).
 *
 * The statement first takes `count` reference numbers for (prefix, year) from the counter. The
 * upsert locks the counter row until the caller's transaction ends: concurrent creations queue
 * there, so numbers follow the stored order, and a creation that rolls back gives its numbers
 * back, so there are none missing (ADR 0003). Taking them in this statement, not one before it,
 * keeps a round trip out of the section every filing waits for (ADR 0010). Each first journal
 * entry's changes get the `ref` its incident was given. Answers each incident's reference number
 * and first journal entry, in the order given.
 */
export async function insertNumberedIncidents(
  tx: Tx,
  numbering: { prefix: string; year: number },
  rows: Array<{ id: string; createdBy: string; at: Date; content: IncidentContent; journal: NewJournalEntry }>,
): Promise<Array<{ ref: string; entry: JournalEntry }>> {
  if (rows.length === 0) return [];
  const payload = JSON.stringify({
    incidents: rows.map((row) => ({
      id: row.id,
      created_by: row.createdBy,
      created_at: row.at,
      updated_at: row.at,
      ...contentValues(row.content),
    })),
    hosts: rows.flatMap(({ id, content }) => hostRows(id, content)),
    indicators: rows.flatMap(({ id, content }) => indicatorRows(id, content)),
    journal: rows.map(({ journal: e }) => ({
      incident_id: e.incidentId,
      at: e.at,
      actor: e.actor,
      actor_team: e.actorTeam,
      kind: e.kind,
      changes: e.changes ?? {},
      note: e.note ?? null,
    })),
  });
  const { prefix, year } = numbering;
  const count = rows.length;
  // <PREFIX>#<YEAR>-<SEQ>, the sequence zero-padded to six digits (ADR 0003). Rows go in array
  // order (WITH ORDINALITY): sequences, and so the stored order, follow the numbers.
  const { rows: saved } = await sql<Parameters<typeof toJournalEntry>[0] & { incident_ref: string }>`
    with p as (select ${jsonbParameter(payload)}::jsonb as j),
    counter as (
      insert into reference_counter (prefix, year, last_seq) values (${prefix}, ${year}::int, ${count}::int)
      on conflict (prefix, year) do update set last_seq = reference_counter.last_seq + ${count}::int
      returning last_seq - ${count}::int as before
    ),
    numbered as (
      select e.v, e.n, ${prefix}::text || '#' || ${year}::int || '-' ||
             (case when c.before + e.n < 1000000 then lpad((c.before + e.n)::text, 6, '0') else (c.before + e.n)::text end) as given_ref
        from p, counter c, jsonb_array_elements(p.j->'incidents') with ordinality as e(v, n)
    ),
    incidents as (
      insert into incident (${INCIDENT_INSERT_COLUMNS})
      select ${INCIDENT_INSERT_COLUMNS} from numbered, jsonb_populate_record(null::incident, numbered.v || jsonb_build_object('ref', numbered.given_ref))
       order by numbered.n
      returning id, ref
    ),
    hosts as (
      insert into incident_host (incident_id, ip, hostname)
      select incident_id, ip, hostname from p, jsonb_populate_recordset(null::incident_host, p.j->'hosts')
      returning incident_id
    ),
    indicators as (
      insert into incident_indicator (incident_id, kind, value)
      select incident_id, kind, value from p, jsonb_populate_recordset(null::incident_indicator, p.j->'indicators')
      returning incident_id
    ),
    journal as (
      insert into journal_entry (${JOURNAL_INSERT_COLUMNS})
      select r.incident_id, r.at, r.actor, r.actor_team, r.kind, r.changes || jsonb_build_object('ref', numbered.given_ref), r.note
        from p, jsonb_array_elements(p.j->'journal') with ordinality as e(v, n), jsonb_populate_record(null::journal_entry, e.v) r, numbered
       where numbered.n = e.n
       order by e.n
      returning *
    )
    select journal.*, incidents.ref as incident_ref from journal join incidents on incidents.id = journal.incident_id`.execute(tx);
  return saved.sort(byInsertOrder).map((row) => ({ ref: row.incident_ref, entry: toJournalEntry(row) }));
}

/** An erased victim's `[erased]` is a placeholder, not a name to find the incident by (ADR 0013). */
const searchableName = (hostname: string | undefined): string | null =>
  hostname && hostname !== ERASED_MARKER ? hostname.toLowerCase() : null;

/** Canonical, and an IPv4-mapped address as its IPv4 form: a search by either spelling finds it. */
const searchableAddress = (ip: string): string => parseAddress(ip)?.address ?? ip;

function hostRows(incidentId: string, content: Pick<IncidentContent, 'hosts'>) {
  return content.hosts
    .filter((h) => h.ip || searchableName(h.hostname))
    .map((h) => ({ incident_id: incidentId, ip: h.ip ? searchableAddress(h.ip) : null, hostname: searchableName(h.hostname) }));
}

function indicatorRows(incidentId: string, content: Pick<IncidentContent, 'indicators'>) {
  return content.indicators.map((i) => ({ incident_id: incidentId, kind: i.kind, value: i.value }));
}

/** Writes new content if the stored version is still `expectedVersion`; false when it is not. */
export async function updateIncidentContent(
  tx: Tx,
  id: string,
  expectedVersion: number,
  content: IncidentContent,
  at: Date,
): Promise<boolean> {
  const result = await tx
    .updateTable('incident')
    .set({ ...contentColumns(content), version: sql`version + 1`, updated_at: at })
    .where('id', '=', id)
    .where('version', '=', expectedVersion)
    .executeTakeFirst();
  if (Number(result.numUpdatedRows) === 0) return false;
  await replaceSearchRows(tx, id, content);
  return true;
}

/** Sets the incident's label alone (a label change its originator sent for our copy), as a new version. */
/** Marks a report retracted (migration 0025): kept, no longer shared. */
export async function setIncidentRetraction(tx: Tx, id: string, retraction: object, at: Date): Promise<void> {
  await tx
    .updateTable('incident')
    .set({ retraction: JSON.stringify(retraction), version: sql`version + 1`, updated_at: at })
    .where('id', '=', id)
    .execute();
}

export async function setIncidentTlp(tx: Tx, id: string, tlp: Tlp, at: Date): Promise<void> {
  await tx
    .updateTable('incident')
    .set({ tlp, version: sql`version + 1`, updated_at: at })
    .where('id', '=', id)
    .execute();
}

/**
 * Moves the incident to the end of the node's order of changes (migration 0007): the pull feed
 * serves incidents in that order, each at its latest change. Locks only the incident's row.
 */
export async function markIncidentChanged(tx: Tx, id: string): Promise<void> {
  await tx
    .updateTable('incident')
    .set({ change_xid: sql<string>`pg_current_xact_id()`, change_seq: sql<string>`nextval('incident_change_seq')` })
    .where('id', '=', id)
    .execute();
}

/** markIncidentChanged for many incidents in one statement (a campaign's journal entries, many to a transaction). */
export async function markIncidentsChanged(tx: Tx, ids: readonly string[]): Promise<void> {
  if (ids.length === 0) return;
  await sql`
    update incident set change_xid = pg_current_xact_id(), change_seq = nextval('incident_change_seq')
    where id in (select (jsonb_array_elements_text(${jsonbParameter(JSON.stringify(ids))}::jsonb))::uuid)`.execute(tx);
}

/** A place in the order of changes: the changing transaction, then the order within it (both decimal text). */
export interface ChangePosition {
  xid: string;
  seq: string;
}

/**
 * Incidents whose latest change comes after `after`, in change order. Only changes made by
 * transactions that were finished when the statement's snapshot was taken are listed (older than
 * its xmin): a change listed later therefore never sorts before one listed now, and a reader
 * that keeps the last position it saw never skips one.
 */
export async function listIncidentsByChange(
  db: DbOrTx,
  after: ChangePosition | null,
  limit: number,
): Promise<{ items: Array<{ incident: Incident; position: ChangePosition }>; more: boolean }> {
  let q = db
    .selectFrom('incident')
    .selectAll()
    .select([sql<string>`change_xid::text`.as('change_xid_text'), sql<string>`change_seq::text`.as('change_seq_text')])
    .where(sql<boolean>`change_xid < pg_snapshot_xmin(pg_current_snapshot())`);
  if (after) q = q.where(sql<boolean>`(change_xid, change_seq) > (${after.xid}::xid8, ${after.seq}::bigint)`);
  const rows = await q
    .orderBy('change_xid')
    .orderBy('change_seq')
    .limit(limit + 1)
    .execute();
  const page = rows.slice(0, limit);
  const refs = await externalRefsFor(
    db,
    page.map((r) => r.id),
  );
  return {
    items: page.map((r) => ({
      incident: toIncident(r, refs.get(r.id) ?? []),
      position: { xid: r.change_xid_text, seq: r.change_seq_text },
    })),
    more: rows.length > limit,
  };
}

async function externalRefsFor(db: DbOrTx, ids: string[]): Promise<Map<string, Array<{ team: string; ref: string }>>> {
  const map = new Map<string, Array<{ team: string; ref: string }>>();
  if (ids.length === 0) return map;
  const rows = await db.selectFrom('incident_external_ref').selectAll().where('incident_id', 'in', ids).orderBy('team_id').execute();
  for (const r of rows) {
    const list = map.get(r.incident_id) ?? [];
    list.push({ team: r.team_id, ref: r.ref });
    map.set(r.incident_id, list);
  }
  return map;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** By reference number or id; `forUpdate` locks the row for the caller's transaction. */
export async function findIncident(db: DbOrTx, refOrId: string, forUpdate = false): Promise<Incident | null> {
  let query = db.selectFrom('incident').selectAll();
  query = UUID.test(refOrId) ? query.where('id', '=', refOrId.toLowerCase()) : query.where('ref', '=', refOrId);
  if (forUpdate) query = query.forUpdate();
  const row = await query.executeTakeFirst();
  if (!row) return null;
  const refs = await externalRefsFor(db, [row.id]);
  return toIncident(row, refs.get(row.id) ?? []);
}

/**
 * The incidents with these ids, in the order asked (unknown ids are left out): two statements for
 * any number, where findIncident takes two per incident. `forUpdate` locks the rows.
 */
export async function findIncidentsByIds(db: DbOrTx, ids: readonly string[], forUpdate = false): Promise<Incident[]> {
  if (ids.length === 0) return [];
  const wanted = [...new Set(ids.map((id) => id.toLowerCase()))];
  let query = db
    .selectFrom('incident')
    .selectAll()
    .where('id', 'in', sql<string>`(select (jsonb_array_elements_text(${jsonbParameter(JSON.stringify(wanted))}::jsonb))::uuid)`);
  if (forUpdate) query = query.forUpdate();
  const rows = await query.execute();
  const refs = await externalRefsFor(
    db,
    rows.map((r) => r.id),
  );
  const byId = new Map(rows.map((row) => [row.id, toIncident(row, refs.get(row.id) ?? [])] as const));
  return ids.flatMap((id) => byId.get(id.toLowerCase()) ?? []);
}

export interface IncidentFilter {
  phase?: string;
  category?: string;
  tlp?: string;
  severity?: string;
  updatedSince?: Date;
  /** One of: an address or CIDR block (containment), or a host name (exact, case-insensitive). */
  hostNetwork?: string;
  hostName?: string;
  /** Any of these values, case-insensitive (an address in its spellings: see the service). */
  indicator?: string[];
  externalRef?: string;
  /** Another team: the incident came from it (recorded by it), is linked with it either way, or it gave a reference number. */
  team?: string;
  /** Keyset: only incidents with seq below this (newest first). */
  beforeSeq?: number;
  limit: number;
}

export async function listIncidents(db: DbOrTx, f: IncidentFilter): Promise<{ items: Incident[]; lastSeq: number | null; more: boolean }> {
  let q = db.selectFrom('incident').selectAll();
  if (f.phase) q = q.where('phase', '=', f.phase);
  if (f.category) q = q.where('category', '=', f.category);
  if (f.tlp) q = q.where('tlp', '=', f.tlp);
  if (f.severity) q = q.where('severity', '=', f.severity);
  if (f.updatedSince) q = q.where('updated_at', '>=', f.updatedSince);
  if (f.beforeSeq !== undefined) q = q.where('seq', '<', f.beforeSeq);
  if (f.hostNetwork) {
    const net = f.hostNetwork;
    q = q.where(({ exists, selectFrom }) =>
      exists(
        selectFrom('incident_host')
          .select(sql`1`.as('one'))
          .whereRef('incident_host.incident_id', '=', 'incident.id')
          .where(sql<boolean>`incident_host.ip <<= ${net}::inet`),
      ),
    );
  }
  if (f.hostName) {
    const name = f.hostName.toLowerCase();
    q = q.where(({ exists, selectFrom }) =>
      exists(
        selectFrom('incident_host')
          .select(sql`1`.as('one'))
          .whereRef('incident_host.incident_id', '=', 'incident.id')
          .where(sql<boolean>`lower(incident_host.hostname) = ${name}`),
      ),
    );
  }
  if (f.indicator) {
    const values = f.indicator.map((v) => v.toLowerCase());
    q = q.where(({ exists, selectFrom }) =>
      exists(
        selectFrom('incident_indicator')
          .select(sql`1`.as('one'))
          .whereRef('incident_indicator.incident_id', '=', 'incident.id')
          .where(sql<boolean>`lower(incident_indicator.value) in (${sql.join(values.map((v) => sql`${v}`))})`),
      ),
    );
  }
  if (f.externalRef) {
    const ref = f.externalRef;
    q = q.where(({ exists, selectFrom }) =>
      exists(
        selectFrom('incident_external_ref')
          .select(sql`1`.as('one'))
          .whereRef('incident_external_ref.incident_id', '=', 'incident.id')
          .where('incident_external_ref.ref', '=', ref),
      ),
    );
  }
  if (f.team) {
    const team = f.team;
    q = q.where((eb) =>
      eb.or([
        eb('incident.created_by', '=', team),
        eb.exists(
          eb
            .selectFrom('incident_link')
            .select(sql`1`.as('one'))
            .whereRef('incident_link.incident_id', '=', 'incident.id')
            .where('incident_link.peer_team', '=', team),
        ),
        eb.exists(
          eb
            .selectFrom('incident_external_ref')
            .select(sql`1`.as('one'))
            .whereRef('incident_external_ref.incident_id', '=', 'incident.id')
            .where('incident_external_ref.team_id', '=', team),
        ),
      ]),
    );
  }
  const rows = await q
    .orderBy('seq', 'desc')
    .limit(f.limit + 1)
    .execute();
  const more = rows.length > f.limit;
  const page = rows.slice(0, f.limit);
  const refs = await externalRefsFor(
    db,
    page.map((r) => r.id),
  );
  return { items: page.map((r) => toIncident(r, refs.get(r.id) ?? [])), lastSeq: page.at(-1)?.seq ?? null, more };
}

export async function upsertExternalRef(db: DbOrTx, incidentId: string, teamId: string, ref: string): Promise<void> {
  await db
    .insertInto('incident_external_ref')
    .values({ incident_id: incidentId, team_id: teamId, ref })
    .onConflict((oc) => oc.columns(['incident_id', 'team_id']).doUpdateSet({ ref }))
    .execute();
}

export interface NewJournalEntry {
  incidentId: string;
  at: Date;
  actor: string;
  actorTeam: string;
  kind: string;
  changes?: Record<string, unknown> | null;
  note?: string | null;
}

/** Journal ids follow the insert order; RETURNING's order is not promised, so rows are sorted by them. */
const byInsertOrder = (a: { id: number }, b: { id: number }): number => Number(a.id) - Number(b.id);

/** Journal entries in one statement; returned in the order given. */
export async function appendJournalEntries(db: DbOrTx, entries: NewJournalEntry[]): Promise<JournalEntry[]> {
  if (entries.length === 0) return [];
  const rows = entries.map((e) => ({
    incident_id: e.incidentId,
    at: e.at,
    actor: e.actor,
    actor_team: e.actorTeam,
    kind: e.kind,
    changes: e.changes ? JSON.stringify(e.changes) : null,
    note: e.note ?? null,
  }));
  return (await db.insertInto('journal_entry').values(rows).returningAll().execute()).sort(byInsertOrder).map(toJournalEntry);
}

function toJournalEntry(row: {
  id: number;
  at: Date | string;
  actor: string;
  actor_team: string;
  kind: string;
  changes: unknown;
  note: string | null;
}): JournalEntry {
  return {
    id: Number(row.id),
    at: new Date(row.at).toISOString(),
    actor: row.actor,
    team: row.actor_team,
    kind: row.kind,
    changes: (row.changes ?? null) as JournalEntry['changes'],
    note: row.note,
  };
}

export async function listJournal(
  db: DbOrTx,
  incidentId: string,
  afterId: number,
  limit: number,
): Promise<{ items: JournalEntry[]; more: boolean }> {
  const rows = await db
    .selectFrom('journal_entry')
    .selectAll()
    .where('incident_id', '=', incidentId)
    .where('id', '>', afterId)
    .orderBy('id', 'asc')
    .limit(limit + 1)
    .execute();
  return { items: rows.slice(0, limit).map(toJournalEntry), more: rows.length > limit };
}
