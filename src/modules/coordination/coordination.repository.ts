import { sql, type RawBuilder, type Selectable } from 'kysely';
import type { DbOrTx, Tx } from '../../db/database.js';
import { jsonbParameter } from '../../db/jsonb-parameter.js';
import type { MemberActivityTable } from '../../db/tables.js';
import type { Tlp } from '../../../schemas/common.schema.js';
import type { Category, Phase } from '../../../schemas/incident.schema.js';
import type { Observable, ObservableKind, ReportRef } from '../../../schemas/coordination.schema.js';

/**
 * SQL of coordination: the latest report per (team, ref), its observables, the warnings given,
 * and the one outbox statement the activity feed needs (dropping a superseded summary that was
 * never tried). Rows are mapped to plain objects here; rules live in the service.
 */

const iso = (d: Date | string): string => new Date(d).toISOString();
const isoOrNull = (d: Date | string | null): string | null => (d === null ? null : iso(d));

export interface ActivityRow {
  team: string;
  ref: string;
  own: boolean;
  incidentId: string | null;
  detail: 'summary' | 'full' | 'own';
  category: Category;
  type: string | null;
  phase: Phase;
  severity: string;
  tlp: Tlp;
  firstSeen: string | null;
  lastSeen: string | null;
  updated: string;
  version: number;
  summary: Record<string, unknown>;
  links: ReportRef[];
  messageId: string | null;
  receivedAt: string;
}

export interface ActivityWrite extends Omit<ActivityRow, 'receivedAt'> {
  at: Date;
  /** When this node first heard of the report (kept from the first write). */
  firstReceivedAt: Date;
}

const parseJson = <T>(value: unknown): T => (typeof value === 'string' ? (JSON.parse(value) as T) : (value as T));

/** A member_activity row as either engine returns it. */
type RawActivity = Selectable<MemberActivityTable>;

function toActivity(r: RawActivity): ActivityRow {
  return {
    team: r.team,
    ref: r.ref,
    own: r.own,
    incidentId: r.incident_id,
    detail: r.detail as ActivityRow['detail'],
    category: r.category as Category,
    type: r.type,
    phase: r.phase as Phase,
    severity: r.severity,
    tlp: r.tlp as Tlp,
    firstSeen: isoOrNull(r.first_seen),
    lastSeen: isoOrNull(r.last_seen),
    updated: iso(r.updated),
    version: Number(r.version),
    summary: parseJson<Record<string, unknown>>(r.summary),
    links: parseJson<ReportRef[]>(r.links),
    messageId: r.message_id,
    receivedAt: iso(r.received_at),
  };
}

/**
 * Stores a report unless a newer one (higher version, or the same version changed later) is
 * stored already: summaries may arrive out of order (a retried one after a newer one).
 * Returns false when the stored report was newer and nothing changed.
 */
/**
 * Forgets a member's report as its withdrawal says (its observables go with the row), and keeps
 * the version it was withdrawn at. A withdrawal older than what is held changes nothing.
 * Returns true when it took effect.
 */
export async function withdrawActivity(
  tx: Tx,
  w: { team: string; ref: string; version: number; updated: Date; reason: string; messageId: string; at: Date },
): Promise<boolean> {
  const held = await tx
    .selectFrom('member_activity')
    .select(['version', 'updated'])
    .where('team', '=', w.team)
    .where('ref', '=', w.ref)
    .where('own', '=', false)
    .forUpdate()
    .executeTakeFirst();
  // A report newer than the withdrawal stays.
  if (held && !atLeastAsNew(w, held)) return false;
  await tx.deleteFrom('member_activity').where('team', '=', w.team).where('ref', '=', w.ref).where('own', '=', false).execute();
  const values = {
    team: w.team,
    ref: w.ref,
    version: w.version,
    updated: w.updated,
    reason: w.reason,
    message_id: w.messageId,
    withdrawn_at: w.at,
  };
  await tx
    .insertInto('activity_withdrawal')
    .values(values)
    .onConflict((oc) =>
      oc
        .columns(['team', 'ref'])
        .doUpdateSet({
          version: w.version,
          updated: w.updated,
          reason: w.reason,
          message_id: w.messageId,
          withdrawn_at: w.at,
        })
        .where(sql<boolean>`(excluded.version, excluded.updated) >= (activity_withdrawal.version, activity_withdrawal.updated)`),
    )
    .execute();
  return true;
}

