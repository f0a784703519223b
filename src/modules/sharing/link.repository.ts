import { sql } from 'kysely';
import { jsonbParameter } from '../../db/jsonb-parameter.js';
import type { DbOrTx, Tx } from '../../db/database.js';

/**
 * SQL of the links between our incidents and peers (incident_link: who holds a copy, in which
 * direction, under which reference number) and of the other teams' reference numbers for our
 * incidents (incident_external_ref). The sharing module owns both tables.
 */

const iso = (d: Date | string | null): string | null => (d === null ? null : new Date(d).toISOString());

// ---------------------------------------------------------------------------------------------
// Links

export interface LinkRow {
  incidentId: string;
  peerTeam: string;
  direction: 'outgoing' | 'incoming';
  peerRef: string | null;
  reportMessageId: string | null;
  createdAt: string;
  createdBy: string;
}

type RawLink = {
  incident_id: string;
  peer_team: string;
  direction: string;
  peer_ref: string | null;
  report_message_id: string | null;
  created_at: Date | string;
  created_by: string;
};
const toLink = (r: RawLink): LinkRow => ({
  incidentId: r.incident_id,
  peerTeam: r.peer_team,
  direction: r.direction as LinkRow['direction'],
  peerRef: r.peer_ref,
  reportMessageId: r.report_message_id,
  createdAt: iso(r.created_at)!,
  createdBy: r.created_by,
});

export async function findLink(db: DbOrTx, incidentId: string, peerTeam: string): Promise<LinkRow | null> {
  const row = await db
    .selectFrom('incident_link')
    .selectAll()
    .where('incident_id', '=', incidentId)
    .where('peer_team', '=', peerTeam)
    .executeTakeFirst();
  return row ? toLink(row) : null;
}

export async function listLinks(db: DbOrTx, incidentId: string): Promise<LinkRow[]> {
  const rows = await db
    .selectFrom('incident_link')
    .selectAll()
    .where('incident_id', '=', incidentId)
    .orderBy('created_at')
    .orderBy('peer_team')
    .execute();
  return rows.map(toLink);
}

/** Our incident linked to `peerTeam` whose reference number at that peer is `peerRef`. */
export async function findLinkByPeerRef(db: DbOrTx, peerTeam: string, peerRef: string): Promise<LinkRow | null> {
  const row = await db
    .selectFrom('incident_link')
    .selectAll()
    .where('peer_team', '=', peerTeam)
    .where('peer_ref', '=', peerRef)
    .executeTakeFirst();
  return row ? toLink(row) : null;
}

/** Our copy of `peerTeam`'s report `peerRef` (a link that came in from that team), as our incident id. */
export async function findCopyByPeerRef(db: DbOrTx, peerTeam: string, peerRef: string): Promise<string | null> {
  const link = await findLinkByPeerRef(db, peerTeam, peerRef);
  return link?.direction === 'incoming' ? link.incidentId : null;
}

/** Our incident `ourRef`, if it is linked to `peerTeam`. */
export async function findLinkByOurRef(db: DbOrTx, peerTeam: string, ourRef: string): Promise<LinkRow | null> {
  const row = await db
    .selectFrom('incident_link')
    .innerJoin('incident', 'incident.id', 'incident_link.incident_id')
    .selectAll('incident_link')
    .where('incident_link.peer_team', '=', peerTeam)
    .where('incident.ref', '=', ourRef)
    .executeTakeFirst();
  return row ? toLink(row) : null;
}

export async function insertLink(tx: Tx, link: Omit<LinkRow, 'createdAt'> & { at: Date }): Promise<void> {
  await tx
    .insertInto('incident_link')
    .values({
      incident_id: link.incidentId,
      peer_team: link.peerTeam,
      direction: link.direction,
      peer_ref: link.peerRef,
      report_message_id: link.reportMessageId,
      created_at: link.at,
      created_by: link.createdBy,
    })
    .execute();
}

