import { hash } from 'node:crypto';
import { systemClock, type Clock } from '../../clock.js';
import { canonicalizeJsonData } from '../../crypto/canonical-json.js';
import type { Incident } from '../../../schemas/incident.schema.js';
import type { PolicyDecision, Purpose } from '../../../schemas/policy.schema.js';
import type { RecipientBlock } from '../../../schemas/sharing.schema.js';
import { decide, policyItemFromIncident, preparePayload, type PolicyConfig, type PolicyPayload } from '../policy/index.js';
import type { Resolved } from './recipient-resolution.js';
import type { ApprovalRecord, IncidentPolicyRecord } from './sharing.repository.js';
import type { SharingOptions, SharingOutcome } from './sharing.service.js';

/**
 * The decision on one incident for one recipient once its facts are gathered, and the digest of
 * what would be sent: pure (no database, no audit), so the sharing service runs it in its own
 * thread and the disclosure threads run the very same code for the pull feed and TAXII pages
 * (disclosure-pool.ts, ADR 0034). Everything a decision reads arrives as arguments.
 */

/** What a decision needs of the node beyond the incident and the recipient. */
export interface DecisionSettings {
  config: { teamId: string };
  policy?: PolicyConfig;
  clock?: Clock;
}

/**
 * The canonical text each digested object was hashed as: a page built around those objects (the
 * pull feed, TAXII) writes it instead of canonicalising them a second time (canonicalizeWithKnown).
 * Weak: an outcome nobody pages goes with its content.
 */
const digestedText = new WeakMap<object, string>();

/** SHA-256 of the canonical JSON of a value as it travels (as after a JSON round trip, as the wire does). */
export function payloadDigest(content: unknown): string {
  const text = canonicalizeJsonData(content);
  if (typeof content === 'object' && content !== null) digestedText.set(content, text);
  return hash('sha256', text, 'hex');
}

/**
 * The canonical text `payloadDigest` hashed for this object, if it did. Valid only while the
 * object is unchanged: the feed's contents are made for one page and never changed after.
 */
export function digestedTextOf(content: object): string | undefined {
  return digestedText.get(content);
}

export const defaultRender = (p: PolicyPayload): unknown => (p.detail === 'full' ? p.incident : p.summary);

const BLOCK_WORDS: Record<RecipientBlock, (id: string) => string> = {
  'recipient-unknown': (id) => `Denied [recipient-unknown]: ${id} is not a peer or site this node knows; nothing goes to it.`,
  'peer-suspended': (id) => `Denied [peer-suspended]: exchange with ${id} is suspended; nothing goes to it until a handler resumes it.`,
  'peer-key-changed': (id) =>
    `Denied [peer-key-changed]: ${id} presented a key other than the pinned one; nothing goes to it until a handler re-verifies it.`,
};

/** The decision on facts already gathered: what evaluate, evaluateForSites and decideFeed share, so all decide alike. */
export function outcomeOf(
  deps: DecisionSettings,
  incident: Incident,
  facts: IncidentPolicyRecord | null,
  approvals: ApprovalRecord[],
  resolved: Resolved,
  purpose: Purpose,
  options: SharingOptions,
): SharingOutcome {
  const who = resolved.recipient.id;

  const chosen = new Set(facts?.chosenRecipients ?? []);
  if (options.chosenByHandler) chosen.add(who);
  const item = policyItemFromIncident(incident, {
    ourTeamId: deps.config.teamId,
    ...(facts && Object.keys(facts.sectionMinimums).length > 0 ? { sectionMinimums: facts.sectionMinimums } : {}),
    redRecipients: facts?.redRecipients ?? [],
    chosenRecipients: [...chosen],
    involvedRecipients: resolved.involved ? [who] : [],
    lawEnforcementApprovals: approvals.map((a) => ({
      recipient: a.recipient,
      approvedBy: a.approvedBy,
      legalBasis: a.legalBasis,
      approvedAt: a.approvedAt,
    })),
    provenance: facts?.provenance ?? null,
  });

  let decision = decide(item, resolved.policyRecipient, purpose, {
    ...(deps.policy ? { config: deps.policy } : {}),
    now: (deps.clock ?? systemClock)(),
  });
  const blockedBy = resolved.blockedBy;
  if (blockedBy.length > 0) {
    // What the policy would allow does not matter: nothing goes to this recipient. Keep the
    // policy's findings (they explain the rest), drop the parts that describe a sending.
    const kept = decision.reasons.filter((r) => !/^(Allowed:|Redacted:|Summary detail only:|Denied by \d+ rule)/.test(r));
    const total = blockedBy.length + decision.deniedBy.length;
    decision = {
      ...decision,
      allow: false,
      detail: 'none',
      redactions: [],
      mayRedistribute: false,
      provenance: null,
      reasons: [...blockedBy.map((b) => BLOCK_WORDS[b](who)), ...kept, `Denied by ${total} rule(s).`],
    };
  }

  let payload: PolicyPayload | null = null;
  let content: unknown = null;
  let payloadSha256: string | null = null;
  if (decision.allow) {
    payload = preparePayload(incident, decision);
    content = (options.render ?? defaultRender)(payload, decision);
    payloadSha256 = payloadDigest(content);
  }
  return {
    allow: decision.allow,
    decision,
    blockedBy: [...blockedBy],
    deniedBy: [...blockedBy, ...decision.deniedBy],
    payload,
    content,
    payloadSha256,
    trust: resolved.trust,
    recipient: resolved.recipient,
    item,
  };
}

