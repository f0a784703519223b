import { createHash } from 'node:crypto';
import type { Tx } from '../../db/database.js';
import { ProblemError } from '../../http/problem.js';
import type { SiteNotification } from '../../../schemas/notification.schema.js';
import { fillAdvice, hostLines, pickCounterMeasure } from './counter-measures.js';
import { renderNotificationText } from './notification-content.js';
import { findNotification, findNotificationByMessageId, findOutboxEntries, type NotificationRow } from './notification.repository.js';
import type { SiteNotificationDeps } from './site-notification.service.js';

/** What the notification service's parts share: finding, rendering and viewing a notification, and recording a change. */
export type NotificationContext = ReturnType<typeof createNotificationContext>;

export const sha256 = (text: string): string => createHash('sha256').update(text, 'utf8').digest('hex');

export function createNotificationContext(deps: SiteNotificationDeps) {
  const { db, config, audit, incidents } = deps;
  const actorOf = (subject: string) => ({ subject, team: config.teamId });

  async function mustFind(id: string, tx?: Tx): Promise<NotificationRow> {
    const row = await findNotification(tx ?? db, id, tx !== undefined);
    if (!row) throw new ProblemError('not-found', `no notification ${id}`);
    return row;
  }

  /** The advice as the handler wrote it, or the template's text with the placeholders filled in. */
  async function adviceOf(row: NotificationRow): Promise<string> {
    if (row.advice !== null) return row.advice;
    if (!row.content) return '';
    const all = await deps.counterMeasures.list();
    const template = all.find((c) => c.id === row.counterMeasure) ?? pickCounterMeasure(all, row.content.category, row.content.type);
    return fillAdvice(template, row.language, {
      ref: row.content.ref,
      site: row.siteName,
      team: config.teamName,
      hosts: hostLines(row.content),
    });
  }

  async function textOf(row: NotificationRow): Promise<string | null> {
    return row.content ? renderNotificationText(row.content, await adviceOf(row), row.language, row.siteName) : null;
  }

  /** The exchange outbox's attempts for notifications sent to a site's node: why one waits at approved. */
  async function nodeDeliveries(rows: NotificationRow[]): Promise<Map<string, NonNullable<SiteNotification['delivery']>>> {
    const out = new Map<string, NonNullable<SiteNotification['delivery']>>();
    const outbox = deps.siteNodes?.outbox;
    if (!outbox) return out;
    for (const row of rows) {
      if (row.channel !== 'node' || !row.messageId) continue;
      const m = await outbox.find(db, row.messageId);
      if (m)
        out.set(row.id, { attempts: m.attempts, nextAttemptAt: m.state === 'pending' ? m.nextAttemptAt : null, lastError: m.lastError });
    }
    return out;
  }

  async function views(rows: NotificationRow[], ref: string): Promise<SiteNotification[]> {
    return viewsOf(rows, new Map(rows.map((r) => [r.incidentId, ref] as const)));
  }

  /** views() for the notifications of many incidents: `refs` maps each incident id to its reference number. */
  async function viewsOf(rows: NotificationRow[], refs: Map<string, string>): Promise<SiteNotification[]> {
    const outbox = await findOutboxEntries(
      db,
      rows.map((r) => r.id),
    );
    const exchanged = await nodeDeliveries(rows);
    return rows.map(({ incidentId, siteId, siteName, pocName, pocEmail, payloadSha256: _digest, ...r }) => {
      const o = outbox.get(r.id);
      const x = exchanged.get(r.id);
      return {
        ...r,
        incident: { id: incidentId, ref: refs.get(incidentId) ?? '' },
        site: { id: siteId, name: siteName },
        tlp: r.tlp as SiteNotification['tlp'],
        poc: pocEmail ? { name: pocName ?? '', email: pocEmail } : null,
        delivery: o
          ? { attempts: o.attempts, nextAttemptAt: o.state === 'queued' ? o.nextAttemptAt : null, lastError: o.lastError }
          : (x ?? null),
      };
    });
  }

  async function viewOne(row: NotificationRow): Promise<SiteNotification> {
    const incident = await incidents.get(row.incidentId);
    return (await views([row], incident.ref))[0]!;
  }

  /** Journal and audit of one change of state, in the caller's transaction (the audit entry last). */
  async function recordChange(
    tx: Tx,
    row: Pick<NotificationRow, 'id' | 'incidentId' | 'siteId'>,
    state: string,
    actor: string,
    details: Record<string, unknown> = {},
    note: string | null = null,
  ): Promise<void> {
    await incidents.appendInTx(tx, row.incidentId, {
      kind: `notification-${state}`,
      actor: actorOf(actor),
      changes: { notificationId: row.id, site: row.siteId, ...details },
      note,
    });
    await audit.append(tx, {
      kind: `notification.${state}`,
      actor,
      incidentId: row.incidentId,
      details: { notificationId: row.id, site: row.siteId, ...details },
    });
  }

  async function byMessageId(tx: Tx, ids: string[]): Promise<NotificationRow | null> {
    const found = await findNotificationByMessageId(tx, ids);
    return found ? mustFind(found.id, tx) : null;
  }

  return { deps, actorOf, mustFind, textOf, views, viewsOf, viewOne, recordChange, byMessageId };
}
