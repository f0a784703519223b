import { randomUUID } from 'node:crypto';
import type { Clock } from '../../clock.js';
import type { Db, Tx } from '../../db/database.js';
import { ProblemError } from '../../http/problem.js';
import type { Tlp } from '../../../schemas/common.schema.js';
import type { SiteNotificationDocument } from '../../../schemas/federation.schema.js';
import type { ReceivedSiteNotification, SiteNotificationAnswerBody } from '../../../schemas/notification.schema.js';
import type { AuditLog } from '../audit/audit.module.js';
import type { InboxOutcome, Outbox } from '../exchange/exchange.module.js';
import type { PeerDirectory } from '../peers/peers.module.js';
import { sha256 } from './notification-context.js';
import { findReceived, insertReceived, listReceived, setReceivedState, type ReceivedRow } from './received-notification.repository.js';

/**
 * The site's side of the node channel (ADR 0026): this node runs a site of a coordinator's
 * constituency, and the coordinator tells it about its own hosts with signed `site.notification`
 * documents. They are kept for our handlers to read (the sender's reference number to quote),
 * and acknowledged or answered with a signed `site.notification-answer` through the outbox.
 * Only a peer we registered as our coordinator may notify us: a site notification from a
 * lateral peer or a member is refused (the inbox audits the refusal) and nothing is kept.
 */
export interface ReceivedNotificationService {
  /** Inbox: a verified, schema-checked site.notification. */
  receive(tx: Tx, doc: SiteNotificationDocument): Promise<InboxOutcome>;
  list(): Promise<ReceivedSiteNotification[]>;
  get(id: string): Promise<ReceivedSiteNotification>;
  acknowledge(id: string, actor: string): Promise<ReceivedSiteNotification>;
  answer(id: string, text: string, actor: string): Promise<ReceivedSiteNotification>;
}

export interface ReceivedNotificationDeps {
  db: Db;
  clock: Clock;
  audit: AuditLog;
  peers: Pick<PeerDirectory, 'find'>;
  outbox: Pick<Outbox, 'enqueue' | 'kick'>;
}

const LIST_LIMIT = 500;

function toWire(row: ReceivedRow, withText: boolean): ReceivedSiteNotification {
  return {
    id: row.id,
    from: row.fromTeam,
    messageId: row.messageId,
    notification: row.remoteNotification,
    senderRef: row.senderRef,
    tlp: row.tlp as Tlp,
    language: row.language,
    content: row.content,
    ...(withText ? { text: row.text } : {}),
    follows: row.follows,
    state: row.state,
    answeredBy: row.answeredBy,
    answeredAt: row.answeredAt,
    receivedAt: row.receivedAt,
  };
}

export function createReceivedNotificationService(deps: ReceivedNotificationDeps): ReceivedNotificationService {
  const { db, clock, audit } = deps;

  async function mustFind(id: string, tx?: Tx): Promise<ReceivedRow> {
    const row = await findReceived(tx ?? db, id, tx !== undefined);
    if (!row) throw new ProblemError('not-found', `no received site notification ${id}`);
    return row;
  }

  /** The acknowledgement or answer, signed and queued to the sender, audited as what it is: a disclosure to that team. */
  async function reply(id: string, kind: SiteNotificationAnswerBody['kind'], text: string | undefined, actor: string) {
    await db.transaction().execute(async (tx) => {
      const row = await mustFind(id, tx);
      if (kind === 'acknowledged' && row.state !== 'received')
        throw new ProblemError('notification-state', `received notification ${id} is ${row.state}: only a new one is acknowledged`);
      if (!(await deps.peers.find(tx, row.fromTeam)))
        throw new ProblemError('unknown-peer', `"${row.fromTeam}" is no longer a peer of this node: nothing can be sent to it`);
      const body: SiteNotificationAnswerBody = { notification: row.remoteNotification, kind, ...(text !== undefined ? { text } : {}) };
      const signed = await deps.outbox.enqueue(
        tx,
        { type: 'site.notification-answer', to: row.fromTeam, tlp: row.tlp as Tlp, inReplyTo: row.messageId, body: { ...body } },
        null,
      );
      await setReceivedState(tx, id, kind, actor, clock());
      await audit.append(tx, {
        kind: `site-notification.${kind}`,
        actor,
        peer: row.fromTeam,
        decision: 'allow',
        details: {
          receivedId: id,
          notification: row.remoteNotification,
          senderRef: row.senderRef,
          messageId: signed.id,
          textSha256: text === undefined ? null : sha256(text),
        },
      });
    });
    deps.outbox.kick();
    return toWire(await mustFind(id), true);
  }

  return {
    async receive(tx, doc) {
      const peer = await deps.peers.find(tx, doc.from);
      if (peer?.relationship !== 'coordinator')
        throw new ProblemError(
          'not-our-coordinator',
          `"${doc.from}" is not registered as a coordinator of this node: only our coordinator notifies us about our hosts`,
        );
      const { body } = doc;
      const fresh = await insertReceived(tx, {
        id: randomUUID(),
        fromTeam: doc.from,
        messageId: doc.id,
        remoteNotification: body.notification,
        senderRef: body.ref,
        tlp: doc.tlp,
        language: body.language,
        content: body.content,
        text: body.text,
        follows: body.follows,
        receivedAt: clock().toISOString(),
      });
      // The same notification in a new document (the sender re-queued it): kept once, noted.
      if (!fresh) return { status: 'noted', incidentId: null, ref: null };
      await audit.append(tx, {
        kind: 'site-notification.received',
        actor: doc.from,
        peer: doc.from,
        details: { notification: body.notification, senderRef: body.ref, messageId: doc.id, textSha256: sha256(body.text) },
      });
      return { status: 'filed', incidentId: null, ref: null };
    },

    list: async () => (await listReceived(db, LIST_LIMIT)).map((row) => toWire(row, false)),
    get: async (id) => toWire(await mustFind(id), true),
    acknowledge: (id, actor) => reply(id, 'acknowledged', undefined, actor),
    answer: (id, text, actor) => reply(id, 'answered', text, actor),
  };
}
