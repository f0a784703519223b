import { createHash } from 'node:crypto';
import { canonicalize } from '../../crypto/canonical-json.js';
import type { DbOrTx } from '../../db/database.js';
import type { AuditEntry } from '../../../schemas/audit.schema.js';
import { readChainBatch } from './audit.repository.js';

/**
 * The hash chain of the audit log.
 *
 * Definition (stable: changing it invalidates every stored chain):
 *
 *   hash = lowercase hex SHA-256 of the UTF-8 bytes of the RFC 8785 (JCS) canonical JSON of
 *     { seq, at, kind, actor, incidentId, peer, decision, details, prevHash }
 *   where `at` is the UTC instant as `Date.toISOString()` (milliseconds, "Z"), absent values
 *   are JSON null, and `prevHash` is the previous entry's `hash`, or 64 zeros for the first.
 *
 * That object is exactly an API item (`GET /api/v1/audit`) without its `hash`, so an auditor
 * can re-check an export with any JCS implementation and sha256sum, without trusting the node.
 * Every entry commits to all entries before it: editing one breaks its own hash, and rewriting
 * its hash to match breaks the next entry's link. Removing the newest entries is the one change
 * a chain alone cannot show; `head` in the verification result is what to record elsewhere to
 * catch that later: the node sends it to its witnesses itself (audit-anchor.service.ts), and
 * `verify` with witnesses checks the chain against what they kept (audit-witness-check.ts).
 */

export const GENESIS_HASH = '0'.repeat(64);

/** What the hash covers: an entry without its own hash. */
export type ChainedFields = Omit<AuditEntry, 'hash'>;

export function entryHash(fields: ChainedFields): string {
  // Built field by field so nothing outside the definition (a stray property) is ever hashed.
  const covered = {
    seq: fields.seq,
    at: fields.at,
    kind: fields.kind,
    actor: fields.actor,
    incidentId: fields.incidentId,
    peer: fields.peer,
    decision: fields.decision,
    details: fields.details,
    prevHash: fields.prevHash,
  };
  return createHash('sha256').update(canonicalize(covered), 'utf8').digest('hex');
}

/**
 * SHA-256 of a value's canonical JSON. For callers that must record "what exactly was sent"
 * without copying incident content into the audit: store the digest of the signed document.
 */
export function contentDigest(value: unknown): string {
  return createHash('sha256').update(canonicalize(value), 'utf8').digest('hex');
}

/** Also the body of `GET /api/v1/audit/verify` (the service returns it as the wire type, so tsc keeps them in step). */
export type ChainVerification =
  | { ok: true; entries: number; head: { seq: number; hash: string } | null }
  | {
      ok: false;
      /** seq of the first entry that does not verify. */
      brokenAt: number;
      reason: 'entry-altered' | 'chain-broken';
      detail: string;
      /** Entries that verified before the broken one. */
      entries: number;
      /** Last entry of the intact prefix. */
      head: { seq: number; hash: string } | null;
    };

const BATCH = 1000;

/**
 * Walks the whole log in seq order and reports the first entry that does not verify.
 * Reads in keyset batches outside any transaction, so a long walk never holds the embedded
 * engine's single connection or blocks appenders; appends only add after the tail, so a walk
 * racing them still sees a consistent prefix. `hikeshi audit verify` calls this.
 */
export async function verifyAuditChain(db: DbOrTx, options: { batchSize?: number } = {}): Promise<ChainVerification> {
  const batchSize = options.batchSize ?? BATCH;
  let previous = GENESIS_HASH;
  let head: { seq: number; hash: string } | null = null;
  let entries = 0;
  let afterSeq = 0;
  for (;;) {
    const batch = await readChainBatch(db, afterSeq, batchSize);
    for (const entry of batch) {
      const { hash, ...fields } = entry;
      let recomputed: string | null;
      try {
        recomputed = entryHash(fields);
      } catch {
        recomputed = null; // content no append could have written (e.g. nesting past the canonicaliser's limit)
      }
      // Content first: an edited entry is reported as itself, not as a broken link after it.
      if (recomputed !== hash) {
        return {
          ok: false,
          brokenAt: entry.seq,
          reason: 'entry-altered',
          detail: `entry ${entry.seq} does not match its hash: it was changed after it was written`,
          entries,
          head,
        };
      }
      if (entry.prevHash !== previous) {
        return {
          ok: false,
          brokenAt: entry.seq,
          reason: 'chain-broken',
          detail: head
            ? `entry ${entry.seq} does not follow entry ${head.seq}: an entry between them was removed, or one before it was rewritten`
            : `entry ${entry.seq} is the first entry but does not start the chain: earlier entries were removed`,
          entries,
          head,
        };
      }
      previous = hash;
      head = { seq: entry.seq, hash };
      entries++;
    }
    if (batch.length < batchSize) return { ok: true, entries, head };
    afterSeq = batch[batch.length - 1]!.seq;
  }
}
