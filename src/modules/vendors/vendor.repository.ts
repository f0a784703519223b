import type { Selectable } from 'kysely';
import type { VendorQuestionTable } from '../../db/vendor-tables.js';
import type { DbOrTx, Tx } from '../../db/database.js';
import type { QUESTION_STATES } from '../../../schemas/vendor.schema.js';

/** SQL of vendors, vulnerability cases, vendor questions and statements (migration 0029). */

export interface VendorRecord {
  id: string;
  name: string;
  teamId: string | null;
  email: string | null;
  publicKey: string | null;
  fingerprint: string | null;
  createdAt: Date;
  createdBy: string;
  updatedAt: Date;
}

export interface CaseRecord {
  id: string;
  title: string;
  description: string;
  tlp: string;
  incidentRefs: string[];
  products: Array<{ vendor: string; product: string; versions: string[] }>;
  cveIds: string[];
  embargoUntil: Date | null;
  parties: string[];
  version: number;
  createdAt: Date;
  createdBy: string;
  updatedAt: Date;
}

export interface QuestionRecord {
  id: string;
  direction: 'sent' | 'received';
  caseId: string;
  vendorId: string | null;
  askerTeam: string | null;
  channel: 'federation' | 'email';
  state: (typeof QUESTION_STATES)[number];
  messageId: string | null;
  remoteQuestion: string | null;
  content: {
    title: string;
    description: string;
    products: Array<{ product: string; versions: string[] }>;
    cveIds: string[];
    embargoUntil: string | null;
  };
  tlp: string;
  createdAt: Date;
  createdBy: string;
}

export interface StatementRecord {
  direction: 'received' | 'sent';
  caseId: string;
  vendorId: string;
  product: string;
  status: 'affected' | 'not affected' | 'under investigation';
  fixedVersions: string[];
  text: string | null;
  provenance: 'federation' | 'openpgp' | 'manual';
  signedText: string | null;
  messageId: string | null;
  recordedAt: Date;
  recordedBy: string;
}

const json = <T>(value: unknown): T => (typeof value === 'string' ? JSON.parse(value) : value) as T;

// ---------------------------------------------------------------------------------------------
// Vendors

type VendorRow = {
  id: string;
  name: string;
  team_id: string | null;
  email: string | null;
  public_key: string | null;
  fingerprint: string | null;
  created_at: Date | string;
  created_by: string;
  updated_at: Date | string;
};

const toVendor = (r: VendorRow): VendorRecord => ({
  id: r.id,
  name: r.name,
  teamId: r.team_id,
  email: r.email,
  publicKey: r.public_key,
  fingerprint: r.fingerprint,
  createdAt: new Date(r.created_at),
  createdBy: r.created_by,
  updatedAt: new Date(r.updated_at),
});

export async function insertVendor(tx: Tx, v: VendorRecord): Promise<boolean> {
  const res = await tx
    .insertInto('vendor')
    .values({
      id: v.id,
      name: v.name,
      team_id: v.teamId,
      email: v.email,
      public_key: v.publicKey,
      fingerprint: v.fingerprint,
      created_at: v.createdAt,
      created_by: v.createdBy,
      updated_at: v.updatedAt,
    })
    .onConflict((oc) => oc.doNothing())
    .executeTakeFirst();
  return Number(res.numInsertedOrUpdatedRows ?? 0n) === 1;
}

export async function updateVendor(
  tx: Tx,
  id: string,
  changes: { name: string; email: string | null; publicKey: string | null; fingerprint: string | null },
  at: Date,
): Promise<void> {
  await tx
    .updateTable('vendor')
    .set({ name: changes.name, email: changes.email, public_key: changes.publicKey, fingerprint: changes.fingerprint, updated_at: at })
    .where('id', '=', id)
    .execute();
}

export async function deleteVendor(tx: Tx, id: string): Promise<void> {
  await tx.deleteFrom('vendor').where('id', '=', id).execute();
}

export async function findVendor(db: DbOrTx, id: string): Promise<VendorRecord | null> {
  const row = await db.selectFrom('vendor').selectAll().where('id', '=', id).executeTakeFirst();
  return row ? toVendor(row) : null;
}

export async function findVendorByTeam(db: DbOrTx, teamId: string): Promise<VendorRecord | null> {
  const row = await db.selectFrom('vendor').selectAll().where('team_id', '=', teamId).executeTakeFirst();
  return row ? toVendor(row) : null;
}

export async function listVendors(db: DbOrTx): Promise<VendorRecord[]> {
  return (await db.selectFrom('vendor').selectAll().orderBy('id').limit(1000).execute()).map(toVendor);
}

