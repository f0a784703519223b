import type { PeerKey } from '../../crypto/index.js';
import type { DbOrTx, Tx } from '../../db/database.js';

/**
 * What the exchange needs to know of another team: where its node is, which key we pinned, and
 * whether we exchange with it. The exchange is transport only and imports no domain module; the
 * peers module implements this port (its PeerDirectory is a superset) and the app wires it in.
 */

/** active: exchange allowed; suspended: by a handler; key-changed: a new key was seen without a signed rotation. */
export type PeerStatus = 'active' | 'suspended' | 'key-changed';

/** node: a team whose node we exchange with; mail: a team without a node, which reads signed mail (ADR 0028). */
export type PeerKind = 'node' | 'mail';

export interface ExchangePeer {
  teamId: string;
  kind: PeerKind;
  /** Base URL of the peer's node (where /federation/v1 lives); null for a team without a node. */
  url: string | null;
  fingerprint: string;
  publicKey: string;
  status: PeerStatus;
  /** The peer's profile asks for sealed (encrypted) messages. */
  requiresSealed: boolean;
  /** Where the peer takes signed e-mail (PGP/MIME, ADR 0025); null: no e-mail channel. */
  email: string | null;
  /** Messages go to the peer by e-mail only (a team whose node we cannot reach, or without one). */
  mailOnly: boolean;
}

export interface PeerKeyring {
  find(db: DbOrTx, teamId: string): Promise<ExchangePeer | null>;
  /** Several peers by team id in one look-up; unknown teams are absent from the map. */
  findMany(db: DbOrTx, teamIds: readonly string[]): Promise<Map<string, ExchangePeer>>;
  /** The peer whose e-mail address this is (case-insensitive), for incoming mail. */
  findByEmail(db: DbOrTx, email: string): Promise<ExchangePeer | null>;
  /**
   * The status and pinned fingerprint of these teams, share-locked until the transaction ends
   * (a suspension or a new key waits for it): the inbox re-checks, when it stores a group of
   * messages, that their peers are still as they were when the messages were checked.
   */
  intakeStates(tx: Tx, teamIds: string[]): Promise<Map<string, { status: PeerStatus; fingerprint: string }>>;
  /** The parsed pinned key of a peer (cached). */
  keyOf(peer: ExchangePeer): Promise<PeerKey>;
  /**
   * A document signed by an unknown key claimed to come from a known peer: mark the peer
   * key-changed (nothing from the new key is processed until a human re-verifies).
   */
  flagKeyChange(db: DbOrTx, teamId: string, seenFingerprint: string | null): Promise<void>;
  /**
   * Fetches a node's signed profile from `url`, checks its self-signature and pins its key (as
   * `POST /api/v1/peers` does). Used when a handler accepts a quarantined sender: the handler
   * names the sender's node URL, and the quarantined message must then verify against the key.
   */
  addFromUrl(url: string, actor: string): Promise<ExchangePeer>;
}
