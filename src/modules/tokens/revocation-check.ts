import type { Db } from '../../db/database.js';
import { createGroupRead } from '../../db/group-read.js';
import type { RevocationCheck } from '../../http/auth.js';
import { revokedAmong } from './token.repository.js';

/**
 * Every API request's revocation check, read in groups (group-read.ts): the requests that arrive
 * together are checked in one statement. Each check still reads the revocations committed before
 * its request arrived, so a revoked token is refused exactly as with a statement per request.
 */
export function createRevocationCheck(db: Db): RevocationCheck {
  const reads = createGroupRead<string, boolean>(
    db,
    async (tokenIds) => {
      const revoked = await revokedAmong(db, tokenIds);
      return tokenIds.map((id) => revoked.has(id));
    },
    { maxItems: 256 },
  );
  return { isRevoked: (tokenId) => reads.read(tokenId) };
}
