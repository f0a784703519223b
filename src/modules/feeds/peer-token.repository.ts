import type { DbOrTx } from '../../db/database.js';

/** SQL of used peer token requests (peer_token_request): a request id is good for one token. */

// ---------------------------------------------------------------------------------------------
// Token requests

/** Records a token request id; false when it was used before (a replay). Forgets expired ids first. */
export async function useTokenRequest(db: DbOrTx, peerTeam: string, requestId: string, expiresAt: Date, now: Date): Promise<boolean> {
  await db.deleteFrom('peer_token_request').where('expires_at', '<', now).execute();
  const inserted = await db
    .insertInto('peer_token_request')
    .values({ peer_team: peerTeam, request_id: requestId, expires_at: expiresAt })
    .onConflict((oc) => oc.columns(['peer_team', 'request_id']).doNothing())
    .returning('request_id')
    .executeTakeFirst();
  return inserted !== undefined;
}
