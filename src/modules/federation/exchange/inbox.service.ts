import { randomUUID } from 'node:crypto';
import type { FastifyBaseLogger } from 'fastify';
import type { Clock } from '../../../clock.js';
import type { Config } from '../../../config.js';
import {
  canonicalize,
  openSealed,
  SealedMessageError,
  signatureIssuerFingerprint,
  verifyDocumentSignature,
  type NodeSigner,
} from '../../../crypto/index.js';
import { transactionsOverlap, type Db, type Tx } from '../../../db/database.js';
import { createGroupCommit } from '../../../db/group-commit.js';
import { decodeCursor, encodeCursor } from '../../../http/cursor.js';
import { ProblemError, type ProblemCode } from '../../../http/problem.js';
import type {
  IncidentReportDocument,
  IncidentUpdateDocument,
  InvestigationRequestDocument,
  InvestigationResultDocument,
  KeyRotationDocument,
  MessageDocument,
  QuarantinedMessage,
  ReceiptBody,
  SignedReceipt,
} from '../../../../schemas/federation.schema.js';
import type { Incident, IncidentCreate } from '../../../../schemas/incident.schema.js';
import { TLP_LABELS, type Tlp } from '../../../../schemas/common.schema.js';
import type { ProvenanceHop } from '../../../../schemas/policy.schema.js';
import { decideLabelChange, LIMIT_IMPLIED_BY_TLP, stricterTlp } from '../../policy/index.js';
import { findIncidentPolicy, recordReceivedProvenance, recordReceivedProvenances, relabelReceivedProvenance, type ReceivedProvenance } from '../../sharing/index.js';
import type { AuditLog } from '../../audit/audit.module.js';
import { findIncident } from '../../incidents/incident.repository.js';
import type { Actor, IncidentService } from '../../incidents/incident.service.js';
import type { PeerDirectory, PeerRecord } from '../peers/peer-directory.js';
import {
  addExternalRefIfMissing,
  answerInvestigation,
  claimInbounds,
  completeFiledReports,
  completeInbound,
  countQuarantined,
  decideQuarantine,
  findInbound,
  findIncidentIdByExternalRef,
  findInvestigation,
  findLinkByOurRef,
  findLinkByPeerRef,
  findQuarantine,
  findReceivedAndLinked,
  insertFiledReports,
  insertInvestigation,
  insertQuarantine,
  listQuarantine,
  lockInboundSlots,
  pairKey,
  setLinkPeerRef,
  storeReceipt,
  type FiledReport,
  type InboundClaim,
  type InboundRow,
  type QuarantineRow,
} from './exchange.repository.js';
import {
  envelopeShape,
  envelopeText,
  MAX_CLOCK_SKEW_MS,
  newDocument,
  TEAM_ID,
  tlpRequiresSealing,
  validateDocument,
} from './message-document.js';

/**
 * The inbox: POST /federation/v1/messages. The checks run in the order the protocol document
 * gives (docs/federation-protocol.md, "Receiving"), and the document is read before its
 * signature is verified only to learn who claims to send it. A verified message is processed
 * in one transaction with its inbox row and answered with a signed receipt; a repeat of the
 * same (from, id) gets that receipt again. Every receipt and every rejection is audited.
 */
export interface InboxDeps {
  db: Db;
  clock: Clock;
  config: Pick<Config, 'teamId' | 'bodyLimitBytes'>;
  signer: NodeSigner;
  peers: PeerDirectory;
  incidents: IncidentService;
  audit: AuditLog;
  log: FastifyBaseLogger;
  /** Outgoing HTTP, to read which team a node at a URL claims to be before adding it. */
  fetch: typeof fetch;
}

export type InboxAnswer =
  | { kind: 'receipt'; text: string; replay: boolean }
  | { kind: 'quarantined'; quarantineId: string; detail: string };

export interface QuarantineDecision {
  message: QuarantinedMessage;
  receipt: SignedReceipt | null;
}

export interface Inbox {
  /** Handles a request body exactly as received (its JSON text). */
  receive(raw: string): Promise<InboxAnswer>;
  listQuarantine(query: { state?: QuarantineRow['state']; limit?: number; cursor?: string }): Promise<{ items: QuarantinedMessage[]; nextCursor: string | null }>;
  getQuarantine(id: string): Promise<QuarantinedMessage>;
  acceptQuarantine(id: string, url: string | undefined, actor: Actor): Promise<QuarantineDecision>;
  rejectQuarantine(id: string, reason: string | undefined, actor: Actor): Promise<QuarantineDecision>;
  /**
   * Another module processes these document types (coordination: activity.summary,
   * activity.related). Its handler runs inside the transaction of the inbox row, after every
   * check of "Receiving"; a ProblemError it throws is refused and audited like the inbox's own.
   */
  registerHandler<T extends DelegatedType>(type: T, handler: InboxHandler<T>): void;
}

/** Document types the inbox hands to the module that registered for them; unregistered: refused. */
export type DelegatedType = 'activity.summary' | 'activity.related' | 'activity.withdrawn';
/** What a delegated handler answers: the receipt's status, and the incident concerned (if any) for the inbox row and the receipt. */
export interface InboxOutcome {
  status: ReceiptBody['status'];
  incidentId: string | null;
  ref: string | null;
}
export type InboxHandler<T extends DelegatedType> = (tx: Tx, doc: Extract<MessageDocument, { type: T }>, actor: Actor) => Promise<InboxOutcome>;