// ---------------------------------------------------------------------------------------------
// Cases

type CaseRow = {
  id: string;
  title: string;
  description: string;
  tlp: string;
  incident_refs: unknown;
  products: unknown;
  cve_ids: unknown;
  embargo_until: Date | string | null;
  parties: unknown;
  version: number;
  created_at: Date | string;
  created_by: string;
  updated_at: Date | string;
};

const toCase = (r: CaseRow): CaseRecord => ({
  id: r.id,
  title: r.title,
  description: r.description,
  tlp: r.tlp,
  incidentRefs: json(r.incident_refs),
  products: json(r.products),
  cveIds: json(r.cve_ids),
  embargoUntil: r.embargo_until === null ? null : new Date(r.embargo_until),
  parties: json(r.parties),
  version: r.version,
  createdAt: new Date(r.created_at),
  createdBy: r.created_by,
  updatedAt: new Date(r.updated_at),
});

const caseColumns = (c: CaseRecord) => ({
  title: c.title,
  description: c.description,
  tlp: c.tlp,
  incident_refs: JSON.stringify(c.incidentRefs),
  products: JSON.stringify(c.products),
  cve_ids: JSON.stringify(c.cveIds),
  embargo_until: c.embargoUntil,
  parties: JSON.stringify(c.parties),
  version: c.version,
  updated_at: c.updatedAt,
});

export async function insertCase(tx: Tx, c: CaseRecord): Promise<boolean> {
  const res = await tx
    .insertInto('vulnerability_case')
    .values({ id: c.id, ...caseColumns(c), created_at: c.createdAt, created_by: c.createdBy })
    .onConflict((oc) => oc.doNothing())
    .executeTakeFirst();
  return Number(res.numInsertedOrUpdatedRows ?? 0n) === 1;
}

export async function updateCase(tx: Tx, c: CaseRecord): Promise<void> {
  await tx.updateTable('vulnerability_case').set(caseColumns(c)).where('id', '=', c.id).execute();
}

export async function findCase(db: DbOrTx, id: string, forUpdate = false): Promise<CaseRecord | null> {
  let q = db.selectFrom('vulnerability_case').selectAll().where('id', '=', id);
  if (forUpdate) q = q.forUpdate();
  const row = await q.executeTakeFirst();
  return row ? toCase(row) : null;
}

export async function listCases(db: DbOrTx): Promise<CaseRecord[]> {
  return (await db.selectFrom('vulnerability_case').selectAll().orderBy('created_at', 'desc').limit(500).execute()).map(toCase);
}

/** Cases that name a vendor, as a party or in a product (a vendor in use is not deleted). */
export async function casesNamingVendor(db: DbOrTx, vendorId: string): Promise<string[]> {
  const cases = await listCases(db);
  return cases.filter((c) => c.parties.includes(vendorId) || c.products.some((p) => p.vendor === vendorId)).map((c) => c.id);
}

// ---------------------------------------------------------------------------------------------
// Questions

type QuestionRow = Selectable<VendorQuestionTable>;

const toQuestion = (r: QuestionRow): QuestionRecord => ({
  id: r.id,
  direction: r.direction as QuestionRecord['direction'],
  caseId: r.case_id,
  vendorId: r.vendor_id,
  askerTeam: r.asker_team,
  channel: r.channel as QuestionRecord['channel'],
  state: r.state as QuestionRecord['state'],
  messageId: r.message_id,
  remoteQuestion: r.remote_question,
  content: json(r.content),
  tlp: r.tlp,
  createdAt: new Date(r.created_at),
  createdBy: r.created_by,
});

/** false: a received question already held (the same message again). */
export async function insertQuestion(tx: Tx, q: QuestionRecord): Promise<boolean> {
  const res = await tx
    .insertInto('vendor_question')
    .values({
      id: q.id,
      direction: q.direction,
      case_id: q.caseId,
      vendor_id: q.vendorId,
      asker_team: q.askerTeam,
      channel: q.channel,
      state: q.state,
      message_id: q.messageId,
      remote_question: q.remoteQuestion,
      content: JSON.stringify(q.content),
      tlp: q.tlp,
      created_at: q.createdAt,
      created_by: q.createdBy,
    })
    .onConflict((oc) => oc.doNothing())
    .executeTakeFirst();
  return Number(res.numInsertedOrUpdatedRows ?? 0n) === 1;
}

