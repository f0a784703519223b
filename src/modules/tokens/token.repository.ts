import type { DbOrTx } from '../../db/database.js';

export async function insertRevocation(db: DbOrTx, tokenId: string, revokedBy: string, at: Date): Promise<boolean> {
  const result = await db
    .insertInto('token_revocation')
    .values({ token_id: tokenId, revoked_by: revokedBy, revoked_at: at })
    .onConflict((oc) => oc.column('token_id').doNothing())
    .executeTakeFirst();
  return Number(result.numInsertedOrUpdatedRows ?? 0) > 0;
}

export async function isTokenRevoked(db: DbOrTx, tokenId: string): Promise<boolean> {
  const row = await db.selectFrom('token_revocation').select('token_id').where('token_id', '=', tokenId).executeTakeFirst();
  return row !== undefined;
}
