import type { PeerKey } from '../../crypto/index.js';
import type { DbOrTx, Tx } from '../../db/database.js';
import type { KeyRotationBody } from '../../../schemas/federation.schema.js';
import type { PeerMailAdd } from '../../../schemas/peer.schema.js';
import type { ExchangePeer, PeerKeyring, PeerStatus } from '../exchange/exchange.module.js';
import type { VouchInput, VouchOutcome, VouchWithdrawal } from './key-vouch.service.js';

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

/** What a vouching source (a forum roster) says the node at a URL must be. */
export interface ExpectedPeer {
  teamId: string;
  fingerprint: string;
  /** Named in the problem when it is not: e.g. `the roster of forum "first"`. */
  vouchedBy: string;
}

export interface PeerDirectory extends PeerKeyring {
  find(db: DbOrTx, teamId: string): Promise<PeerRecord | null>;
  /**
   * Every key we pinned for the team, the current one and those a rotation or re-verification
   * retired: a statement the team signed before it changed keys (a provenance hop) still
   * verifies with the key of its time.
   */
  keysPinnedFor(db: DbOrTx, teamId: string): Promise<PeerKey[]>;
  /** Peers with this relationship and status (e.g. our active coordinators), by team id. */
  listRecords(db: DbOrTx, filter: { relationship?: PeerRelationship; status?: PeerStatus }): Promise<PeerRecord[]>;
  /**
   * A `key.rotation` document, already verified against the peer's pinned (old) key, announces
   * a new key: pin it. Throws ProblemError when the document is not acceptable.
   */
  applyKeyRotation(db: DbOrTx, teamId: string, rotation: KeyRotationBody): Promise<PeerRecord>;
  /**
   * Adds a team without a node as a signed source states it (a forum roster's mail member, ADR
   * 0028): its key must be the stated fingerprint's; named `statedBy` in the audit and problems.
   */
  addMailTeam(input: PeerMailAdd, actor: string, statedBy: string): Promise<PeerRecord>;
  /** Pins the key the URL's signed profile carries; with `expect`, only if it is that team's and that key (else 422/409). */
  addFromUrl(url: string, actor: string, expect?: ExpectedPeer): Promise<PeerRecord>;
  /**
   * Records (or renews) a vouch that `fingerprint` is the key of team `subject`, inside the
   * caller's transaction, and derives the subject's assurance again (audited when it moves). For
   * a forum's roster: `{ subject, fingerprint, kind: 'roster', voucher: forumId }` (the forum
   * module keeps the signed roster; `statedAt` may carry when the operator signed it). A roster
   * vouch for a new key withdraws that forum's vouch for the member's previous key. The subject
   * need not be a peer yet: its assurance is derived when it is added.
   */
  recordVouch(tx: Tx, vouch: VouchInput): Promise<VouchOutcome>;
  /**
   * Withdraws the vouches of `voucher` (of `kind`) for `subject`, every key or `fingerprint`
   * only, inside the caller's transaction, and derives the subject's assurance again. Withdrawing
   * nothing is not an error (`fingerprints` is then empty).
   */
  withdrawVouch(tx: Tx, withdrawal: VouchWithdrawal): Promise<VouchOutcome>;
}
