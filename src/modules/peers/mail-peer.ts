import { InvalidKeyError, isCertifiedBy, normalizeFingerprint, readPeerKey, type PeerKey } from '../../crypto/index.js';
import { ProblemError } from '../../http/problem.js';
import type { PeerMailAdd, PeerMailKey } from '../../../schemas/peer.schema.js';
import { lockVouchSubject } from './key-vouch.repository.js';
import { recomputeAssurance } from './key-vouch.service.js';
import {
  findPeer,
  findPeerByEmail,
  findPeerTeamByFingerprint,
  insertPeer,
  insertPeerKey,
  retireCurrentPeerKey,
  updatePeer,
} from './peer.repository.js';
import {
  checkKeyIsNew,
  confirmHint,
  isDbError,
  isRetiredKey,
  reread,
  UNIQUE_VIOLATION,
  type PeerOutcome,
  type PeerServiceDeps,
} from './peer.service.js';

/**
 * Teams without a node (issue 17, ADR 0028): many CSIRTs run no node and work with GnuPG and a
 * mailbox. Such a team is added from what a handler has of it: team id, name, e-mail address and
 * its armored OpenPGP public key. Nothing is fetched. Everything else is as for a node peer: the
 * key is pinned `unverified` until a handler confirms its fingerprint out of band (the same
 * POST /api/v1/peers/{teamId}/verify), relationship and trust level feed the same sharing policy,
 * and the addition is audited (`peer.added`, `kind: mail`). It takes every message by signed
 * (and always encrypted) e-mail: `mailOnly` is set and cannot be unset.
 */

async function pinnableKey(armored: string, expected: string | undefined, statedBy?: string): Promise<PeerKey> {
  let key: PeerKey;
  try {
    key = await readPeerKey(armored);
  } catch (err) {
    // A key that cannot encrypt is refused too: everything to such a team travels encrypted.
    if (err instanceof InvalidKeyError) throw new ProblemError('peer-key-invalid', `publicKey is not a usable OpenPGP key: ${err.message}`);
    throw err;
  }
  if (expected !== undefined && normalizeFingerprint(expected) !== key.fingerprint) {
    throw new ProblemError(
      'fingerprint-mismatch',
      `the key's fingerprint is ${key.fingerprint}, not the one ${statedBy ? `${statedBy} states` : 'given'}`,
    );
  }
  return key;
}

/**
 * `statedBy` names a signed source of the key and address (a forum's roster, ADR 0028): the key
 * is pinned exactly as stated, and the source's vouch, if recorded, sets the assurance.
 */
export async function addMailPeer(deps: PeerServiceDeps, input: PeerMailAdd, actor: string, statedBy?: string): Promise<PeerOutcome> {
  const key = await pinnableKey(input.publicKey, input.fingerprint, statedBy);
  if (input.teamId === deps.teamId || key.fingerprint === deps.ownFingerprint) {
    throw new ProblemError('conflict', "that is this node's own team or key; a node does not peer with itself");
  }
  const at = deps.clock();
  const relationship = input.relationship ?? 'peer';
  const trustLevel = input.trustLevel ?? 'unknown';
  try {
    const peer = await deps.db.transaction().execute(async (tx) => {
      await lockVouchSubject(tx, input.teamId);
      if (await findPeer(tx, input.teamId)) throw new ProblemError('conflict', `team "${input.teamId}" is already a peer`);
      const holder = await findPeerTeamByFingerprint(tx, key.fingerprint);
      if (holder) throw new ProblemError('conflict', `key ${key.fingerprint} is already pinned for team "${holder}"`);
      if (await isRetiredKey(deps, tx, input.teamId, key.fingerprint))
        throw new ProblemError('conflict', `key ${key.fingerprint} was retired by "${input.teamId}" and is not pinned again`);
      const byEmail = await findPeerByEmail(tx, input.email);
      if (byEmail) throw new ProblemError('conflict', `${input.email} is the e-mail address of peer "${byEmail.teamId}"`);
      await insertPeer(tx, {
        teamId: input.teamId,
        name: input.name,
        url: null,
        fingerprint: key.fingerprint,
        publicKey: key.armored,
        relationship,
        trustLevel,
        profileRequiresSealed: false,
        signedProfile: null,
        at,
        by: actor,
        mail: { email: input.email },
      });
      await insertPeerKey(tx, input.teamId, { fingerprint: key.fingerprint, publicKey: key.armored, how: 'added', at, by: actor });
      await deps.audit.append(tx, {
        kind: 'peer.added',
        actor,
        peer: input.teamId,
        details: {
          kind: 'mail',
          fingerprint: key.fingerprint,
          email: input.email,
          relationship,
          trustLevel,
          assurance: 'unverified',
          ...(statedBy ? { statedBy } : {}),
        },
      });
      await recomputeAssurance(deps, tx, input.teamId, { actor, reason: 'peer added' });
      return reread(deps, tx, input.teamId);
    });
    return { peer, confirm: confirmHint(peer.teamId, peer.name, peer.fingerprint) };
  } catch (err) {
    if (isDbError(err, UNIQUE_VIOLATION))
      throw new ProblemError('conflict', `team "${input.teamId}", its key or its e-mail address is already a peer's`);
    throw err;
  }
}

