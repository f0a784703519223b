import { randomUUID } from 'node:crypto';
import type { FastifyBaseLogger } from 'fastify';
import type { Clock } from '../../clock.js';
import { signatureIssuerFingerprint } from '../../crypto/index.js';
import type { Db } from '../../db/database.js';
import { decodeCursor, encodeCursor } from '../../http/cursor.js';
import { ProblemError } from '../../http/problem.js';
import type { QuarantinedMessage, SignedReceipt } from '../../../schemas/federation.schema.js';
import type { AuditLog } from '../audit/audit.module.js';
import type { Envelope } from './envelope.js';
import type { Claim, Reject } from './inbox-rejection.js';
import type { PeerClient } from './peer-client.js';
import type { ExchangePeer, PeerKeyring } from './peer-keyring.js';
import {
  countQuarantined,
  decideQuarantine,
  findQuarantine,
  insertQuarantine,
  listQuarantine,
  type QuarantineRow,
} from './quarantine.repository.js';

/**
 * The quarantine: messages from senders that are not peers wait here for a handler, unprocessed
 * (docs/federation-protocol.md §11). A handler accepts one by naming the sender's node URL (the
 * peer is added, its key pinned, and the message must then verify against it) or rejects it (a
 * repeat is refused). Every step is audited.
 */

/** Unknown senders can fill the quarantine; past this many waiting messages new ones are refused. */
export const MAX_QUARANTINED = 1000;
/**
 * The quarantine's other bounds (issue 13): a flood from one address, or in one claimed name,
 * fills its own share and stops there, so a new team that really wants to become a peer still
 * gets its first message held. Bytes bound the disk whatever the message count.
 */
export const QUARANTINE_BOUNDS = {
  messages: MAX_QUARANTINED,
  bytes: 16 * 1024 * 1024,
  perClaimedSender: 20,
  perSourceAddress: 50,
} as const;

/** Which bound one more message of `bytes` would pass, in words; null when it fits. */
function beyondBounds(
  held: { messages: number; bytes: number; byClaimedSender: number; bySourceAddress: number },
  bytes: number,
  claimedFrom: string,
  source: string | null,
): string | null {
  const b = QUARANTINE_BOUNDS;
  if (held.messages >= b.messages || held.bytes + bytes > b.bytes) return 'the quarantine for unknown senders is full';
  if (held.byClaimedSender >= b.perClaimedSender)
    return `the quarantine holds ${b.perClaimedSender} messages claiming to be from "${claimedFrom}" already`;
  if (source && held.bySourceAddress >= b.perSourceAddress)
    return `the quarantine holds ${b.perSourceAddress} messages from this address already`;
  return null;
}

export type HoldAnswer = { kind: 'quarantined'; quarantineId: string; detail: string };

export interface QuarantineDecision {
  message: QuarantinedMessage;
  receipt: SignedReceipt | null;
}

export interface Quarantine {
  /** Keeps a message from an unknown sender (once per (sender, id)); refuses it when full or rejected before. */
  hold(claim: Claim & { from: string; messageId: string }, envelope: Envelope, source: string | null): Promise<HoldAnswer>;
  list(query: {
    state?: QuarantineRow['state'];
    limit?: number;
    cursor?: string;
  }): Promise<{ items: QuarantinedMessage[]; nextCursor: string | null }>;
  get(id: string): Promise<QuarantinedMessage>;
  accept(id: string, url: string | undefined, actor: { subject: string }): Promise<QuarantineDecision>;
  reject(id: string, reason: string | undefined, actor: { subject: string }): Promise<QuarantineDecision>;
}

export interface QuarantineDeps {
  db: Db;
  clock: Clock;
  audit: AuditLog;
  log: FastifyBaseLogger;
  peers: Pick<PeerKeyring, 'find' | 'addFromUrl'>;
  client: PeerClient;
  reject: Reject;
  /** The inbox's own stages, for an accepted message: open the stored envelope, then process it as the handler's. */
  open(raw: string, sealed: boolean): Promise<Envelope>;
  processAccepted(envelope: Envelope, acceptedBy: string): Promise<{ kind: 'receipt'; text: string } | { kind: 'quarantined' }>;
}

function toQuarantined(row: QuarantineRow, withEnvelope = false): QuarantinedMessage {
  return {
    id: row.id,
    claimedFrom: row.claimedFrom,
    messageId: row.messageId,
    type: row.type,
    issuerFingerprint: row.issuerFingerprint,
    sealed: row.sealed,
    state: row.state,
    receivedAt: row.receivedAt,
    decidedAt: row.decidedAt,
    decidedBy: row.decidedBy,
    reason: row.reason,
    ...(withEnvelope ? { envelope: row.envelope } : {}),
  };
}

