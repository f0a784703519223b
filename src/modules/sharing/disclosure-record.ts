import type { Clock } from '../../clock.js';
import type { DbOrTx } from '../../db/database.js';
import type { Incident } from '../../../schemas/incident.schema.js';
import type { AuditLog } from '../audit/audit.module.js';
import { policyVersionOf, type PolicyConfig } from '../policy/index.js';
import { rememberChosenRecipient } from './sharing.repository.js';
import type { FeedPageRecord, RecordOptions, SharingOutcome } from './sharing.service.js';

/**
 * The audit side of sharing: one `disclosure.decision` entry per decision (allow or deny) with
 * what a reviewer needs to re-check it and never the content itself, and one
 * `disclosure.feed-page` entry per page of the pull feed.
 */
export function createDisclosureRecorder(deps: { audit: AuditLog; clock: Clock; policy?: PolicyConfig }) {
  const { audit, clock } = deps;
  async function record(tx: DbOrTx, incident: Incident, outcome: SharingOutcome, options: RecordOptions = {}): Promise<void> {
    const actor = options.actor ?? 'node';
    const { decision, recipient } = outcome;
    const purpose = decision.purpose;
    if (outcome.allow && options.chosenByHandler && options.rememberChoice !== false)
      await rememberChosenRecipient(tx, incident.id, recipient.id, actor, clock());
    await audit.append(tx, {
      kind: 'disclosure.decision',
      actor,
      incidentId: incident.id,
      peer: recipient.kind === 'team' ? recipient.id : null,
      decision: outcome.allow ? 'allow' : 'deny',
      details: {
        ...options.details,
        ref: incident.ref,
        purpose,
        recipient: { kind: recipient.kind, id: recipient.id },
        policyVersion: decision.policyVersion,
        tlp: decision.tlp,
        trust: decision.trust,
        detail: decision.detail,
        redactions: decision.redactions.map((r) => r.section),
        // Where identifiers were scrubbed (JSON pointers and actions only, never the values).
        scrubbed: (outcome.payload?.scrubbed ?? []).map((s) => `${s.action} ${s.path}`),
        mayRedistribute: decision.mayRedistribute,
        chosenByHandler: options.chosenByHandler === true,
        deniedBy: outcome.deniedBy,
        reasons: decision.reasons,
        payloadSha256: outcome.payloadSha256,
      },
    });
  }

  async function recordFeedPage(dbOrTx: DbOrTx, page: FeedPageRecord): Promise<void> {
    const byRule: Record<string, number> = {};
    for (const o of page.denied) for (const rule of o.deniedBy) byRule[rule] = (byRule[rule] ?? 0) + 1;
    const first = page.served[0]?.outcome ?? page.denied[0];
    await audit.append(dbOrTx, {
      kind: 'disclosure.feed-page',
      actor: page.actor ?? page.recipient,
      incidentId: null,
      peer: page.recipient,
      decision: page.served.length > 0 ? 'allow' : 'deny',
      details: {
        ...page.details,
        purpose: 'pull-feed',
        recipient: { kind: 'team', id: page.recipient },
        policyVersion: first?.decision.policyVersion ?? policyVersionOf(deps.policy),
        trust: first?.trust.level ?? null,
        // What the explain route would answer for each, in short: enough to find and re-check
        // every item (explain gives the reasons), never its content.
        items: page.served.map(({ incident, outcome, position }) => ({
          incidentId: incident.id,
          ref: incident.ref,
          position,
          tlp: outcome.decision.tlp,
          detail: outcome.decision.detail,
          redactions: outcome.decision.redactions.map((r) => r.section),
          mayRedistribute: outcome.decision.mayRedistribute,
          payloadSha256: outcome.payloadSha256,
        })),
        denied: { count: page.denied.length, byRule },
      },
    });
  }

  return { record, recordFeedPage };
}
