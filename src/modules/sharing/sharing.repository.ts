import { randomUUID } from 'node:crypto';
import { sql, type Selectable } from 'kysely';
import type { DbOrTx, Tx } from '../../db/database.js';
import { jsonbParameter } from '../../db/jsonb-parameter.js';
import type { IncidentPolicyTable, LawEnforcementApprovalTable } from '../../db/tables.js';
import type { Tlp } from '../../../schemas/common.schema.js';
import type {
  LawEnforcementApproval,
  Provenance,
  ProvenanceHop,
  RedistributionLimit,
  SectionMinimums,
} from '../../../schemas/policy.schema.js';

/**
 * SQL for the per-incident policy facts (incident_policy) and law-enforcement approvals
 * (migration 0005). No rules here: the sharing service turns these into a PolicyItem.
 */

export interface IncidentPolicyRecord {
  incidentId: string;
  redRecipients: string[];
  chosenRecipients: string[];
  sectionMinimums: SectionMinimums;
  /** Null for our own incidents. */
  provenance: Provenance | null;
  version: number;
  updatedAt: Date;
  updatedBy: string;
}

export interface ApprovalRecord extends Required<LawEnforcementApproval> {
  id: string;
  incidentId: string;
}

export async function findIncidentPolicy(db: DbOrTx, incidentId: string): Promise<IncidentPolicyRecord | null> {
  const row = await db.selectFrom('incident_policy').selectAll().where('incident_id', '=', incidentId).executeTakeFirst();
  return row ? toIncidentPolicy(row) : null;
}

/** The policy facts of many incidents at once (the pull feed decides a page at a time), by incident id; absent = no row. */
export async function findIncidentPolicies(db: DbOrTx, incidentIds: string[]): Promise<Map<string, IncidentPolicyRecord>> {
  const map = new Map<string, IncidentPolicyRecord>();
  if (incidentIds.length === 0) return map;
  const rows = await db.selectFrom('incident_policy').selectAll().where('incident_id', 'in', incidentIds).execute();
  for (const row of rows) map.set(row.incident_id, toIncidentPolicy(row));
  return map;
}

function toIncidentPolicy(row: Selectable<IncidentPolicyTable>): IncidentPolicyRecord {
  let provenance: Provenance | null = null;
  if (row.originator_team !== null && row.originator_tlp !== null && Array.isArray(row.provenance)) {
    const chain = row.provenance as ProvenanceHop[];
    provenance = {
      originator: row.originator_team,
      originatorTlp: row.originator_tlp as Tlp,
      // The last hop is the team we received it from: the chain is stored as received.
      receivedFrom: chain[chain.length - 1]?.team ?? row.originator_team,
      ...(row.redistribution !== null ? { limit: row.redistribution as RedistributionLimit } : {}),
      ...(row.relay_requested_to.length > 0 ? { relayRequestedTo: [...row.relay_requested_to] } : {}),
      chain,
    };
  }
  return {
    incidentId: row.incident_id,
    redRecipients: row.red_recipients,
    chosenRecipients: row.chosen_recipients,
    sectionMinimums: row.section_minimums as SectionMinimums,
    provenance,
    version: row.version,
    updatedAt: new Date(row.updated_at),
    updatedBy: row.updated_by,
  };
}

/** What a handler sets on an incident (PUT /incidents/{ref}/policy): replaces both. */
export async function putHandlerPolicy(
  tx: Tx,
  incidentId: string,
  values: { redRecipients: string[]; sectionMinimums: SectionMinimums },
  actor: string,
  at: Date,
): Promise<void> {
  const minimums = JSON.stringify(values.sectionMinimums);
  await tx
    .insertInto('incident_policy')
    .values({
      incident_id: incidentId,
      red_recipients: values.redRecipients,
      section_minimums: minimums,
      updated_at: at,
      updated_by: actor,
    })
    .onConflict((oc) =>
      oc.column('incident_id').doUpdateSet({
        red_recipients: values.redRecipients,
        section_minimums: minimums,
        version: sql<number>`incident_policy.version + 1`,
        updated_at: at,
        updated_by: actor,
      }),
    )
    .execute();
}

/**
 * Remembers that a handler chose `recipient` for this incident (a share), so later updates and
 * the pull feed see the same need to know. Idempotent.
 */
export async function rememberChosenRecipient(tx: DbOrTx, incidentId: string, recipient: string, actor: string, at: Date): Promise<void> {
  await tx
    .insertInto('incident_policy')
    .values({ incident_id: incidentId, chosen_recipients: [recipient], updated_at: at, updated_by: actor })
    .onConflict((oc) =>
      oc
        .column('incident_id')
        .doUpdateSet({
          chosen_recipients: sql<string[]>`array_append(incident_policy.chosen_recipients, ${recipient}::text)`,
          version: sql<number>`incident_policy.version + 1`,
          updated_at: at,
          updated_by: actor,
        })
        .where(sql<boolean>`not (${recipient}::text = any(incident_policy.chosen_recipients))`),
    )
    .execute();
}

/** Where a received report came from and the limits its originator set (the exchange records it when it files the report). */
export interface ReceivedProvenance {
  /** The team that first reported it. */
  originatorTeam: string;
  /** The label the originator gave it. */
  originatorTlp: Tlp;
  /** The originator's stated redistribution limit, on top of what the label implies; absent/null: none stated. */
  redistribution?: RedistributionLimit | null;
  /** The hops it travelled, originator first, the team we received it from last (as received; we are not in it). */
  chain: ProvenanceHop[];
  /** Teams the originator asked us to relay it to. */
  relayRequestedTo?: string[];
}

