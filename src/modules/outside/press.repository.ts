import type { Selectable } from 'kysely';
import type { DbOrTx, Tx } from '../../db/database.js';
import type { PressStatementTable } from '../../db/outside-tables.js';

/** SQL of press statements (migration 0028). */

const iso = (d: Date | string | null): string | null => (d === null ? null : new Date(d).toISOString());

export interface StatementRow {
  id: string;
  title: string;
  text: string;
  /** Incident ids. */
  incidents: string[];
  state: 'draft' | 'published' | 'withdrawn';
  draftedBy: string;
  draftedAt: string;
  approvedBy: string | null;
  publishedAt: string | null;
  withdrawnBy: string | null;
  withdrawnAt: string | null;
  withdrawalReason: string | null;
}

const toRow = (r: Selectable<PressStatementTable>): StatementRow => ({
  id: r.id,
  title: r.title,
  text: r.body,
  incidents: r.incidents,
  state: r.state as StatementRow['state'],
  draftedBy: r.drafted_by,
  draftedAt: iso(r.drafted_at)!,
  approvedBy: r.approved_by,
  publishedAt: iso(r.published_at),
  withdrawnBy: r.withdrawn_by,
  withdrawnAt: iso(r.withdrawn_at),
  withdrawalReason: r.withdrawal_reason,
});

export async function insertStatement(tx: DbOrTx, row: StatementRow): Promise<void> {
  await tx
    .insertInto('press_statement')
    .values({
      id: row.id,
      title: row.title,
      body: row.text,
      incidents: JSON.stringify(row.incidents),
      state: row.state,
      drafted_by: row.draftedBy,
      drafted_at: row.draftedAt,
      approved_by: null,
      published_at: null,
      withdrawn_by: null,
      withdrawn_at: null,
      withdrawal_reason: null,
    })
    .execute();
}

export async function findStatement(db: DbOrTx, id: string, forUpdate = false): Promise<StatementRow | null> {
  let query = db.selectFrom('press_statement').selectAll().where('id', '=', id);
  if (forUpdate) query = query.forUpdate();
  const row = await query.executeTakeFirst();
  return row ? toRow(row) : null;
}

/** Statements newest first; `published` only the ones on /press. */
export async function listStatements(db: DbOrTx, options: { published?: boolean; limit: number }): Promise<StatementRow[]> {
  let query = db.selectFrom('press_statement').selectAll();
  if (options.published) query = query.where('state', '=', 'published').orderBy('published_at', 'desc');
  else query = query.orderBy('drafted_at', 'desc');
  const rows = await query.orderBy('id').limit(options.limit).execute();
  return rows.map(toRow);
}

export async function publishStatement(tx: Tx, id: string, by: string, at: Date): Promise<void> {
  await tx.updateTable('press_statement').set({ state: 'published', approved_by: by, published_at: at }).where('id', '=', id).execute();
}

export async function withdrawStatement(tx: Tx, id: string, by: string, at: Date, reason: string): Promise<void> {
  await tx
    .updateTable('press_statement')
    .set({ state: 'withdrawn', withdrawn_by: by, withdrawn_at: at, withdrawal_reason: reason })
    .where('id', '=', id)
    .execute();
}
