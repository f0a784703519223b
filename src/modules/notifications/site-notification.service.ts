import type { Clock } from '../../clock.js';
import type { Config } from '../../config.js';
import type { NodeSigner } from '../../crypto/index.js';
import type { Db, Tx } from '../../db/database.js';
import { asOneGroup } from '../../db/group-commit.js';
import { ProblemError } from '../../http/problem.js';
import type { Incident } from '../../../schemas/incident.schema.js';
import type { NotificationPatch, SiteNotification } from '../../../schemas/notification.schema.js';
import type { AuditLog } from '../audit/audit.module.js';
import type { MailChannel } from '../exchange/exchange.module.js';
import type { IncidentService } from '../incidents/incidents.module.js';
import type { SharingService } from '../sharing/index.js';
import type { SiteLookupMemo } from '../sites/sites.module.js';
import type { CounterMeasureService } from './counter-measure.service.js';
import { approveNotification } from './notification-approval.js';
import { createNotificationContext, sha256 } from './notification-context.js';
import { proposeManyInTx, sitesInOrder } from './notification-proposal.js';
import { listNotifications, listNotificationsFor, updateNotification } from './notification.repository.js';
import { markContactFailing } from './site-contact.repository.js';
import { ownersOfMany } from './site-lookup.js';
import { nodeDelivered, nodeFailed, receiveNodeAnswer, type SiteNodePort } from './notification-site-node.js';
import type { Delivered, DeliveryFailed, InboxOutcome } from '../exchange/exchange.module.js';
import type { SiteNotificationAnswerDocument } from '../../../schemas/federation.schema.js';

/**
 * Notifications to the constituency's sites (issue 19 parts 1 to 3, ADR 0026). `propose` finds
 * every site an incident involves and asks the sharing policy about each (recipient kind site,
 * purpose direct: the site's involvement is its need to know, not a handler's choice), audited;
 * a handler edits the advice, approves (the mail is composed, signed and queued with its
 * Message-ID), and the outcome comes back: sent, delivered or bounced (DSN), answered (a reply),
 * acknowledged (by phone). Every change of state is audited (ids and digests only) and journaled
 * on the incident. This is the API the campaigns (part 4) build on.
 */
export interface SiteNotificationService {
  /**
   * Proposes a notification for each site the incident involves; answers all of the incident's.
   * A site whose last notification went out gets a follow-up draft unless `followUps` is false.
   */
  propose(refOrId: string, actor: string, options?: { followUps?: boolean }): Promise<SiteNotification[]>;
  /** propose() for many incidents (a campaign's), many to a transaction: each incident's notifications by its id. */
  proposeMany(
    incidentIds: string[],
    actor: string,
    options?: { followUps?: boolean; lookups?: SiteLookupMemo },
  ): Promise<Map<string, SiteNotification[]>>;
  list(refOrId: string): Promise<SiteNotification[]>;
  get(id: string): Promise<SiteNotification & { text: string | null }>;
  edit(id: string, patch: NotificationPatch, actor: string): Promise<SiteNotification>;
  approve(id: string, actor: string): Promise<SiteNotification>;
  acknowledge(id: string, via: string | undefined, actor: string): Promise<SiteNotification>;
  /** A delivery status notification about a Message-ID of ours: answers the notification id it concerned, or null. */
  deliveryStatus(messageIds: string[], report: { action: 'failed' | 'delivered'; detail: string }): Promise<string | null>;
  /** A reply naming a Message-ID of ours: journaled on the incident; answers the notification id, or null. */
  answered(messageIds: string[], reply: { from: string | null; text: string }): Promise<string | null>;
  /** Called by the mail worker once the mail server took the mail (or, after a restart, may have). */
  markSent(tx: Tx, id: string, uncertain: boolean): Promise<void>;
  /** The exchange's delivery hook: a site node's signed receipt for a site.notification (-> delivered). */
  nodeDelivered(tx: Tx, delivered: Delivered): Promise<void>;
  /** The exchange's failure hook: a site.notification its node will never take (-> bounced; the node contact failing). */
  nodeFailed(tx: Tx, failed: DeliveryFailed): Promise<void>;
  /** Inbox: a site node's signed acknowledgement or answer (-> acknowledged, answered; journaled). */
  nodeAnswered(tx: Tx, doc: SiteNotificationAnswerDocument): Promise<InboxOutcome>;
}

