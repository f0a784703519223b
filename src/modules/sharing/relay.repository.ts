import { sql, type Selectable } from 'kysely';
import type { DbOrTx, Tx } from '../../db/database.js';
import { jsonbParameter } from '../../db/jsonb-parameter.js';
import type { RelayTable } from '../../db/relay-tables.js';
import type { Relay, RelayTarget, ReportProvenanceHop } from '../../../schemas/relay.schema.js';
import type { HopCheck } from './relay-hops.js';

/**
 * SQL for relays and signed provenance (migration 0026). No rules here: relay.service.ts and
 * relay-intake.ts decide; these read and write rows.
 */

export interface RelayRow extends Relay {
  incidentId: string;
  requestedRef: string | null;
  receipt: string | null;
}

export interface NewRelay {
  originTeam: string;
  originId: string;
  originRef: string;
  role: Relay['role'];
  state: Relay['state'];
  incidentId: string;
  requestedFrom: string | null;
  requestedRef: string | null;
  via: string | null;
  target: RelayTarget;
  targetTeam: string | null;
  messageId: string | null;
  at: Date;
}

const toRelay = (r: Selectable<RelayTable>): RelayRow => ({
  origin: { team: r.origin_team, id: r.origin_id, ref: r.origin_ref },
  role: r.role as Relay['role'],
  state: r.state as Relay['state'],
  incidentId: r.incident_id,
  requestedFrom: r.requested_from,
  requestedRef: r.requested_ref,
  via: r.via,
  target: r.target as RelayTarget,
  targetTeam: r.target_team,
  targetRef: r.target_ref,
  messageId: r.message_id,
  receipt: r.receipt,
  reasons: r.reasons,
  deniedBy: r.denied_by,
  refusedBy: r.refused_by,
  createdAt: new Date(r.created_at).toISOString(),
  updatedAt: new Date(r.updated_at).toISOString(),
});

/** Inserts a relay row; false when this node already holds one for that origin (a repeat, or a loop). */
export async function insertRelay(tx: Tx, r: NewRelay): Promise<boolean> {
  const inserted = await tx
    .insertInto('relay')
    .values({
      origin_team: r.originTeam,
      origin_id: r.originId,
      origin_ref: r.originRef,
      role: r.role,
      state: r.state,
      incident_id: r.incidentId,
      requested_from: r.requestedFrom,
      requested_ref: r.requestedRef,
      via: r.via,
      target: JSON.stringify(r.target),
      target_team: r.targetTeam,
      message_id: r.messageId,
      created_at: r.at,
      updated_at: r.at,
    })
    .onConflict((oc) => oc.columns(['origin_team', 'origin_id']).doNothing())
    .returning('origin_id')
    .executeTakeFirst();
  return inserted !== undefined;
}

export async function findRelay(db: DbOrTx, originTeam: string, originId: string, forUpdate = false): Promise<RelayRow | null> {
  let q = db.selectFrom('relay').selectAll().where('origin_team', '=', originTeam).where('origin_id', '=', originId);
  if (forUpdate) q = q.forUpdate();
  const row = await q.executeTakeFirst();
  return row ? toRelay(row) : null;
}

/** The relay whose forward (or request) went out as message `messageId`. */
export async function findRelayByMessage(db: DbOrTx, messageId: string): Promise<RelayRow | null> {
  const row = await db.selectFrom('relay').selectAll().where('message_id', '=', messageId).executeTakeFirst();
  return row ? toRelay(row) : null;
}

export async function listRelays(db: DbOrTx, incidentId: string): Promise<RelayRow[]> {
  const rows = await db.selectFrom('relay').selectAll().where('incident_id', '=', incidentId).orderBy('created_at').execute();
  return rows.map(toRelay);
}

export async function markForwarded(
  tx: Tx,
  originTeam: string,
  originId: string,
  f: { via: string; targetTeam: string | null; messageId: string; at: Date },
) {
  await tx
    .updateTable('relay')
    .set({ state: 'forwarded', via: f.via, target_team: f.targetTeam, message_id: f.messageId, updated_at: f.at })
    .where('origin_team', '=', originTeam)
    .where('origin_id', '=', originId)
    .execute();
}

