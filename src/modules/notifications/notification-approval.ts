import { randomUUID } from 'node:crypto';
import { readPeerKey } from '../../crypto/index.js';
import { ProblemError } from '../../http/problem.js';
import type { SiteNotification } from '../../../schemas/notification.schema.js';
import { mailNeedsEncryption } from '../exchange/exchange.module.js';
import { policyDenied } from '../sharing/index.js';
import { sha256, type NotificationContext } from './notification-context.js';
import { composeNotificationMail } from './notification-mail.js';
import { enqueueMail, updateNotification } from './notification.repository.js';
import { findContact } from './site-contact.repository.js';
import { approveToSiteNode, siteNodeOf } from './notification-site-node.js';

/**
 * Approval: the policy asked again (a label may have changed), then the site's own node gets a
 * signed site.notification (notification-site-node.ts), or the mail is composed and queued with
 * its Message-ID; a site whose node we do not exchange with now falls back to the mail.
 */
export async function approveNotification(ctx: NotificationContext, id: string, actor: string): Promise<SiteNotification> {
  const { db, clock, config, incidents, sharing } = ctx.deps;
  const { mustFind, textOf, viewOne, actorOf } = ctx;
  const row = await mustFind(id);
  if (row.state !== 'drafted') throw new ProblemError('notification-state', `notification ${id} is ${row.state}: only a draft is approved`);
  // The site's own node when it names one we exchange with now; else the POC mail (ADR 0026).
  const node = await siteNodeOf(ctx, db, row.siteId);
  const channel = ctx.deps.mail;
  if (!node.teamId && !channel)
    throw new ProblemError('mail-not-configured', 'set HIKESHI_SMTP_URL and HIKESHI_MAIL_FROM to send notifications');
  const incident = await incidents.get(row.incidentId);
  const again = await sharing.evaluate(db, incident, { siteId: row.siteId }, 'direct', { render: () => row.content });
  if (!again.allow) {
    await db.transaction().execute(async (tx) => {
      await updateNotification(tx, id, { state: 'refused' }, clock());
      await incidents.appendInTx(tx, row.incidentId, {
        kind: 'notification-refused',
        actor: actorOf(actor),
        changes: { notificationId: id, deniedBy: again.deniedBy },
      });
      await sharing.record(tx, incident, again, { actor, details: { type: 'site.notification', notificationId: id, state: 'refused' } });
    });
    throw policyDenied(again);
  }
  // The text carries the label it was proposed under: a label changed since needs a new proposal.
  if (again.decision.tlp !== row.tlp)
    throw new ProblemError(
      'notification-state',
      `the label is TLP:${again.decision.tlp} now, not TLP:${row.tlp}: propose the notification again`,
    );
  if (node.teamId) return approveToSiteNode(ctx, row, incident, again, node.teamId, actor);
  if (!channel) throw new ProblemError('mail-not-configured', 'set HIKESHI_SMTP_URL and HIKESHI_MAIL_FROM to send notifications');
  const contact = row.pocEmail ? await findContact(db, row.pocEmail) : null;
  const encrypt = mailNeedsEncryption(again.decision.tlp, false);
  if (!row.pocEmail || (encrypt && !contact?.publicKey))
    throw new ProblemError(
      'notification-state',
      node.fallback
        ? `the site's node cannot be used (${node.fallback}) and its POC has no usable address: propose it again`
        : `notification ${id} has no usable address: propose it again`,
    );
  const text = (await textOf(row)) ?? '';
  const domain = channel.from.split('@')[1] ?? 'hikeshi.invalid';
  const messageId = `${randomUUID()}@${domain}`;
  const raw = await composeNotificationMail(
    ctx.deps.signer,
    {
      from: channel.from,
      to: row.pocEmail,
      subject: `[${incident.ref}] Security notification from ${config.teamId}`,
      date: clock(),
      messageId,
    },
    text,
    encrypt ? await readPeerKey(contact!.publicKey!) : null,
  );
  await db.transaction().execute(async (tx) => {
    const locked = await mustFind(id, tx);
    if (locked.state !== 'drafted')
      throw new ProblemError('notification-state', `notification ${id} is ${locked.state}: only a draft is approved`);
    const at = clock();
    await updateNotification(
      tx,
      id,
      { state: 'approved', approvedBy: actor, approvedAt: at, messageId, encrypted: encrypt, channel: 'email', peerTeam: null },
      at,
    );
    await enqueueMail(tx, { notificationId: id, from: channel.from, to: row.pocEmail!, raw, at });
    await incidents.appendInTx(tx, row.incidentId, {
      kind: 'notification-approved',
      actor: actorOf(actor),
      changes: {
        notificationId: id,
        site: row.siteId,
        messageId,
        encrypted: encrypt,
        ...(node.fallback ? { fallback: node.fallback } : {}),
      },
    });
    // What goes out is the rendered text: its digest, and the decision made on it, are what the audit keeps.
    await sharing.record(tx, incident, again, {
      actor,
      details: {
        type: 'site.notification',
        notificationId: id,
        state: 'approved',
        messageId,
        encrypted: encrypt,
        textSha256: sha256(text),
        channel: 'email',
        // The site names a node we do not exchange with now: told by mail instead, and why.
        ...(node.fallback ? { fallback: node.fallback } : {}),
      },
    });
  });
  ctx.deps.kick();
  return viewOne(await mustFind(id));
}
