import type { Clock } from '../../clock.js';
import type { Config } from '../../config.js';
import { canonicalize, type NodeSigner } from '../../crypto/index.js';
import { transactionsOverlap, type Db, type Tx } from '../../db/database.js';
import { createGroupCommit, type GroupCommit } from '../../db/group-commit.js';
import type { MessageDocument, ReceiptBody } from '../../../schemas/federation.schema.js';
import type { AuditLog } from '../audit/audit.module.js';
import type { Envelope } from './envelope.js';
import { findReceived, insertInbounds, lockInboundSlots, pairKey, type CompleteInbound } from './inbox.repository.js';
import type { HandledType, InboxHandler, InboxOutcome } from './inbox.service.js';
import { envelopeText, newDocument } from './message-document.js';
import type { PeerKeyring, PeerStatus } from './peer-keyring.js';

/**
 * The inbox's store stage: verified messages stored and processed inside one transaction for a
 * group (group commit): de-duplicated by (from, id), each run of one type dispatched to the
 * handler its module registered, each receipt signed, the inbox rows written once, complete.
 */
/** A verified, checked message on its way into the inbox's transaction. */
export interface IntakeItem {
  document: MessageDocument;
  envelope: Envelope;
  signerFingerprint: string;
  mode: Mode;
  /** The peer as it was when the message was checked. */
  peer: { status: PeerStatus; fingerprint: string };
}

export interface Mode {
  /** Set when a handler accepts a quarantined message: unknown senders and other keys are errors, not quarantine or a key-change flag. */
  acceptedBy?: string;
  /** The address the message came from (the quarantine bounds what one address may leave there). */
  source?: string;
}

/** Most messages stored in one transaction (see createGroupCommit). */
export const INTAKE_GROUP_MAX = 32;
/** A group's answer for a message whose peer changed after it was checked: check it again. */
export const PEER_CHANGED = Symbol('peer changed');
export type StoreResult = string | null | typeof PEER_CHANGED;

/** Splits items into runs of one document type, in arrival order: each run goes to its handler at once. */
function runsByType<T extends { document: { type: string } }>(items: Array<{ item: T; i: number }>): Array<Array<{ item: T; i: number }>> {
  const runs: Array<Array<{ item: T; i: number }>> = [];
  for (const entry of items) {
    const last = runs.at(-1);
    if (last && last[0]!.item.document.type === entry.item.document.type) last.push(entry);
    else runs.push([entry]);
  }
  return runs;
}

export interface InboxStoreDeps {
  db: Db;
  clock: Clock;
  config: Pick<Config, 'teamId'>;
  signer: NodeSigner;
  peers: Pick<PeerKeyring, 'intakeStates'>;
  audit: AuditLog;
  handlers: ReadonlyMap<HandledType, InboxHandler<HandledType>>;
}

