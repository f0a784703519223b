import type { Clock } from '../../clock.js';
import { InvalidKeyError, isV4Fingerprint, normalizeFingerprint, readPeerKey, type PeerKey } from '../../crypto/index.js';
import type { Db, DbOrTx, Tx } from '../../db/database.js';
import { ProblemError } from '../../http/problem.js';
import type { PeerAdd, PeerListQuery, PeerMailAdd, PeerMailKey, PeerPatch } from '../../../schemas/peer.schema.js';
import type { AuditLog } from '../audit/audit.module.js';
import type { ExpectedPeer, PeerDirectory, PeerRecord, PeerStatus } from './peer-directory.js';
import {
  deletePeer,
  findPeer,
  findPeerByEmail,
  findPeers,
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
import type { PeerClient } from '../exchange/exchange.module.js';
import { fetchSignedProfile, normalizePeerUrl, type FetchProfileOptions } from './profile-fetcher.js';
import { keyRotationProofHolds } from './key-rotation-proof.js';
import { markKeyChanged, refresh, verify } from './peer-key-changes.js';
import { addMailPeer, replaceMailKey } from './mail-peer.js';
import { lockVouchSubject } from './key-vouch.repository.js';
import {
  recomputeAround,
  recomputeAssurance,
  recomputeVouchedBy,
  recordVouch,
  vouchReport,
  withdrawVouch,
  type VouchReport,
} from './key-vouch.service.js';
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
  /** The one outgoing HTTP client (src/modules/exchange/peer-client.ts). */
  client: PeerClient;
  fetchOptions?: FetchProfileOptions;
  /** Introductions from verified peers that make a key `introduced` (HIKESHI_INTRODUCTIONS_NEEDED; 1 when absent). */
  introductionsNeeded?: number;
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
  /** A team without a node, from its e-mail address and key (ADR 0028). */
  addMail(input: PeerMailAdd, actor: string): Promise<PeerOutcome>;
  /** A team without a node changes its key: an admin pins the new one in place of the old (ADR 0028). */
  replaceMailKey(teamId: string, input: PeerMailKey, actor: string): Promise<PeerOutcome>;
  patch(teamId: string, patch: PeerPatch, actor: string): Promise<PeerDetails>;
  verify(teamId: string, fingerprint: string, actor: string): Promise<PeerOutcome>;
  refresh(teamId: string, actor: string): Promise<PeerOutcome>;
  suspend(teamId: string, actor: string): Promise<PeerDetails>;
  resume(teamId: string, actor: string): Promise<PeerDetails>;
  remove(teamId: string, actor: string): Promise<void>;
  /** The vouches held for a team and whether each counts (GET /api/v1/peers/{teamId}/vouches). */
  vouches(teamId: string): Promise<VouchReport>;
}

/** The actor recorded for changes the node makes on its own (a document it received). */
export const FEDERATION_ACTOR = 'federation';

export function toPeerRecord(peer: PeerDetails): PeerRecord {
  return {
    teamId: peer.teamId,
    kind: peer.kind,
    name: peer.name,
    url: peer.url,
    fingerprint: peer.fingerprint,
    publicKey: peer.publicKey,
    relationship: peer.relationship,
    trustLevel: peer.trustLevel,
    assurance: peer.assurance,
    status: peer.status,
    requiresSealed: peer.requiresSealed,
    email: peer.email,
    mailOnly: peer.mailOnly,
  };
}

export function confirmHint(teamId: string, name: string, fingerprint: string): string {
  return (
    `Before trusting this key, confirm its fingerprint ${groupFingerprint(fingerprint)} with ${name} (${teamId}) out of band: ` +
    `by phone or in person, through a contact you knew before, never through the node that served it. ` +
    `Then record it: POST /api/v1/peers/${teamId}/verify {"fingerprint":"${fingerprint}"} (hikeshi peer verify ${teamId} ${fingerprint}).`
  );
}

export function isDbError(err: unknown, sqlState: string): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === sqlState;
}
export const UNIQUE_VIOLATION = '23505';
export const FOREIGN_KEY_VIOLATION = '23503';
/** ON DELETE RESTRICT reports this one on PGlite; NO ACTION reports 23503. */
export const RESTRICT_VIOLATION = '23001';

/** Runs in the caller's transaction when given one (the exchange's inbox), else in a new one. */
export function inTx<T>(db: DbOrTx, fn: (tx: Tx) => Promise<T>): Promise<T> {
  return db.isTransaction ? fn(db as Tx) : db.transaction().execute(fn);
}

export async function mustFind(deps: PeerServiceDeps, executor: DbOrTx, teamId: string, forUpdate = false): Promise<PeerDetails> {
  const peer = await findPeer(executor, teamId, { forUpdate });
  if (!peer) throw new ProblemError('not-found', `no peer "${teamId}"`);
  return peer;
}

