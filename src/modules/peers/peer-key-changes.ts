import { isV4Fingerprint, normalizeFingerprint, type PeerKey } from '../../crypto/index.js';
import type { Tx } from '../../db/database.js';
import { ProblemError } from '../../http/problem.js';

import { insertPeerKey, retireCurrentPeerKey, updatePeer, type PeerDetails } from './peer.repository.js';

import { verifySignedProfile } from './signed-profile.js';
import { recomputeAround } from './key-vouch.service.js';

import {
  checkKeyIsNew,
  confirmHint,
  fetchForPeer,
  isDbError,
  mustFind,
  reread,
  UNIQUE_VIOLATION,
  type PeerOutcome,
  type PeerServiceDeps,
} from './peer.service.js';

/**
 * A peer's key after it was pinned: a human confirming a fingerprint (or a new key) out of band,
 * a refresh of the peer's profile, and a new key seen without a rotation signed by the old one
 * (the peer is flagged until a human looks).
 */
export async function verify(deps: PeerServiceDeps, teamId: string, rawFingerprint: string, actor: string): Promise<PeerOutcome> {
  const fingerprint = normalizeFingerprint(rawFingerprint);
  if (!isV4Fingerprint(fingerprint)) {
    throw new ProblemError('validation-failed', 'fingerprint must be 40 hex digits', {
      errors: [{ location: 'body', pointer: '/fingerprint', message: 'must be 40 hex digits (spaces allowed)' }],
    });
  }
  const peer = await mustFind(deps, deps.db, teamId);
  const at = deps.clock();

  // No key change pending: the handler confirms the pinned key.
  if (peer.keyChangedAt === null || fingerprint === peer.fingerprint) {
    if (fingerprint !== peer.fingerprint) {
      throw new ProblemError('fingerprint-mismatch', `the key pinned for "${teamId}" is ${peer.fingerprint}; nothing was recorded`);
    }
    const updated = await deps.db.transaction().execute(async (tx) => {
      const current = await mustFind(deps, tx, teamId, true);
      // A key change flagged since the first read was not seen by the human: never dismiss it unseen.
      if (
        current.fingerprint !== peer.fingerprint ||
        current.keyChangedAt?.getTime() !== peer.keyChangedAt?.getTime() ||
        current.pendingFingerprint !== peer.pendingFingerprint
      ) {
        throw new ProblemError('conflict', `the key state of "${teamId}" changed meanwhile; read the peer again`);
      }
      const dismissing = current.keyChangedAt !== null;
      await updatePeer(tx, teamId, {
        assurance: 'verified',
        verified_at: at,
        verified_by: actor,
        // Confirming the old key out of band dismisses a flagged change: the other key was not theirs.
        ...(dismissing
          ? {
              status: current.status === 'key-changed' ? 'active' : current.status,
              pending_fingerprint: null,
              pending_public_key: null,
              pending_profile: null,
              key_changed_at: null,
            }
          : {}),
        updated_at: at,
      });
      await deps.audit.append(tx, {
        kind: dismissing ? 'peer.key-change-dismissed' : 'peer.verified',
        actor,
        peer: teamId,
        details: {
          fingerprint,
          previousAssurance: current.assurance,
          ...(dismissing ? { dismissedFingerprint: current.pendingFingerprint } : {}),
        },
      });
      // Its introductions of other teams count from now on.
      await recomputeAround(deps, tx, teamId, { actor, reason: dismissing ? 'key change dismissed' : 'fingerprint verified' });
      return reread(deps, tx, teamId);
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
    const fetched = await fetchForPeer(deps, peer);
    if (fetched.key.fingerprint !== fingerprint) {
      throw new ProblemError(
        'fingerprint-mismatch',
        `the node of "${teamId}" serves key ${fetched.key.fingerprint}, not ${fingerprint}; nothing was pinned`,
      );
    }
    newKey = fetched.key;
    profileText = fetched.raw;
    profileName = fetched.document.profile.name;
    profileRequiresSealed = fetched.document.profile.federation.requiresSealed;
  }
  if (newKey.fingerprint === deps.ownFingerprint) throw new ProblemError('conflict', "that is this node's own key");
  try {
    const updated = await deps.db.transaction().execute(async (tx) => {
      const current = await mustFind(deps, tx, teamId, true);
      if (current.fingerprint !== peer.fingerprint || current.keyChangedAt === null) {
        throw new ProblemError('conflict', `the key state of "${teamId}" changed meanwhile; read the peer again`);
      }
      await checkKeyIsNew(deps, tx, teamId, newKey.fingerprint, 'conflict');
      await retireCurrentPeerKey(tx, teamId, at);
      await insertPeerKey(tx, teamId, {
        fingerprint: newKey.fingerprint,
        publicKey: newKey.armored,
        how: 'reverified',
        at,
        by: actor,
      });
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
      await deps.audit.append(tx, {
        kind: 'peer.key-repinned',
        actor,
        peer: teamId,
        details: { oldFingerprint: current.fingerprint, newFingerprint: newKey.fingerprint, assurance: 'verified' },
      });
      await recomputeAround(deps, tx, teamId, { actor, reason: 'new key verified and pinned' });
      return reread(deps, tx, teamId);
    });
    return { peer: updated };
  } catch (err) {
    if (isDbError(err, UNIQUE_VIOLATION))
      throw new ProblemError('conflict', `key ${newKey.fingerprint} is already pinned for another team`);
    throw err;
  }
}

export async function refresh(deps: PeerServiceDeps, teamId: string, actor: string): Promise<PeerOutcome> {
  const peer = await mustFind(deps, deps.db, teamId);
  const { document, key, raw } = await fetchForPeer(deps, peer);
  const at = deps.clock();
  return deps.db.transaction().execute(async (tx) => {
    const current = await mustFind(deps, tx, teamId, true);
    if (key.fingerprint === current.fingerprint) {
      const changes: Record<string, { from: unknown; to: unknown }> = {};
      if (current.name !== document.profile.name) changes['name'] = { from: current.name, to: document.profile.name };
      if (current.profileRequiresSealed !== document.profile.federation.requiresSealed) {
        changes['profileRequiresSealed'] = {
          from: current.profileRequiresSealed,
          to: document.profile.federation.requiresSealed,
        };
      }
      await updatePeer(tx, teamId, {
        name: document.profile.name,
        profile_requires_sealed: document.profile.federation.requiresSealed,
        signed_profile: raw,
        profile_fetched_at: at,
        updated_at: at,
      });
      if (Object.keys(changes).length > 0)
        await deps.audit.append(tx, { kind: 'peer.profile-refreshed', actor, peer: teamId, details: { changes } });
      return { peer: await reread(deps, tx, teamId) };
    }
    // The node now serves another key. Not pinned: only a rotation signed by the old key, or a
    // human confirming this one, replaces the pinned key.
    await markKeyChanged(deps, tx, current, key.fingerprint, { publicKey: key.armored, profile: raw }, actor, 'profile');
    const updated = await reread(deps, tx, teamId);
    return {
      peer: updated,
      confirm:
        `The node of ${current.name} (${teamId}) now serves another key. Nothing signed by it is accepted until you confirm it. ` +
        confirmHint(teamId, current.name, key.fingerprint),
    };
  });
}

export async function markKeyChanged(
  deps: PeerServiceDeps,
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
  const at = deps.clock();
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
    await deps.audit.append(tx, {
      kind: 'peer.key-changed',
      actor,
      peer: peer.teamId,
      details: {
        pinnedFingerprint: peer.fingerprint,
        seenFingerprint,
        via,
        status: peer.status === 'suspended' ? 'suspended' : 'key-changed',
      },
    });
  }
  // Which key is the team's is in doubt: no vouch counts for it, and its introductions of others stop counting.
  await recomputeAround(deps, tx, peer.teamId, { actor, reason: 'key change flagged' });
}
