import type { DbOrTx, Tx } from '../../db/database.js';
import type { AdvisoryEdits } from '../../../schemas/csaf.schema.js';

/** SQL of CSAF advisories (migration 0029): one per case, its edits, and what was published last. */

export interface AdvisoryRecord {
  caseId: string;
  trackingId: string;
  edits: AdvisoryEdits;
  version: number;
  revisionHistory: Array<{ date: string; number: string; summary: string }>;
  initialRelease: Date | null;
  currentRelease: Date | null;
  documentText: string | null;
  signature: string | null;
  folder: string | null;
  publishedAt: Date | null;
}

type Row = {
  case_id: string;
  tracking_id: string;
  edits: unknown;
  version: number;
  revision_history: unknown;
  initial_release: Date | string | null;
  current_release: Date | string | null;
  document_text: string | null;
  signature: string | null;
  folder: string | null;
  published_at: Date | string | null;
};

const json = <T>(value: unknown): T => (typeof value === 'string' ? JSON.parse(value) : value) as T;
const date = (v: Date | string | null) => (v === null ? null : new Date(v));

const toRecord = (r: Row): AdvisoryRecord => ({
  caseId: r.case_id,
  trackingId: r.tracking_id,
  edits: json(r.edits),
  version: r.version,
  revisionHistory: json(r.revision_history),
  initialRelease: date(r.initial_release),
  currentRelease: date(r.current_release),
  documentText: r.document_text,
  signature: r.signature,
  folder: r.folder,
  publishedAt: date(r.published_at),
});

export async function findAdvisory(db: DbOrTx, caseId: string, forUpdate = false): Promise<AdvisoryRecord | null> {
  let q = db.selectFrom('csaf_advisory').selectAll().where('case_id', '=', caseId);
  if (forUpdate) q = q.forUpdate();
  const row = await q.executeTakeFirst();
  return row ? toRecord(row) : null;
}

/** false: the case has an advisory already. */
export async function insertAdvisory(tx: Tx, caseId: string, trackingId: string, at: Date): Promise<boolean> {
  const res = await tx
    .insertInto('csaf_advisory')
    .values({
      case_id: caseId,
      tracking_id: trackingId,
      edits: '{}',
      version: 0,
      revision_history: '[]',
      initial_release: null,
      current_release: null,
      document_text: null,
      signature: null,
      folder: null,
      published_at: null,
      created_at: at,
      updated_at: at,
    })
    .onConflict((oc) => oc.doNothing())
    .executeTakeFirst();
  return Number(res.numInsertedOrUpdatedRows ?? 0n) === 1;
}

export async function updateEdits(tx: Tx, caseId: string, edits: AdvisoryEdits, at: Date): Promise<void> {
  await tx
    .updateTable('csaf_advisory')
    .set({ edits: JSON.stringify(edits), updated_at: at })
    .where('case_id', '=', caseId)
    .execute();
}

export async function recordPublication(
  tx: Tx,
  caseId: string,
  p: Pick<AdvisoryRecord, 'version' | 'revisionHistory' | 'initialRelease' | 'currentRelease' | 'documentText' | 'signature' | 'folder'>,
  at: Date,
): Promise<void> {
  await tx
    .updateTable('csaf_advisory')
    .set({
      version: p.version,
      revision_history: JSON.stringify(p.revisionHistory),
      initial_release: p.initialRelease,
      current_release: p.currentRelease,
      document_text: p.documentText,
      signature: p.signature,
      folder: p.folder,
      published_at: at,
      updated_at: at,
    })
    .where('case_id', '=', caseId)
    .execute();
}

/** Advisories published in a folder, most recently changed first (changes.csv's order). */
export async function listPublished(db: DbOrTx, folder: string): Promise<AdvisoryRecord[]> {
  const rows = await db
    .selectFrom('csaf_advisory')
    .selectAll()
    .where('folder', '=', folder)
    .where('document_text', 'is not', null)
    .orderBy('current_release', 'desc')
    .orderBy('tracking_id')
    .limit(10_000)
    .execute();
  return rows.map(toRecord);
}

/** When anything was last published (provider-metadata's last_updated). */
export async function lastPublishedAt(db: DbOrTx): Promise<Date | null> {
  const row = await db
    .selectFrom('csaf_advisory')
    .select((eb) => eb.fn.max('published_at').as('at'))
    .executeTakeFirst();
  return row?.at ? new Date(row.at as Date | string) : null;
}