export async function reread(deps: PeerServiceDeps, tx: Tx, teamId: string): Promise<PeerDetails> {
  return mustFind(deps, tx, teamId);
}

/** Fetches and verifies the profile a node serves at `url`. Network first, outside any transaction. */
export async function fetchVerified(deps: PeerServiceDeps, url: string): Promise<VerifiedProfile & { url: string; raw: string }> {
  const fetched = await fetchSignedProfile(deps.client, url, deps.fetchOptions);
  const verified = await verifySignedProfile(fetched.parsed, deps.clock());
  return { ...verified, url: fetched.url, raw: fetched.raw };
}

/** The profile at the peer's URL must still describe the same team. */
export async function fetchForPeer(
  deps: PeerServiceDeps,
  peer: PeerDetails,
  url = peer.url,
): Promise<VerifiedProfile & { url: string; raw: string }> {
  // A team without a node has no profile: its key changes by POST /api/v1/peers/{teamId}/mail-key (mail-peer.ts).
  if (url === null) throw new ProblemError('peer-has-no-node', `"${peer.teamId}" is a team without a node: there is no profile to fetch`);
  const fetched = await fetchVerified(deps, url);
  if (fetched.document.profile.teamId !== peer.teamId) {
    throw new ProblemError(
      'peer-profile-invalid',
      `${fetched.url} serves the profile of team "${fetched.document.profile.teamId}", not "${peer.teamId}"`,
    );
  }
  return fetched;
}

export async function isRetiredKey(deps: PeerServiceDeps, executor: DbOrTx, teamId: string, fingerprint: string): Promise<boolean> {
  return (await listPeerKeys(executor, teamId)).some((k) => k.fingerprint === fingerprint && k.retiredAt !== null);
}

/** A key may be pinned for one team only, and a key a team retired is never pinned again. */
export async function checkKeyIsNew(
  deps: PeerServiceDeps,
  tx: Tx,
  teamId: string,
  fingerprint: string,
  code: 'conflict' | 'key-rotation-invalid',
): Promise<void> {
  const holder = await findPeerTeamByFingerprint(tx, fingerprint);
  if (holder && holder !== teamId) throw new ProblemError(code, `key ${fingerprint} is already pinned for team "${holder}"`);
  if (await isRetiredKey(deps, tx, teamId, fingerprint))
    throw new ProblemError(code, `key ${fingerprint} was retired by "${teamId}" and is not pinned again`);
}

