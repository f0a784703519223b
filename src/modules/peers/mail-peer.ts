import { InvalidKeyError, normalizeFingerprint, readPeerKey, type PeerKey } from '../../crypto/index.js';
import { ProblemError } from '../../http/problem.js';
import type { PeerMailAdd } from '../../../schemas/peer.schema.js';
import { lockVouchSubject } from './key-vouch.repository.js';
import { recomputeAssurance } from './key-vouch.service.js';
import { findPeer, findPeerByEmail, findPeerTeamByFingerprint, insertPeer, insertPeerKey } from './peer.repository.js';
import { confirmHint, isDbError, isRetiredKey, reread, UNIQUE_VIOLATION, type PeerOutcome, type PeerServiceDeps } from './peer.service.js';

/**
 * Teams without a node (issue 17, ADR 0028): many CSIRTs run no node and work with GnuPG and a
 * mailbox. Such a team is added from what a handler has of it: team id, name, e-mail address and
 * its armored OpenPGP public key. Nothing is fetched. Everything else is as for a node peer: the
 * key is pinned `unverified` until a handler confirms its fingerprint out of band (the same
 * POST /api/v1/peers/{teamId}/verify), relationship and trust level feed the same sharing policy,
 * and the addition is audited (`peer.added`, `kind: mail`). It takes every message by signed
 * (and always encrypted) e-mail: `mailOnly` is set and cannot be unset.
 */

async function pinnableKey(armored: string, expected: string | undefined): Promise<PeerKey> {
  let key: PeerKey;
  try {
    key = await readPeerKey(armored);
  } catch (err) {
    // A key that cannot encrypt is refused too: everything to such a team travels encrypted.
    if (err instanceof InvalidKeyError) throw new ProblemError('peer-key-invalid', `publicKey is not a usable OpenPGP key: ${err.message}`);
    throw err;
  }
  if (expected !== undefined && normalizeFingerprint(expected) !== key.fingerprint) {
    throw new ProblemError('fingerprint-mismatch', `the key's fingerprint is ${key.fingerprint}, not the one given`);
  }
  return key;
}

export async function addMailPeer(deps: PeerServiceDeps, input: PeerMailAdd, actor: string): Promise<PeerOutcome> {
  const key = await pinnableKey(input.publicKey, input.fingerprint);
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
        details: { kind: 'mail', fingerprint: key.fingerprint, email: input.email, relationship, trustLevel, assurance: 'unverified' },
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
