import type { FastifyBaseLogger } from 'fastify';
import type { Clock } from '../../clock.js';
import { canonicalize } from '../../crypto/index.js';
import type { Db, Tx } from '../../db/database.js';
import type { AuditHeadDocument } from '../../../schemas/federation.schema.js';
import { envelopeText, type InboxOutcome, type ReceivedAs } from '../exchange/exchange.module.js';
import type { AuditLog } from './audit.module.js';
import { findContradiction, insertWitnessedHead, listWitnessedHeads } from './audit-witness.repository.js';

/**
 * The witness's side of the anchored audit (docs/federation-protocol.md §5.11, §15.3): a peer's
 * `audit.head` is kept exactly as signed, and served back to that peer alone. The witness judges
 * nothing about the sender's chain but its direction: a head that contradicts one held before
 * (the chain went backwards, or one seq has two hashes) is a sign the sender's log was
 * rewritten. It is kept all the same, flagged, audited and logged: it is the evidence.
 */
export interface AuditWitness {
  /** The inbox handler for one verified, validated audit.head (inside the inbox's transaction). */
  witness(tx: Tx, document: AuditHeadDocument, received: ReceivedAs | undefined): Promise<InboxOutcome>;
  /** The JSON text of `GET /federation/v1/audit-heads` for `team`: its heads, highest seq first. */
  headsFor(team: string, limit: number): Promise<string>;
}

export const HEAD_CONFLICT_KIND = 'audit.head-conflict';

export function createAuditWitness(deps: { db: Db; clock: Clock; audit: AuditLog; log: FastifyBaseLogger }): AuditWitness {
  const { db, clock, audit, log } = deps;
  return {
    async witness(tx, document, received) {
      // The inbox always says how a document arrived; without the signature there is nothing to keep.
      if (!received) throw new Error('an audit.head reached the witness without its signature');
      const head = {
        peerTeam: document.from,
        messageId: document.id,
        headSeq: document.body.seq,
        headHash: document.body.hash,
        headAt: document.body.at,
        created: document.created,
      };
      const contradicted = await findContradiction(tx, head);
      await insertWitnessedHead(tx, {
        ...head,
        // The canonical text is exactly what the signature covers: the sender verifies it as is.
        document: canonicalize(document),
        signature: received.signature,
        conflict: contradicted !== null,
        receivedAt: clock(),
      });
      if (contradicted) {
        await audit.append(tx, {
          kind: HEAD_CONFLICT_KIND,
          actor: document.from,
          peer: document.from,
          decision: null,
          details: {
            messageId: document.id,
            head: { seq: head.headSeq, hash: head.headHash },
            contradicts: { messageId: contradicted.messageId, seq: contradicted.headSeq, hash: contradicted.headHash },
            reason: contradicted.headSeq === head.headSeq ? 'same-seq-other-hash' : 'went-backwards',
          },
        });
        log.warn(
          { peer: document.from, messageId: document.id, seq: head.headSeq, heldSeq: contradicted.headSeq },
          "a peer's audit head contradicts one witnessed before: its audit chain may have been cut or rewritten",
        );
      }
      return { status: 'noted', incidentId: null, ref: null };
    },

    async headsFor(team, limit) {
      const rows = await listWitnessedHeads(db, team, limit);
      // Built around the stored canonical text, so the envelope is the signed one, byte for byte.
      const items = rows.map(
        (r) =>
          `{"envelope":${envelopeText(r.document, r.signature)},"receivedAt":${JSON.stringify(r.receivedAt)},"conflict":${r.conflict}}`,
      );
      return `{"items":[${items.join(',')}]}`;
    },
  };
}
