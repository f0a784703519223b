import { sql, type Selectable, type Updateable } from 'kysely';
import type { DbOrTx, Tx } from '../../db/database.js';
import type { PeerTable } from '../../db/tables.js';
import type { PeerAssurance, PeerRecord, PeerRelationship, PeerStatus, PeerTrustLevel } from './peer-directory.js';

/** Everything the node keeps about a peer; PeerRecord is the part the exchange sees. */
export interface PeerDetails extends PeerRecord {
  profileRequiresSealed: boolean;
  sealAlways: boolean;
  /** Null for a team without a node (kind mail): it has no signed profile. */
  signedProfile: string | null;
  profileFetchedAt: Date | null;
  pendingFingerprint: string | null;
  pendingPublicKey: string | null;
  pendingProfile: string | null;
  keyChangedAt: Date | null;
  verifiedAt: Date | null;
  verifiedBy: string | null;
  addedAt: Date;
  addedBy: string;
  updatedAt: Date;
}

export type PeerKeyOrigin = 'added' | 'rotation' | 'reverified' | 'replaced';

export interface PeerKeyRow {
  fingerprint: string;
  publicKey: string;
  how: PeerKeyOrigin;
  pinnedAt: Date;
  pinnedBy: string;
  retiredAt: Date | null;
}

type PeerRow = Selectable<PeerTable>;

const date = (value: Date | string): Date => (value instanceof Date ? value : new Date(value));
const dateOrNull = (value: Date | string | null): Date | null => (value === null ? null : date(value));

function toDetails(row: PeerRow): PeerDetails {
  return {
    teamId: row.team_id,
    kind: row.kind === 'mail' ? 'mail' : 'node',
    name: row.name,
    url: row.url,
    fingerprint: row.fingerprint,
    publicKey: row.public_key,
    relationship: row.relationship as PeerRelationship,
    trustLevel: row.trust_level as PeerTrustLevel,
    assurance: row.assurance as PeerAssurance,
    status: row.status as PeerStatus,
    requiresSealed: row.profile_requires_sealed || row.seal_always,
    email: row.email,
    mailOnly: row.mail_only,
    profileRequiresSealed: row.profile_requires_sealed,
    sealAlways: row.seal_always,
    signedProfile: row.signed_profile,
    profileFetchedAt: dateOrNull(row.profile_fetched_at),
    pendingFingerprint: row.pending_fingerprint,
    pendingPublicKey: row.pending_public_key,
    pendingProfile: row.pending_profile,
    keyChangedAt: dateOrNull(row.key_changed_at),
    verifiedAt: dateOrNull(row.verified_at),
    verifiedBy: row.verified_by,
    addedAt: date(row.added_at),
    addedBy: row.added_by,
    updatedAt: date(row.updated_at),
  };
}

/** `forUpdate` locks the row for the caller's transaction: trust changes read, decide, then write. */
export async function findPeer(db: DbOrTx, teamId: string, options: { forUpdate?: boolean } = {}): Promise<PeerDetails | null> {
  let query = db.selectFrom('peer').selectAll().where('team_id', '=', teamId);
  if (options.forUpdate) query = query.forUpdate();
  const row = await query.executeTakeFirst();
  return row ? toDetails(row) : null;
}

/** Several peers in one statement (the delivery worker's claimed batch); unknown teams are absent. */
export async function findPeers(db: DbOrTx, teamIds: readonly string[]): Promise<PeerDetails[]> {
  if (teamIds.length === 0) return [];
  const rows = await db
    .selectFrom('peer')
    .selectAll()
    .where('team_id', 'in', [...teamIds])
    .execute();
  return rows.map((row) => toDetails(row));
}

/** The peer whose e-mail address this is (the address compared case-insensitively). */
export async function findPeerByEmail(db: DbOrTx, email: string): Promise<PeerDetails | null> {
  const row = await db
    .selectFrom('peer')
    .selectAll()
    .where(sql<boolean>`lower(email) = lower(${email})`)
    .executeTakeFirst();
  return row ? toDetails(row) : null;
}

