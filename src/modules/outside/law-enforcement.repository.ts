import type { Selectable } from 'kysely';
import type { DbOrTx, Tx } from '../../db/database.js';
import type { LawEnforcementPackageTable, LawEnforcementRequestTable } from '../../db/outside-tables.js';
import type { PolicySection } from '../../../schemas/policy.schema.js';

/**
 * SQL of law-enforcement requests and the signed packages made for them (migration 0028). The
 * approvals a decision creates live in the sharing module's law_enforcement_approval.
 */

const iso = (d: Date | string | null): string | null => (d === null ? null : new Date(d).toISOString());

export interface RequestRow {
  id: string;
  origin: 'inbound' | 'proactive';
  agency: string;
  agencyName: string;
  officer: { name: string; contact: string } | null;
  legalBasis: string;
  scope: { incidents: string[]; sections: PolicySection[] | null; information: string | null };
  deadline: string | null;
  receivedAt: string | null;
  text: string | null;
  state: 'pending' | 'approved' | 'declined';
  recordedBy: string;
  recordedAt: string;
  decidedBy: string | null;
  decidedAt: string | null;
  decisionBasis: string | null;
  declineReason: string | null;
}

export interface PackageRow {
  id: string;
  requestId: string;
  agency: string;
  summary: Array<{ id: string; ref: string; tlp: string; detail: string; redactions: string[] }>;
  canonicalJson: string;
  jsonSignature: string;
  text: string;
  textSignature: string;
  signerFingerprint: string;
  payloadSha256: string;
  createdBy: string;
  createdAt: string;
}

const toRequest = (r: Selectable<LawEnforcementRequestTable>): RequestRow => ({
  id: r.id,
  origin: r.origin as RequestRow['origin'],
  agency: r.agency,
  agencyName: r.agency_name,
  officer: r.officer,
  legalBasis: r.legal_basis,
  scope: r.scope as RequestRow['scope'],
  deadline: iso(r.deadline),
  receivedAt: iso(r.received_at),
  text: r.request_text,
  state: r.state as RequestRow['state'],
  recordedBy: r.recorded_by,
  recordedAt: iso(r.recorded_at)!,
  decidedBy: r.decided_by,
  decidedAt: iso(r.decided_at),
  decisionBasis: r.decision_basis,
  declineReason: r.decline_reason,
});

const toPackage = (r: Selectable<LawEnforcementPackageTable>): PackageRow => ({
  id: r.id,
  requestId: r.request_id,
  agency: r.agency,
  summary: r.summary,
  canonicalJson: r.canonical_json,
  jsonSignature: r.json_signature,
  text: r.text_rendering,
  textSignature: r.text_signature,
  signerFingerprint: r.signer_fingerprint,
  payloadSha256: r.payload_sha256,
  createdBy: r.created_by,
  createdAt: iso(r.created_at)!,
});

export async function insertRequest(tx: Tx, row: RequestRow): Promise<void> {
  await tx
    .insertInto('law_enforcement_request')
    .values({
      id: row.id,
      origin: row.origin,
      agency: row.agency,
      agency_name: row.agencyName,
      officer: row.officer === null ? null : JSON.stringify(row.officer),
      legal_basis: row.legalBasis,
      scope: JSON.stringify(row.scope),
      deadline: row.deadline,
      received_at: row.receivedAt,
      request_text: row.text,
      state: row.state,
      recorded_by: row.recordedBy,
      recorded_at: row.recordedAt,
      decided_by: null,
      decided_at: null,
      decision_basis: null,
      decline_reason: null,
    })
    .execute();
}

export async function findRequest(db: DbOrTx, id: string, forUpdate = false): Promise<RequestRow | null> {
  let query = db.selectFrom('law_enforcement_request').selectAll().where('id', '=', id);
  if (forUpdate) query = query.forUpdate();
  const row = await query.executeTakeFirst();
  return row ? toRequest(row) : null;
}

export async function listRequests(db: DbOrTx, limit: number): Promise<RequestRow[]> {
  const rows = await db
    .selectFrom('law_enforcement_request')
    .selectAll()
    .orderBy('recorded_at', 'desc')
    .orderBy('id')
    .limit(limit)
    .execute();
  return rows.map(toRequest);
}

export async function recordDecision(
  tx: Tx,
  id: string,
  d: { state: 'approved' | 'declined'; by: string; at: Date; basis: string | null; reason: string | null },
): Promise<void> {
  await tx
    .updateTable('law_enforcement_request')
    .set({ state: d.state, decided_by: d.by, decided_at: d.at, decision_basis: d.basis, decline_reason: d.reason })
    .where('id', '=', id)
    .execute();
}

export async function insertPackage(tx: Tx, row: PackageRow): Promise<void> {
  await tx
    .insertInto('law_enforcement_package')
    .values({
      id: row.id,
      request_id: row.requestId,
      agency: row.agency,
      summary: JSON.stringify(row.summary),
      canonical_json: row.canonicalJson,
      json_signature: row.jsonSignature,
      text_rendering: row.text,
      text_signature: row.textSignature,
      signer_fingerprint: row.signerFingerprint,
      payload_sha256: row.payloadSha256,
      created_by: row.createdBy,
      created_at: row.createdAt,
    })
    .execute();
}

export async function findPackage(db: DbOrTx, id: string): Promise<PackageRow | null> {
  const row = await db.selectFrom('law_enforcement_package').selectAll().where('id', '=', id).executeTakeFirst();
  return row ? toPackage(row) : null;
}

export async function listPackagesOf(db: DbOrTx, requestIds: string[]): Promise<Map<string, PackageRow[]>> {
  const out = new Map<string, PackageRow[]>();
  if (requestIds.length === 0) return out;
  const rows = await db
    .selectFrom('law_enforcement_package')
    .selectAll()
    .where('request_id', 'in', requestIds)
    .orderBy('created_at')
    .orderBy('id')
    .execute();
  for (const r of rows) {
    const list = out.get(r.request_id) ?? [];
    list.push(toPackage(r));
    out.set(r.request_id, list);
  }
  return out;
}
