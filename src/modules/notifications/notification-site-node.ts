import type { DbOrTx, Tx } from '../../db/database.js';
import { ProblemError } from '../../http/problem.js';
import type { Incident } from '../../../schemas/incident.schema.js';
import type { SiteNotification, SiteNotificationBody } from '../../../schemas/notification.schema.js';
import type { SiteNotificationAnswerDocument } from '../../../schemas/federation.schema.js';
import type { Delivered, DeliveryFailed, InboxOutcome, Outbox } from '../exchange/exchange.module.js';
import type { PeerDirectory } from '../peers/peers.module.js';
import type { SharingOutcome } from '../sharing/index.js';
import { findSiteById } from '../sites/sites.module.js';
import { sha256, type NotificationContext } from './notification-context.js';
import { findNodeNotification, findNotificationByMessageId, updateNotification, type NotificationRow } from './notification.repository.js';
import { clearNodeContactFailing, markNodeContactFailing } from './site-contact.repository.js';

/**
 * The other channel of issue 19 part 3, "or to the site's own node if it runs one" (ADR 0026): a
 * site that names the peer team running its node gets its notification as a signed
 * `site.notification` document through the exchange outbox, carrying exactly the content and
 * text the mail would carry (the same decision, recipient kind site, the same redaction). The
 * exchange's signed receipt makes it `delivered`; the site node's signed
 * `site.notification-answer` makes it `acknowledged` or `answered` and lands in the journal.
 */

/** The exchange and the peers, for sites that run their own node. */
export interface SiteNodePort {
  peers: Pick<PeerDirectory, 'find'>;
  outbox: Pick<Outbox, 'enqueue' | 'kick' | 'find'>;
}

/**
 * Why a site that names a node is not told through it now: the peer was removed, is suspended,
 * or its key changed (nothing goes to a key a handler has not re-verified). The notification
 * then falls back to the POC mail (ADR 0026), and the journal and audit say why.
 */
export type NodeFallback = 'peer-unknown' | 'peer-suspended' | 'peer-key-changed';

/** Where a site's notification goes now: its node's team, or the mail (with why, when it names a node). */
export async function siteNodeOf(
  ctx: NotificationContext,
  db: DbOrTx,
  site: { teamId: string | null } | string,
): Promise<{ teamId: string; fallback: null } | { teamId: null; fallback: NodeFallback | null }> {
  const nodes = ctx.deps.siteNodes;
  const teamId = typeof site === 'string' ? ((await findSiteById(db, site))?.teamId ?? null) : site.teamId;
  if (!teamId || !nodes) return { teamId: null, fallback: null };
  const peer = await nodes.peers.find(db, teamId);
  if (!peer) return { teamId: null, fallback: 'peer-unknown' };
  if (peer.status === 'suspended') return { teamId: null, fallback: 'peer-suspended' };
  if (peer.status !== 'active') return { teamId: null, fallback: 'peer-key-changed' };
  return { teamId, fallback: null };
}

/** Approval by the node channel: the document signed and queued in the exchange outbox in the approving transaction. */
export async function approveToSiteNode(
  ctx: NotificationContext,
  row: NotificationRow,
  incident: Incident,
  decided: SharingOutcome,
  peerTeam: string,
  actor: string,
): Promise<SiteNotification> {
  const { db, clock, incidents, sharing } = ctx.deps;
  const nodes = ctx.deps.siteNodes!;
  const text = (await ctx.textOf(row)) ?? '';
  if (!row.content) throw new ProblemError('notification-state', `notification ${row.id} has no content: propose it again`);
  const body: SiteNotificationBody = {
    notification: row.id,
    ref: incident.ref,
    language: row.language,
    content: row.content,
    text,
    follows: row.follows,
  };
  await db.transaction().execute(async (tx) => {
    const locked = await ctx.mustFind(row.id, tx);
    if (locked.state !== 'drafted')
      throw new ProblemError('notification-state', `notification ${row.id} is ${locked.state}: only a draft is approved`);
    const signed = await nodes.outbox.enqueue(
      tx,
      { type: 'site.notification', to: peerTeam, tlp: decided.decision.tlp, body: body as unknown as Record<string, unknown> },
      row.incidentId,
    );
    const at = clock();
    await updateNotification(
      tx,
      row.id,
      { state: 'approved', approvedBy: actor, approvedAt: at, messageId: signed.id, channel: 'node', peerTeam },
      at,
    );
    await incidents.appendInTx(tx, row.incidentId, {
      kind: 'notification-approved',
      actor: ctx.actorOf(actor),
      changes: { notificationId: row.id, site: row.siteId, channel: 'node', peer: peerTeam, messageId: signed.id },
    });
    // The same decision as the mail path, recorded with the digest of the text the document carries.
    await sharing.record(tx, incident, decided, {
      actor,
      details: {
        type: 'site.notification',
        notificationId: row.id,
        state: 'approved',
        channel: 'node',
        peer: peerTeam,
        messageId: signed.id,
        textSha256: sha256(text),
      },
    });
  });
  nodes.outbox.kick();
  return ctx.viewOne(await ctx.mustFind(row.id));
}

