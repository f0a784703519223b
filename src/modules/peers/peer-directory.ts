import type { DbOrTx } from '../../db/database.js';
import type { ExchangePeer, PeerKeyring, PeerStatus } from '../exchange/exchange.module.js';

export type { PeerStatus };

/**
 * Who the other teams are: the peers module's answer to every other module (sharing reads
 * relationship, trust, assurance and status; the exchange reads keys and status through the
 * narrower PeerKeyring port this extends). Nobody else reads the peer table.
 */
export type PeerRelationship = 'coordinator' | 'member' | 'peer';
export type PeerAssurance = 'unverified' | 'introduced' | 'verified';
export type PeerTrustLevel = 'unknown' | 'community' | 'partner' | 'close';

export interface PeerRecord extends ExchangePeer {
  name: string;
  relationship: PeerRelationship;
  trustLevel: PeerTrustLevel;
  assurance: PeerAssurance;
}

export interface PeerDirectory extends PeerKeyring {
  find(db: DbOrTx, teamId: string): Promise<PeerRecord | null>;
  /** Peers with this relationship and status (e.g. our active coordinators), by team id. */
  listRecords(db: DbOrTx, filter: { relationship?: PeerRelationship; status?: PeerStatus }): Promise<PeerRecord[]>;
  /**
   * A `key.rotation` document, already verified against the peer's pinned (old) key, announces
   * a new key: pin it. Throws ProblemError when the document is not acceptable.
   */
  applyKeyRotation(db: DbOrTx, teamId: string, rotation: { newPublicKey: string; newFingerprint: string }): Promise<PeerRecord>;
  addFromUrl(url: string, actor: string): Promise<PeerRecord>;
}