export function createInboxStore(deps: InboxStoreDeps): GroupCommit<IntakeItem, StoreResult> {
  const { db, clock, config, signer, peers, audit, handlers } = deps;
  // -------------------------------------------------------------------------------------------
  // store: de-duplicate, dispatch, receipt

  /**
   * The signed receipt for a processed message, and its audit entry. Signed before commit (native
   * Ed25519 signing costs tens of microseconds) and stored with the outcome, so an answered
   * message always has its receipt on record.
   */
  async function receiptFor(tx: Tx, item: IntakeItem, outcome: InboxOutcome): Promise<{ receiptDocument: string; receipt: string }> {
    const { document, envelope } = item;
    const body: ReceiptBody = { status: outcome.status, ...(outcome.ref ? { ref: outcome.ref } : {}) };
    const receiptDoc = newDocument(config.teamId, clock(), {
      type: 'receipt',
      to: document.from,
      tlp: document.tlp,
      inReplyTo: document.id,
      body,
    });
    const receiptDocument = canonicalize(receiptDoc);
    const receipt = envelopeText(receiptDocument, await signer.signDetached(receiptDocument));
    await audit.append(tx, {
      kind: 'receipt',
      actor: document.from,
      incidentId: outcome.incidentId,
      peer: document.from,
      decision: null,
      details: {
        direction: 'sent',
        messageId: document.id,
        type: document.type,
        receiptId: receiptDoc.id,
        status: outcome.status,
        ref: outcome.ref,
        sealed: envelope.sealed,
      },
    });
    return { receiptDocument, receipt };
  }

  /** Which items to process: not stored before, not a second copy in this group, peer unchanged. */
  async function admitted(
    tx: Tx,
    items: IntakeItem[],
  ): Promise<{ results: Array<StoreResult | undefined>; fresh: Array<{ item: IntakeItem; i: number }> }> {
    const results: Array<StoreResult | undefined> = items.map(() => undefined);
    // From here on, no other transaction stores a copy of these messages (see lockInboundSlots).
    // Where transactions never overlap (the embedded engine), none could.
    const slots = items.map((item) => ({ sender: item.document.from, messageId: item.document.id }));
    if (transactionsOverlap(db)) await lockInboundSlots(tx, slots);
    // Each message was checked against its peer as read before the group; the peers are read
    // again here, locked until commit, and a message whose peer changed meanwhile goes back.
    const states = await peers.intakeStates(tx, [...new Set(items.map((item) => item.document.from))]);
    const received = await findReceived(tx, slots);
    const fresh: Array<{ item: IntakeItem; i: number }> = [];
    items.forEach((item, i) => {
      const now = states.get(item.document.from);
      const key = pairKey(item.document.from, item.document.id);
      if (!now || now.status !== item.peer.status || now.fingerprint !== item.peer.fingerprint) results[i] = PEER_CHANGED;
      else if (received.has(key)) results[i] = null;
      else {
        received.add(key); // a second copy in this group is a repeat of the first
        fresh.push({ item, i });
      }
    });
    return { results, fresh };
  }

  /**
   * Stores and processes verified messages inside one transaction (group commit,
   * src/db/group-commit.ts) and answers each one's signed receipt; null for a message whose
   * (from, id) was committed meanwhile (or earlier in the group). Each run of one type goes to
   * its handler at once; the inbox rows are written once, complete, at the end (ADR 0008-0010).
   */
  async function store(tx: Tx, items: IntakeItem[]): Promise<StoreResult[]> {
    const { results, fresh } = await admitted(tx, items);
    const rows = new Map<string, CompleteInbound[]>();
    for (const run of runsByType(fresh)) {
      const type = run[0]!.item.document.type as HandledType;
      const outcomes = await handlers.get(type)!(
        tx,
        run.map(({ item }) => item.document) as never,
        run.map(({ item }) => ({ signature: item.envelope.signature, sealed: item.envelope.sealed })),
      );
      for (const [k, { item, i }] of run.entries()) {
        const outcome = outcomes[k]!;
        const { receiptDocument, receipt } = await receiptFor(tx, item, outcome);
        // A quarantined copy is closed by the handler who accepted it, or as re-sent by a new peer.
        const closing = item.mode.acceptedBy ?? '';
        const list = rows.get(closing) ?? [];
        list.push({
          sender: item.document.from,
          messageId: item.document.id,
          type: item.document.type,
          envelope: item.envelope.text,
          signature: item.envelope.signature,
          signerFingerprint: item.signerFingerprint,
          sealed: item.envelope.sealed,
          receivedAt: clock(),
          incidentId: outcome.incidentId,
          receiptDocument,
          receipt,
          receiptStatus: outcome.status,
        });
        rows.set(closing, list);
        results[i] = receipt;
      }
    }
    for (const [acceptedBy, list] of rows) {
      const quarantineClosing = acceptedBy
        ? { by: acceptedBy, reason: null }
        : { by: 'federation', reason: 'the sender became a peer and sent the message again' };
      await insertInbounds(tx, list, { ...quarantineClosing, at: clock() });
    }
    return results as StoreResult[];
  }

  // Audit entries of a group are written once, at its end (atGroupEnd): one chain lock per transaction.
  const intake = createGroupCommit<IntakeItem, StoreResult>(db, store, { maxItems: INTAKE_GROUP_MAX });

  return intake;
}
