import type { DbOrTx, Tx } from '../../db/database.js';

/** SQL of investigations asked of peers and by peers (the investigation table). */

const iso = (d: Date | string | null): string | null => (d === null ? null : new Date(d).toISOString());

// ---------------------------------------------------------------------------------------------
// Investigations

export interface InvestigationRow {
  id: string;
  direction: 'outgoing' | 'incoming';
  peerTeam: string;
  incidentId: string;
  peerRef: string | null;
  question: string;
  hosts: unknown[];
  state: 'open' | 'answered';
  finding: string | null;
  summary: string | null;
  resultHosts: unknown[] | null;
  resultMessageId: string | null;
  createdAt: string;
  answeredAt: string | null;
}

type RawInvestigation = {
  id: string;
  direction: string;
  peer_team: string;
  incident_id: string;
  peer_ref: string | null;
  question: string;
  hosts: unknown;
  state: string;
  finding: string | null;
  summary: string | null;
  result_hosts: unknown;
  result_message_id: string | null;
  created_at: Date | string;
  answered_at: Date | string | null;
};
const toInvestigation = (r: RawInvestigation): InvestigationRow => ({
  id: r.id,
  direction: r.direction as InvestigationRow['direction'],
  peerTeam: r.peer_team,
  incidentId: r.incident_id,
  peerRef: r.peer_ref,
  question: r.question,
  hosts: r.hosts as unknown[],
  state: r.state as InvestigationRow['state'],
  finding: r.finding,
  summary: r.summary,
  resultHosts: (r.result_hosts ?? null) as unknown[] | null,
  resultMessageId: r.result_message_id,
  createdAt: iso(r.created_at)!,
  answeredAt: iso(r.answered_at),
});

export async function insertInvestigation(
  tx: Tx,
  row: {
    id: string;
    direction: 'outgoing' | 'incoming';
    peerTeam: string;
    incidentId: string;
    peerRef: string | null;
    question: string;
    hosts: unknown[];
    at: Date;
  },
): Promise<void> {
  await tx
    .insertInto('investigation')
    .values({
      id: row.id,
      direction: row.direction,
      peer_team: row.peerTeam,
      incident_id: row.incidentId,
      peer_ref: row.peerRef,
      question: row.question,
      hosts: JSON.stringify(row.hosts),
      created_at: row.at,
    })
    .execute();
}

export async function findInvestigation(db: DbOrTx, id: string, forUpdate = false): Promise<InvestigationRow | null> {
  let q = db.selectFrom('investigation').selectAll().where('id', '=', id);
  if (forUpdate) q = q.forUpdate();
  const row = await q.executeTakeFirst();
  return row ? toInvestigation(row as RawInvestigation) : null;
}

/** `forUpdate`: locked until the transaction ends (an erasure rewrites them). */
export async function listInvestigations(db: DbOrTx, incidentId: string, forUpdate = false): Promise<InvestigationRow[]> {
  let q = db.selectFrom('investigation').selectAll().where('incident_id', '=', incidentId).orderBy('created_at').orderBy('id');
  if (forUpdate) q = q.forUpdate();
  const rows = await q.execute();
  return rows.map((r) => toInvestigation(r as RawInvestigation));
}

export async function answerInvestigation(
  tx: Tx,
  id: string,
  result: {
    finding: string;
    summary: string;
    hosts: unknown[] | null;
    messageId: string;
    peerRef: string | null;
    at: Date;
  },
): Promise<void> {
  await tx
    .updateTable('investigation')
    .set({
      state: 'answered',
      finding: result.finding,
      summary: result.summary,
      result_hosts: result.hosts === null ? null : JSON.stringify(result.hosts),
      result_message_id: result.messageId,
      answered_at: result.at,
      ...(result.peerRef ? { peer_ref: result.peerRef } : {}),
    })
    .where('id', '=', id)
    .execute();
}

export async function rewriteInvestigation(
  tx: Tx,
  id: string,
  v: { question: string; hosts: unknown[]; finding: string | null; summary: string | null; resultHosts: unknown[] | null },
): Promise<void> {
  await tx
    .updateTable('investigation')
    .set({
      question: v.question,
      hosts: JSON.stringify(v.hosts),
      finding: v.finding,
      summary: v.summary,
      result_hosts: v.resultHosts === null ? null : JSON.stringify(v.resultHosts),
    })
    .where('id', '=', id)
    .execute();
}