/**
 * A team without a node changes its key (ADR 0028): it has no node to sign a `key.rotation`, so
 * an admin pins the new key in place of the old one. The new key keeps the peer's assurance only
 * when the old pinned key certified it (an OpenPGP certification over one of its user IDs, as
 * `gpg --local-user <old> --sign-key <new>` makes): the chain from the key a human verified is
 * then as strong as a node's signed rotation. Otherwise it starts `unverified`, as a key typed into
 * a form proves nothing about who made it, and the answer carries the `confirm` hint. Either way
 * roster vouches for the old key stop counting. From the commit on, replies signed by the old key
 * are held (`wrong-key`), and mail still queued is encrypted to the new key when it is sent.
 */
export async function replaceMailKey(deps: PeerServiceDeps, teamId: string, input: PeerMailKey, actor: string): Promise<PeerOutcome> {
  const key = await pinnableKey(input.publicKey, input.fingerprint);
  if (key.fingerprint === deps.ownFingerprint) throw new ProblemError('conflict', "that is this node's own key");
  try {
    const peer = await deps.db.transaction().execute(async (tx) => {
      await lockVouchSubject(tx, teamId);
      const current = await findPeer(tx, teamId, { forUpdate: true });
      if (!current) throw new ProblemError('not-found', `no peer "${teamId}"`);
      if (current.kind !== 'mail')
        throw new ProblemError('conflict', `"${teamId}" runs a node: its key changes by a signed key.rotation or a verified key change`);
      if (current.fingerprint === key.fingerprint)
        throw new ProblemError('conflict', `key ${key.fingerprint} is pinned for "${teamId}" already`);
      await checkKeyIsNew(deps, tx, teamId, key.fingerprint, 'conflict');
      const certified = await isCertifiedBy(key, await readPeerKey(current.publicKey), deps.clock());
      const assurance = certified ? current.assurance : 'unverified';
      const at = deps.clock();
      await retireCurrentPeerKey(tx, teamId, at);
      await insertPeerKey(tx, teamId, { fingerprint: key.fingerprint, publicKey: key.armored, how: 'replaced', at, by: actor });
      await updatePeer(tx, teamId, {
        fingerprint: key.fingerprint,
        public_key: key.armored,
        assurance,
        ...(certified ? {} : { verified_at: null, verified_by: null }),
        // The admin settled which key is the team's: a flagged change is cleared (a suspension stays).
        ...(current.status === 'key-changed' ? { status: 'active' } : {}),
        pending_fingerprint: null,
        pending_public_key: null,
        pending_profile: null,
        key_changed_at: null,
        updated_at: at,
      });
      await deps.audit.append(tx, {
        kind: 'peer.key-replaced',
        actor,
        peer: teamId,
        details: {
          kind: 'mail',
          oldFingerprint: current.fingerprint,
          newFingerprint: key.fingerprint,
          certifiedByOldKey: certified,
          assurance: { from: current.assurance, to: assurance },
        },
      });
      await recomputeAssurance(deps, tx, teamId, { actor, reason: certified ? 'key replaced, certified by the old key' : 'key replaced' });
      return reread(deps, tx, teamId);
    });
    return peer.assurance === 'verified' ? { peer } : { peer, confirm: confirmHint(peer.teamId, peer.name, peer.fingerprint) };
  } catch (err) {
    if (isDbError(err, UNIQUE_VIOLATION)) throw new ProblemError('conflict', `key ${key.fingerprint} is already pinned for another team`);
    throw err;
  }
}