/** Unknown senders can fill the quarantine; past this many waiting messages new ones are refused. */
export const MAX_QUARANTINED = 1000;

/** What is known about a message while it is checked: all of it unverified until the signature is. */
interface Claim {
  from: string | null;
  messageId: string | null;
  type: string | null;
  sealed: boolean;
}

interface Envelope {
  /** The parsed envelope, handed to signature verification untouched. */
  value: unknown;
  document: Record<string, unknown>;
  signature: string;
  /** The envelope's JSON text as received (after opening, for sealed messages). */
  text: string;
  sealed: boolean;
}

/** A verified, checked message on its way into the inbox's transaction. */
interface IntakeItem {
  document: MessageDocument;
  documentText: string;
  envelope: Envelope;
  signerFingerprint: string;
  mode: Mode;
  /** The peer as it was when the message was checked. */
  peer: { status: PeerRecord['status']; fingerprint: string };
}

/** Most messages stored in one transaction (see createGroupCommit). */
export const INTAKE_GROUP_MAX = 32;
/** How long an active peer's record serves without a query (see currentPeer), and how many are kept. */
const PEER_CACHE_MS = 5_000;
const PEER_CACHE_MAX = 1_000;
/** A group's answer for a message whose peer changed after it was checked: check it again. */
const PEER_CHANGED = Symbol('peer changed');

interface Mode {
  /** Set when a handler accepts a quarantined message: unknown senders and other keys are errors, not quarantine or a key-change flag. */
  acceptedBy?: string;
}

interface Outcome {
  status: ReceiptBody['status'];
  incidentId: string | null;
  ref: string | null;
  /** A new incident filed from a report: its link and the sender's number are written with the inbox row's outcome. */
  filedFrom?: { peerTeam: string; peerRef: string };
}

/**
 * Where a received report came from, as the sharing policy keeps it: the chain the document
 * carries (a Hikeshi sender appends its own hop when it decides to send; originator first), or
 * else the sender as the originator. A chain that does not end with the sender gets the sender's
 * hop: whatever the path before, that is the team it reached us from. The protocol carries no
 * limit beyond the label, so the limit recorded is the one the strictest label along the way
 * implies (AMBER: our constituency only; AMBER+STRICT, RED: no further).
 */
export function receivedProvenance(doc: { from: string; tlp: Tlp; created: string }, chain: ProvenanceHop[] | undefined, contentTlp: Tlp): ReceivedProvenance {
  const label = stricterTlp(doc.tlp, contentTlp);
  const hops: ProvenanceHop[] = chain ? chain.map((h) => ({ ...h })) : [];
  if (hops.at(-1)?.team !== doc.from) hops.push({ team: doc.from, tlp: label, at: doc.created });
  const strictest = hops.reduce<Tlp>((l, h) => stricterTlp(l, h.tlp), label);
  return { originatorTeam: hops[0]!.team, originatorTlp: hops[0]!.tlp, redistribution: LIMIT_IMPLIED_BY_TLP[strictest], chain: hops };
}

const short = (value: unknown, max = 200): string | null => (typeof value === 'string' && value.length > 0 ? value.slice(0, max) : null);

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