export interface SiteNotificationDeps {
  db: Db;
  clock: Clock;
  config: Pick<Config, 'teamId' | 'teamName' | 'teamEmail'>;
  signer: NodeSigner;
  audit: AuditLog;
  sharing: Pick<SharingService, 'evaluate' | 'evaluateForSites' | 'record'>;
  incidents: Pick<IncidentService, 'get' | 'getMany' | 'appendInTx' | 'appendManyInTx'>;
  counterMeasures: Pick<CounterMeasureService, 'list' | 'get'>;
  /** The outgoing mail channel; null: approval answers 409 mail-not-configured. */
  mail: MailChannel | null;
  /** Wakes the mail worker after an approval. */
  kick(): void;
  /** The exchange and the peers, for sites that run their own node (ADR 0026); absent: every site is told by mail. */
  siteNodes?: SiteNodePort;
}

/**
 * Incidents proposed in one transaction by proposeMany: one commit and one statement per table
 * for many, a bounded transaction (a campaign's chunk is a second or so on the embedded engine).
 */
const INCIDENTS_PER_TRANSACTION = 250;

const ACKNOWLEDGEABLE = new Set(['unreachable', 'sent', 'delivered', 'bounced']);
const ANSWERABLE = new Set(['sent', 'delivered', 'acknowledged', 'bounced', 'answered']);
const MAX_REPLY_IN_JOURNAL = 10_000;

