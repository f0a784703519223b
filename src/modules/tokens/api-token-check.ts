import type { Db } from '../../db/database.js';
import { createGroupRead } from '../../db/group-read.js';
import type { ApiTokenCheck } from '../../http/auth.js';
import { createApiTokenVerifier } from './token-codec.js';
import { revokedAmong } from './token.repository.js';

/**
 * Every API request's token check: the signature, audience and expiry with a verifier made once,
 * then revocation, read in groups (group-read.ts): the requests that arrive together are checked
 * in one statement. Each check still reads the revocations committed before its request
 * arrived, so a revoked token is refused exactly as with a statement per request.
 */
export function createApiTokenCheck(db: Db, tokenSecret: string): ApiTokenCheck {
  const reads = createGroupRead<string, boolean>(
    db,
    async (tokenIds) => {
      const revoked = await revokedAmong(db, tokenIds);
      return tokenIds.map((id) => revoked.has(id));
    },
    { maxItems: 256 },
  );
  return { verify: createApiTokenVerifier(tokenSecret), isRevoked: (tokenId) => reads.read(tokenId) };
}
