import { createHash } from 'node:crypto';
import { canonicalize, signDocument, type NodeSigner } from '../../crypto/index.js';
import type { Tx } from '../../db/database.js';
import { scrubJson, type Scrub } from '../../util/scrub-json.js';
import { envelopeShape, validateDocument } from './message-document.js';

function isValidDocument(value: unknown): boolean {
  try {
    validateDocument(value as Record<string, unknown>);
    return true;
  } catch {
    return false;
  }
}
import { inboundToErase, outboundToErase, recordErasedInbound, recordErasedOutbound } from './stored-erasure.repository.js';

/**
 * Erasure of personal data in the signed messages stored about one incident (issue 12, ADR
 * 0016): every string of a stored document goes through the erasure's `scrub`, and a message in
 * which it found something is rewritten.
 *
 * - Received and delivered messages keep their row, id, signature and receipt; the document is
 *   the erased version, with the SHA-256 of the document as signed beside it. The signature no
 *   longer verifies against the stored text (that is what erasing means); the digest still says
 *   which document it covered, and a repeat of the message is still recognised by it.
 * - A message still waiting in the outbox is erased and signed again: the peer gets the erased
 *   version, never the personal data, under the same message id. Where the erased text is no
 *   longer a valid document (a host name or an e-mail address became `[redacted]`), it is
 *   withdrawn instead (failed, with WITHDRAWN_BY_ERASURE), and so is everything waiting behind a
 *   withdrawn report for the same peer: a handler shares the erased incident again.
 */

export type { Scrub };

export interface StoredErasureResult {
  /** Received messages rewritten. */
  inbound: number;
  /** Sent messages rewritten (delivered or given up). */
  outbound: number;
  /** Messages still waiting to be sent, erased and signed again. */
  resigned: number;
  /** Messages still waiting whose erased version is not a valid document (or follows one such report): withdrawn. */
  withdrawn: number;
}

export const WITHDRAWN_BY_ERASURE = 'withdrawn before delivery: personal data in it was erased; share the incident again';

export const sha256Hex = (text: string): string => createHash('sha256').update(text).digest('hex');

export async function eraseStoredMessages(
  tx: Tx,
  deps: { signer: NodeSigner; clock: () => Date },
  incidentId: string,
  scrub: Scrub,
): Promise<StoredErasureResult> {
  const at = deps.clock();
  const result: StoredErasureResult = { inbound: 0, outbound: 0, resigned: 0, withdrawn: 0 };
  for (const row of await inboundToErase(tx, incidentId)) {
    const shape = envelopeShape(JSON.parse(row.envelope));
    if (shape.kind !== 'signed') continue;
    const scrubbed = scrubJson(shape.document, scrub);
    if (!scrubbed.erased) continue;
    await recordErasedInbound(tx, row.seq, {
      envelope: JSON.stringify({ document: scrubbed.value, signature: shape.signature }),
      // The digest of what was signed; an earlier erasure recorded it already.
      documentSha256: row.documentSha256 ?? sha256Hex(canonicalize(shape.document)),
      at,
    });
    result.inbound++;
  }
  const withdrawnReportTo = new Set<string>();
  for (const row of await outboundToErase(tx, incidentId)) {
    const original = JSON.parse(row.document) as Record<string, unknown>;
    const scrubbed = scrubJson(original, scrub);
    const behindWithdrawn = row.state === 'pending' && withdrawnReportTo.has(row.peerTeam);
    if (!scrubbed.erased && !behindWithdrawn) continue;
    const digest = row.documentSha256 ?? sha256Hex(row.document);
    if (row.state !== 'pending') {
      await recordErasedOutbound(tx, row.id, {
        document: canonicalize(scrubbed.value),
        signature: row.signature,
        documentSha256: digest,
        at,
      });
      result.outbound++;
    } else if (!behindWithdrawn && isValidDocument(scrubbed.value)) {
      const signed = await signDocument(scrubbed.value as Record<string, unknown>, deps.signer);
      await recordErasedOutbound(tx, row.id, {
        document: canonicalize(signed.document),
        signature: signed.signature,
        documentSha256: null,
        at,
      });
      result.resigned++;
    } else {
      await recordErasedOutbound(tx, row.id, {
        document: canonicalize(scrubbed.value),
        signature: row.signature,
        documentSha256: digest,
        at,
        withdrawn: WITHDRAWN_BY_ERASURE,
      });
      if (original['type'] === 'incident.report') withdrawnReportTo.add(row.peerTeam);
      result.withdrawn++;
    }
  }
  return result;
}