export function createSiteNotificationService(deps: SiteNotificationDeps): SiteNotificationService {
  const { db, clock, audit, incidents } = deps;
  const ctx = createNotificationContext(deps);
  const { mustFind, views, viewsOf, viewOne, textOf, recordChange, byMessageId } = ctx;

  /**
   * Every site of these incidents, proposed in one transaction: the look-ups and the templates are
   * read before it (on the embedded engine a query outside a transaction waits for it), and one
   * commit for many proposals is what lets a campaign of thousands of sites go at the disk's pace
   * rather than a commit's.
   */
  async function proposeFor(part: Incident[], actor: string, followUps: boolean, lookups?: SiteLookupMemo): Promise<void> {
    const templates = await deps.counterMeasures.list();
    const owners = await ownersOfMany(db, part, lookups);
    const proposals = part.flatMap((incident, i) =>
      sitesInOrder(owners[i]!).map((site) => ({ incident, site, owners: owners[i]!, actor, followUps })),
    );
    // One group: the proposals' audit entries take the chain's lock once, at the end.
    await db.transaction().execute((tx) => asOneGroup(tx, () => proposeManyInTx(ctx, tx, proposals, templates, lookups)));
  }

  return {
    async propose(refOrId, actor, options = {}) {
      const incident = await incidents.get(refOrId);
      await proposeFor([incident], actor, options.followUps ?? true);
      return views(await listNotifications(db, incident.id), incident.ref);
    },

    async proposeMany(incidentIds, actor, options = {}) {
      const out = new Map<string, SiteNotification[]>();
      for (let from = 0; from < incidentIds.length; from += INCIDENTS_PER_TRANSACTION) {
        const ids = incidentIds.slice(from, from + INCIDENTS_PER_TRANSACTION);
        const part = await incidents.getMany(ids);
        const missing = ids.find((id) => !part.some((incident) => incident.id === id.toLowerCase()));
        if (missing !== undefined) throw new ProblemError('not-found', `no incident ${missing}`);
        await proposeFor(part, actor, options.followUps ?? true, options.lookups);
        const listed = await listNotificationsFor(
          db,
          part.map((incident) => incident.id),
        );
        const shown = await viewsOf(
          part.flatMap((incident) => listed.get(incident.id) ?? []),
          new Map(part.map((incident) => [incident.id, incident.ref] as const)),
        );
        for (const incident of part) out.set(incident.id, []);
        for (const view of shown) out.get(view.incident.id)!.push(view);
      }
      return out;
    },

    async list(refOrId) {
      const incident = await incidents.get(refOrId);
      return views(await listNotifications(db, incident.id), incident.ref);
    },

    async get(id) {
      const row = await mustFind(id);
      return { ...(await viewOne(row)), text: await textOf(row) };
    },

    async edit(id, patch, actor) {
      if (patch.counterMeasure !== undefined) await deps.counterMeasures.get(patch.counterMeasure);
      await db.transaction().execute(async (tx) => {
        const row = await mustFind(id, tx);
        if (row.state !== 'drafted')
          throw new ProblemError('notification-state', `notification ${id} is ${row.state}: only a draft is edited`);
        await updateNotification(
          tx,
          id,
          {
            ...(patch.counterMeasure !== undefined ? { counterMeasure: patch.counterMeasure, advice: null } : {}),
            ...(patch.advice !== undefined ? { advice: patch.advice } : {}),
            ...(patch.language !== undefined ? { language: patch.language } : {}),
          },
          clock(),
        );
        await audit.append(tx, {
          kind: 'notification.edited',
          actor,
          incidentId: row.incidentId,
          details: {
            notificationId: id,
            counterMeasure: patch.counterMeasure ?? null,
            language: patch.language ?? null,
            adviceSha256: typeof patch.advice === 'string' ? sha256(patch.advice) : null,
          },
        });
      });
      return viewOne(await mustFind(id));
    },

    approve: (id, actor) => approveNotification(ctx, id, actor),

    async acknowledge(id, via, actor) {
      await db.transaction().execute(async (tx) => {
        const row = await mustFind(id, tx);
        if (!ACKNOWLEDGEABLE.has(row.state))
          throw new ProblemError(
            'notification-state',
            `notification ${id} is ${row.state}: only a notification sent or tried is acknowledged`,
          );
        await updateNotification(
          tx,
          id,
          { state: 'acknowledged', outcomeAt: clock(), outcomeBy: actor, outcomeDetail: via ?? null },
          clock(),
        );
        await recordChange(tx, row, 'acknowledged', actor, { via: via ?? null });
      });
      return viewOne(await mustFind(id));
    },

    async deliveryStatus(messageIds, report) {
      return db.transaction().execute(async (tx) => {
        const row = await byMessageId(tx, messageIds);
        if (!row) return null;
        const state = report.action === 'failed' ? 'bounced' : 'delivered';
        // A late "delivered" never undoes what a person did since (an answer, an acknowledgement).
        const from = state === 'bounced' ? ['approved', 'sent', 'delivered'] : ['approved', 'sent'];
        if (from.includes(row.state)) {
          await updateNotification(
            tx,
            row.id,
            { state, outcomeAt: clock(), outcomeBy: 'mail', outcomeDetail: report.detail.slice(0, 1000) },
            clock(),
          );
          if (state === 'bounced' && row.pocEmail) await markContactFailing(tx, row.pocEmail, report.detail, clock());
          await recordChange(tx, row, state, 'node', { messageId: row.messageId });
        }
        return row.id;
      });
    },

    async answered(messageIds, reply) {
      return db.transaction().execute(async (tx) => {
        const row = await byMessageId(tx, messageIds);
        if (!row) return null;
        const note = reply.text.length > MAX_REPLY_IN_JOURNAL ? `${reply.text.slice(0, MAX_REPLY_IN_JOURNAL)}\n[cut]` : reply.text;
        if (ANSWERABLE.has(row.state))
          await updateNotification(tx, row.id, { state: 'answered', outcomeAt: clock(), outcomeBy: reply.from ?? 'unknown' }, clock());
        // The reply's text goes in the journal, for the handlers; the audit keeps its digest only.
        await recordChange(tx, row, 'answered', reply.from ?? 'unknown', { from: reply.from, textSha256: sha256(reply.text) }, note);
        return row.id;
      });
    },

    nodeDelivered: (tx, delivered) => nodeDelivered(ctx, tx, delivered),
    nodeFailed: (tx, failed) => nodeFailed(ctx, tx, failed),
    nodeAnswered: (tx, doc) => receiveNodeAnswer(ctx, tx, doc),

    async markSent(tx, id, uncertain) {
      const row = await mustFind(id, tx);
      if (row.state === 'approved') await updateNotification(tx, id, { state: 'sent', sentAt: clock(), sendUncertain: uncertain }, clock());
      else if (uncertain) await updateNotification(tx, id, { sendUncertain: true }, clock());
      await recordChange(tx, row, 'sent', 'node', { messageId: row.messageId, uncertain });
    },
  };
}