/** Status and pinned fingerprint of several teams, share-locked until the transaction ends. */
export async function lockPeerStates(tx: Tx, teamIds: string[]): Promise<Array<{ teamId: string; status: string; fingerprint: string }>> {
  if (teamIds.length === 0) return [];
  const rows = await tx
    .selectFrom('peer')
    .select(['team_id', 'status', 'fingerprint'])
    .where('team_id', 'in', teamIds)
    .forShare()
    .execute();
  return rows.map((r) => ({ teamId: r.team_id, status: r.status, fingerprint: r.fingerprint }));
}

/** Which team has this key pinned as its current key, if any. */
export async function findPeerTeamByFingerprint(db: DbOrTx, fingerprint: string): Promise<string | null> {
  const row = await db.selectFrom('peer').select('team_id').where('fingerprint', '=', fingerprint).executeTakeFirst();
  return row?.team_id ?? null;
}

export async function listPeers(db: DbOrTx, filter: { status?: PeerStatus; relationship?: PeerRelationship } = {}): Promise<PeerDetails[]> {
  let query = db.selectFrom('peer').selectAll().orderBy('team_id');
  if (filter.status) query = query.where('status', '=', filter.status);
  if (filter.relationship) query = query.where('relationship', '=', filter.relationship);
  const rows = await query.execute();
  return rows.map(toDetails);
}

export interface NewPeer extends Pick<PeerRecord, 'teamId' | 'name' | 'url' | 'fingerprint' | 'publicKey' | 'relationship' | 'trustLevel'> {
  profileRequiresSealed: boolean;
  signedProfile: string | null;
  at: Date;
  by: string;
  /** A team without a node (ADR 0028): no URL, no profile, its e-mail address, mail only. */
  mail?: { email: string };
}

export async function insertPeer(db: DbOrTx, peer: NewPeer): Promise<void> {
  await db
    .insertInto('peer')
    .values({
      team_id: peer.teamId,
      name: peer.name,
      url: peer.url,
      fingerprint: peer.fingerprint,
      public_key: peer.publicKey,
      relationship: peer.relationship,
      trust_level: peer.trustLevel,
      assurance: 'unverified',
      status: 'active',
      profile_requires_sealed: peer.profileRequiresSealed,
      seal_always: false,
      signed_profile: peer.signedProfile,
      profile_fetched_at: peer.mail ? null : peer.at,
      ...(peer.mail ? { kind: 'mail', email: peer.mail.email, mail_only: true } : {}),
      pending_fingerprint: null,
      pending_public_key: null,
      pending_profile: null,
      key_changed_at: null,
      verified_at: null,
      verified_by: null,
      added_at: peer.at,
      added_by: peer.by,
      updated_at: peer.at,
    })
    .execute();
}

export async function updatePeer(db: DbOrTx, teamId: string, changes: Updateable<PeerTable>): Promise<void> {
  await db.updateTable('peer').set(changes).where('team_id', '=', teamId).execute();
}

export async function deletePeer(db: DbOrTx, teamId: string): Promise<boolean> {
  const result = await db.deleteFrom('peer').where('team_id', '=', teamId).executeTakeFirst();
  return Number(result.numDeletedRows) > 0;
}

export async function insertPeerKey(
  db: DbOrTx,
  teamId: string,
  key: { fingerprint: string; publicKey: string; how: PeerKeyOrigin; at: Date; by: string },
): Promise<void> {
  await db
    .insertInto('peer_key')
    .values({
      team_id: teamId,
      fingerprint: key.fingerprint,
      public_key: key.publicKey,
      how: key.how,
      pinned_at: key.at,
      pinned_by: key.by,
      retired_at: null,
    })
    .execute();
}

export async function retireCurrentPeerKey(db: DbOrTx, teamId: string, at: Date): Promise<void> {
  await db.updateTable('peer_key').set({ retired_at: at }).where('team_id', '=', teamId).where('retired_at', 'is', null).execute();
}

/** Oldest first. */
export async function listPeerKeys(db: DbOrTx, teamId: string): Promise<PeerKeyRow[]> {
  const rows = await db
    .selectFrom('peer_key')
    .selectAll()
    .where('team_id', '=', teamId)
    .orderBy('pinned_at')
    .orderBy('retired_at')
    .execute();
  return rows.map((r) => ({
    fingerprint: r.fingerprint,
    publicKey: r.public_key,
    how: r.how as PeerKeyOrigin,
    pinnedAt: date(r.pinned_at),
    pinnedBy: r.pinned_by,
    retiredAt: dateOrNull(r.retired_at),
  }));
}