function activityValues(row: ActivityWrite) {
  return {
    team: row.team,
    ref: row.ref,
    own: row.own,
    incident_id: row.incidentId,
    detail: row.detail,
    category: row.category,
    type: row.type,
    phase: row.phase,
    severity: row.severity,
    tlp: row.tlp,
    first_seen: row.firstSeen,
    last_seen: row.lastSeen,
    updated: row.updated,
    version: row.version,
    summary: JSON.stringify(row.summary),
    links: JSON.stringify(row.links),
    message_id: row.messageId,
    first_received_at: row.firstReceivedAt,
    received_at: row.at,
  };
}

/**
 * Writes reports in one statement; a report already stored at a later (version, updated) keeps
 * it. Answers the `team\0ref` keys written. Each (team, ref) at most once per call: PostgreSQL
 * refuses to update one row twice in one statement.
 */
async function writeActivities(tx: Tx, rows: readonly ActivityWrite[]): Promise<Set<string>> {
  if (rows.length === 0) return new Set();
  const values = rows.map(activityValues);
  const written = await tx
    .insertInto('member_activity')
    .values(values)
    .onConflict((oc) =>
      oc
        .columns(['team', 'ref'])
        .doUpdateSet((eb) => ({
          // Every column but the key and when this node first heard of the report.
          own: eb.ref('excluded.own'),
          incident_id: eb.ref('excluded.incident_id'),
          detail: eb.ref('excluded.detail'),
          category: eb.ref('excluded.category'),
          type: eb.ref('excluded.type'),
          phase: eb.ref('excluded.phase'),
          severity: eb.ref('excluded.severity'),
          tlp: eb.ref('excluded.tlp'),
          first_seen: eb.ref('excluded.first_seen'),
          last_seen: eb.ref('excluded.last_seen'),
          updated: eb.ref('excluded.updated'),
          version: eb.ref('excluded.version'),
          summary: eb.ref('excluded.summary'),
          links: eb.ref('excluded.links'),
          message_id: eb.ref('excluded.message_id'),
          received_at: eb.ref('excluded.received_at'),
        }))
        .where(sql<boolean>`(excluded.version, excluded.updated) >= (member_activity.version, member_activity.updated)`),
    )
    .returning(['team', 'ref'])
    .execute();
  return new Set(written.map((w) => `${w.team}\0${w.ref}`));
}

/** Whether report a is at least as new as b: (version, updated) compared as the statements do. */
function atLeastAsNew(a: { version: number; updated: string | Date }, b: { version: number; updated: string | Date }): boolean {
  return a.version > b.version || (a.version === b.version && new Date(a.updated).getTime() >= new Date(b.updated).getTime());
}

/**
 * Members' reports of one inbox group, in arrival order, with the outcome of upserting them one by
 * one in three statements whatever the group's size: per report only the
 * newest of the group can end up stored (a later one wins a tie, as one by one); it is dropped
 * where the member's withdrawal is as new or newer, and the withdrawal is forgotten where it is
 * newer; then one statement writes the rest, each kept only where at least as new as the stored
 * report. Answers the rows written, by `team\0ref`.
 */
