import type { FastifyBaseLogger } from 'fastify';
import type { Clock } from '../../clock.js';
import type { Config } from '../../config.js';
import { canonicalize, signatureIssuerFingerprint, verifyDocumentSignature, type NodeSigner } from '../../crypto/index.js';
import { type Db, type Tx } from '../../db/database.js';

import { ProblemError } from '../../http/problem.js';
import type { MessageDocument, MessageType, ReceiptBody } from '../../../schemas/federation.schema.js';
import type { AuditLog } from '../audit/audit.module.js';
import { openEnvelope, type Envelope } from './envelope.js';
import { findInbound, listInboundForIncident, storeReceipt, storedDocumentIs, type InboundRow } from './inbox.repository.js';
import { createRejector, short, type Claim, type Reject } from './inbox-rejection.js';
import { envelopeText, MAX_CLOCK_SKEW_MS, TEAM_ID, tlpRequiresSealing, validateDocument } from './message-document.js';
import type { PeerClient } from './peer-client.js';
import type { ExchangePeer, PeerKeyring } from './peer-keyring.js';
import { createQuarantine, type Quarantine } from './quarantine.service.js';
import { createInboxStore, PEER_CHANGED, type Mode, type StoreResult } from './inbox-store.js';
import { noExchangeMetrics, typeLabel, type ExchangeMetrics } from './exchange-metrics.js';

/**
 * The inbox: POST /federation/v1/messages, as a pipeline of named stages
 * (docs/federation-protocol.md §7, "Receiving"):
 *
 *   parse    the body into an envelope, opening a sealed one (envelope.ts)
 *   identify who claims to send it; an unknown sender's message goes to the quarantine
 *   verify   the detached signature against the key pinned for that sender
 *   validate the document's schema, type, recipient, time and sealing
 *   store    in one transaction for a group of messages (group commit): de-duplicate by
 *            (from, id), dispatch each run of one type to the handler its module registered
 *            (batch-shaped), sign each receipt, write the inbox rows complete
 *   answer   the signed receipt; a repeat of (from, id) gets the stored one
 *
 * The exchange is transport: it knows no incident, share or summary. Domain modules register a
 * handler per document type (sharing: reports, updates, investigations; peers: key rotations;
 * coordination: activity.*); a type nobody registered is refused. Every receipt and every
 * refusal is audited.
 */
export interface InboxDeps {
  db: Db;
  clock: Clock;
  config: Pick<Config, 'teamId' | 'bodyLimitBytes' | 'peerRateLimitPerMinute'>;
  signer: NodeSigner;
  peers: PeerKeyring;
  audit: AuditLog;
  log: FastifyBaseLogger;
  client: PeerClient;
  /** Where each decision is counted (the metrics module's port); nothing when absent. */
  metrics?: ExchangeMetrics;
}

/** Why a message waits in the quarantine, as a stable code (a metrics label). */
export type QuarantineReason = 'unknown-sender' | 'wrong-key';

export type InboxAnswer =
  | { kind: 'receipt'; text: string; replay: boolean }
  | { kind: 'quarantined'; quarantineId: string; detail: string; reason: QuarantineReason };

/** What a handler answers for one document: the receipt's status, and the incident concerned (if any) for the inbox row and the receipt. */
export interface InboxOutcome {
  status: ReceiptBody['status'];
  incidentId: string | null;
  ref: string | null;
}

/** Document types a module may register a handler for (receipts, token requests and feed pages never reach the inbox). */
export type HandledType = Exclude<MessageType, 'receipt' | 'auth.token-request' | 'feed.page'>;

/**
 * A module's handler for one document type: the verified, validated documents of a run of that
 * type in one group, in arrival order; answers one outcome per document, in the same order. It
 * runs inside the group's transaction; a ProblemError it throws makes the inbox process the
 * group's messages one by one, and the one that throws is refused and audited.
 */
export type InboxHandler<T extends HandledType> = (
  tx: Tx,
  documents: Array<Extract<MessageDocument, { type: T }>>,
  /** Always given by the inbox; optional so that handlers that need it not keep their two-parameter types. */
  received?: ReceivedAs[],
) => Promise<InboxOutcome[]>;

/**
 * How a document arrived, beside it (same order): for a handler that keeps the signed document as
 * proof (a witnessed audit head), the signature exactly as received. The document's canonical
 * text is what the signature covers.
 */