/**
 * The exchange's delivery hook: the site node's signed receipt is on record. The HTTP hand-over
 * and the receipt are one exchange, so the notification passes `sent` (journaled) and rests at
 * `delivered`, in the transaction that records the receipt.
 */
export async function nodeDelivered(ctx: NotificationContext, tx: Tx, delivered: Delivered): Promise<void> {
  if (delivered.type !== 'site.notification') return;
  const found = await findNotificationByMessageId(tx, [delivered.id]);
  if (!found || found.channel !== 'node') return;
  const row = await ctx.mustFind(found.id, tx);
  if (row.state !== 'approved') return;
  const at = ctx.deps.clock();
  const details = { channel: 'node', peer: delivered.peerTeam, messageId: delivered.id };
  await updateNotification(
    tx,
    row.id,
    { state: 'delivered', sentAt: at, outcomeAt: at, outcomeBy: delivered.peerTeam, outcomeDetail: `receipt ${delivered.receiptStatus}` },
    at,
  );
  // The node takes notifications again: it is no longer a contact that needs fixing.
  await clearNodeContactFailing(tx, delivered.peerTeam, at);
  await ctx.recordChange(tx, row, 'sent', 'node', details);
  await ctx.recordChange(tx, row, 'delivered', delivered.peerTeam, { ...details, receiptStatus: delivered.receiptStatus });
}

/**
 * The exchange's failure hook: a site.notification the site's node will never take (it refused
 * the document for good, or did not answer within the delivery's maximum age). As a bounced
 * mail does for the POC address, the notification becomes `bounced` with the exchange's reason
 * and the node, as the site's contact, is failing: the directory lists it to be fixed
 * (GET /site-node-contacts?failing=true). The reason names the peer's status and problem code,
 * never the document.
 */
export async function nodeFailed(ctx: NotificationContext, tx: Tx, failed: DeliveryFailed): Promise<void> {
  if (failed.type !== 'site.notification') return;
  const found = await findNotificationByMessageId(tx, [failed.id]);
  if (!found || found.channel !== 'node') return;
  const row = await ctx.mustFind(found.id, tx);
  // Only a notification still on its way: an answer or acknowledgement that overtook the
  // failure (a handler's phone call) is not undone.
  if (row.state !== 'approved' && row.state !== 'sent') return;
  const at = ctx.deps.clock();
  const detail = `exchange gave up: ${failed.error}`.slice(0, 1000);
  await updateNotification(tx, row.id, { state: 'bounced', outcomeAt: at, outcomeBy: 'exchange', outcomeDetail: detail }, at);
  await markNodeContactFailing(tx, failed.peerTeam, failed.error, at);
  await ctx.recordChange(tx, row, 'bounced', 'node', {
    channel: 'node',
    peer: failed.peerTeam,
    messageId: failed.id,
    error: failed.error.slice(0, 500),
  });
}

/** States a site node's acknowledgement or answer may move (an answer may overtake the receipt's record). */
const ANSWERABLE = new Set(['approved', 'sent', 'delivered', 'acknowledged', 'answered']);

/**
 * Inbox: a `site.notification-answer` from a site node (signature verified, schema checked). Only
 * a notification that went to that very node is answered by it; anything else is refused (the
 * inbox audits the refusal) and nothing is applied. The answer's text goes in the incident's
 * journal for the handlers; the audit keeps its digest.
 */
export async function receiveNodeAnswer(ctx: NotificationContext, tx: Tx, doc: SiteNotificationAnswerDocument): Promise<InboxOutcome> {
  const { body } = doc;
  const row = await findNodeNotification(tx, body.notification, doc.from);
  if (!row || !ANSWERABLE.has(row.state))
    throw new ProblemError('not-found', `no notification ${body.notification} went to the node of "${doc.from}"`);
  if (body.kind === 'acknowledged' && body.text !== undefined)
    throw new ProblemError('validation-failed', 'an acknowledgement carries no text: send kind answered');
  const at = ctx.deps.clock();
  // An acknowledgement after an answer is noted in the journal; it does not take the answer back.
  const state = body.kind === 'answered' || row.state !== 'answered' ? body.kind : row.state;
  await updateNotification(tx, row.id, { state, outcomeAt: at, outcomeBy: doc.from, outcomeDetail: null }, at);
  await ctx.recordChange(
    tx,
    row,
    body.kind,
    doc.from,
    { channel: 'node', peer: doc.from, messageId: doc.id, textSha256: body.text === undefined ? null : sha256(body.text) },
    body.text ?? null,
  );
  return { status: 'applied', incidentId: row.incidentId, ref: null };
}
