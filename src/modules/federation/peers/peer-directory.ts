import type { PeerKey } from '../../../crypto/index.js';
import type { DbOrTx, Tx } from '../../../db/database.js';

/**
 * The contract between the peers part of federation (who the other teams are, which key we
 * pinned for each) and the exchange part (inbox, outbox, feeds). The exchange never reads the
 * peer table directly; it asks this directory.
 */
export type PeerRelationship = 'coordinator' | 'member' | 'peer';
export type PeerAssurance = 'unverified' | 'introduced' | 'verified';
export type PeerTrustLevel = 'unknown' | 'community' | 'partner' | 'close';
/** active: exchange allowed; suspended: by a handler; key-changed: a new key was seen without a signed rotation. */
export type PeerStatus = 'active' | 'suspended' | 'key-changed';

export interface PeerRecord {
  teamId: string;
  name: string;
  /** Base URL of the peer's node (where /federation/v1 lives). */
  url: string;
  fingerprint: string;
  publicKey: string;
  relationship: PeerRelationship;
  trustLevel: PeerTrustLevel;
  assurance: PeerAssurance;
  status: PeerStatus;
  /** The peer's profile asks for sealed (encrypted) messages. */
  requiresSealed: boolean;
}

export interface PeerDirectory {
  find(db: DbOrTx, teamId: string): Promise<PeerRecord | null>;
  /**
   * The status and pinned fingerprint of these teams, share-locked until the transaction ends
   * (a suspension or a new key waits for it): the inbox re-checks, when it stores a group of
   * messages, that their peers are still as they were when the messages were checked.
   */
  intakeStates(tx: Tx, teamIds: string[]): Promise<Map<string, { status: PeerStatus; fingerprint: string }>>;
  /** The parsed pinned key of a peer (cached). */
  keyOf(peer: PeerRecord): Promise<PeerKey>;
  /**
   * A document signed by an unknown key claimed to come from a known peer: mark the peer
   * key-changed (nothing from the new key is processed until a human re-verifies).
   */
  flagKeyChange(db: DbOrTx, teamId: string, seenFingerprint: string | null): Promise<void>;
  /**
   * A `key.rotation` document, already verified against the peer's pinned (old) key, announces
   * a new key: pin it. Throws ProblemError when the document is not acceptable.
   */
  applyKeyRotation(db: DbOrTx, teamId: string, rotation: { newPublicKey: string; newFingerprint: string }): Promise<PeerRecord>;
  /**
   * Fetches a node's signed profile from `url`, checks its self-signature and pins its key (as
   * `POST /api/v1/peers` does). Used when a handler accepts a quarantined sender: the handler
   * names the sender's node URL, and the quarantined message must then verify against the key.
   */
  addFromUrl(url: string, actor: string): Promise<PeerRecord>;
}