export async function setQuestionState(tx: Tx, id: string, state: QuestionRecord['state'], messageId?: string): Promise<void> {
  await tx
    .updateTable('vendor_question')
    .set(messageId ? { state, message_id: messageId } : { state })
    .where('id', '=', id)
    .execute();
}

export async function findQuestion(db: DbOrTx, id: string): Promise<QuestionRecord | null> {
  const row = await db.selectFrom('vendor_question').selectAll().where('id', '=', id).executeTakeFirst();
  return row ? toQuestion(row) : null;
}

/** A question we sent by e-mail, by the Message-ID its mail went out with (a reply names it). */
export async function findEmailQuestionByMessage(db: DbOrTx, messageId: string): Promise<QuestionRecord | null> {
  const row = await db
    .selectFrom('vendor_question')
    .selectAll()
    .where('message_id', '=', messageId)
    .where('direction', '=', 'sent')
    .where('channel', '=', 'email')
    .executeTakeFirst();
  return row ? toQuestion(row) : null;
}

/** Questions to e-mail vendors that wait for the channel, oldest first, locked for the one that sends them. */
export async function awaitingEmailQuestions(tx: Tx, limit: number): Promise<QuestionRecord[]> {
  const rows = await tx
    .selectFrom('vendor_question')
    .selectAll()
    .where('state', '=', 'awaiting-email')
    .orderBy('created_at')
    .limit(limit)
    .forUpdate()
    .execute();
  return rows.map(toQuestion);
}

export async function questionsOfCase(db: DbOrTx, caseId: string): Promise<QuestionRecord[]> {
  const rows = await db
    .selectFrom('vendor_question')
    .selectAll()
    .where('direction', '=', 'sent')
    .where('case_id', '=', caseId)
    .orderBy('created_at')
    .orderBy('id')
    .execute();
  return rows.map(toQuestion);
}

export async function receivedQuestions(db: DbOrTx): Promise<QuestionRecord[]> {
  const rows = await db
    .selectFrom('vendor_question')
    .selectAll()
    .where('direction', '=', 'received')
    .orderBy('created_at', 'desc')
    .limit(500)
    .execute();
  return rows.map(toQuestion);
}

// ---------------------------------------------------------------------------------------------
// Statements

type StatementRow = {
  direction: string;
  case_id: string;
  vendor_id: string;
  product: string;
  status: string;
  fixed_versions: unknown;
  statement_text: string | null;
  provenance: string;
  signed_text: string | null;
  message_id: string | null;
  recorded_at: Date | string;
  recorded_by: string;
};

const toStatement = (r: StatementRow): StatementRecord => ({
  direction: r.direction as StatementRecord['direction'],
  caseId: r.case_id,
  vendorId: r.vendor_id,
  product: r.product,
  status: r.status as StatementRecord['status'],
  fixedVersions: json(r.fixed_versions),
  text: r.statement_text,
  provenance: r.provenance as StatementRecord['provenance'],
  signedText: r.signed_text,
  messageId: r.message_id,
  recordedAt: new Date(r.recorded_at),
  recordedBy: r.recorded_by,
});

export async function insertStatement(tx: Tx, s: StatementRecord): Promise<void> {
  await tx
    .insertInto('vendor_statement')
    .values({
      direction: s.direction,
      case_id: s.caseId,
      vendor_id: s.vendorId,
      product: s.product,
      status: s.status,
      fixed_versions: JSON.stringify(s.fixedVersions),
      statement_text: s.text,
      provenance: s.provenance,
      signed_text: s.signedText,
      message_id: s.messageId,
      recorded_at: s.recordedAt,
      recorded_by: s.recordedBy,
    })
    .execute();
}

/**
 * What we sent, as the vendor, in answer to a question asked of us, oldest first. Our statements
 * are stored with the received question's id in case_id (migration 0029): a question is the one
 * thing they answer, and the asker's case id is not unique across askers.
 */
export async function statementsSentFor(db: DbOrTx, questionId: string): Promise<StatementRecord[]> {
  const rows = await db
    .selectFrom('vendor_statement')
    .selectAll()
    .where('direction', '=', 'sent')
    .where('case_id', '=', questionId)
    .orderBy('seq')
    .limit(500)
    .execute();
  return rows.map(toStatement);
}

/** Statements received about one of our cases, oldest first. */
export async function statementsOfCase(db: DbOrTx, caseId: string): Promise<StatementRecord[]> {
  const rows = await db
    .selectFrom('vendor_statement')
    .selectAll()
    .where('direction', '=', 'received')
    .where('case_id', '=', caseId)
    .orderBy('seq')
    .execute();
  return rows.map(toStatement);
}