export async function upsertMemberActivities(tx: Tx, rows: readonly ActivityWrite[]): Promise<Map<string, ActivityWrite>> {
  if (rows.some((r) => r.own)) throw new Error('upsertMemberActivities: one of our own reports');
  const newest = new Map<string, ActivityWrite>();
  for (const row of rows) {
    const key = `${row.team}\0${row.ref}`;
    const held = newest.get(key);
    if (!held || atLeastAsNew(row, held)) newest.set(key, row);
  }
  if (newest.size === 0) return new Map();
  const keys = JSON.stringify([...newest.values()].map((r) => ({ team: r.team, ref: r.ref })));
  const withdrawals = await sql<{ team: string; ref: string; version: number; updated: Date | string }>`
    select w.team, w.ref, w.version, w.updated
      from activity_withdrawal w
      join jsonb_to_recordset(${jsonbParameter(keys)}::jsonb) as k(team text, ref text) on w.team = k.team and w.ref = k.ref`.execute(tx);
  const forgotten: Array<{ team: string; ref: string }> = [];
  for (const w of withdrawals.rows) {
    const key = `${w.team}\0${w.ref}`;
    const row = newest.get(key)!;
    // Only a summary strictly newer than the withdrawal brings the report back; an equal one stays withdrawn.
    if (atLeastAsNew(w, row)) newest.delete(key);
    else forgotten.push({ team: w.team, ref: w.ref });
  }
  if (forgotten.length > 0) {
    await sql`
      delete from activity_withdrawal w
       using jsonb_to_recordset(${jsonbParameter(JSON.stringify(forgotten))}::jsonb) as k(team text, ref text)
       where w.team = k.team and w.ref = k.ref`.execute(tx);
  }
  const written = await writeActivities(tx, [...newest.values()]);
  return new Map([...written].map((key) => [key, newest.get(key)!]));
}

/**
 * Our own team's reports, many in one statement (a group of creations): no withdrawal applies to
 * them. Answers the refs written.
 */
export async function upsertOwnActivities(tx: Tx, rows: readonly ActivityWrite[]): Promise<Set<string>> {
  if (rows.some((r) => !r.own)) throw new Error('upsertOwnActivities: a member report');
  const written = await writeActivities(tx, rows);
  return new Set([...written].map((key) => key.slice(key.indexOf('\0') + 1)));
}

export async function findActivity(db: DbOrTx, team: string, ref: string): Promise<ActivityRow | null> {
  const row = await db.selectFrom('member_activity').selectAll().where('team', '=', team).where('ref', '=', ref).executeTakeFirst();
  return row ? toActivity(row) : null;
}

/** Several teams' reports' observables (a group of members' summaries): one delete and one insert. */
export async function replaceReportObservables(
  tx: Tx,
  reports: ReadonlyArray<{ team: string; ref: string; observables: readonly Observable[] }>,
): Promise<void> {
  if (reports.length === 0) return;
  const keys = JSON.stringify(reports.map((r) => ({ team: r.team, ref: r.ref })));
  await sql`
    delete from activity_observable o
     using jsonb_to_recordset(${jsonbParameter(keys)}::jsonb) as k(team text, ref text)
     where o.team = k.team and o.ref = k.ref`.execute(tx);
  await insertObservableRows(
    tx,
    reports.flatMap((r) => r.observables.map((o) => ({ team: r.team, ref: r.ref, kind: o.kind, value: o.value }))),
  );
}

/** One team's observables for several reports: one delete and one insert. */
export async function replaceObservablesOf(
  tx: Tx,
  team: string,
  reports: ReadonlyArray<{ ref: string; observables: readonly Observable[] }>,
): Promise<void> {
  if (reports.length === 0) return;
  await tx
    .deleteFrom('activity_observable')
    .where('team', '=', team)
    .where(
      'ref',
      'in',
      reports.map((r) => r.ref),
    )
    .execute();
  await insertObservableRows(
    tx,
    reports.flatMap((r) => r.observables.map((o) => ({ team, ref: r.ref, kind: o.kind, value: o.value }))),
  );
}

async function insertObservableRows(
  tx: Tx,
  rows: ReadonlyArray<{ team: string; ref: string; kind: string; value: string }>,
): Promise<void> {
  // Four parameters a row: chunks stay far below the protocol's 65,535 parameters a statement.
  for (let at = 0; at < rows.length; at += OBSERVABLE_ROWS_PER_INSERT) {
    await tx
      .insertInto('activity_observable')
      .values(rows.slice(at, at + OBSERVABLE_ROWS_PER_INSERT))
      .execute();
  }
}

const OBSERVABLE_ROWS_PER_INSERT = 5000;

/**
 * Which of these observables reports of two or more teams carry, in one statement: per
 * observable the first and the last team in index order (two probes of the (kind, value, team)
 * index, migration 0009); they differ exactly when two teams have it. An incident has one
 * observable per host, network, name and indicator, and most are one team's alone: one round
 * trip, not one each. Keys are `kind\0value`.
 *
 * Both probes are LATERAL with LIMIT 1 so the planner cannot turn them into a join: written as
 * EXISTS, PostgreSQL hashed every row of the observable table and ran the first-team probe per
 * row, so each creation cost time in proportion to the reports already stored with the same
 * observables (79 ms a group after 2,000 creations of one report, ADR 0031).
 */
