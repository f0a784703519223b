import { randomUUID } from 'node:crypto';
import type { Tx } from '../../db/database.js';
import type { Incident } from '../../../schemas/incident.schema.js';
import type { CounterMeasure, NotificationLanguage } from '../../../schemas/notification.schema.js';
import type { Poc } from '../../../schemas/site.schema.js';
import { mailNeedsEncryption } from '../exchange/exchange.module.js';
import type { SharingOutcome } from '../sharing/index.js';
import type { SiteLookupMemo, SiteRecord } from '../sites/sites.module.js';
import { pickCounterMeasure } from './counter-measures.js';
import { contentForSite } from './notification-content.js';
import type { NotificationContext } from './notification-context.js';
import { siteNodeOf } from './notification-site-node.js';
import {
  findLatestNotificationsBySite,
  insertNotifications,
  refreshProposal,
  type NotificationRow,
  type ProposalFields,
} from './notification.repository.js';
import { rememberAndFindContacts, type ContactRow } from './site-contact.repository.js';
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

/** What the policy and the directory say about telling one site, from facts read before (in bulk). */
function proposalFields(
  site: SiteRecord,
  incident: Incident,
  kept: NotificationRow | null,
  all: CounterMeasure[],
  outcome: SharingOutcome,
  facts: { viaNode: boolean; contact: ContactRow | null },
): ProposalFields {
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
    return { ...base, state: 'refused', reason: 'policy-denied', deniedBy: outcome.deniedBy, content: null, payloadSha256: null };
  const content = outcome.content as ProposalFields['content'];
  const allowed = { ...base, deniedBy: [], content, payloadSha256: outcome.payloadSha256 };
  // A site told through its own node needs no POC address or key: the exchange signs and seals.
  if (facts.viaNode) return { ...allowed, state: 'drafted', reason: null };
  if (!target) return { ...allowed, state: 'unreachable', reason: 'no-poc-email' };
  if (mailNeedsEncryption(outcome.decision.tlp, false) && !facts.contact?.publicKey)
    return { ...allowed, state: 'unreachable', reason: 'poc-key-required' };
  return { ...allowed, state: 'drafted', reason: null };
}

export interface SiteProposal {
  incident: Incident;
  site: SiteRecord;
  owners: IncidentOwners;
  actor: string;
  followUps: boolean;
}

/**
 * Sites' proposals inside the caller's transaction, each refreshed when it has not gone out,
 * left alone when on its way (approved), a follow-up when it has gone out and `followUps` (a
 * handler proposing again), else nothing (a campaign finishing a crashed run must not tell a site
 * twice). `templates` is read by the caller before the transaction (on the embedded engine a
 * query outside it would wait for it).
 *
 * Many at once (issue 19's campaign figure): the latest notifications, the policy's facts, the
 * sites' hosts and the POC addresses are read in one statement each, the new notifications and
 * their journal entries written in one statement each, whatever the number of sites; one
 * statement per site was most of a campaign's time. Every proposal still has its own policy
 * decision (recipient kind site) and its own audit entry, appended in the order of the proposals
 * as the caller's transaction's last writes (run it asOneGroup: one append for all of them).
 */
export async function proposeManyInTx(
  ctx: NotificationContext,
  tx: Tx,
  proposals: SiteProposal[],
  templates: CounterMeasure[],
  lookups?: SiteLookupMemo,
): Promise<void> {
  if (proposals.length === 0) return;
  const { clock, incidents, sharing } = ctx.deps;
  const latest = await findLatestNotificationsBySite(tx, [...new Set(proposals.map((p) => p.incident.id))]);
  const todo = proposals.flatMap((proposal) => {
    const last = latest.get(`${proposal.incident.id}|${proposal.site.id}`) ?? null;
    const existing = last && REFRESHABLE.has(last.state) ? last : null;
    const follows = last && FOLLOWABLE.has(last.state) && proposal.followUps ? last.id : null;
    if (last && !existing && !follows) return [];
    return [{ ...proposal, existing, follows }];
  });
  if (todo.length === 0) return;
  const outcomes = await sharing.evaluateForSites(
    tx,
    todo.map(({ incident, site, owners }) => ({
      incident,
      siteId: site.id,
      options: {
        render: (payload: Parameters<typeof contentForSite>[3], decision: { tlp: Incident['tlp'] }) =>
          contentForSite(incident, site.id, owners, payload, decision.tlp, callBackOf(ctx)),
      },
    })),
    'direct',
    lookups,
  );
  // Which sites are told through their own node (a peer look-up only for a site that names one).
  const viaNode: boolean[] = [];
  for (const [i, t] of todo.entries()) viaNode.push(outcomes[i]!.allow && (await siteNodeOf(ctx, tx, t.site)).teamId !== null);
  const mailTo = todo.flatMap((t, i) => {
    const target = outcomes[i]!.allow && !viaNode[i] ? mailPoc(t.site) : null;
    return target ? [target.email] : [];
  });
  const at = clock();
  const contacts = await rememberAndFindContacts(tx, mailTo, at);
  const planned = todo.map((t, i) => {
    const outcome = outcomes[i]!;
    const email = mailPoc(t.site)?.email;
    const fields = proposalFields(t.site, t.incident, t.existing, templates, outcome, {
      viaNode: viaNode[i]!,
      contact: (email && contacts.get(email)) || null,
    });
    return { ...t, outcome, fields, id: t.existing?.id ?? randomUUID() };
  });
  for (const p of planned) if (p.existing) await refreshProposal(tx, p.id, p.fields, p.actor, at);
  await insertNotifications(
    tx,
    planned
      .filter((p) => !p.existing)
      .map((p) => ({ ...p.fields, id: p.id, incidentId: p.incident.id, siteId: p.site.id, proposedBy: p.actor, at, follows: p.follows })),
  );
  await incidents.appendManyInTx(
    tx,
    planned.map((p) => ({
      incidentId: p.incident.id,
      kind: 'notification-proposed',
      actor: ctx.actorOf(p.actor),
      changes: {
        notificationId: p.id,
        site: p.site.id,
        state: p.fields.state,
        reason: p.fields.reason,
        follows: p.existing?.follows ?? p.follows,
      },
    })),
  );
  // Each proposal's decision audited, the last writes of the proposals.
  for (const p of planned)
    await sharing.record(tx, p.incident, p.outcome, {
      actor: p.actor,
      details: {
        type: 'site.notification',
        notificationId: p.id,
        state: p.fields.state,
        reason: p.fields.reason,
        follows: p.existing?.follows ?? p.follows,
      },
    });
}

/** The sites an incident involves, in the order they are proposed (name, then id). */
export const sitesInOrder = (owners: IncidentOwners): SiteRecord[] =>
  [...owners.sites.values()].sort((a, b) => a.name.localeCompare(b.name) || a.id.localeCompare(b.id));