export interface ReceivedAs {
  signature: string;
  sealed: boolean;
}

export interface Inbox {
  /** Handles a request body exactly as received (its JSON text). */
  /** `source`: the sender's address, which the quarantine bounds (docs/federation-protocol.md §11). */
  /** `sealed`: the envelope came encrypted to this node's key by another layer (a PGP/MIME mail, ADR 0025). */
  receive(raw: string, source?: string, options?: { sealed?: boolean }): Promise<InboxAnswer>;
  registerHandler<T extends HandledType>(type: T, handler: InboxHandler<T>): void;
  /** The signed documents peers sent about an incident, exactly as stored. */
  documentsFor(incidentId: string): Promise<InboundRow[]>;
  quarantine: Omit<Quarantine, 'hold'>;
}

/** How long an active peer's record serves without a query (see currentPeer), and how many are kept. */
const PEER_CACHE_MS = 5_000;
const PEER_CACHE_MAX = 1_000;

function canonicalOrNull(value: Record<string, unknown>): string | null {
  try {
    return canonicalize(value);
  } catch {
    return null;
  }
}

/** The signed receipt of a processed message, signing it first if the process stopped before it could. */
async function receiptAnswer(db: Db, signer: NodeSigner, row: InboundRow, replay: boolean): Promise<InboxAnswer> {
  if (row.receipt !== null) return { kind: 'receipt', text: row.receipt, replay };
  if (row.receiptDocument === null) throw new ProblemError('internal-error', 'stored message has no receipt');
  const signature = await signer.signDetached(row.receiptDocument);
  return {
    kind: 'receipt',
    text: await storeReceipt(db, row.seq, envelopeText(row.receiptDocument, signature)),
    replay,
  };
}

/**
 * Messages per verified peer per minute (fixed one-minute windows; 0: no limit). `over` answers
 * null while under the limit, else the seconds to the window's end and whether this is the
 * window's first refusal (the one that is audited).
 */
function createPeerLimit(
  perMinute: number,
  clock: () => Date,
): { over(peer: string): { retryAfterSeconds: number; first: boolean } | null } {
  const windows = new Map<string, { until: number; count: number }>();
  return {
    over(peer) {
      if (perMinute <= 0) return null;
      const now = clock().getTime();
      let window = windows.get(peer);
      if (!window || now >= window.until) {
        windows.delete(peer);
        window = { until: now + 60_000, count: 0 };
        windows.set(peer, window);
        if (windows.size > 10_000) windows.delete(windows.keys().next().value!);
      }
      window.count++;
      if (window.count <= perMinute) return null;
      return { retryAfterSeconds: Math.max(1, Math.ceil((window.until - now) / 1000)), first: window.count === perMinute + 1 };
    },
  };
}

/** Repeats of one peer's messages audited at most once per this window (createReplayAudit). */
export const REPLAY_AUDIT_WINDOW_MS = 60_000;

/**
 * Replays are audited (issue 13: they left no trace), but a flood of them does not fill the log:
 * the first repeat from a peer in a minute is recorded (`inbox-replay`), with how many repeats
 * from that peer went unrecorded since the previous entry.
 */
function createReplayAudit(deps: { db: Db; audit: AuditLog; clock: () => Date }): (from: string, messageId: string) => Promise<void> {
  const windows = new Map<string, { until: number; unrecorded: number }>();
  return async (from, messageId) => {
    const now = deps.clock().getTime();
    const window = windows.get(from);
    if (window && now < window.until) {
      window.unrecorded++;
      return;
    }
    windows.delete(from);
    windows.set(from, { until: now + REPLAY_AUDIT_WINDOW_MS, unrecorded: 0 });
    // Bounded: the oldest window goes first (a Map keeps insertion order).
    if (windows.size > 10_000) windows.delete(windows.keys().next().value!);
    await deps.audit.append(deps.db, {
      kind: 'inbox-replay',
      actor: from,
      peer: from,
      decision: null,
      details: { messageId, repeatsNotRecorded: window?.unrecorded ?? 0 },
    });
  };
}

/**
 * Active peers as last read, for a few seconds: the pinned key every message needs, without a
 * query per message. Only the happy path trusts it. A message that fails verification with a
 * cached record, or whose peer changed by the time its group commits (the group re-reads the
 * peers it concerns under a share lock, `peers.intakeStates`), is processed again with a fresh
 * read, so every decision is made on the peer as committed.
 */
