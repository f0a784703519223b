import type { Clock } from '../../clock.js';
import type { Db, DbOrTx, Tx } from '../../db/database.js';
import { atGroupEnd } from '../../db/group-commit.js';
import { decodeCursor, encodeCursor } from '../../http/cursor.js';
import { ProblemError } from '../../http/problem.js';
import type { AuditEntry, AuditListQuery, AuditPage, AuditVerifyResult } from '../../../schemas/audit.schema.js';
import { GENESIS_HASH, entryHash, verifyAuditChain } from './audit-chain.js';
import type { AuditEntryInput, AuditLog } from './audit.module.js';
import { insertEntries, listEntries, lockChainTailAndSeqs, type AuditFilter } from './audit.repository.js';

export interface AuditService extends AuditLog {
  /** `append`, returning the entry as stored (tests, and callers that cite the seq). */
  record(db: DbOrTx, entry: AuditEntryInput): Promise<AuditEntry>;
  list(query: AuditListQuery): Promise<AuditPage>;
  verify(): Promise<AuditVerifyResult>;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
// NUL cannot be stored in text or jsonb, and lone surrogates do not survive UTF-8: either would
// make the stored entry differ from the hashed one (or fail the caller's transaction), so both
// become U+FFFD before hashing. Peer-supplied strings (a rejected sender id, say) can hold them.
// eslint-disable-next-line no-control-regex -- NUL is exactly what PostgreSQL cannot store
const UNSTORABLE = /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;
const storable = (s: string): string => s.replace(UNSTORABLE, '\uFFFD');

function sanitise(value: unknown): unknown {
  if (typeof value === 'string') return storable(value);
  if (Array.isArray(value)) return value.map(sanitise);
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[storable(k)] = sanitise(v);
    return out;
  }
  return value;
}

/**
 * Entry input as it will be stored: details pass through JSON first (Dates become strings,
 * undefined disappears, as they would in jsonb), so hashing before the insert and hashing what
 * comes back agree. Wrong input is a bug in the caller, not a client error: plain Errors.
 */
function prepare(input: AuditEntryInput): Omit<AuditEntry, 'seq' | 'at' | 'prevHash' | 'hash'> {
  const text = (name: string, value: unknown, max: number): string => {
    if (typeof value !== 'string' || value.length === 0 || value.length > max)
      throw new TypeError(`audit entry ${name} must be a string of 1..${max} characters`);
    return storable(value);
  };
  if (input.incidentId != null && !UUID.test(input.incidentId)) throw new TypeError('audit entry incidentId must be an incident id (uuid)');
  if (input.decision != null && input.decision !== 'allow' && input.decision !== 'deny')
    throw new TypeError('audit entry decision must be allow, deny or null');
  const details: unknown = input.details === undefined ? undefined : sanitise(JSON.parse(JSON.stringify(input.details)));
  if (details === null || typeof details !== 'object' || Array.isArray(details))
    throw new TypeError('audit entry details must be an object');
  return {
    kind: text('kind', input.kind, 100),
    actor: text('actor', input.actor, 200),
    // PostgreSQL hands uuids back in lower case; hash the form it will return.
    incidentId: input.incidentId != null ? input.incidentId.toLowerCase() : null,
    peer: input.peer != null ? text('peer', input.peer, 200) : null,
    decision: input.decision ?? null,
    details: details as Record<string, unknown>,
  };
}

export function createAuditService(deps: { db: Db; clock: Clock }): AuditService {
  const { db, clock } = deps;

  type Content = ReturnType<typeof prepare>;
  /** Group-commit transactions whose appends wait for one write at the group's end (atGroupEnd). */
  const deferred = new WeakMap<Tx, Content[]>();

  async function appendInTx(tx: Tx, contents: Content[]): Promise<AuditEntry[]> {
    const { tail, seqs } = await lockChainTailAndSeqs(tx, contents.length);
    let prevHash = tail ?? GENESIS_HASH;
    // Read the clock under the lock, so `at` follows seq order as far as the clock does. A JS
    // Date holds milliseconds, which is all the column keeps.
    const at = new Date(clock().getTime()).toISOString();
    const entries = contents.map((content, i) => {
      const fields = { seq: seqs[i]!, at, ...content, prevHash };
      const entry = { ...fields, hash: entryHash(fields) };
      prevHash = entry.hash;
      return entry;
    });
    const stored = await insertEntries(tx, entries);
    // Refuse to commit an entry that would read back as tampered: a false alarm in the audit
    // would be permanent. Throwing rolls back the caller's act with it.
    stored.forEach((row, i) => {
      if (row.seq !== entries[i]!.seq || entryHash(row) !== entries[i]!.hash) {
        throw new Error(`audit entry ${entries[i]!.seq} would not verify after storage; not recorded`);
      }
    });
    return stored;
  }

  async function record(target: DbOrTx, input: AuditEntryInput): Promise<AuditEntry> {
    const content = prepare(input);
    // Inside the caller's transaction the entry commits with the act it records; otherwise the
    // entry gets a transaction of its own, which scopes the chain lock to this one append.
    if (target.isTransaction) {
      // Entries deferred in this transaction come first: the chain keeps the order of the acts.
      await flush(target as Tx);
      return (await appendInTx(target as Tx, [content]))[0]!;
    }
    return (await target.transaction().execute((tx) => appendInTx(tx, [content])))[0]!;
  }

  async function flush(tx: Tx): Promise<void> {
    const pending = deferred.get(tx);
    if (!pending) return;
    deferred.delete(tx);
    if (pending.length) await appendInTx(tx, pending);
  }

  return {
    record,
    async append(target, input) {
      // In a group commit the entries of all its items take the chain's lock once, at the end:
      // the inbox's throughput rests on it (ADR 0009), and no caller needs to know.
      if (target.isTransaction) {
        const tx = target as Tx;
        const pending = deferred.get(tx);
        if (pending) return void pending.push(prepare(input));
        if (atGroupEnd(tx, () => flush(tx))) return void deferred.set(tx, [prepare(input)]);
      }
      await record(target, input);
    },

    async list(query) {
      const order = query.order ?? 'asc';
      const filter: AuditFilter = { order, limit: query.limit ?? 50 };
      if (query.incident) filter.incidentId = query.incident.toLowerCase();
      if (query.peer) filter.peer = query.peer;
      if (query.kind) filter.kind = query.kind;
      if (query.decision) filter.decision = query.decision;
      if (query.since) filter.since = new Date(query.since);
      if (query.until) filter.until = new Date(query.until);
      if (filter.since && filter.until && filter.since > filter.until) {
        throw new ProblemError('validation-failed', 'since is after until', {
          errors: [{ location: 'querystring', pointer: '/since', message: 'must not be after until' }],
        });
      }
      if (query.cursor) {
        const position = decodeCursor(query.cursor, { s: 'number', o: 'string' });
        // A cursor marks a place in one direction; reused with the other order it would skip entries.
        if (position.o !== order) throw new ProblemError('validation-failed', `cursor belongs to a listing in ${String(position.o)} order`);
        filter.afterSeq = position.s as number;
      }
      const page = await listEntries(db, filter);
      const last = page.items.at(-1);
      return { items: page.items, nextCursor: page.more && last ? encodeCursor({ s: last.seq, o: order }) : null };
    },

    verify() {
      return verifyAuditChain(db);
    },
  };
}