/**
 * Records (or replaces) the provenance of a received report, inside the transaction that files
 * it. `actor` defaults to the team we received it from.
 */
export async function recordReceivedProvenance(
  tx: Tx,
  incidentId: string,
  p: ReceivedProvenance,
  options: { at?: Date; actor?: string } = {},
): Promise<void> {
  await recordReceivedProvenances(tx, [{ incidentId, provenance: p, ...options }]);
}

/** {@link recordReceivedProvenance} for several incidents, in one statement. */
export async function recordReceivedProvenances(
  tx: Tx,
  items: Array<{ incidentId: string; provenance: ReceivedProvenance; at?: Date; actor?: string }>,
): Promise<void> {
  if (items.length === 0) return;
  const rows = items.map(({ incidentId, provenance: p, at, actor }) => {
    if (p.chain.length === 0) throw new TypeError('recordReceivedProvenance: the chain needs at least the originator hop');
    return {
      incident_id: incidentId,
      provenance: p.chain,
      originator_team: p.originatorTeam,
      originator_tlp: p.originatorTlp,
      redistribution: p.redistribution ?? null,
      relay_requested_to: [...new Set(p.relayRequestedTo ?? [])],
      updated_at: at ?? new Date(),
      updated_by: actor ?? p.chain[p.chain.length - 1]!.team,
    };
  });
  // One jsonb parameter for the group's rows rather than eight parameters a row.
  await sql`
    insert into incident_policy (incident_id, provenance, originator_team, originator_tlp, redistribution, relay_requested_to, updated_at, updated_by)
    select incident_id, provenance, originator_team, originator_tlp, redistribution, relay_requested_to, updated_at, updated_by
      from jsonb_populate_recordset(null::incident_policy, ${jsonbParameter(JSON.stringify(rows))}::jsonb)
    on conflict (incident_id) do update set
      provenance = excluded.provenance, originator_team = excluded.originator_team, originator_tlp = excluded.originator_tlp,
      redistribution = excluded.redistribution, relay_requested_to = excluded.relay_requested_to,
      version = incident_policy.version + 1, updated_at = excluded.updated_at, updated_by = excluded.updated_by`.execute(tx);
}

export async function listApprovals(db: DbOrTx, incidentId: string): Promise<ApprovalRecord[]> {
  const rows = await db
    .selectFrom('law_enforcement_approval')
    .selectAll()
    .where('incident_id', '=', incidentId)
    .orderBy('approved_at')
    .orderBy('id')
    .execute();
  return rows.map(toApproval);
}

/** The approvals of many incidents at once, by incident id, each list in the order listApprovals gives. */
export async function listApprovalsFor(db: DbOrTx, incidentIds: string[]): Promise<Map<string, ApprovalRecord[]>> {
  const map = new Map<string, ApprovalRecord[]>();
  if (incidentIds.length === 0) return map;
  const rows = await db
    .selectFrom('law_enforcement_approval')
    .selectAll()
    .where('incident_id', 'in', incidentIds)
    .orderBy('approved_at')
    .orderBy('id')
    .execute();
  for (const row of rows) {
    const list = map.get(row.incident_id) ?? [];
    list.push(toApproval(row));
    map.set(row.incident_id, list);
  }
  return map;
}

function toApproval(r: Selectable<LawEnforcementApprovalTable>): ApprovalRecord {
  return {
    id: r.id,
    incidentId: r.incident_id,
    recipient: r.recipient,
    legalBasis: r.legal_basis,
    approvedBy: r.approved_by,
    approvedAt: new Date(r.approved_at).toISOString(),
  };
}

export async function insertApproval(
  tx: Tx,
  a: { incidentId: string; recipient: string; legalBasis: string; approvedBy: string; at: Date },
): Promise<ApprovalRecord> {
  const id = randomUUID();
  await tx
    .insertInto('law_enforcement_approval')
    .values({
      id,
      incident_id: a.incidentId,
      recipient: a.recipient,
      legal_basis: a.legalBasis,
      approved_by: a.approvedBy,
      approved_at: a.at,
    })
    .execute();
  return {
    id,
    incidentId: a.incidentId,
    recipient: a.recipient,
    legalBasis: a.legalBasis,
    approvedBy: a.approvedBy,
    approvedAt: a.at.toISOString(),
  };
}

/**
 * Replaces the label part of a received report's provenance (a label change its originator, or a
 * hop before us, sent): the originator's label, the chain's labels and the limit they imply.
 */
export async function relabelReceivedProvenance(
  tx: Tx,
  incidentId: string,
  p: { originatorTlp: Tlp; chain: ProvenanceHop[]; redistribution: RedistributionLimit },
  options: { at: Date; actor: string },
): Promise<void> {
  await tx
    .updateTable('incident_policy')
    .set({
      originator_tlp: p.originatorTlp,
      provenance: JSON.stringify(p.chain),
      redistribution: p.redistribution,
      version: sql<number>`version + 1`,
      updated_at: options.at,
      updated_by: options.actor,
    })
    .where('incident_id', '=', incidentId)
    .execute();
}
