import type { DbOrTx } from '../../../db/database.js';
import type { PeerDirectory, PeerRecord } from './peer-directory.js';
import { findPeer } from './peer.repository.js';
import { toPeerRecord } from './peer.service.js';

/**
 * A peer's record, read the way the PeerDirectory's `find` reads it, without building the peers
 * module: the sharing service is composed before federation (the exchange asks it before
 * anything leaves the node), and reading records is all it needs of peers.
 */
export const peerLookup: Pick<PeerDirectory, 'find'> = {
  async find(db: DbOrTx, teamId: string): Promise<PeerRecord | null> {
    const peer = await findPeer(db, teamId);
    return peer ? toPeerRecord(peer) : null;
  },
};