function createPeerCache(
  db: Db,
  peers: PeerKeyring,
): { current(from: string, fresh: boolean): Promise<{ peer: ExchangePeer | null; cached: boolean }>; forget(from: string): void } {
  const activePeers = new Map<string, { record: ExchangePeer; until: number }>();

  async function current(from: string, fresh: boolean): Promise<{ peer: ExchangePeer | null; cached: boolean }> {
    const now = Date.now();
    const hit = fresh ? undefined : activePeers.get(from);
    if (hit && hit.until > now) return { peer: hit.record, cached: true };
    const peer = await peers.find(db, from);
    if (peer?.status === 'active') {
      activePeers.delete(from); // re-inserted last: the Map's order is then oldest first
      activePeers.set(from, { record: peer, until: now + PEER_CACHE_MS });
      if (activePeers.size > PEER_CACHE_MAX) activePeers.delete(activePeers.keys().next().value!);
    } else {
      activePeers.delete(from);
    }
    return { peer, cached: false };
  }
  return { current, forget: (from) => void activePeers.delete(from) };
}

/**
 * A signature by another key than the one pinned for a peer. Anyone can claim to be a peer, so
 * such a message is a claim, not a key change (issue 13): it is held in the quarantine (within
 * its per-sender bound), the pinned key keeps working, and the admin is told (audit
 * `key-change`, action `claim-quarantined`, and the log). A real new key is adopted through a
 * `key.rotation` signed by the pinned key, or by a handler who verifies the new fingerprint.
 */
async function keyClaim(
  ctx: { db: Db; audit: AuditLog; log: FastifyBaseLogger; reject: Reject; quarantine: Pick<Quarantine, 'hold'> },
  claim: Claim & { from: string },
  peer: ExchangePeer,
  envelope: Envelope,
  mode: Mode,
): Promise<InboxAnswer> {
  const issuer = await signatureIssuerFingerprint(envelope.signature);
  if (mode.acceptedBy) return ctx.reject(claim, 'quarantine-mismatch', `the message is not signed by the key pinned for "${claim.from}"`);
  if (claim.messageId === null) return ctx.reject(claim, 'envelope-invalid', 'document.id must be a string');
  const held = await ctx.quarantine.hold({ ...claim, messageId: claim.messageId }, envelope, mode.source ?? null);
  await ctx.audit.append(ctx.db, {
    kind: 'key-change',
    actor: claim.from,
    peer: claim.from,
    decision: 'deny',
    details: {
      action: 'claim-quarantined',
      pinnedFingerprint: peer.fingerprint,
      seenFingerprint: issuer,
      messageId: claim.messageId,
      type: claim.type,
      quarantineId: held.quarantineId,
    },
  });
  ctx.log.warn(
    { peer: claim.from, pinned: peer.fingerprint, seen: issuer, quarantineId: held.quarantineId },
    'a message claims to be from a peer but is signed by another key: held in the quarantine',
  );
  return {
    ...held,
    reason: 'wrong-key',
    detail: `the message is signed by a key other than the one pinned for "${claim.from}": held in the quarantine; the pinned key keeps working, and a new key is announced with a key.rotation signed by the pinned one`,
  };
}

/**
 * Counts the inbox's decision on one message (metrics), once, whatever path led to it: the
 * receipt, the quarantine, or the problem it was refused with (its code is the reason).
 */
function createDecisionCounter(metrics: ExchangeMetrics) {
  return async (type: () => unknown, decide: () => Promise<InboxAnswer>): Promise<InboxAnswer> => {
    let answer: InboxAnswer;
    try {
      answer = await decide();
    } catch (err) {
      if (err instanceof ProblemError) metrics.inboxMessage('rejected', err.code, typeLabel(type()));
      throw err;
    }
    if (answer.kind === 'receipt') metrics.inboxMessage('accepted', answer.replay ? 'replay' : '', typeLabel(type()));
    else metrics.inboxMessage('quarantined', answer.reason, typeLabel(type()));
    return answer;
  };
}

