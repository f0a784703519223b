import type { Clock } from '../../../clock.js';
import { InvalidKeyError, isV4Fingerprint, normalizeFingerprint, readPeerKey, type PeerKey } from '../../../crypto/index.js';
import type { Db, DbOrTx, Tx } from '../../../db/database.js';
import { ProblemError } from '../../../http/problem.js';
import type { PeerAdd, PeerListQuery, PeerPatch } from '../../../../schemas/peer.schema.js';
import type { AuditLog } from '../../audit/audit.module.js';
import type { PeerDirectory, PeerRecord, PeerStatus } from './peer-directory.js';
import {
  deletePeer,
  findPeer,
  findPeerTeamByFingerprint,
  insertPeer,
  insertPeerKey,
  listPeerKeys,
  listPeers,
  lockPeerStates,
  retireCurrentPeerKey,
  updatePeer,
  type PeerDetails,
  type PeerKeyRow,
} from './peer.repository.js';
import { fetchSignedProfile, normalizePeerUrl, type FetchProfileOptions } from './profile-fetcher.js';
import { groupFingerprint, verifySignedProfile, type VerifiedProfile } from './signed-profile.js';

/**
 * Peers: who the other teams' nodes are and which key we pinned for each. The rules:
 * - a key is pinned from the peer's self-signed profile, fetched from the URL a handler gives;
 *   it counts as `verified` only once a handler confirms its fingerprint out of band;
 * - the pinned key changes only through a `key.rotation` signed by the old key (the exchange
 *   verifies it and calls applyKeyRotation), or through a handler confirming the new key after
 *   a key change was flagged (verify);
 * - every trust-relevant change is audited in the transaction that makes it.
 */

export interface PeerServiceDeps {
  db: Db;
  clock: Clock;
  /** This node's own team id and key: a node never peers with itself. */
  teamId: string;
  ownFingerprint: string;
  audit: AuditLog;
  fetch: typeof fetch;
  fetchOptions?: FetchProfileOptions;
}

/** An action's result plus, when a human has something to confirm, what. */
export interface PeerOutcome {
  peer: PeerDetails;
  confirm?: string;
}

export interface PeerService extends PeerDirectory {
  list(filter: PeerListQuery): Promise<PeerDetails[]>;
  get(teamId: string): Promise<PeerDetails>;
  keys(teamId: string): Promise<PeerKeyRow[]>;
  add(input: PeerAdd, actor: string): Promise<PeerOutcome>;
  patch(teamId: string, patch: PeerPatch, actor: string): Promise<PeerDetails>;
  verify(teamId: string, fingerprint: string, actor: string): Promise<PeerOutcome>;
  refresh(teamId: string, actor: string): Promise<PeerOutcome>;
  suspend(teamId: string, actor: string): Promise<PeerDetails>;
  resume(teamId: string, actor: string): Promise<PeerDetails>;
  remove(teamId: string, actor: string): Promise<void>;
}

/** The actor recorded for changes the node makes on its own (a document it received). */
export const FEDERATION_ACTOR = 'federation';

export function toPeerRecord(peer: PeerDetails): PeerRecord {
  return {
    teamId: peer.teamId,
    name: peer.name,
    url: peer.url,
    fingerprint: peer.fingerprint,
    publicKey: peer.publicKey,
    relationship: peer.relationship,
    trustLevel: peer.trustLevel,
    assurance: peer.assurance,
    status: peer.status,
    requiresSealed: peer.requiresSealed,
  };
}

export function confirmHint(teamId: string, name: string, fingerprint: string): string {
  return (
    `Before trusting this key, confirm its fingerprint ${groupFingerprint(fingerprint)} with ${name} (${teamId}) out of band: ` +
    `by phone or in person, through a contact you knew before, never through the node that served it. ` +
    `Then record it: POST /api/v1/peers/${teamId}/verify {"fingerprint":"${fingerprint}"} (hikeshi peer verify ${teamId} ${fingerprint}).`
  );
}

function isDbError(err: unknown, sqlState: string): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === sqlState;
}
const UNIQUE_VIOLATION = '23505';
const FOREIGN_KEY_VIOLATION = '23503';
/** ON DELETE RESTRICT reports this one on PGlite; NO ACTION reports 23503. */
const RESTRICT_VIOLATION = '23001';