export function createInbox(deps: InboxDeps): Inbox {
  const { db, clock, config, signer, peers, incidents, audit, log } = deps;
  const handlers = new Map<DelegatedType, InboxHandler<DelegatedType>>();

  /** Audits a refusal and throws it as problem+json. */
  async function reject(claim: Claim, code: ProblemCode, detail: string, extensions: Record<string, unknown> = {}): Promise<never> {
    try {
      await audit.append(db, {
        kind: 'inbox-rejection',
        actor: claim.from ?? 'unknown',
        peer: claim.from,
        decision: 'deny',
        details: { code, detail, messageId: claim.messageId, type: claim.type, sealed: claim.sealed },
      });
    } catch (err) {
      // The refusal stands even if it could not be recorded; the operator sees why in the log.
      log.error({ err, code, from: claim.from }, 'could not audit a refused message');
    }
    log.info({ code, from: claim.from, messageId: claim.messageId, type: claim.type }, 'message refused');
    throw new ProblemError(code, detail, extensions);
  }

  /** The signed receipt of a processed message, signing it first if the process stopped before it could. */
  async function receiptAnswer(row: InboundRow, replay: boolean): Promise<InboxAnswer> {
    if (row.receipt !== null) return { kind: 'receipt', text: row.receipt, replay };
    if (row.receiptDocument === null) throw new ProblemError('internal-error', 'stored message has no receipt');
    return { kind: 'receipt', text: await signReceipt(row.seq, row.receiptDocument), replay };
  }

  async function signReceipt(seq: number, receiptDocument: string): Promise<string> {
    const signature = await signer.signDetached(receiptDocument);
    return storeReceipt(db, seq, envelopeText(receiptDocument, signature));
  }

  // -------------------------------------------------------------------------------------------
  // Processing by type, inside the transaction of the inbox row.

  async function fileReport(tx: Tx, doc: IncidentReportDocument, actor: Actor): Promise<Outcome> {
    // A second report for an incident we hold already (a re-share after the sender gave up on
    // delivery, say) must not become a second incident.
    const known = await findLinkByPeerRef(tx, doc.from, doc.body.ref);
    if (known) {
      const incident = (await findIncident(tx, known.incidentId))!;
      await incidents.appendInTx(tx, incident.id, { kind: 'peer-report-repeated', actor, changes: { peerRef: doc.body.ref, messageId: doc.id } });
      return { status: 'noted', incidentId: incident.id, ref: incident.ref };
    }
    const [incident] = await fileCopies(tx, [doc]);
    return { status: 'filed', incidentId: incident!.id, ref: incident!.ref, filedFrom: { peerTeam: doc.from, peerRef: doc.body.ref } };
  }

  /** New reports filed as incidents of ours, numbered in the order given (one statement per table). */
  async function fileCopies(tx: Tx, docs: IncidentReportDocument[]): Promise<Incident[]> {
    // A copy keeps its originator's label and limits: every later decision about it (a re-share,
    // an update, the feed) is checked against them (docs/trust-model.md §4.2). Recorded first,
    // under the ids the copies will have: creating them takes the reference-number lock, which
    // every filing waits for until commit, and this statement need not be inside it.
    const ids = docs.map(() => randomUUID());
    const at = clock();
    await recordReceivedProvenances(
      tx,
      docs.map((doc, k) => ({ incidentId: ids[k]!, provenance: receivedProvenance(doc, doc.body.provenance, doc.body.incident.tlp), at, actor: doc.from })),
    );
    // Each team keeps its own phase: a copy starts at triage here, whatever the sender's phase.
    return incidents.createManyInTx(
      tx,
      docs.map((doc, k) => ({ id: ids[k]!, input: { ...doc.body.incident, phase: 'triage' }, actor: { subject: doc.from, team: doc.from } })),
    );
  }

  async function applyUpdate(tx: Tx, doc: IncidentUpdateDocument, actor: Actor): Promise<Outcome> {
    const link =
      (doc.body.peerRef ? await findLinkByOurRef(tx, doc.from, doc.body.peerRef) : null) ?? (await findLinkByPeerRef(tx, doc.from, doc.body.ref));
    if (!link) throw new ProblemError('unknown-incident', `no incident here is linked to ${doc.from}'s ${doc.body.ref}`);
    if (link.peerRef !== doc.body.ref) await setLinkPeerRef(tx, link.incidentId, doc.from, doc.body.ref);
    await addExternalRefIfMissing(tx, link.incidentId, doc.from, doc.body.ref);
    const change = doc.body.change;
    // Recorded as the other team's entry; our own phase stays where our handlers put it.
    await incidents.appendInTx(tx, link.incidentId, {
      kind: `peer-${change.kind}`,
      actor: { subject: change.actor, team: actor.team },
      note: change.note ?? null,
      changes: {
        peerRef: doc.body.ref,
        messageId: doc.id,
        at: change.at,
        ...(change.phase ? { phase: change.phase } : {}),
        ...(change.fields ? { fields: change.fields } : {}),
      },
    });
    const tlpChange = change.fields?.find((f) => f.field === 'tlp');
    if (tlpChange && typeof tlpChange.to === 'string' && (TLP_LABELS as readonly string[]).includes(tlpChange.to)) {
      await applyLabelChange(tx, link.incidentId, doc, tlpChange.to as Tlp);
    }
    const incident = (await findIncident(tx, link.incidentId))!;
    return { status: 'applied', incidentId: incident.id, ref: incident.ref };
  }

  /**
   * A label change from upstream binds our copy (docs/trust-model.md §4.7): a tightening at
   * once, a loosening only from the originator. The copy's label and provenance change in this
   * transaction, and the `label-changed` journal entry lets the listeners act on it (the
   * coordinator summary withdrawn, holders we passed it to told). Audited either way.
   */
  async function applyLabelChange(tx: Tx, incidentId: string, doc: IncidentUpdateDocument, to: Tlp): Promise<void> {
    const incident = (await findIncident(tx, incidentId, true))!;
    const facts = await findIncidentPolicy(tx, incidentId);
    const outcome = decideLabelChange({ provenance: facts?.provenance ?? null, incidentTlp: incident.tlp, from: doc.from, to });
    if (outcome.apply) {
      await relabelReceivedProvenance(tx, incidentId, outcome.provenance, { at: clock(), actor: doc.from });
      await incidents.relabelInTx(tx, incidentId, outcome.tlp, { by: doc.from, messageId: doc.id, direction: outcome.direction, reason: outcome.reason });
    }
    await audit.append(tx, {
      kind: 'label-change',
      actor: doc.from,
      incidentId,
      peer: doc.from,
      decision: outcome.apply ? 'allow' : 'deny',
      details: {
        ref: incident.ref,
        messageId: doc.id,
        requested: to,
        before: incident.tlp,
        after: outcome.apply ? outcome.tlp : incident.tlp,
        ...(outcome.apply ? { direction: outcome.direction } : {}),
        reason: outcome.reason,
      },
    });
  }

  async function takeInvestigation(tx: Tx, doc: InvestigationRequestDocument, actor: Actor): Promise<Outcome> {
    const body = doc.body;
    const linked =
      (body.peerRef ? await findLinkByOurRef(tx, doc.from, body.peerRef) : null) ?? (await findLinkByPeerRef(tx, doc.from, body.ref));
    const knownId = linked?.incidentId ?? (await findIncidentIdByExternalRef(tx, doc.from, body.ref));
    let incidentId: string;
    let status: Outcome['status'];
    if (knownId) {
      // The incident is known here: the request is a note on it.
      incidentId = knownId;
      status = 'noted';
      await incidents.appendInTx(tx, incidentId, {
        kind: 'peer-investigation-request',
        actor,
        note: body.question,
        changes: { peerRef: body.ref, messageId: doc.id, hosts: body.hosts.length },
      });
    } else {
      // New to us: filed as an incident of ours, so it gets a reference number and a handler.
      // No link is made: only the answer (investigation.result) goes back, not our later notes.
      const input: IncidentCreate = {
        title: `Investigation request from ${doc.from}`,
        summary: body.question.slice(0, 10000),
        category: body.category ?? 'other',
        severity: 'medium',
        tlp: doc.tlp,
        reporter: body.contact ?? { name: `Team ${doc.from}`, organisation: doc.from },
        hosts: body.hosts,
      };
      if (input.category === 'other') (input as Record<string, unknown>)['type'] = 'undetermined';
      if (body.indicators) input.indicators = body.indicators;
      const incident = await incidents.createInTx(tx, input, actor);
      await addExternalRefIfMissing(tx, incident.id, doc.from, body.ref);
      // What the requester told us keeps its label: the requester originated it.
      await recordReceivedProvenance(tx, incident.id, receivedProvenance(doc, undefined, doc.tlp), { at: clock(), actor: doc.from });
      incidentId = incident.id;
      status = 'filed';
    }
    await insertInvestigation(tx, {
      id: doc.id,
      direction: 'incoming',
      peerTeam: doc.from,
      incidentId,
      peerRef: body.ref,
      question: body.question,
      hosts: body.hosts,
      at: clock(),
    });
    const incident = (await findIncident(tx, incidentId))!;
    return { status, incidentId, ref: incident.ref };
  }

  async function takeResult(tx: Tx, doc: InvestigationResultDocument, actor: Actor): Promise<Outcome> {
    const body = doc.body;
    const investigation = await findInvestigation(tx, body.requestId, true);
    if (!investigation || investigation.direction !== 'outgoing' || investigation.peerTeam !== doc.from || doc.inReplyTo !== body.requestId) {
      throw new ProblemError('unknown-incident', `no investigation ${body.requestId} was asked of ${doc.from}`);
    }
    await answerInvestigation(tx, investigation.id, {
      finding: body.finding,
      summary: body.summary,
      hosts: body.hosts ?? null,
      messageId: doc.id,
      peerRef: body.ref,
      at: clock(),
    });
    await addExternalRefIfMissing(tx, investigation.incidentId, doc.from, body.ref);
    await incidents.appendInTx(tx, investigation.incidentId, {
      kind: 'peer-investigation-result',
      actor,
      note: body.summary,
      changes: { peerRef: body.ref, requestId: body.requestId, messageId: doc.id, finding: body.finding, hosts: body.hosts?.length ?? 0 },
    });
    const incident = (await findIncident(tx, investigation.incidentId))!;
    return { status: 'applied', incidentId: incident.id, ref: incident.ref };
  }

  async function rotateKey(tx: Tx, doc: KeyRotationDocument): Promise<Outcome> {
    // Verified against the pinned (old) key above: the old key vouches for the new one.
    await peers.applyKeyRotation(tx, doc.from, { newPublicKey: doc.body.newPublicKey, newFingerprint: doc.body.newFingerprint });
    return { status: 'applied', incidentId: null, ref: null };
  }

  function handle(tx: Tx, doc: MessageDocument, actor: Actor): Promise<Outcome> {
    switch (doc.type) {
      case 'incident.report':
        return fileReport(tx, doc, actor);
      case 'incident.update':
        return applyUpdate(tx, doc, actor);
      case 'investigation.request':
        return takeInvestigation(tx, doc, actor);
      case 'investigation.result':
        return takeResult(tx, doc, actor);
      case 'key.rotation':
        return rotateKey(tx, doc);
      case 'activity.summary':
      case 'activity.related':
      case 'activity.withdrawn': {
        const delegated = handlers.get(doc.type) as InboxHandler<typeof doc.type> | undefined;
        if (!delegated) throw new ProblemError('validation-failed', `${doc.type} documents are not accepted by this node`);
        return delegated(tx, doc, actor);
      }
      default:
        throw new ProblemError('validation-failed', `${doc.type} documents are not accepted at the inbox`);
    }
  }

  // -------------------------------------------------------------------------------------------

  async function quarantine(claim: Claim & { from: string; messageId: string }, envelope: Envelope): Promise<InboxAnswer> {
    let row = await findQuarantineByClaim(claim.from, claim.messageId);
    if (!row) {
      if ((await countQuarantined(db)) >= MAX_QUARANTINED) {
        return reject(claim, 'rate-limited', 'the quarantine for unknown senders is full; try later');
      }
      const stored = await insertQuarantine(db, {
        id: randomUUID(),
        claimedFrom: claim.from,
        messageId: claim.messageId,
        type: claim.type,
        envelope: envelope.text,
        sealed: envelope.sealed,
        issuerFingerprint: await signatureIssuerFingerprint(envelope.signature),
        at: clock(),
      });
      row = stored.row;
      if (stored.created) {
        await audit.append(db, {
          kind: 'quarantine',
          actor: claim.from,
          peer: claim.from,
          decision: null,
          details: { action: 'quarantined', quarantineId: row.id, messageId: claim.messageId, type: claim.type, issuerFingerprint: row.issuerFingerprint, sealed: claim.sealed },
        });
        log.info({ from: claim.from, messageId: claim.messageId, quarantineId: row.id }, 'message from an unknown sender quarantined');
      }
    }
    if (row.state === 'rejected') return reject(claim, 'unknown-sender', `a handler of this node rejected this message from "${claim.from}"`);
    return {
      kind: 'quarantined',
      quarantineId: row.id,
      detail: `"${claim.from}" is not a peer of this node; the message is kept for a handler to accept or reject, and is not processed until then`,
    };
  }

  async function findQuarantineByClaim(from: string, messageId: string): Promise<QuarantineRow | null> {
    const row = await db.selectFrom('quarantined_message').select('id').where('claimed_from', '=', from).where('message_id', '=', messageId).executeTakeFirst();
    return row ? findQuarantine(db, row.id) : null;
  }

  /**
   * Active peers as last read, for a few seconds: the pinned key every message needs, without a
   * query per message. Only the happy path trusts it. A message that fails verification with a
   * cached record, or whose peer changed by the time its group commits (the group re-reads the
   * peers it concerns under a share lock, `peers.intakeStates`), is processed again with a fresh
   * read, so every decision is made on the peer as committed.
   */
  const activePeers = new Map<string, { record: PeerRecord; until: number }>();

  async function currentPeer(from: string, fresh: boolean): Promise<{ peer: PeerRecord | null; cached: boolean }> {
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

  /**
   * From "who claims to send this" to a receipt (or a problem). `attempt` 0 may use the cached
   * peer; later attempts read it afresh, and a peer that keeps changing under the message ends
   * in a 409 its sender retries.
   */
  async function process(envelope: Envelope, mode: Mode, attempt = 0): Promise<InboxAnswer> {
    const fresh = attempt > 0;
    const raw = envelope.document;
    const claim: Claim = { from: null, messageId: short(raw['id']), type: short(raw['type'], 64), sealed: envelope.sealed };
    const from = raw['from'];
    if (typeof from !== 'string' || !TEAM_ID.test(from)) {
      return reject(claim, 'envelope-invalid', 'document.from must be a team id');
    }
    claim.from = from;

    const { peer, cached } = await currentPeer(from, fresh);
    if (!peer) {
      if (mode.acceptedBy) return reject(claim, 'unknown-peer', `no peer "${from}"`);
      if (claim.messageId === null) return reject(claim, 'envelope-invalid', 'document.id must be a string');
      return quarantine({ ...claim, from, messageId: claim.messageId }, envelope);
    }
    if (peer.status === 'suspended') return reject(claim, 'peer-suspended', `peer "${from}" is suspended on this node`);

    // A byte-identical repeat of a message stored before gets its receipt, whatever changed since:
    // a retry signed before a key rotation, or sent while the peer is flagged, still gets it. It
    // is looked up only where the message would otherwise be refused (a new message costs no
    // lookup; a repeat that verifies finds its slot taken when it is stored, below).
    const replayOf = async (): Promise<InboxAnswer | null> => {
      if (claim.messageId === null) return null;
      const seen = await findInbound(db, from, claim.messageId);
      return seen && seen.signature === envelope.signature && seen.document === canonicalOrNull(raw) ? receiptAnswer(seen, true) : null;
    };

    const key = await peers.keyOf(peer);
    const verified = await verifyDocumentSignature(envelope.value, key, { now: clock(), maxClockSkewMs: MAX_CLOCK_SKEW_MS });
    if (!verified.ok) {
      // The peer may have a new key since it was cached: decide on what is committed.
      if (cached) return process(envelope, mode, attempt + 1);
      const replay = await replayOf();
      if (replay) return replay;
      if (verified.reason === 'wrong-key') {
        const issuer = await signatureIssuerFingerprint(envelope.signature);
        if (mode.acceptedBy) return reject(claim, 'quarantine-mismatch', `the message is not signed by the key pinned for "${from}"`);
        await peers.flagKeyChange(db, from, issuer);
        await audit.append(db, {
          kind: 'key-change',
          actor: from,
          peer: from,
          decision: 'deny',
          details: { action: 'flagged', pinnedFingerprint: peer.fingerprint, seenFingerprint: issuer, messageId: claim.messageId, type: claim.type },
        });
        log.warn({ peer: from, pinned: peer.fingerprint, seen: issuer }, 'a message claims a key other than the pinned one: peer flagged key-changed');
        return reject(claim, 'key-changed', `the message is signed by a key other than the one pinned for "${from}"; the peer must be re-verified`);
      }
      return reject(
        claim,
        'signature-invalid',
        verified.reason === 'malformed' ? 'the signature is not one armored OpenPGP detached signature' : `the signature does not verify against the key pinned for "${from}"`,
      );
    }
    // While flagged, only the peer's pinned (old) key may still explain the change, with a
    // key.rotation; everything else waits for a handler to re-verify the peer.
    if (peer.status === 'key-changed' && raw['type'] !== 'key.rotation') {
      return (await replayOf()) ?? reject(claim, 'key-changed', `a different key was seen for "${from}"; nothing is processed until a handler re-verifies the peer`);
    }

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
    if (document.to !== config.teamId) return reject(claim, 'wrong-recipient', `the document is addressed to "${document.to}", this node is "${config.teamId}"`);
    if (Date.parse(document.created) > clock().getTime() + MAX_CLOCK_SKEW_MS) {
      return reject(claim, 'stale-or-future', 'created is in the future beyond the accepted clock skew (5 minutes)');
    }
    if (tlpRequiresSealing(document.tlp) && !envelope.sealed) {
      return reject(claim, 'sealing-required', `TLP:${document.tlp} documents must travel sealed to this node's key`);
    }

    // The text the signature was verified over: the document as stored.
    const documentText = verified.canonical;

    let receipt: string | null | typeof PEER_CHANGED;
    try {
      receipt = await intake.run({ document, documentText, envelope, signerFingerprint: verified.signingKeyFingerprint, mode, peer: { status: peer.status, fingerprint: peer.fingerprint } });
    } catch (err) {
      if (err instanceof ProblemError) return reject(claim, err.code, err.detail ?? err.message, err.extensions);
      throw err;
    }
    if (receipt === PEER_CHANGED) {
      activePeers.delete(from);
      if (attempt >= 3) return reject(claim, 'conflict', `peer "${from}" changed while the message was being stored; send it again`);
      return process(envelope, mode, attempt + 1);
    }
    if (receipt === null) {
      const row = await findInbound(db, from, document.id);
      if (!row || row.document !== documentText) return reject(claim, 'conflict', `message id ${document.id} was used before for a different document`);
      return receiptAnswer(row, true);
    }
    log.info({ from, messageId: document.id, type: document.type }, 'message received');
    return { kind: 'receipt', text: receipt, replay: false };
  }

  /** The inbox row of a verified message, as claimInbounds takes it. */
  function inboundClaim(item: IntakeItem): InboundClaim {
    return {
      sender: item.document.from,
      messageId: item.document.id,
      type: item.document.type,
      envelope: item.envelope.text,
      signature: item.envelope.signature,
      signerFingerprint: item.signerFingerprint,
      sealed: item.envelope.sealed,
      at: clock(),
    };
  }

  const quarantineClosing = (mode: Mode) => ({
    by: mode.acceptedBy ?? 'federation',
    reason: mode.acceptedBy ? null : 'the sender became a peer and sent the message again',
  });

  /**
   * The signed receipt for a processed message, and its audit entry. Signed before commit (native
   * Ed25519 signing costs tens of microseconds) and stored with the outcome, so an answered
   * message always has its receipt on record.
   */
  async function receiptFor(tx: Tx, item: IntakeItem, outcome: Outcome): Promise<{ receiptDocument: string; receipt: string }> {
    const { document, envelope } = item;
    const body: ReceiptBody = { status: outcome.status, ...(outcome.ref ? { ref: outcome.ref } : {}) };
    const receiptDoc = newDocument(config.teamId, clock(), { type: 'receipt', to: document.from, tlp: document.tlp, inReplyTo: document.id, body });
    const receiptDocument = canonicalize(receiptDoc);
    const receipt = envelopeText(receiptDocument, await signer.signDetached(receiptDocument));
    await audit.append(tx, {
      kind: 'receipt',
      actor: document.from,
      incidentId: outcome.incidentId,
      peer: document.from,
      decision: null,
      details: { direction: 'sent', messageId: document.id, type: document.type, receiptId: receiptDoc.id, status: outcome.status, ref: outcome.ref, sealed: envelope.sealed },
    });
    return { receiptDocument, receipt };
  }

  /** Processes one message whose inbox row `seq` is claimed, and answers its receipt. */
  async function finish(tx: Tx, item: IntakeItem, seq: number): Promise<string> {
    const from = item.document.from;
    const outcome = await handle(tx, item.document, { subject: from, team: from });
    const { receiptDocument, receipt } = await receiptFor(tx, item, outcome);
    if (outcome.filedFrom && outcome.incidentId) {
      await completeFiledReports(tx, [{ seq, incidentId: outcome.incidentId, ...outcome.filedFrom, receiptDocument, receipt, receiptStatus: outcome.status, at: clock() }]);
    } else {
      await completeInbound(tx, seq, { incidentId: outcome.incidentId, receiptDocument, receipt, receiptStatus: outcome.status });
    }
    return receipt;
  }

  /**
   * New reports from peers, filed together: one statement per table for the whole group rather
   * than per report (docs/adr/0008, 0009). Does what fileReport does for each, in the same order.
   * A report whose incident is known here already goes through `finish` like any message.
   */
  async function fileReports(tx: Tx, items: Array<IntakeItem & { document: IncidentReportDocument }>): Promise<Array<string | null>> {
    // New reports' inbox rows are written once, complete, at the end (insertFiledReports). A
    // message with a row already was committed by another transaction before this one took its
    // slot (null: the caller answers it as a repeat).
    const { received, linked } = await findReceivedAndLinked(
      tx,
      items.map((item) => ({ sender: item.document.from, messageId: item.document.id })),
      items.map((item) => ({ peerTeam: item.document.from, peerRef: item.document.body.ref })),
    );
    const results: Array<string | null> = items.map(() => null);
    const fresh: Array<{ item: (typeof items)[number]; i: number }> = [];
    for (const [i, item] of items.entries()) {
      if (received.has(pairKey(item.document.from, item.document.id))) continue;
      if (!linked.has(pairKey(item.document.from, item.document.body.ref))) {
        fresh.push({ item, i });
        continue;
      }
      // The incident is known here already: processed like any message.
      const [seq] = await claimInbounds(tx, [inboundClaim(item)], quarantineClosing({}));
      results[i] = seq === null || seq === undefined ? null : await finish(tx, item, seq);
    }
    const copies = await fileCopies(tx, fresh.map(({ item }) => item.document));
    const filedAt = clock();
    const filed: FiledReport[] = [];
    for (const [k, { item, i }] of fresh.entries()) {
      const incident = copies[k]!;
      const { receiptDocument, receipt } = await receiptFor(tx, item, { status: 'filed', incidentId: incident.id, ref: incident.ref });
      filed.push({ ...inboundClaim(item), incidentId: incident.id, peerRef: item.document.body.ref, receiptDocument, receipt, receiptStatus: 'filed', filedAt });
      results[i] = receipt;
    }
    await insertFiledReports(tx, filed, quarantineClosing({}));
    return results;
  }

  /**
   * Stores and processes verified messages inside one transaction (group commit,
   * src/db/group-commit.ts) and answers each one's signed receipt; null for a message whose
   * (from, id) was committed meanwhile by a concurrent request. New reports are filed together;
   * every other message, and a second report of the same incident in the group, one by one in
   * arrival order.
   */
  async function store(tx: Tx, items: IntakeItem[]): Promise<Array<string | null | typeof PEER_CHANGED>> {
    const results: Array<string | null | typeof PEER_CHANGED | undefined> = items.map(() => undefined);
    // From here on, no other transaction stores a copy of these messages (see lockInboundSlots).
    // Where transactions never overlap (the embedded engine), none could.
    if (transactionsOverlap(db)) {
      await lockInboundSlots(
        tx,
        items.map((item) => ({ sender: item.document.from, messageId: item.document.id })),
      );
    }
    // Each message was checked against its peer as read before the group; the peers are read
    // again here, locked until commit, and a message whose peer changed meanwhile goes back.
    const states = await peers.intakeStates(tx, [...new Set(items.map((item) => item.document.from))]);
    items.forEach((item, i) => {
      const now = states.get(item.document.from);
      if (!now || now.status !== item.peer.status || now.fingerprint !== item.peer.fingerprint) results[i] = PEER_CHANGED;
    });
    const seen = new Set<string>();
    const reports: Array<{ item: IntakeItem & { document: IncidentReportDocument }; i: number }> = [];
    items.forEach((item, i) => {
      if (results[i] !== undefined || item.document.type !== 'incident.report' || item.mode.acceptedBy) return;
      const key = pairKey(item.document.from, item.document.body.ref);
      if (seen.has(key)) return;
      seen.add(key);
      reports.push({ item: item as IntakeItem & { document: IncidentReportDocument }, i });
    });
    if (reports.length > 0) {
      const filed = await fileReports(tx, reports.map((r) => r.item));
      reports.forEach(({ i }, k) => (results[i] = filed[k]!));
    }
    for (const [i, item] of items.entries()) {
      if (results[i] !== undefined) continue;
      const [seq] = await claimInbounds(tx, [inboundClaim(item)], quarantineClosing(item.mode));
      results[i] = seq === null || seq === undefined ? null : await finish(tx, item, seq);
    }
    return results as Array<string | null | typeof PEER_CHANGED>;
  }

  const intake = createGroupCommit<IntakeItem, string | null | typeof PEER_CHANGED>(db, store, {
    maxItems: INTAKE_GROUP_MAX,
    // Audit entries of a group are written once, at its end: one chain lock per transaction.
    async around(tx, work) {
      const deferred = audit.deferIn(tx);
      const out = await work();
      await deferred.flush();
      return out;
    },
  });

  function canonicalOrNull(value: Record<string, unknown>): string | null {
    try {
      return canonicalize(value);
    } catch {
      return null;
    }
  }

  /** Parses a body (or a stored quarantined envelope) into an envelope, opening a sealed one. */
  async function open(raw: string, sealedBefore: boolean): Promise<Envelope> {
    const claim: Claim = { from: null, messageId: null, type: null, sealed: sealedBefore };
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch {
      return reject(claim, 'malformed-json', 'the body is not valid JSON');
    }
    let shape = envelopeShape(value);
    let text = raw;
    let sealed = sealedBefore;
    if (shape.kind === 'sealed') {
      claim.sealed = true;
      let plain: string;
      try {
        plain = await openSealed(shape.sealed, signer, { maxPlaintextBytes: config.bodyLimitBytes });
      } catch (err) {
        if (err instanceof SealedMessageError && err.reason === 'too-large') return reject(claim, 'body-too-large', 'the sealed message opens to more than the body limit');
        const reason = err instanceof SealedMessageError ? err.reason : 'decryption-failed';
        return reject(claim, 'sealed-invalid', `the sealed message cannot be opened (${reason})`);
      }
      try {
        value = JSON.parse(plain);
      } catch {
        return reject(claim, 'envelope-invalid', 'the sealed message does not hold a JSON envelope');
      }
      shape = envelopeShape(value);
      if (shape.kind === 'sealed') return reject(claim, 'envelope-invalid', 'a sealed message must hold a signed envelope, not another sealed one');
      text = plain;
      sealed = true;
    }
    if (shape.kind !== 'signed') return reject(claim, 'envelope-invalid', shape.kind === 'invalid' ? shape.reason : 'not a signed envelope');
    return { value, document: shape.document, signature: shape.signature, text, sealed };
  }

  /**
   * The team a node's profile names, read without verifying it (adding the peer verifies); null
   * when it cannot be read, and adding the peer then reports why.
   */
  async function profileTeamAt(url: string): Promise<string | null> {
    try {
      const response = await deps.fetch(new URL('federation/v1/profile', url.endsWith('/') ? url : `${url}/`), {
        headers: { accept: 'application/json' },
        signal: AbortSignal.timeout(10_000),
        redirect: 'error',
      });
      if (!response.ok) return null;
      const body = (await response.json()) as { document?: { from?: unknown } };
      return typeof body?.document?.from === 'string' ? body.document.from : null;
    } catch {
      return null;
    }
  }

  async function mustFindQuarantine(id: string): Promise<QuarantineRow> {
    const row = await findQuarantine(db, id);
    if (!row) throw new ProblemError('not-found', `no quarantined message ${id}`);
    return row;
  }

  return {
    registerHandler(type, handler) {
      handlers.set(type, handler as unknown as InboxHandler<DelegatedType>);
    },

    async receive(raw) {
      return process(await open(raw, false), {});
    },

    async listQuarantine(query) {
      const limit = query.limit ?? 50;
      const beforeSeq = query.cursor ? (decodeCursor(query.cursor, { q: 'number' }).q as number) : undefined;
      const page = await listQuarantine(db, { ...(query.state ? { state: query.state } : {}), ...(beforeSeq !== undefined ? { beforeSeq } : {}), limit });
      const last = page.items.at(-1);
      return { items: page.items.map((r) => toQuarantined(r)), nextCursor: page.more && last ? encodeCursor({ q: last.seq }) : null };
    },

    async getQuarantine(id) {
      return toQuarantined(await mustFindQuarantine(id), true);
    },

    async acceptQuarantine(id, url, actor) {
      const row = await mustFindQuarantine(id);
      if (row.state !== 'quarantined') throw new ProblemError('conflict', `the message was ${row.state} already`);
      let peer: PeerRecord | null = await peers.find(db, row.claimedFrom);
      if (!peer) {
        if (!url) throw new ProblemError('unknown-peer', `"${row.claimedFrom}" is not a peer yet: give the URL of its node to add it`);
        // Adding a peer pins its key: do not pin another team's node by mistake.
        const claimed = await profileTeamAt(url);
        if (claimed !== null && claimed !== row.claimedFrom) {
          throw new ProblemError('quarantine-mismatch', `the node at that URL is "${claimed}", the message claims to come from "${row.claimedFrom}"`);
        }
        peer = await peers.addFromUrl(url, actor.subject);
      }
      if (peer.teamId !== row.claimedFrom) {
        throw new ProblemError('quarantine-mismatch', `the node at that URL is "${peer.teamId}", the message claims to come from "${row.claimedFrom}"`);
      }
      const envelope = await open(row.envelope, row.sealed);
      const answer = await process(envelope, { acceptedBy: actor.subject });
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
      return { message: toQuarantined(await mustFindQuarantine(id)), receipt: JSON.parse(answer.text) as SignedReceipt };
    },

    async rejectQuarantine(id, reason, actor) {
      const row = await mustFindQuarantine(id);
      if (!(await decideQuarantine(db, { id }, { state: 'rejected', by: actor.subject, reason: reason ?? null, at: clock() }))) {
        throw new ProblemError('conflict', `the message was ${row.state} already`);
      }
      await audit.append(db, {
        kind: 'quarantine',
        actor: actor.subject,
        peer: row.claimedFrom,
        decision: 'deny',
        details: { action: 'rejected', quarantineId: id, messageId: row.messageId, type: row.type, reason: reason ?? null },
      });
      return { message: toQuarantined(await mustFindQuarantine(id)), receipt: null };
    },
  };
}