export async function markDelivered(
  tx: Tx,
  originTeam: string,
  originId: string,
  d: { targetTeam: string; targetRef: string; receipt: string; at: Date },
): Promise<void> {
  await tx
    .updateTable('relay')
    .set({ state: 'delivered', target_team: d.targetTeam, target_ref: d.targetRef, receipt: d.receipt, updated_at: d.at })
    .where('origin_team', '=', originTeam)
    .where('origin_id', '=', originId)
    .execute();
}

export async function markRefused(
  tx: Tx,
  originTeam: string,
  originId: string,
  r: { by: string; reasons: string[]; deniedBy: string[]; at: Date },
): Promise<void> {
  await tx
    .updateTable('relay')
    .set({ state: 'refused', refused_by: r.by, reasons: JSON.stringify(r.reasons), denied_by: r.deniedBy, updated_at: r.at })
    .where('origin_team', '=', originTeam)
    .where('origin_id', '=', originId)
    .execute();
}

/** Adds teams the originator asked us to relay a report to (incident_policy.relay_requested_to: the policy reads it). */
export async function addRelayRequestedTo(tx: Tx, incidentId: string, teams: string[], at: Date, actor: string): Promise<void> {
  for (const team of teams) {
    await tx
      .updateTable('incident_policy')
      .set({
        relay_requested_to: sql<string[]>`array_append(relay_requested_to, ${team}::text)`,
        version: sql<number>`version + 1`,
        updated_at: at,
        updated_by: actor,
      })
      .where('incident_id', '=', incidentId)
      .where(sql<boolean>`not (${team}::text = any(relay_requested_to))`)
      .execute();
  }
}

export interface SignedProvenanceRecord {
  hops: ReportProvenanceHop[];
  checks: HopCheck[];
  receivedAt: Date;
}

/** The signed hops of received copies and what was found about them, in one statement for a group. */
export async function recordSignedProvenances(
  tx: Tx,
  items: Array<{ incidentId: string; hops: ReportProvenanceHop[]; checks: HopCheck[]; at: Date }>,
) {
  if (items.length === 0) return;
  const rows = items.map((i) => ({ incident_id: i.incidentId, hops: i.hops, verification: i.checks, received_at: i.at }));
  await sql`
    insert into incident_signed_provenance (incident_id, hops, verification, received_at)
    select incident_id, hops, verification, received_at
      from jsonb_populate_recordset(null::incident_signed_provenance, ${jsonbParameter(JSON.stringify(rows))}::jsonb)
    on conflict (incident_id) do nothing`.execute(tx);
}

export async function findSignedProvenance(db: DbOrTx, incidentId: string): Promise<SignedProvenanceRecord | null> {
  const row = await db.selectFrom('incident_signed_provenance').selectAll().where('incident_id', '=', incidentId).executeTakeFirst();
  if (!row) return null;
  return { hops: row.hops as ReportProvenanceHop[], checks: row.verification as HopCheck[], receivedAt: new Date(row.received_at) };
}

/**
 * The active peer whose signed profile declares the most specific network holding `address`
 * (RFC 2350 constituency, as the peer signed it), or null. Reads the profile each peer signed
 * and we verified when we pinned it; nothing here is taken from the relay request.
 */
export async function findPeerServingAddress(db: DbOrTx, address: string, exclude: string[]): Promise<string | null> {
  const { rows } = await sql<{ team_id: string }>`
    select p.team_id
      from peer p
     cross join lateral jsonb_array_elements_text(coalesce(p.signed_profile::jsonb #> '{document,profile,constituency,networks}', '[]'::jsonb)) as n(network)
     where p.status = 'active'
       and not (p.team_id = any(${exclude}::text[]))
       and family(n.network::cidr) = family(${address}::inet)
       and ${address}::inet <<= n.network::cidr
     order by masklen(n.network::cidr) desc, p.team_id
     limit 1`.execute(db);
  return rows[0]?.team_id ?? null;
}

/** Whether our own signed profile declares a network holding `address` (our RFC 2350 constituency, next to our sites). */
export async function ownProfileServes(db: DbOrTx, address: string): Promise<boolean> {
  const { rows } = await sql<{ found: number }>`
    select 1 as found
      from team_profile t
     cross join lateral jsonb_array_elements_text(coalesce(t.profile::jsonb #> '{constituency,networks}', '[]'::jsonb)) as n(network)
     where family(n.network::cidr) = family(${address}::inet)
       and ${address}::inet <<= n.network::cidr
     limit 1`.execute(db);
  return rows.length > 0;
}