/** Runs in the caller's transaction when given one (the exchange's inbox), else in a new one. */
function inTx<T>(db: DbOrTx, fn: (tx: Tx) => Promise<T>): Promise<T> {
  return db.isTransaction ? fn(db as Tx) : db.transaction().execute(fn);
}

export function createPeerService(deps: PeerServiceDeps): PeerService {
  const { db, clock, audit } = deps;

  async function mustFind(executor: DbOrTx, teamId: string, forUpdate = false): Promise<PeerDetails> {
    const peer = await findPeer(executor, teamId, { forUpdate });
    if (!peer) throw new ProblemError('not-found', `no peer "${teamId}"`);
    return peer;
  }

  async function reread(tx: Tx, teamId: string): Promise<PeerDetails> {
    return mustFind(tx, teamId);
  }

  /** Fetches and verifies the profile a node serves at `url`. Network first, outside any transaction. */
  async function fetchVerified(url: string): Promise<VerifiedProfile & { url: string; raw: string }> {
    const fetched = await fetchSignedProfile(deps.fetch, url, deps.fetchOptions);
    const verified = await verifySignedProfile(fetched.parsed, clock());
    return { ...verified, url: fetched.url, raw: fetched.raw };
  }

  /** The profile at the peer's URL must still describe the same team. */
  async function fetchForPeer(peer: PeerDetails, url = peer.url): Promise<VerifiedProfile & { url: string; raw: string }> {
    const fetched = await fetchVerified(url);
    if (fetched.document.profile.teamId !== peer.teamId) {
      throw new ProblemError('peer-profile-invalid', `${fetched.url} serves the profile of team "${fetched.document.profile.teamId}", not "${peer.teamId}"`);
    }
    return fetched;
  }

  async function isRetiredKey(executor: DbOrTx, teamId: string, fingerprint: string): Promise<boolean> {
    return (await listPeerKeys(executor, teamId)).some((k) => k.fingerprint === fingerprint && k.retiredAt !== null);
  }

  async function add(input: PeerAdd, actor: string): Promise<PeerOutcome> {
    const url = normalizePeerUrl(input.url);
    const { document, key, raw } = await fetchVerified(url);
    const profile = document.profile;
    if (profile.teamId === deps.teamId || key.fingerprint === deps.ownFingerprint) {
      throw new ProblemError('conflict', `${url} serves this node's own profile; a node does not peer with itself`);
    }
    const at = clock();
    try {
      const peer = await db.transaction().execute(async (tx) => {
        const existing = await findPeer(tx, profile.teamId);
        if (existing) {
          throw new ProblemError(
            'conflict',
            existing.fingerprint === key.fingerprint
              ? `team "${profile.teamId}" is already a peer`
              : `team "${profile.teamId}" is already a peer with another key (${existing.fingerprint}); refresh it to see a key change`,
          );
        }
        const holder = await findPeerTeamByFingerprint(tx, key.fingerprint);
        if (holder) throw new ProblemError('conflict', `key ${key.fingerprint} is already pinned for team "${holder}"`);
        await insertPeer(tx, {
          teamId: profile.teamId,
          name: profile.name,
          url,
          fingerprint: key.fingerprint,
          publicKey: key.armored,
          relationship: input.relationship ?? 'peer',
          trustLevel: input.trustLevel ?? 'unknown',
          profileRequiresSealed: profile.federation.requiresSealed,
          signedProfile: raw,
          at,
          by: actor,
        });
        await insertPeerKey(tx, profile.teamId, { fingerprint: key.fingerprint, publicKey: key.armored, how: 'added', at, by: actor });
        await audit.append(tx, {
          kind: 'peer.added',
          actor,
          peer: profile.teamId,
          details: {
            fingerprint: key.fingerprint,
            url,
            relationship: input.relationship ?? 'peer',
            trustLevel: input.trustLevel ?? 'unknown',
            assurance: 'unverified',
          },
        });
        return reread(tx, profile.teamId);
      });
      return { peer, confirm: confirmHint(peer.teamId, peer.name, peer.fingerprint) };
    } catch (err) {
      // Two handlers adding the same team (or key) at once: the loser sees the same 409.
      if (isDbError(err, UNIQUE_VIOLATION)) throw new ProblemError('conflict', `team "${profile.teamId}" or its key is already a peer`);
      throw err;
    }
  }

  async function patch(teamId: string, input: PeerPatch, actor: string): Promise<PeerDetails> {
    const before = await mustFind(db, teamId);
    let url: string | undefined;
    if (input.url !== undefined) {
      url = normalizePeerUrl(input.url);
      if (url !== before.url) {
        // A new contact endpoint must serve this team's profile signed by the pinned key: it
        // catches typos, and a URL change can never smuggle in a different key.
        const fetched = await fetchForPeer(before, url);
        if (fetched.key.fingerprint !== before.fingerprint) {
          throw new ProblemError('fingerprint-mismatch', `${url} serves key ${fetched.key.fingerprint}, not the pinned ${before.fingerprint}`);
        }
      }
    }
    return db.transaction().execute(async (tx) => {
      const peer = await mustFind(tx, teamId, true);
      const changes: Record<string, { from: unknown; to: unknown }> = {};
      const note = (field: string, from: unknown, to: unknown) => {
        if (to !== undefined && to !== from) changes[field] = { from, to };
      };
      note('relationship', peer.relationship, input.relationship);
      note('trustLevel', peer.trustLevel, input.trustLevel);
      note('url', peer.url, url);
      note('sealAlways', peer.sealAlways, input.sealAlways);
      if (Object.keys(changes).length === 0) return peer;
      await updatePeer(tx, teamId, {
        ...(changes['relationship'] ? { relationship: input.relationship } : {}),
        ...(changes['trustLevel'] ? { trust_level: input.trustLevel } : {}),
        ...(changes['url'] && url ? { url } : {}),
        ...(changes['sealAlways'] ? { seal_always: input.sealAlways } : {}),
        updated_at: clock(),
      });
      await audit.append(tx, { kind: 'peer.updated', actor, peer: teamId, details: { changes } });
      return reread(tx, teamId);
    });
  }

  async function verify(teamId: string, rawFingerprint: string, actor: string): Promise<PeerOutcome> {
    const fingerprint = normalizeFingerprint(rawFingerprint);
    if (!isV4Fingerprint(fingerprint)) {
      throw new ProblemError('validation-failed', 'fingerprint must be 40 hex digits', {
        errors: [{ location: 'body', pointer: '/fingerprint', message: 'must be 40 hex digits (spaces allowed)' }],
      });
    }
    const peer = await mustFind(db, teamId);
    const at = clock();

    // No key change pending: the handler confirms the pinned key.
    if (peer.keyChangedAt === null || fingerprint === peer.fingerprint) {
      if (fingerprint !== peer.fingerprint) {
        throw new ProblemError('fingerprint-mismatch', `the key pinned for "${teamId}" is ${peer.fingerprint}; nothing was recorded`);
      }
      const updated = await db.transaction().execute(async (tx) => {
        const current = await mustFind(tx, teamId, true);
        // A key change flagged since the first read was not seen by the human: never dismiss it unseen.
        if (current.fingerprint !== peer.fingerprint || current.keyChangedAt?.getTime() !== peer.keyChangedAt?.getTime() || current.pendingFingerprint !== peer.pendingFingerprint) {
          throw new ProblemError('conflict', `the key state of "${teamId}" changed meanwhile; read the peer again`);
        }
        const dismissing = current.keyChangedAt !== null;
        await updatePeer(tx, teamId, {
          assurance: 'verified',
          verified_at: at,
          verified_by: actor,
          // Confirming the old key out of band dismisses a flagged change: the other key was not theirs.
          ...(dismissing
            ? { status: current.status === 'key-changed' ? 'active' : current.status, pending_fingerprint: null, pending_public_key: null, pending_profile: null, key_changed_at: null }
            : {}),
          updated_at: at,
        });
        await audit.append(tx, {
          kind: dismissing ? 'peer.key-change-dismissed' : 'peer.verified',
          actor,
          peer: teamId,
          details: { fingerprint, previousAssurance: current.assurance, ...(dismissing ? { dismissedFingerprint: current.pendingFingerprint } : {}) },
        });
        return reread(tx, teamId);
      });
      return { peer: updated };
    }

    // A key change is pending: the handler confirms the new key, which is pinned in place of the old.
    if (peer.pendingFingerprint !== null && fingerprint !== peer.pendingFingerprint) {
      throw new ProblemError(
        'fingerprint-mismatch',
        `the key pinned for "${teamId}" is ${peer.fingerprint} and the key seen instead is ${peer.pendingFingerprint}; ${fingerprint} is neither`,
      );
    }
    let newKey: PeerKey;
    let profileText: string;
    let profileName: string;
    let profileRequiresSealed: boolean;
    if (peer.pendingPublicKey !== null && peer.pendingProfile !== null && peer.pendingFingerprint === fingerprint) {
      // Already fetched and self-signature-checked by a refresh; the human now vouches for it.
      const verified = await verifySignedProfile(JSON.parse(peer.pendingProfile) as unknown, at);
      newKey = verified.key;
      profileText = peer.pendingProfile;
      profileName = verified.document.profile.name;
      profileRequiresSealed = verified.document.profile.federation.requiresSealed;
    } else {
      const fetched = await fetchForPeer(peer);
      if (fetched.key.fingerprint !== fingerprint) {
        throw new ProblemError('fingerprint-mismatch', `the node of "${teamId}" serves key ${fetched.key.fingerprint}, not ${fingerprint}; nothing was pinned`);
      }
      newKey = fetched.key;
      profileText = fetched.raw;
      profileName = fetched.document.profile.name;
      profileRequiresSealed = fetched.document.profile.federation.requiresSealed;
    }
    if (newKey.fingerprint === deps.ownFingerprint) throw new ProblemError('conflict', "that is this node's own key");
    try {
      const updated = await db.transaction().execute(async (tx) => {
        const current = await mustFind(tx, teamId, true);
        if (current.fingerprint !== peer.fingerprint || current.keyChangedAt === null) {
          throw new ProblemError('conflict', `the key state of "${teamId}" changed meanwhile; read the peer again`);
        }
        await checkKeyIsNew(tx, teamId, newKey.fingerprint, 'conflict');
        await retireCurrentPeerKey(tx, teamId, at);
        await insertPeerKey(tx, teamId, { fingerprint: newKey.fingerprint, publicKey: newKey.armored, how: 'reverified', at, by: actor });
        await updatePeer(tx, teamId, {
          fingerprint: newKey.fingerprint,
          public_key: newKey.armored,
          name: profileName,
          profile_requires_sealed: profileRequiresSealed,
          signed_profile: profileText,
          profile_fetched_at: at,
          status: current.status === 'key-changed' ? 'active' : current.status,
          pending_fingerprint: null,
          pending_public_key: null,
          pending_profile: null,
          key_changed_at: null,
          assurance: 'verified',
          verified_at: at,
          verified_by: actor,
          updated_at: at,
        });
        await audit.append(tx, {
          kind: 'peer.key-repinned',
          actor,
          peer: teamId,
          details: { oldFingerprint: current.fingerprint, newFingerprint: newKey.fingerprint, assurance: 'verified' },
        });
        return reread(tx, teamId);
      });
      return { peer: updated };
    } catch (err) {
      if (isDbError(err, UNIQUE_VIOLATION)) throw new ProblemError('conflict', `key ${newKey.fingerprint} is already pinned for another team`);
      throw err;
    }
  }

  /** A key may be pinned for one team only, and a key a team retired is never pinned again. */
  async function checkKeyIsNew(tx: Tx, teamId: string, fingerprint: string, code: 'conflict' | 'key-rotation-invalid'): Promise<void> {
    const holder = await findPeerTeamByFingerprint(tx, fingerprint);
    if (holder && holder !== teamId) throw new ProblemError(code, `key ${fingerprint} is already pinned for team "${holder}"`);
    if (await isRetiredKey(tx, teamId, fingerprint)) throw new ProblemError(code, `key ${fingerprint} was retired by "${teamId}" and is not pinned again`);
  }

  async function refresh(teamId: string, actor: string): Promise<PeerOutcome> {
    const peer = await mustFind(db, teamId);
    const { document, key, raw } = await fetchForPeer(peer);
    const at = clock();
    return db.transaction().execute(async (tx) => {
      const current = await mustFind(tx, teamId, true);
      if (key.fingerprint === current.fingerprint) {
        const changes: Record<string, { from: unknown; to: unknown }> = {};
        if (current.name !== document.profile.name) changes['name'] = { from: current.name, to: document.profile.name };
        if (current.profileRequiresSealed !== document.profile.federation.requiresSealed) {
          changes['profileRequiresSealed'] = { from: current.profileRequiresSealed, to: document.profile.federation.requiresSealed };
        }
        await updatePeer(tx, teamId, {
          name: document.profile.name,
          profile_requires_sealed: document.profile.federation.requiresSealed,
          signed_profile: raw,
          profile_fetched_at: at,
          updated_at: at,
        });
        if (Object.keys(changes).length > 0) await audit.append(tx, { kind: 'peer.profile-refreshed', actor, peer: teamId, details: { changes } });
        return { peer: await reread(tx, teamId) };
      }
      // The node now serves another key. Not pinned: only a rotation signed by the old key, or a
      // human confirming this one, replaces the pinned key.
      await markKeyChanged(tx, current, key.fingerprint, { publicKey: key.armored, profile: raw }, actor, 'profile');
      const updated = await reread(tx, teamId);
      return {
        peer: updated,
        confirm:
          `The node of ${current.name} (${teamId}) now serves another key. Nothing signed by it is accepted until you confirm it. ` +
          confirmHint(teamId, current.name, key.fingerprint),
      };
    });
  }

  async function markKeyChanged(
    tx: Tx,
    peer: PeerDetails,
    seenFingerprint: string | null,
    offered: { publicKey: string; profile: string } | null,
    actor: string,
    via: 'message' | 'profile',
  ): Promise<void> {
    // A signature that names no issuer adds nothing to a change already flagged with a known key.
    if (seenFingerprint === null && peer.pendingFingerprint !== null) return;
    const samePending = peer.keyChangedAt !== null && peer.pendingFingerprint === seenFingerprint;
    if (samePending && (offered === null || peer.pendingPublicKey !== null)) return;
    const at = clock();
    await updatePeer(tx, peer.teamId, {
      status: peer.status === 'suspended' ? 'suspended' : 'key-changed',
      pending_fingerprint: seenFingerprint,
      pending_public_key: offered?.publicKey ?? null,
      pending_profile: offered?.profile ?? null,
      key_changed_at: peer.keyChangedAt ?? at,
      updated_at: at,
    });
    // Audited once per newly seen key, not per message: a flood signed by a stranger's key must
    // not flood the audit log.
    if (!samePending) {
      await audit.append(tx, {
        kind: 'peer.key-changed',
        actor,
        peer: peer.teamId,
        details: { pinnedFingerprint: peer.fingerprint, seenFingerprint, via, status: peer.status === 'suspended' ? 'suspended' : 'key-changed' },
      });
    }
  }

  async function setSuspended(teamId: string, actor: string, suspend: boolean): Promise<PeerDetails> {
    return db.transaction().execute(async (tx) => {
      const peer = await mustFind(tx, teamId, true);
      let next: PeerStatus;
      if (suspend) {
        if (peer.status === 'suspended') return peer;
        next = 'suspended';
      } else {
        if (peer.status === 'active') return peer;
        if (peer.status === 'key-changed') {
          throw new ProblemError('conflict', `"${teamId}" is not suspended but has a key change pending: verify its key instead`);
        }
        // A key change flagged while suspended still needs a human to look at it.
        next = peer.keyChangedAt !== null ? 'key-changed' : 'active';
      }
      const at = clock();
      await updatePeer(tx, teamId, { status: next, updated_at: at });
      await audit.append(tx, { kind: suspend ? 'peer.suspended' : 'peer.resumed', actor, peer: teamId, details: { from: peer.status, to: next } });
      return reread(tx, teamId);
    });
  }

  async function remove(teamId: string, actor: string): Promise<void> {
    try {
      await db.transaction().execute(async (tx) => {
        const peer = await mustFind(tx, teamId, true);
        await deletePeer(tx, teamId);
        await audit.append(tx, { kind: 'peer.removed', actor, peer: teamId, details: { fingerprint: peer.fingerprint, name: peer.name, url: peer.url } });
      });
    } catch (err) {
      // Other federation records (shares, outbox) may refer to the peer: they keep it.
      if (isDbError(err, FOREIGN_KEY_VIOLATION) || isDbError(err, RESTRICT_VIOLATION)) {
        throw new ProblemError('conflict', `"${teamId}" is still referred to by shared incidents or deliveries; suspend it instead`);
      }
      throw err;
    }
  }

  // --- PeerDirectory (the exchange's view) ---------------------------------------------------

  const directory: PeerDirectory = {
    async find(executor, teamId) {
      const peer = await findPeer(executor, teamId);
      return peer ? toPeerRecord(peer) : null;
    },

    async intakeStates(tx, teamIds) {
      const rows = await lockPeerStates(tx, teamIds);
      return new Map(rows.map((r) => [r.teamId, { status: r.status as PeerStatus, fingerprint: r.fingerprint }]));
    },

    async keyOf(peer) {
      // readPeerKey caches by the armored text, so this costs a lookup per message.
      const key = await readPeerKey(peer.publicKey);
      if (key.fingerprint !== peer.fingerprint) {
        throw new Error(`pinned key of peer ${peer.teamId} does not match its fingerprint`);
      }
      return key;
    },

    async flagKeyChange(executor, teamId, seenFingerprint) {
      const seen = seenFingerprint === null ? null : normalizeFingerprint(seenFingerprint);
      await inTx(executor, async (tx) => {
        const peer = await findPeer(tx, teamId, { forUpdate: true });
        // Unknown teams are the quarantine's business; the pinned key itself is no change.
        if (!peer || seen === peer.fingerprint) return;
        await markKeyChanged(tx, peer, seen !== null && isV4Fingerprint(seen) ? seen : null, null, FEDERATION_ACTOR, 'message');
      });
    },

    async applyKeyRotation(executor, teamId, rotation) {
      return inTx(executor, async (tx) => {
        const peer = await findPeer(tx, teamId, { forUpdate: true });
        if (!peer) throw new ProblemError('not-found', `no peer "${teamId}"`);
        if (peer.status === 'suspended') throw new ProblemError('conflict', `peer "${teamId}" is suspended; nothing from it is processed`);
        let key: PeerKey;
        try {
          key = await readPeerKey(rotation.newPublicKey);
        } catch (err) {
          if (err instanceof InvalidKeyError) throw new ProblemError('key-rotation-invalid', `the new key is not usable: ${err.message}`);
          throw err;
        }
        if (typeof rotation.newFingerprint !== 'string' || normalizeFingerprint(rotation.newFingerprint) !== key.fingerprint) {
          throw new ProblemError('key-rotation-invalid', `newFingerprint does not match the new key (${key.fingerprint})`);
        }
        // A repeat of a rotation already applied changes nothing.
        if (key.fingerprint === peer.fingerprint) return toPeerRecord(peer);
        if (key.fingerprint === deps.ownFingerprint) throw new ProblemError('key-rotation-invalid', "the new key is this node's own key");
        await checkKeyIsNew(tx, teamId, key.fingerprint, 'key-rotation-invalid');
        const at = clock();
        // The old key vouched for the new one, so a flagged change to exactly this key (or to a
        // key that went unnamed) is explained; a change to some third key is not.
        const explains = peer.keyChangedAt !== null && (peer.pendingFingerprint === null || peer.pendingFingerprint === key.fingerprint);
        const actor = `${teamId} (key.rotation)`;
        await retireCurrentPeerKey(tx, teamId, at);
        await insertPeerKey(tx, teamId, { fingerprint: key.fingerprint, publicKey: key.armored, how: 'rotation', at, by: actor });
        await updatePeer(tx, teamId, {
          fingerprint: key.fingerprint,
          public_key: key.armored,
          ...(explains ? { status: 'active', pending_fingerprint: null, pending_public_key: null, pending_profile: null, key_changed_at: null } : {}),
          updated_at: at,
        });
        await audit.append(tx, {
          kind: 'peer.key-rotated',
          actor: FEDERATION_ACTOR,
          peer: teamId,
          details: { oldFingerprint: peer.fingerprint, newFingerprint: key.fingerprint, assurance: peer.assurance, clearedKeyChange: explains },
        });
        return toPeerRecord(await reread(tx, teamId));
      });
    },

    async addFromUrl(url, actor) {
      return toPeerRecord((await add({ url }, actor)).peer);
    },
  };

  return {
    ...directory,
    list: (filter) => listPeers(db, filter),
    get: (teamId) => mustFind(db, teamId),
    async keys(teamId) {
      await mustFind(db, teamId);
      return listPeerKeys(db, teamId);
    },
    add,
    patch,
    verify,
    refresh,
    suspend: (teamId, actor) => setSuspended(teamId, actor, true),
    resume: (teamId, actor) => setSuspended(teamId, actor, false),
    remove,
  };
}