export function createInbox(deps: InboxDeps): Inbox {
  const { db, clock, config, signer, peers, audit, log } = deps;
  const counted = createDecisionCounter(deps.metrics ?? noExchangeMetrics);
  const handlers = new Map<HandledType, InboxHandler<HandledType>>();
  const reject = createRejector({ db, audit, log });
  const noteReplay = createReplayAudit({ db, audit, clock });
  const peerLimit = createPeerLimit(config.peerRateLimitPerMinute, clock);
  const peerCache = createPeerCache(db, peers);
  const open = (raw: string, sealed: boolean): Promise<Envelope> =>
    openEnvelope(raw, sealed, { signer, maxPlaintextBytes: config.bodyLimitBytes, reject });
  const quarantine = createQuarantine({
    db,
    clock,
    audit,
    log,
    peers,
    client: deps.client,
    reject,
    open,
    processAccepted: (envelope, acceptedBy) =>
      counted(
        () => envelope.document['type'],
        () => processEnvelope(envelope, { acceptedBy }),
      ),
  });

  // -------------------------------------------------------------------------------------------
  // identify + verify

  // -------------------------------------------------------------------------------------------
  // validate

  /** The document's schema and the protocol's checks on it (type, recipient, time, sealing). */
  async function validated(claim: Claim, raw: Record<string, unknown>, envelope: Envelope): Promise<MessageDocument> {
    let document: MessageDocument;
    try {
      document = validateDocument(raw);
    } catch (err) {
      if (err instanceof ProblemError) return reject(claim, err.code, err.detail ?? err.message, err.extensions);
      throw err;
    }
    if (document.type === 'receipt' || document.type === 'auth.token-request' || document.type === 'feed.page') {
      return reject(claim, 'validation-failed', `${document.type} documents are not accepted at the inbox`);
    }
    if (!handlers.has(document.type)) return reject(claim, 'validation-failed', `${document.type} documents are not accepted by this node`);
    if (document.to !== config.teamId)
      return reject(claim, 'wrong-recipient', `the document is addressed to "${document.to}", this node is "${config.teamId}"`);
    if (Date.parse(document.created) > clock().getTime() + MAX_CLOCK_SKEW_MS) {
      return reject(claim, 'stale-or-future', 'created is in the future beyond the accepted clock skew (5 minutes)');
    }
    if (tlpRequiresSealing(document.tlp) && !envelope.sealed) {
      return reject(claim, 'sealing-required', `TLP:${document.tlp} documents must travel sealed to this node's key`);
    }
    return document;
  }

  /**
   * From "who claims to send this" to a receipt (or a problem). `attempt` 0 may use the cached
   * peer; later attempts read it afresh, and a peer that keeps changing under the message ends
   * in a 409 its sender retries.
   */
  async function processEnvelope(envelope: Envelope, mode: Mode, attempt = 0): Promise<InboxAnswer> {
    const raw = envelope.document;
    const claim: Claim = {
      from: null,
      messageId: short(raw['id']),
      type: short(raw['type'], 64),
      sealed: envelope.sealed,
    };
    const from = raw['from'];
    if (typeof from !== 'string' || !TEAM_ID.test(from)) return reject(claim, 'envelope-invalid', 'document.from must be a team id');
    claim.from = from;

    const { peer, cached } = await peerCache.current(from, attempt > 0);
    if (!peer) {
      if (mode.acceptedBy) return reject(claim, 'unknown-peer', `no peer "${from}"`);
      if (claim.messageId === null) return reject(claim, 'envelope-invalid', 'document.id must be a string');
      return {
        ...(await quarantine.hold({ ...claim, from, messageId: claim.messageId }, envelope, mode.source ?? null)),
        reason: 'unknown-sender',
      };
    }
    if (peer.status === 'suspended') return reject(claim, 'peer-suspended', `peer "${from}" is suspended on this node`);

    // A byte-identical repeat of a message stored before gets its receipt, whatever changed since:
    // a retry signed before a key rotation, or sent while the peer is flagged, still gets it. It
    // is looked up only where the message would otherwise be refused (a new message costs no
    // lookup; a repeat that verifies finds its slot taken when it is stored).
    const replayOf = async (): Promise<InboxAnswer | null> => {
      if (claim.messageId === null) return null;
      const seen = await findInbound(db, from, claim.messageId);
      if (!seen || seen.signature !== envelope.signature || !storedDocumentIs(seen, canonicalOrNull(raw))) return null;
      await noteReplay(from, claim.messageId);
      return receiptAnswer(db, signer, seen, true);
    };

    const verified = await verifyDocumentSignature(envelope.value, await peers.keyOf(peer), {
      now: clock(),
      maxClockSkewMs: MAX_CLOCK_SKEW_MS,
    });
    if (!verified.ok) {
      // The peer may have a new key since it was cached: decide on what is committed.
      if (cached) return processEnvelope(envelope, mode, attempt + 1);
      const replay = await replayOf();
      if (replay) return replay;
      if (verified.reason === 'wrong-key')
        return keyClaim({ db, audit, log, reject, quarantine }, { ...claim, from }, peer, envelope, mode);
      return reject(
        claim,
        'signature-invalid',
        verified.reason === 'malformed'
          ? 'the signature is not one armored OpenPGP detached signature'
          : `the signature does not verify against the key pinned for "${from}"`,
      );
    }
    // While flagged, only the peer's pinned (old) key may still explain the change, with a
    // key.rotation; everything else waits for a handler to re-verify the peer.
    if (peer.status === 'key-changed' && raw['type'] !== 'key.rotation') {
      return (
        (await replayOf()) ??
        reject(claim, 'key-changed', `a different key was seen for "${from}"; nothing is processed until a handler re-verifies the peer`)
      );
    }

    // A verified peer may send this many messages a minute (a compromised key or a runaway
    // outbox cannot take the inbox); beyond it 429 with Retry-After, audited once a minute.
    const over = peerLimit.over(from);
    if (over) {
      const detail = `peer "${from}" sent more than ${config.peerRateLimitPerMinute} messages this minute`;
      const extensions = { retryAfterSeconds: over.retryAfterSeconds };
      if (over.first) return reject(claim, 'rate-limited', detail, extensions);
      throw new ProblemError('rate-limited', detail, extensions);
    }

    const document = await validated(claim, raw, envelope);
    let receipt: StoreResult;
    try {
      receipt = await intake.run({
        document,
        envelope,
        signerFingerprint: verified.signingKeyFingerprint,
        mode,
        peer: { status: peer.status, fingerprint: peer.fingerprint },
      });
    } catch (err) {
      if (err instanceof ProblemError) return reject(claim, err.code, err.detail ?? err.message, err.extensions);
      throw err;
    }
    if (receipt === PEER_CHANGED) {
      peerCache.forget(from);
      if (attempt >= 3) return reject(claim, 'conflict', `peer "${from}" changed while the message was being stored; send it again`);
      return processEnvelope(envelope, mode, attempt + 1);
    }
    if (receipt === null) {
      // Stored meanwhile by a concurrent request (or earlier in this group): a repeat.
      const row = await findInbound(db, from, document.id);
      if (!row || !storedDocumentIs(row, verified.canonical))
        return reject(claim, 'conflict', `message id ${document.id} was used before for a different document`);
      await noteReplay(from, document.id);
      return receiptAnswer(db, signer, row, true);
    }
    log.info({ from, messageId: document.id, type: document.type }, 'message received');
    return { kind: 'receipt', text: receipt, replay: false };
  }

  const intake = createInboxStore({ db, clock, config, signer, peers, audit, handlers });

  return {
    registerHandler(type, handler) {
      handlers.set(type, handler as unknown as InboxHandler<HandledType>);
    },
    async receive(raw, source, options) {
      const opened: { envelope?: Envelope } = {};
      const decide = async () => processEnvelope((opened.envelope = await open(raw, options?.sealed ?? false)), source ? { source } : {});
      return counted(() => opened.envelope?.document['type'], decide);
    },
    documentsFor: (incidentId) => listInboundForIncident(db, incidentId),
    quarantine: { list: quarantine.list, get: quarantine.get, accept: quarantine.accept, reject: quarantine.reject },
  };
}

/** A handler written for one document at a time, as a batch handler: the run's documents one by one, in arrival order. */
export function oneByOne<T extends HandledType>(
  handle: (tx: Tx, document: Extract<MessageDocument, { type: T }>, received: ReceivedAs | undefined) => Promise<InboxOutcome>,
): InboxHandler<T> {
  return async (tx, documents, received) => {
    const outcomes: InboxOutcome[] = [];
    for (const [i, document] of documents.entries()) outcomes.push(await handle(tx, document, received?.[i]));
    return outcomes;
  };
}
