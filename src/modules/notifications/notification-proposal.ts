import { randomUUID } from 'node:crypto';
import type { Tx } from '../../db/database.js';
import type { Incident } from '../../../schemas/incident.schema.js';
import type { CounterMeasure, NotificationLanguage } from '../../../schemas/notification.schema.js';
import type { Poc } from '../../../schemas/site.schema.js';
import { mailNeedsEncryption } from '../exchange/exchange.module.js';
import type { SharingOutcome } from '../sharing/index.js';
import type { SiteRecord } from '../sites/sites.module.js';
import { pickCounterMeasure } from './counter-measures.js';
import { contentForSite } from './notification-content.js';
import type { NotificationContext } from './notification-context.js';
import { siteNodeOf } from './notification-site-node.js';
import {
  findLatestNotificationBySite,
  insertNotification,
  refreshProposal,
  type NotificationRow,
  type ProposalFields,
} from './notification.repository.js';
import { findContact, rememberContact } from './site-contact.repository.js';
import type { IncidentOwners } from './site-lookup.js';

/**
 * Proposing one site's notification (issue 19 part 1, ADR 0026): the sharing policy decides
 * (recipient kind site, purpose direct; the site's involvement is its need to know, so no
 * handler's choice is claimed), the content is rendered from the decision's payload, and the
 * directory says whether the site can be reached by mail. The decision is audited in the same
 * transaction, as its last step.
 */

/** States a proposal may refresh: nothing went out yet. */
const REFRESHABLE = new Set(['drafted', 'refused', 'unreachable']);
/** States after which the site may be told again, by a follow-up: the mail went out (or was tried and came back). */
const FOLLOWABLE = new Set(['sent', 'delivered', 'bounced', 'acknowledged', 'answered']);

const MAILBOX = /^[^\s@<>,;"]+@[^\s@<>,;"]+\.[^\s@<>,;"]+$/;

/** The POC a notification goes to: the first with an e-mail channel. */
function mailPoc(site: SiteRecord): { poc: Poc; email: string } | null {
  for (const poc of site.pocs) {
    // A channel's value is free text in the directory: only an address a mail can go to counts.
    const channel = poc.channels.find((c) => c.kind === 'email' && MAILBOX.test(c.value.trim()) && c.value.trim().length <= 254);
    if (channel) return { poc, email: channel.value.trim().toLowerCase() };
  }
  return null;
}

/** The POC's language among ours (ja, en), in the order it lists them; English otherwise. */
function languageOf(poc: Poc | undefined): NotificationLanguage {
  for (const tag of poc?.languages ?? []) {
    const primary = tag.toLowerCase().split('-')[0];
    if (primary === 'ja' || primary === 'en') return primary;
  }
  return 'en';
}

const callBackOf = (ctx: NotificationContext) => ({
  teamId: ctx.deps.config.teamId,
  teamName: ctx.deps.config.teamName,
  email: ctx.deps.config.teamEmail,
});

/** What the policy and the directory say about telling one site. */
async function proposalFor(
  ctx: NotificationContext,
  tx: Tx,
  incident: Incident,
  site: SiteRecord,
  owners: IncidentOwners,
  kept: NotificationRow | null,
  all: CounterMeasure[],
): Promise<{ fields: ProposalFields; outcome: SharingOutcome }> {
  const render = (payload: Parameters<typeof contentForSite>[3], decision: { tlp: Incident['tlp'] }) =>
    contentForSite(incident, site.id, owners, payload, decision.tlp, callBackOf(ctx));
  const outcome = await ctx.deps.sharing.evaluate(tx, incident, { siteId: site.id }, 'direct', { render });
  const target = mailPoc(site);
  const language = kept?.state === 'drafted' ? kept.language : languageOf(target?.poc ?? site.pocs[0]);
  const counterMeasure =
    kept?.state === 'drafted' && kept.counterMeasure ? kept.counterMeasure : pickCounterMeasure(all, incident.category, incident.type).id;
  const base = {
    siteName: site.name,
    reasons: outcome.decision.reasons,
    tlp: outcome.decision.tlp,
    pocName: target?.poc.name ?? null,
    pocEmail: target?.email ?? null,
    language,
    counterMeasure,
  };
  if (!outcome.allow)
    return {
      outcome,
      fields: { ...base, state: 'refused', reason: 'policy-denied', deniedBy: outcome.deniedBy, content: null, payloadSha256: null },
    };
  const content = outcome.content as ProposalFields['content'];
  const allowed = { ...base, deniedBy: [], content, payloadSha256: outcome.payloadSha256 };
  // A site told through its own node needs no POC address or key: the exchange signs and seals.
  if ((await siteNodeOf(ctx, tx, site)).teamId) return { outcome, fields: { ...allowed, state: 'drafted', reason: null } };
  if (!target) return { outcome, fields: { ...allowed, state: 'unreachable', reason: 'no-poc-email' } };
  await rememberContact(tx, target.email, ctx.deps.clock());
  const contact = await findContact(tx, target.email);
  if (mailNeedsEncryption(outcome.decision.tlp, false) && !contact?.publicKey)
    return { outcome, fields: { ...allowed, state: 'unreachable', reason: 'poc-key-required' } };
  return { outcome, fields: { ...allowed, state: 'drafted', reason: null } };
}

/**
 * One site's proposal inside the caller's transaction: refreshed when it has not gone out, left
 * alone when on its way (approved), a follow-up when it has gone out and `followUps` (a handler
 * proposing again), else nothing (a campaign finishing a crashed run must not tell a site twice).
 * `templates` is read by the caller before the transaction (on the embedded engine a query
 * outside it would wait for it).
 */
export async function proposeInTx(
  ctx: NotificationContext,
  tx: Tx,
  proposal: { incident: Incident; site: SiteRecord; owners: IncidentOwners; actor: string; followUps: boolean },
  templates: CounterMeasure[],
): Promise<void> {
  const { clock, incidents, sharing } = ctx.deps;
  const { incident, site, owners, actor } = proposal;
  const latest = await findLatestNotificationBySite(tx, incident.id, site.id);
  const existing = latest && REFRESHABLE.has(latest.state) ? latest : null;
  const follows = latest && FOLLOWABLE.has(latest.state) && proposal.followUps ? latest.id : null;
  if (latest && !existing && !follows) return;
  const { fields, outcome } = await proposalFor(ctx, tx, incident, site, owners, existing, templates);
  const id = existing?.id ?? randomUUID();
  if (existing) await refreshProposal(tx, id, fields, actor, clock());
  else await insertNotification(tx, { ...fields, id, incidentId: incident.id, siteId: site.id, proposedBy: actor, at: clock(), follows });
  await incidents.appendInTx(tx, incident.id, {
    kind: 'notification-proposed',
    actor: ctx.actorOf(actor),
    changes: { notificationId: id, site: site.id, state: fields.state, reason: fields.reason, follows: existing?.follows ?? follows },
  });
  // The decision's audit entry, last of the proposal: every proposal's decision is audited.
  await sharing.record(tx, incident, outcome, {
    actor,
    details: {
      type: 'site.notification',
      notificationId: id,
      state: fields.state,
      reason: fields.reason,
      follows: existing?.follows ?? follows,
    },
  });
}

/** The sites an incident involves, in the order they are proposed (name, then id). */
export const sitesInOrder = (owners: IncidentOwners): SiteRecord[] =>
  [...owners.sites.values()].sort((a, b) => a.name.localeCompare(b.name) || a.id.localeCompare(b.id));
