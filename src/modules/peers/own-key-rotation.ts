import type { NodeSigner } from '../../crypto/index.js';
import type { Db } from '../../db/database.js';
import type { AuditLog } from '../audit/audit.module.js';
import type { Exchange } from '../exchange/exchange.module.js';
import { proveKeyRotation } from './key-rotation-proof.js';
import type { PeerDirectory } from './peer-directory.js';

export interface OwnKeyRotation {
  oldFingerprint: string;
  newFingerprint: string;
  /** Every peer a key.rotation was queued for, by team id. */
  notified: string[];
  /** Pending messages signed again with the new key. */
  resigned: number;
}

/**
 * This node changes its own key (issue 13, `hikeshi key rotate`). In one transaction:
 * - a `key.rotation` for every peer, whatever its status (a suspended or flagged peer gets it
 *   when delivery to it resumes), signed by the OLD key, which the peer has pinned, and carrying
 *   the NEW key's signature over the rotation (key-rotation-proof.ts);
 * - every other pending message signed again with the new key and moved behind the rotations:
 *   the outbox holds a peer's messages while its key.rotation is pending, so a peer never sees
 *   the new key's signature before the old key has vouched for it;
 * - an audit entry per peer told (a disclosure of the new key) and one for the rotation.
 * The caller (the CLI) switches the key files once this commits.
 */
export async function rotateOwnKey(
  deps: { db: Db; teamId: string; signer: NodeSigner; audit: AuditLog; peers: PeerDirectory; exchange: Pick<Exchange, 'outbox'> },
  newSigner: NodeSigner,
  actor: string,
): Promise<OwnKeyRotation> {
  const { signer, teamId } = deps;
  const newKeySignature = await proveKeyRotation(teamId, signer.fingerprint, newSigner);
  const body = { newPublicKey: newSigner.armoredPublicKey, newFingerprint: newSigner.fingerprint, newKeySignature };
  return deps.db.transaction().execute(async (tx) => {
    const notified: string[] = [];
    const rotations = new Set<string>();
    for (const peer of await deps.peers.listRecords(tx, {})) {
      // A public key is public: TLP:CLEAR.
      const signed = await deps.exchange.outbox.enqueue(tx, { type: 'key.rotation', to: peer.teamId, tlp: 'CLEAR', body }, null);
      rotations.add(signed.id);
      notified.push(peer.teamId);
    }
    const resigned = await deps.exchange.outbox.resignPending(tx, newSigner, rotations);
    const fingerprints = { oldFingerprint: signer.fingerprint, newFingerprint: newSigner.fingerprint };
    for (const peer of notified) {
      await deps.audit.append(tx, {
        kind: 'disclosure.key-rotation',
        actor,
        peer,
        decision: 'allow',
        details: fingerprints,
      });
    }
    await deps.audit.append(tx, { kind: 'node.key-rotated', actor, details: { ...fingerprints, notified, resigned } });
    return { ...fingerprints, notified, resigned };
  });
}