async function add(deps: PeerServiceDeps, input: PeerAdd, actor: string, expect?: ExpectedPeer): Promise<PeerOutcome> {
  const url = normalizePeerUrl(input.url);
  const { document, key, raw } = await fetchVerified(deps, url);
  const profile = document.profile;
  // Added from a forum roster: the node at the URL must be the team the roster names, with the key it names.
  if (expect && profile.teamId !== expect.teamId) {
    throw new ProblemError('peer-profile-invalid', `${url} serves the profile of "${profile.teamId}", not of "${expect.teamId}"`);
  }
  if (expect && key.fingerprint !== expect.fingerprint) {
    throw new ProblemError(
      'fingerprint-mismatch',
      `${url} serves key ${key.fingerprint}, not ${expect.fingerprint} as ${expect.vouchedBy} states`,
    );
  }
  if (profile.teamId === deps.teamId || key.fingerprint === deps.ownFingerprint) {
    throw new ProblemError('conflict', `${url} serves this node's own profile; a node does not peer with itself`);
  }
  const at = deps.clock();
  try {
    const peer = await deps.db.transaction().execute(async (tx) => {
      // A vouch for the team recorded meanwhile is seen by the assurance derived below, or derives it itself.
      await lockVouchSubject(tx, profile.teamId);
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
      await insertPeerKey(tx, profile.teamId, {
        fingerprint: key.fingerprint,
        publicKey: key.armored,
        how: 'added',
        at,
        by: actor,
      });
      await deps.audit.append(tx, {
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
      // Introductions (or a forum roster) may have vouched for this key before the team was added.
      await recomputeAssurance(deps, tx, profile.teamId, { actor, reason: 'peer added' });
      return reread(deps, tx, profile.teamId);
    });
    return { peer, confirm: confirmHint(peer.teamId, peer.name, peer.fingerprint) };
  } catch (err) {
    // Two handlers adding the same team (or key) at once: the loser sees the same 409.
    if (isDbError(err, UNIQUE_VIOLATION)) throw new ProblemError('conflict', `team "${profile.teamId}" or its key is already a peer`);
    throw err;
  }
}

async function patch(deps: PeerServiceDeps, teamId: string, input: PeerPatch, actor: string): Promise<PeerDetails> {
  const before = await mustFind(deps, deps.db, teamId);
  if (before.kind === 'mail' && (input.url !== undefined || input.mailOnly === false || input.email === null))
    throw new ProblemError('peer-has-no-node', `"${teamId}" is a team without a node: it keeps its e-mail address, mail only and no URL`);
  let url: string | undefined;
  if (input.url !== undefined) {
    url = normalizePeerUrl(input.url);
    if (url !== before.url) {
      // A new contact endpoint must serve this team's profile signed by the pinned key: it
      // catches typos, and a URL change can never smuggle in a different key.
      const fetched = await fetchForPeer(deps, before, url);
      if (fetched.key.fingerprint !== before.fingerprint) {
        throw new ProblemError(
          'fingerprint-mismatch',
          `${url} serves key ${fetched.key.fingerprint}, not the pinned ${before.fingerprint}`,
        );
      }
    }
  }
  return deps.db.transaction().execute(async (tx) => {
    const peer = await mustFind(deps, tx, teamId, true);
    const changes: Record<string, { from: unknown; to: unknown }> = {};
    const note = (field: string, from: unknown, to: unknown) => {
      if (to !== undefined && to !== from) changes[field] = { from, to };
    };
    note('relationship', peer.relationship, input.relationship);
    note('trustLevel', peer.trustLevel, input.trustLevel);
    note('url', peer.url, url);
    note('sealAlways', peer.sealAlways, input.sealAlways);
    note('email', peer.email, input.email);
    note('mailOnly', peer.mailOnly, input.mailOnly);
    if ((input.mailOnly ?? peer.mailOnly) && (input.email === undefined ? peer.email : input.email) === null)
      throw new ProblemError('validation-failed', 'mailOnly needs an e-mail address for the peer');
    const holder = changes['email'] && input.email ? await findPeerByEmail(tx, input.email) : null;
    if (holder && holder.teamId !== teamId)
      throw new ProblemError('conflict', `${input.email} is the e-mail address of peer "${holder.teamId}"`);
    if (Object.keys(changes).length === 0) return peer;
    await updatePeer(tx, teamId, {
      ...(changes['relationship'] ? { relationship: input.relationship } : {}),
      ...(changes['trustLevel'] ? { trust_level: input.trustLevel } : {}),
      ...(changes['url'] && url ? { url } : {}),
      ...(changes['sealAlways'] ? { seal_always: input.sealAlways } : {}),
      ...(changes['email'] ? { email: input.email } : {}),
      ...(changes['mailOnly'] ? { mail_only: input.mailOnly } : {}),
      updated_at: deps.clock(),
    });
    await deps.audit.append(tx, { kind: 'peer.updated', actor, peer: teamId, details: { changes } });
    return reread(deps, tx, teamId);
  });
}

async function setSuspended(deps: PeerServiceDeps, teamId: string, actor: string, suspend: boolean): Promise<PeerDetails> {
  return deps.db.transaction().execute(async (tx) => {
    const peer = await mustFind(deps, tx, teamId, true);
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
    const at = deps.clock();
    await updatePeer(tx, teamId, { status: next, updated_at: at });
    await deps.audit.append(tx, {
      kind: suspend ? 'peer.suspended' : 'peer.resumed',
      actor,
      peer: teamId,
      details: { from: peer.status, to: next },
    });
    // The teams it introduced count its introductions only while it is active.
    await recomputeAround(deps, tx, teamId, { actor, reason: suspend ? 'peer suspended' : 'peer resumed' });
    return reread(deps, tx, teamId);
  });
}

async function remove(deps: PeerServiceDeps, teamId: string, actor: string): Promise<void> {
  try {
    await deps.db.transaction().execute(async (tx) => {
      const peer = await mustFind(deps, tx, teamId, true);
      await deletePeer(tx, teamId);
      await deps.audit.append(tx, {
        kind: 'peer.removed',
        actor,
        peer: teamId,
        details: { fingerprint: peer.fingerprint, name: peer.name, url: peer.url },
      });
      // Its introductions no longer come from a peer of ours.
      await recomputeVouchedBy(deps, tx, teamId, { actor, reason: 'peer removed' });
    });
  } catch (err) {
    // Other federation records (shares, outbox) may refer to the peer: they keep it.
    if (isDbError(err, FOREIGN_KEY_VIOLATION) || isDbError(err, RESTRICT_VIOLATION)) {
      throw new ProblemError('conflict', `"${teamId}" is still referred to by shared incidents or deliveries; suspend it instead`);
    }
    throw err;
  }
}

export function createPeerService(deps: PeerServiceDeps): PeerService {
  const { db, clock, audit } = deps;

  // --- PeerDirectory (the exchange's view) ---------------------------------------------------

  const directory: PeerDirectory = {
    async listRecords(executor, filter) {
      return (await listPeers(executor, filter)).map(toPeerRecord);
    },
    async find(executor, teamId) {
      const peer = await findPeer(executor, teamId);
      return peer ? toPeerRecord(peer) : null;
    },
    async findMany(executor, teamIds) {
      return new Map((await findPeers(executor, teamIds)).map((peer) => [peer.teamId, toPeerRecord(peer)]));
    },
    async findByEmail(executor, email) {
      const peer = await findPeerByEmail(executor, email);
      return peer ? toPeerRecord(peer) : null;
    },

    async intakeStates(tx, teamIds) {
      const rows = await lockPeerStates(tx, teamIds);
      return new Map(rows.map((r) => [r.teamId, { status: r.status as PeerStatus, fingerprint: r.fingerprint }]));
    },

    async keysPinnedFor(executor, teamId) {
      const keys: PeerKey[] = [];
      for (const row of await listPeerKeys(executor, teamId)) keys.push(await readPeerKey(row.publicKey));
      return keys;
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
        await markKeyChanged(deps, tx, peer, seen !== null && isV4Fingerprint(seen) ? seen : null, null, FEDERATION_ACTOR, 'message');
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
        await checkKeyIsNew(deps, tx, teamId, key.fingerprint, 'key-rotation-invalid');
        const at = clock();
        if (!(await keyRotationProofHolds(teamId, peer.fingerprint, key, rotation.newKeySignature, at))) {
          throw new ProblemError(
            'key-rotation-invalid',
            `newKeySignature is not the new key's signature over this rotation (team "${teamId}", ${peer.fingerprint} to ${key.fingerprint})`,
          );
        }
        // The old key vouched for the new one, so a flagged change to exactly this key (or to a
        // key that went unnamed) is explained; a change to some third key is not.
        const explains = peer.keyChangedAt !== null && (peer.pendingFingerprint === null || peer.pendingFingerprint === key.fingerprint);
        const actor = `${teamId} (key.rotation)`;
        await retireCurrentPeerKey(tx, teamId, at);
        await insertPeerKey(tx, teamId, {
          fingerprint: key.fingerprint,
          publicKey: key.armored,
          how: 'rotation',
          at,
          by: actor,
        });
        await updatePeer(tx, teamId, {
          fingerprint: key.fingerprint,
          public_key: key.armored,
          ...(explains
            ? {
                status: 'active',
                pending_fingerprint: null,
                pending_public_key: null,
                pending_profile: null,
                key_changed_at: null,
              }
            : {}),
          updated_at: at,
        });
        await audit.append(tx, {
          kind: 'peer.key-rotated',
          actor: FEDERATION_ACTOR,
          peer: teamId,
          details: {
            oldFingerprint: peer.fingerprint,
            newFingerprint: key.fingerprint,
            assurance: peer.assurance,
            clearedKeyChange: explains,
          },
        });
        // Vouches for the old key no longer count; its own introductions count again if the change it cleared held them.
        await recomputeAround(deps, tx, teamId, { actor: FEDERATION_ACTOR, reason: 'key rotated' });
        return toPeerRecord(await reread(deps, tx, teamId));
      });
    },

    async addFromUrl(url, actor, expect) {
      return toPeerRecord((await add(deps, { url }, actor, expect)).peer);
    },

    async addMailTeam(input, actor, statedBy) {
      return toPeerRecord((await addMailPeer(deps, input, actor, statedBy)).peer);
    },

    recordVouch: (tx, vouch) => recordVouch(deps, tx, vouch),
    withdrawVouch: (tx, withdrawal) => withdrawVouch(deps, tx, withdrawal),
  };

  return {
    ...directory,
    list: (filter) => listPeers(db, filter),
    get: (teamId) => mustFind(deps, db, teamId),
    async keys(teamId) {
      await mustFind(deps, db, teamId);
      return listPeerKeys(db, teamId);
    },
    add: (input, actor) => add(deps, input, actor),
    addMail: (input, actor) => addMailPeer(deps, input, actor),
    replaceMailKey: (teamId, input, actor) => replaceMailKey(deps, teamId, input, actor),
    patch: (teamId, input, actor) => patch(deps, teamId, input, actor),
    verify: (teamId, fingerprint, actor) => verify(deps, teamId, fingerprint, actor),
    refresh: (teamId, actor) => refresh(deps, teamId, actor),
    suspend: (teamId, actor) => setSuspended(deps, teamId, actor, true),
    resume: (teamId, actor) => setSuspended(deps, teamId, actor, false),
    remove: (teamId, actor) => remove(deps, teamId, actor),
    vouches: (teamId) => vouchReport(deps, db, teamId),
  };
}