export function createQuarantine(deps: QuarantineDeps): Quarantine {
  const { db, clock, audit, log, peers, reject } = deps;

  async function findByClaim(from: string, messageId: string): Promise<QuarantineRow | null> {
    const row = await db
      .selectFrom('quarantined_message')
      .select('id')
      .where('claimed_from', '=', from)
      .where('message_id', '=', messageId)
      .executeTakeFirst();
    return row ? findQuarantine(db, row.id) : null;
  }

  async function mustFind(id: string): Promise<QuarantineRow> {
    const row = await findQuarantine(db, id);
    if (!row) throw new ProblemError('not-found', `no quarantined message ${id}`);
    return row;
  }

  /**
   * The team a node's profile names, read without verifying it (adding the peer verifies); null
   * when it cannot be read, and adding the peer then reports why.
   */
  async function profileTeamAt(url: string): Promise<string | null> {
    try {
      const response = await deps.client.call(url, 'federation/v1/profile', { method: 'GET', timeoutMs: 10_000 });
      if (response.status !== 200) return null;
      const body = JSON.parse(response.text) as { document?: { from?: unknown } };
      return typeof body?.document?.from === 'string' ? body.document.from : null;
    } catch {
      return null;
    }
  }

  return {
    async hold(claim, envelope, source) {
      let row = await findByClaim(claim.from, claim.messageId);
      if (!row) {
        const held = await countQuarantined(db, { claimedFrom: claim.from, sourceAddress: source });
        const full = beyondBounds(held, Buffer.byteLength(envelope.text), claim.from, source);
        if (full)
          return reject(claim, 'rate-limited', `${full}; a handler must decide on them first (try later)`, { retryAfterSeconds: 3600 });
        const stored = await insertQuarantine(db, {
          id: randomUUID(),
          claimedFrom: claim.from,
          messageId: claim.messageId,
          type: claim.type,
          envelope: envelope.text,
          sealed: envelope.sealed,
          issuerFingerprint: await signatureIssuerFingerprint(envelope.signature),
          sourceAddress: source,
          at: clock(),
        });
        row = stored.row;
        if (stored.created) {
          await audit.append(db, {
            kind: 'quarantine',
            actor: claim.from,
            peer: claim.from,
            decision: null,
            details: {
              action: 'quarantined',
              quarantineId: row.id,
              messageId: claim.messageId,
              type: claim.type,
              issuerFingerprint: row.issuerFingerprint,
              sealed: claim.sealed,
            },
          });
          log.info({ from: claim.from, messageId: claim.messageId, quarantineId: row.id }, 'message from an unknown sender quarantined');
        }
      }
      if (row.state === 'rejected')
        return reject(claim, 'unknown-sender', `a handler of this node rejected this message from "${claim.from}"`);
      return {
        kind: 'quarantined',
        quarantineId: row.id,
        detail: `"${claim.from}" is not a peer of this node; the message is kept for a handler to accept or reject, and is not processed until then`,
      };
    },

    async list(query) {
      const limit = query.limit ?? 50;
      const beforeSeq = query.cursor ? (decodeCursor(query.cursor, { q: 'number' }).q as number) : undefined;
      const page = await listQuarantine(db, {
        ...(query.state ? { state: query.state } : {}),
        ...(beforeSeq !== undefined ? { beforeSeq } : {}),
        limit,
      });
      const last = page.items.at(-1);
      return {
        items: page.items.map((r) => toQuarantined(r)),
        nextCursor: page.more && last ? encodeCursor({ q: last.seq }) : null,
      };
    },

    async get(id) {
      return toQuarantined(await mustFind(id), true);
    },

    async accept(id, url, actor) {
      const row = await mustFind(id);
      if (row.state !== 'quarantined') throw new ProblemError('conflict', `the message was ${row.state} already`);
      let peer: ExchangePeer | null = await peers.find(db, row.claimedFrom);
      if (!peer) {
        if (!url) throw new ProblemError('unknown-peer', `"${row.claimedFrom}" is not a peer yet: give the URL of its node to add it`);
        // Adding a peer pins its key: do not pin another team's node by mistake.
        const claimed = await profileTeamAt(url);
        if (claimed !== null && claimed !== row.claimedFrom) {
          throw new ProblemError(
            'quarantine-mismatch',
            `the node at that URL is "${claimed}", the message claims to come from "${row.claimedFrom}"`,
          );
        }
        peer = await peers.addFromUrl(url, actor.subject);
      }
      if (peer.teamId !== row.claimedFrom) {
        throw new ProblemError(
          'quarantine-mismatch',
          `the node at that URL is "${peer.teamId}", the message claims to come from "${row.claimedFrom}"`,
        );
      }
      const answer = await deps.processAccepted(await deps.open(row.envelope, row.sealed), actor.subject);
      if (answer.kind !== 'receipt') throw new ProblemError('internal-error', 'an accepted message was quarantined again');
      // Processing closes the quarantine row in its transaction; a repeat answered from the inbox does not.
      await decideQuarantine(db, { id }, { state: 'accepted', by: actor.subject, reason: null, at: clock() });
      await audit.append(db, {
        kind: 'quarantine',
        actor: actor.subject,
        peer: row.claimedFrom,
        decision: 'allow',
        details: { action: 'accepted', quarantineId: id, messageId: row.messageId, type: row.type },
      });
      return { message: toQuarantined(await mustFind(id)), receipt: JSON.parse(answer.text) as SignedReceipt };
    },

    async reject(id, reason, actor) {
      const row = await mustFind(id);
      if (!(await decideQuarantine(db, { id }, { state: 'rejected', by: actor.subject, reason: reason ?? null, at: clock() }))) {
        throw new ProblemError('conflict', `the message was ${row.state} already`);
      }
      await audit.append(db, {
        kind: 'quarantine',
        actor: actor.subject,
        peer: row.claimedFrom,
        decision: 'deny',
        details: {
          action: 'rejected',
          quarantineId: id,
          messageId: row.messageId,
          type: row.type,
          reason: reason ?? null,
        },
      });
      return { message: toQuarantined(await mustFind(id)), receipt: null };
    },
  };
}
