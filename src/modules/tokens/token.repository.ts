import type { DbOrTx } from '../../db/database.js';

export async function insertRevocation(db: DbOrTx, tokenId: string, revokedBy: string, at: Date): Promise<boolean> {
  const result = await db
    .insertInto('token_revocation')
    .values({ token_id: tokenId, revoked_by: revokedBy, revoked_at: at })
    .onConflict((oc) => oc.column('token_id').doNothing())
    .executeTakeFirst();
  return Number(result.numInsertedOrUpdatedRows ?? 0) > 0;
}

/** Which of these token ids are revoked: one statement for the tokens of a group of requests. */
export async function revokedAmong(db: DbOrTx, tokenIds: readonly string[]): Promise<Set<string>> {
  if (tokenIds.length === 0) return new Set();
  const rows = await db
    .selectFrom('token_revocation')
    .select('token_id')
    .where('token_id', 'in', [...new Set(tokenIds)])
    .execute();
  return new Set(rows.map((r) => r.token_id));
}
