import type { Clock } from '../../clock.js';
import type { Config } from '../../config.js';
import type { NodeSigner } from '../../crypto/index.js';
import type { DbOrTx, Tx } from '../../db/database.js';
import {
  countPending,
  dropUntried,
  findOutbound,
  insertOutbound,
  lastDeliveredOfType,
  lastQueuedType,
  listPendingTexts,
  replaceSignature,
  type OutboundRow,
} from './outbox.repository.js';
import { newDocument, signMessage, type OutgoingMessage, type SignedMessage } from './message-document.js';

/**
 * The outbox: what leaves this node, signed once and written inside the transaction of the
 * change that causes it, so the change and the message commit or roll back together; the
 * delivery worker sends it later (docs/federation-protocol.md §13). Domain modules queue through
 * `enqueue` and learn of deliveries through `onDelivered`; none touches the outbox's table.
 */

/** A delivered message as a domain module sees it, inside the transaction that records the delivery. */
export interface Delivered {
  id: string;
  type: string;
  peerTeam: string;
  incidentId: string | null;
  /** The receiver's reference number, from its signed receipt (or a `Reference:` line of a team's signed reply). */
  peerRef: string | null;
  receiptStatus: string;
  /**
   * A team without a node answered by a signed mail (ADR 0028; receiptStatus `replied`): the
   * verified text, for the incident's journal. `first`: it moved the message to delivered (a later
   * reply to the same mail is journaled too, and changes nothing else).
   */
  reply?: { text: string; signerFingerprint: string; first: boolean; sha256: string };
}

export type DeliveredHook = (tx: Tx, delivered: Delivered) => Promise<void>;

/**
 * A message the exchange gave up on for good (docs/federation-protocol.md §13: a permanent
 * refusal, a peer removed, or retried past the delivery's maximum age), as a domain module sees
 * it inside the transaction that records the failure.
 */
export interface DeliveryFailed {
  id: string;
  type: string;
  peerTeam: string;
  incidentId: string | null;
  /** Why, as the outbox records it (the peer's status and problem code; never a document). */
  error: string;
}

export type DeliveryFailedHook = (tx: Tx, failed: DeliveryFailed) => Promise<void>;

export interface Outbox {
  /** Signs a message and queues it inside the caller's transaction. The caller has asked the sharing policy. */
  enqueue(tx: Tx, message: OutgoingMessage, incidentId: string | null): Promise<SignedMessage>;
  /** enqueue for many messages, written in one statement: a forum inquiry to every member. */
  enqueueMany(tx: Tx, messages: ReadonlyArray<{ message: OutgoingMessage; incidentId: string | null }>): Promise<SignedMessage[]>;
  /** Lets the worker look for due messages now (after a commit that queued some). */
  kick(): void;
  /** Registers work to do in the transaction that records a delivery (a link's reference number, a journal entry). */
  onDelivered(hook: DeliveredHook): void;
  /** Registers work to do in the transaction that records a delivery failed for good (a notification bounced). */
  onFailed(hook: DeliveryFailedHook): void;
  /** Drops queued, never-tried messages of `type` about an incident for a peer: a newer one supersedes them. */
  supersede(tx: Tx, incidentId: string, peerTeam: string, type: string): Promise<number>;
  /** The type of the latest message of `types` queued about an incident for a peer, or null. */
  lastQueued(db: DbOrTx, incidentId: string, peerTeam: string, types: readonly string[]): Promise<string | null>;
  /** One queued message and its delivery state. */
  find(db: DbOrTx, id: string): Promise<OutboundRow | null>;
  /** The newest message of `type` a peer acknowledged with a receipt (for messages about no incident: an audit head). */
  lastDelivered(db: DbOrTx, peerTeam: string, type: string): Promise<OutboundRow | null>;
  /** Messages about an incident for a peer not delivered yet, except `exceptId`. */
  countPending(db: DbOrTx, incidentId: string, peerTeam: string, exceptId: string | null): Promise<number>;
  /**
   * Signs every pending message except `exceptIds` again with `signer` (the node's new key) and
   * moves it behind the messages queued so far, in its order; answers how many. The bytes signed
   * do not change, so a peer that kept an earlier attempt sees the same document.
   */
  resignPending(tx: Tx, signer: NodeSigner, exceptIds: ReadonlySet<string>): Promise<number>;
}

export function createOutbox(deps: {
  clock: Clock;
  config: Pick<Config, 'teamId'>;
  signer: NodeSigner;
  kick: () => void;
}): Outbox & { delivered: DeliveredHook; failed: DeliveryFailedHook } {
  const hooks: DeliveredHook[] = [];
  const failedHooks: DeliveryFailedHook[] = [];
  async function enqueueMany(
    tx: Tx,
    messages: ReadonlyArray<{ message: OutgoingMessage; incidentId: string | null }>,
  ): Promise<SignedMessage[]> {
    const at = deps.clock();
    const signed: SignedMessage[] = [];
    for (const { message } of messages) signed.push(await signMessage(newDocument(deps.config.teamId, at, message), deps.signer));
    await insertOutbound(
      tx,
      messages.map(({ message, incidentId }, i) => ({
        id: signed[i]!.id,
        peerTeam: message.to,
        incidentId,
        type: message.type,
        tlp: message.tlp,
        document: signed[i]!.documentText,
        signature: signed[i]!.signature,
        at,
      })),
    );
    return signed;
  }
  return {
    enqueue: async (tx, message, incidentId) => (await enqueueMany(tx, [{ message, incidentId }]))[0]!,
    enqueueMany,
    kick: () => deps.kick(),
    onDelivered(hook) {
      hooks.push(hook);
    },
    onFailed(hook) {
      failedHooks.push(hook);
    },
    supersede: dropUntried,
    lastQueued: lastQueuedType,
    find: findOutbound,
    lastDelivered: lastDeliveredOfType,
    countPending,
    async resignPending(tx, signer, exceptIds) {
      let count = 0;
      for (const row of await listPendingTexts(tx)) {
        if (exceptIds.has(row.id)) continue;
        await replaceSignature(tx, row.id, await signer.signDetached(row.document));
        count++;
      }
      return count;
    },
    /** Runs the hooks; the delivery worker calls it. */
    async delivered(tx, delivered) {
      for (const hook of hooks) await hook(tx, delivered);
    },
    /** Runs the failure hooks; the delivery worker calls it. */
    async failed(tx, failed) {
      for (const hook of failedHooks) await hook(tx, failed);
    },
  };
}