export async function sharedObservables(
  db: DbOrTx,
  observables: ReadonlyArray<{ kind: ObservableKind; value: string }>,
): Promise<Set<string>> {
  if (observables.length === 0) return new Set();
  const list = JSON.stringify(observables.map((o) => ({ k: o.kind, v: o.value })));
  const { rows } = await sql<{ kind: string; value: string }>`
    select c.k as kind, c.v as value
    from jsonb_to_recordset(${jsonbParameter(list)}::jsonb) as c(k text, v text)
    cross join lateral (select o.team from activity_observable o
                        where o.kind = c.k and o.value = c.v order by o.team limit 1) as first_team
    cross join lateral (select o.team from activity_observable o
                        where o.kind = c.k and o.value = c.v order by o.team desc limit 1) as last_team
    where last_team.team > first_team.team`.execute(db);
  return new Set(rows.map((r) => `${r.kind}\0${r.value}`));
}

/** Every stored report that has the observable. */
export async function reportsWithObservable(db: DbOrTx, kind: ObservableKind, value: string): Promise<ActivityRow[]> {
  const rows = await db
    .selectFrom('activity_observable as o')
    .innerJoin('member_activity as a', (j) => j.onRef('a.team', '=', 'o.team').onRef('a.ref', '=', 'o.ref'))
    .selectAll('a')
    .where('o.kind', '=', kind)
    .where('o.value', '=', value)
    .orderBy('a.team')
    .orderBy('a.ref')
    .execute();
  return rows.map((r) => toActivity(r));
}

/** The `ip` observables of the given reports, by "team\0ref". */
export async function ipsOf(db: DbOrTx, reports: ReadonlyArray<{ team: string; ref: string }>): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>();
  if (reports.length === 0) return out;
  const rows = await db
    .selectFrom('activity_observable')
    .select(['team', 'ref', 'value'])
    .where('kind', '=', 'ip')
    .where('team', 'in', [...new Set(reports.map((r) => r.team))])
    .where('ref', 'in', [...new Set(reports.map((r) => r.ref))])
    .execute();
  const wanted = new Set(reports.map((r) => reportKey(r)));
  for (const r of rows) {
    const k = reportKey(r);
    if (!wanted.has(k)) continue;
    out.set(k, [...(out.get(k) ?? []), r.value]);
  }
  return out;
}

export const reportKey = (r: { team: string; ref: string }): string => `${r.team}\u0000${r.ref}`;

// ---------------------------------------------------------------------------------------------
// Warnings

/**
 * Serialises correlation, and the journal notes on our own incidents, between concurrent inbox
 * transactions (transaction-scoped; "HIKECO" in ASCII, below 2^53). Only the inbox path takes
 * it, before it reads other teams' reports and before any incident row, so it never joins a
 * cycle with an incident change.
 */
export const OWN_NOTES_LOCK = 0x48494b45434f;

export async function lockOwnNotes(tx: Tx): Promise<void> {
  await sql`select pg_advisory_xact_lock(${OWN_NOTES_LOCK}::bigint)`.execute(tx);
}

/** The warnings `team` got about observable (kind, value): "otherTeam\0otherRef" -> named. */
export async function warningsFor(db: DbOrTx, kind: ObservableKind, value: string, team: string): Promise<Map<string, boolean>> {
  const rows = await db
    .selectFrom('related_warning')
    .select(['other_team', 'other_ref', 'named'])
    .where('kind', '=', kind)
    .where('value', '=', value)
    .where('team', '=', team)
    .execute();
  return new Map(rows.map((r) => [reportKey({ team: r.other_team, ref: r.other_ref }), r.named]));
}