export async function setLinkReport(tx: Tx, incidentId: string, peerTeam: string, reportMessageId: string): Promise<void> {
  await tx
    .updateTable('incident_link')
    .set({ report_message_id: reportMessageId })
    .where('incident_id', '=', incidentId)
    .where('peer_team', '=', peerTeam)
    .execute();
}

export async function setLinkPeerRef(db: DbOrTx, incidentId: string, peerTeam: string, peerRef: string): Promise<void> {
  await db
    .updateTable('incident_link')
    .set({ peer_ref: peerRef })
    .where('incident_id', '=', incidentId)
    .where('peer_team', '=', peerTeam)
    .execute();
}

/** Keeps the first reference number a team gave for an incident; a later, different one does not replace it. */
export async function addExternalRefIfMissing(db: DbOrTx, incidentId: string, teamId: string, ref: string): Promise<void> {
  await db
    .insertInto('incident_external_ref')
    .values({ incident_id: incidentId, team_id: teamId, ref })
    .onConflict((oc) => oc.columns(['incident_id', 'team_id']).doNothing())
    .execute();
}

/** Our incident that carries `ref` as `teamId`'s reference number, if any. */
export async function findIncidentIdByExternalRef(db: DbOrTx, teamId: string, ref: string): Promise<string | null> {
  const row = await db
    .selectFrom('incident_external_ref')
    .select('incident_id')
    .where('team_id', '=', teamId)
    .where('ref', '=', ref)
    .executeTakeFirst();
  return row?.incident_id ?? null;
}

/** One key for a report: the team that sent it and its reference number. */
export const reportKey = (team: string, ref: string): string => `${team}\u0000${ref}`;

/** Which of these reports (the sender and the sender's reference number) are linked to an incident here, as reportKeys: one round trip. */
export async function findLinkedReports(tx: DbOrTx, reports: Array<{ peerTeam: string; peerRef: string }>): Promise<Set<string>> {
  const linked = new Set<string>();
  if (reports.length === 0) return linked;
  // Two arrays unnested into pairs: the planner probes the unique index once per pair, and the
  // statement text stays the same whatever the group's size.
  const { rows } = await sql<{ peer_team: string; peer_ref: string }>`
    select peer_team, peer_ref from incident_link
     where (peer_team, peer_ref) in (select * from unnest(${reports.map((r) => r.peerTeam)}::text[], ${reports.map((r) => r.peerRef)}::text[]))`.execute(
    tx,
  );
  for (const row of rows) linked.add(reportKey(row.peer_team, row.peer_ref));
  return linked;
}

/**
 * Filed reports' links to their senders (direction incoming) and the senders' reference
 * numbers, for a whole group in one statement (one jsonb parameter): filing holds the
 * reference-number lock until commit, so every round trip saved is time other reports do not wait.
 */
export async function insertIncomingLinks(
  tx: Tx,
  links: Array<{ incidentId: string; peerTeam: string; peerRef: string; at: Date }>,
): Promise<void> {
  if (links.length === 0) return;
  const rows = JSON.stringify(
    links.map((l) => ({
      incident_id: l.incidentId,
      peer_team: l.peerTeam,
      peer_ref: l.peerRef,
      at: l.at.toISOString(),
    })),
  );
  await sql`
    with v as (
      select * from jsonb_to_recordset(${jsonbParameter(rows)}::jsonb) as v(incident_id uuid, peer_team text, peer_ref text, at timestamptz)
    ),
    external_ref as (
      insert into incident_external_ref (incident_id, team_id, ref)
      select incident_id, peer_team, peer_ref from v
      on conflict (incident_id, team_id) do nothing
      returning incident_id
    )
    insert into incident_link (incident_id, peer_team, direction, peer_ref, report_message_id, created_at, created_by)
    select incident_id, peer_team, 'incoming', peer_ref, null, at, peer_team from v`.execute(tx);
}