/**
 * What a page of the pull feed or TAXII keeps of an outcome until it is recorded: what the page
 * and its audit entry say of the decision (label, detail, redacted sections, redistribution,
 * policy version), the digest, the trust level, the rules of a deny. Not the reasons, the payload,
 * the facts or the content: a page of thousands of items keeps (and a disclosure thread sends
 * back) only what its audit entry needs; explain gives the reasons for any item again.
 */
export interface FeedOutcome {
  allow: boolean;
  decision: Pick<PolicyDecision, 'policyVersion' | 'tlp' | 'detail' | 'mayRedistribute'> & {
    redactions: Array<Pick<PolicyDecision['redactions'][number], 'section'>>;
  };
  deniedBy: string[];
  payloadSha256: string | null;
  trust: Pick<SharingOutcome['trust'], 'level'>;
}

/** The part of an outcome a page keeps (FeedOutcome). */
export const feedOutcomeOf = (o: SharingOutcome): FeedOutcome => {
  const { policyVersion, tlp, detail, mayRedistribute, redactions } = o.decision;
  return {
    allow: o.allow,
    decision: { policyVersion, tlp, detail, mayRedistribute, redactions: redactions.map((r) => ({ section: r.section })) },
    deniedBy: o.deniedBy,
    payloadSha256: o.payloadSha256,
    trust: { level: o.trust.level },
  };
};

/**
 * What turns what a feed page may serve into what it serves: the pull feed's report bodies
 * (feeds/feed-item.renderer.ts), TAXII's STIX objects (formats/taxii-object.renderer.ts). The
 * node's thread calls `functions`; a disclosure thread loads the same functions from `module`
 * (a function cannot cross to a thread, a module's URL can).
 */
export interface FeedRenderer extends FeedRendererRef {
  functions: FeedRendererModule;
}

/** A renderer as a disclosure thread receives it: plain data. */
export interface FeedRendererRef {
  /** The file URL of a module whose exports are a FeedRendererModule. */
  module: string;
  /** Plain data the module's functions receive (structured-cloneable). */
  options?: unknown;
}

export interface FeedRendererModule<T = unknown, K = unknown> {
  /** What an allowed incident becomes; its canonical JSON is what the item's audit digest covers. */
  renderFeedItem(incident: Incident, payload: PolicyPayload, decision: PolicyDecision, options: unknown): T;
  /**
   * What the page keeps of it once the digest is made: plain data (it may cross back from a
   * thread), with the canonical text the digest covered wherever the page writes the content.
   */
  keepFeedItem(content: T): K;
}

/** One incident of a feed batch with the facts its decision reads (all structured-cloneable). */
export interface FeedBatchItem {
  incident: Incident;
  facts: IncidentPolicyRecord | null;
  approvals: ApprovalRecord[];
}

/** A batch of one feed page's incidents for one recipient and purpose: what a disclosure thread receives. */
export interface FeedBatch {
  teamId: string;
  policy?: PolicyConfig;
  /** The time every decision of the batch takes (ISO 8601), read once from the node's clock. */
  now: string;
  resolved: Resolved;
  purpose: Purpose;
  renderer: FeedRendererRef;
  items: FeedBatchItem[];
}

/** An incident's decision as a page keeps it, and what the renderer kept of its content when allowed. */
export interface FeedDecided<K = unknown> {
  outcome: FeedOutcome;
  content?: K;
}

/**
 * Decides, renders, digests and keeps each incident of a batch, in order, with `renderer` (the
 * functions of the module `batch.renderer` names): the per-item work of a feed page, the same
 * whichever thread runs it.
 */
export function decideFeedBatch(batch: FeedBatch, renderer: FeedRendererModule): FeedDecided[] {
  const now = new Date(batch.now);
  const settings: DecisionSettings = {
    config: { teamId: batch.teamId },
    ...(batch.policy ? { policy: batch.policy } : {}),
    clock: () => now,
  };
  const options = batch.renderer.options;
  return batch.items.map(({ incident, facts, approvals }) => {
    const outcome = outcomeOf(settings, incident, facts, approvals, batch.resolved, batch.purpose, {
      render: (payload, decision) => renderer.renderFeedItem(incident, payload, decision, options),
    });
    return outcome.allow
      ? { outcome: feedOutcomeOf(outcome), content: renderer.keepFeedItem(outcome.content) }
      : { outcome: feedOutcomeOf(outcome) };
  });
}