export async function recordWarning(
  tx: Tx,
  w: {
    kind: ObservableKind;
    value: string;
    team: string;
    other: { team: string; ref: string };
    named: boolean;
    messageId: string | null;
    at: Date;
  },
): Promise<void> {
  await tx
    .insertInto('related_warning')
    .values({
      kind: w.kind,
      value: w.value,
      team: w.team,
      other_team: w.other.team,
      other_ref: w.other.ref,
      named: w.named,
      message_id: w.messageId,
      warned_at: w.at,
    })
    .onConflict((oc) =>
      oc
        .columns(['kind', 'value', 'team', 'other_team', 'other_ref'])
        .doUpdateSet({ named: w.named, message_id: w.messageId, warned_at: w.at }),
    )
    .execute();
}

// ---------------------------------------------------------------------------------------------
// The outbox, as the activity feed needs it

// ---------------------------------------------------------------------------------------------
// The overview

export interface OverviewWindow {
  since?: Date;
  until?: Date;
  team?: string;
}

/** The reports of the window: changed since `since`, first active before `until`. */
function windowCondition(w: Omit<OverviewWindow, 'team'>, alias: string): RawBuilder<boolean> {
  const a = sql.raw(alias);
  const conditions: RawBuilder<boolean>[] = [sql<boolean>`true`];
  if (w.since) conditions.push(sql<boolean>`${a}.updated >= ${w.since}`);
  if (w.until) conditions.push(sql<boolean>`coalesce(${a}.first_seen, ${a}.first_received_at) < ${w.until}`);
  return sql<boolean>`(${sql.join(conditions, sql` and `)})`;
}

export async function countBy(db: DbOrTx, w: OverviewWindow, column: 'team' | 'category' | 'phase'): Promise<Record<string, number>> {
  const teamCondition = w.team ? sql<boolean>`a.team = ${w.team}` : sql<boolean>`true`;
  const rows = await sql<{ key: string; n: string | number }>`
    select ${sql.ref(`a.${column}`)} as key, count(*) as n from member_activity a
    where ${windowCondition(w, 'a')} and ${teamCondition}
    group by 1 order by 1`.execute(db);
  return Object.fromEntries(rows.rows.map((r) => [r.key, Number(r.n)]));
}

/** Reports per period of their first activity, in UTC: ISO week (IYYY-"W"IW) or day. */
export async function countByPeriod(db: DbOrTx, w: OverviewWindow, period: 'week' | 'day'): Promise<Record<string, number>> {
  const format = period === 'week' ? 'IYYY-"W"IW' : 'YYYY-MM-DD';
  const teamCondition = w.team ? sql<boolean>`a.team = ${w.team}` : sql<boolean>`true`;
  const rows = await sql<{ key: string; n: string | number }>`
    select to_char(coalesce(a.first_seen, a.first_received_at) at time zone 'UTC', ${format}) as key, count(*) as n
    from member_activity a
    where ${windowCondition(w, 'a')} and ${teamCondition}
    group by 1 order by 1`.execute(db);
  return Object.fromEntries(rows.rows.map((r) => [r.key, Number(r.n)]));
}

export interface CandidateRow {
  kind: ObservableKind;
  value: string;
  report: ActivityRow;
}

/**
 * Observables of the window's reports that two or more teams reported, with every report of the
 * window that has them. Whether they count as related (one incident shared between teams does
 * not; a network only without a common address) is the service's rule, applied to these rows.
 */
export async function relatedCandidates(db: DbOrTx, w: OverviewWindow): Promise<CandidateRow[]> {
  const win = windowCondition(w, 'a');
  const involves = w.team ? sql<boolean>`bool_or(o.team = ${w.team})` : sql<boolean>`true`;
  const rows = await sql<RawActivity & { o_kind: string; o_value: string }>`
    with cand as (
      select o.kind, o.value from activity_observable o
      join member_activity a on a.team = o.team and a.ref = o.ref
      where ${win}
      group by o.kind, o.value
      having count(distinct o.team) >= 2 and ${involves}
    )
    select c.kind as o_kind, c.value as o_value, a.*
    from cand c
    join activity_observable o on o.kind = c.kind and o.value = c.value
    join member_activity a on a.team = o.team and a.ref = o.ref
    where ${win}
    order by c.kind, c.value, a.team, a.ref`.execute(db);
  return rows.rows.map((r) => ({ kind: r.o_kind as ObservableKind, value: r.o_value, report: toActivity(r) }));
}
