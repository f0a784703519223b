/**
 * The sharing service: THE one place every outgoing path asks before incident data leaves the
 * node (shares, updates, replies, relays, broadcasts, the coordinator feed, the pull feed, law
 * enforcement, the press). It gathers the facts the pure policy needs (the incident, its
 * incident_policy row, approvals, provenance; the recipient's peer record, trust groups and
 * status, or one of our sites), asks `decide`, and prepares exactly what may be sent.
 *
 * How a sender uses it (inside the transaction that queues the message):
 *
 *   const outcome = await sharing.decideAndRecord(tx, incident, { teamId: peer }, 'direct', {
 *     actor: principal.subject,        // who caused it ('node' for automatic paths)
 *     chosenByHandler: true,           // a handler picked this recipient (a share): its need to know
 *     render: (p) => p.detail === 'full' ? reportContent(p.incident) : p.summary,  // what goes in the message
 *     details: { type: 'incident.report' },                                        // ids only, never content
 *   });
 *   if (!outcome.allow) return outcome;               // let the tx COMMIT: the deny is audited in it
 *   enqueue(tx, { ..., body: outcome.content, tlp: outcome.decision.tlp,
 *                 redactions: outcome.decision.redactions, provenance: outcome.decision.provenance });
 *   ...
 *   // after the commit, for an API caller: if (!outcome.allow) throw policyDenied(outcome);  -> 403 policy-denied
 *
 * - `evaluate` is a pure read (no audit): explain, previews, and deciding whether to bother.
 *   `decideFeed` makes the same decisions for many incidents and one peer with the facts read
 *   in bulk (the pull feed and TAXII decide a page at a time), in worker threads when the batch
 *   is large (ADR 0034).
 * - `record(tx, incident, outcome, options)` appends the entry for an outcome `evaluate` gave:
 *   for a sender that must write its message (and journal entry) before the audit entry, whose
 *   lock comes last in the transaction. `decideAndRecord` = `evaluate` + `record`.
 * - `recordFeedPage` appends ONE entry (kind `disclosure.feed-page`) for a page of pull-feed
 *   decisions: each served item's incident, label, detail, redacted sections and payload
 *   digest, and the denials counted by rule (docs/trust-model.md 11.4).
 * - `decideAndRecord` = evaluate + exactly one audit entry, kind `disclosure.decision`, with
 *   purpose, policy version, reasons, deniedBy, redacted sections, detail, label and the
 *   SHA-256 of the RFC 8785 canonical JSON of `content` (what `render` returned: exactly what
 *   will be sent). Throwing after it inside the same transaction would roll the entry back: on
 *   a deny, commit first and throw afterwards.
 * - With `chosenByHandler`, an allowed decision also remembers the choice on the incident
 *   (incident_policy.chosen_recipients), so later updates and the pull feed keep that need to
 *   know without the handler choosing again.
 * - A recipient we do not exchange with is denied whatever the policy says: an unknown team or
 *   site (`recipient-unknown`), a suspended peer (`peer-suspended`), a peer whose key changed
 *   (`peer-key-changed`). These ids appear in `blockedBy`/`deniedBy` next to the policy's rules.
 * - Received reports: the exchange calls `recordReceivedProvenance(tx, incidentId, {...})`
 *   (sharing.repository.ts) when it files one; every later decision then enforces the
 *   originator's label and limits, and `decision.provenance` is the chain to send on (one hop
 *   longer: ours).
 */
import type { Clock } from '../../clock.js';
import { systemClock } from '../../clock.js';
import type { Config } from '../../config.js';
import type { Db, DbOrTx } from '../../db/database.js';
import { ProblemError } from '../../http/problem.js';
import type { Incident } from '../../../schemas/incident.schema.js';
import type { PolicyDecision, PolicyItem, Purpose, Relationship, TrustLevel } from '../../../schemas/policy.schema.js';
import type { ExplainResponse, PeerTrust, RecipientBlock, RecipientTrust } from '../../../schemas/sharing.schema.js';
import type { AuditLog } from '../audit/audit.module.js';
import type { PeerDirectory, PeerRecord, PeerStatus } from '../peers/peers.module.js';
import type { IncidentService } from '../incidents/incidents.module.js';
import { DEFAULT_TRUST_RULES, effectiveTrust, type PolicyConfig, type PolicyPayload } from '../policy/index.js';
import { findSiteById, type SiteLookupMemo, type SiteRecord } from '../sites/sites.module.js';

import { trustInputsOf } from './peer-trust.js';
import { createRecipientResolver, resolveSites } from './recipient-resolution.js';
import { createDisclosureRecorder } from './disclosure-record.js';
import { defaultRender, outcomeOf, payloadDigest, type FeedDecided, type FeedOutcome, type FeedRenderer } from './disclosure-decision.js';
import { createDisclosurePool } from './disclosure-pool.js';
import { findIncidentPolicies, findIncidentPolicy, listApprovals, listApprovalsFor } from './sharing.repository.js';

/** Outside recipients without a peer record (ADR 0023): a law-enforcement agency, the press. */
export type OutsideKind = 'law-enforcement' | 'press';

/**
 * A peer team (by team id), one of our own constituency's sites (by site id), or an outside
 * recipient (a law-enforcement agency by its id, the press), which has no peer record.
 */
export type SharingRecipient = { teamId: string } | { siteId: string } | { outside: OutsideKind; id: string };

export interface SharingOptions {
  /** A handler explicitly chose this recipient for this disclosure (a share, a press release): a need to know. */
  chosenByHandler?: boolean;
  /**
   * Turns the prepared payload into what the message will carry (e.g. the report content of
   * the redacted incident). Default: the redacted incident, or the summary. Its result is
   * `content`, and what `payloadSha256` hashes.
   */
  render?: (payload: PolicyPayload, decision: PolicyDecision) => unknown;
}

export interface RecordOptions extends SharingOptions {
  /** Who caused the disclosure: a token subject, or 'node' (the default) for automatic paths. */
  actor?: string;
  /** Extra audit details: ids and types only (message type, message id), never incident content. */
  details?: Record<string, unknown>;
  /**
   * With `chosenByHandler`: remember the choice on the incident (default true), so later
   * updates and the pull feed keep that need to know. false for a one-off disclosure that is
   * not a share of the incident (an investigation request, its answer).
   */
  rememberChoice?: boolean;
}

/** One page of the pull feed, as `recordFeedPage` records it. */
export interface FeedPageRecord {
  /** The team that pulled. */
  recipient: string;
  /** Who caused it; default the recipient (it pulled). */
  actor?: string;
  /** The items served: the incident, its outcome (an allow), and its place in the feed. */
  served: Array<{ incident: Pick<Incident, 'id' | 'ref'>; outcome: FeedOutcome; position: string }>;
  /** The outcomes of the items the policy refused on this page (counted by rule, not listed). */
  denied: FeedOutcome[];
  /** Ids and digests only: the page document's id and digest, the cursor positions. */
  details?: Record<string, unknown>;
}

export interface ResolvedRecipient {
  id: string;
  kind: 'team' | 'site' | OutsideKind;
  name: string | null;
  /** Teams only: how the team stands to us. */
  relationship: Relationship | null;
  /** Teams only: whether we exchange with it. */
  status: PeerStatus | null;
  peer: PeerRecord | null;
  site: SiteRecord | null;
}

export interface SharingOutcome {
  allow: boolean;
  /** The policy's decision; `allow` is forced false (detail none, nothing redacted, no chain) when the recipient is blocked. */
  decision: PolicyDecision;
  /** Recipient-level denials outside the pure policy (unknown, suspended, key changed). */
  blockedBy: RecipientBlock[];
  /** blockedBy then the policy's deniedBy: every reason id for a deny; empty when allowed. */
  deniedBy: string[];
  /** The redacted incident or the summary; null on a deny. */
  payload: PolicyPayload | null;
  /** What will be sent: `render(payload)` (or the default rendering); null on a deny. */
  content: unknown;
  /** SHA-256 (hex) of the RFC 8785 canonical JSON of `content`; null on a deny. */
  payloadSha256: string | null;
  trust: RecipientTrust;
  recipient: ResolvedRecipient;
  /** The facts the decision was made on. */
  item: PolicyItem;
}

export interface SharingService {
  /** Decides without recording: a pure read. */
  evaluate(
    db: DbOrTx,
    incident: Incident,
    recipient: SharingRecipient,
    purpose: Purpose,
    options?: SharingOptions,
  ): Promise<SharingOutcome>;
  /**
   * A feed page's decisions for one peer team (the pull feed, TAXII): for each incident (same
   * order) what `evaluate` would decide, and what `renderer` kept of the content it allowed.
   * Large batches are decided in the disclosure threads (ADR 0034), small ones here. Records nothing.
   */
  decideFeed(
    db: DbOrTx,
    incidents: Incident[],
    recipient: { teamId: string },
    purpose: Purpose,
    renderer: FeedRenderer,
  ): Promise<FeedDecided[]>;
  /** Stops the disclosure threads (the node is closing). */
  close(): Promise<void>;
  /**
   * The decisions `evaluate` would make for each (incident, site) pair (same order), the facts,
   * the sites and the hosts' owners read in bulk: a campaign's proposals, thousands of sites.
   * Each pair has its own options (a notification renders for its own site). Records nothing.
   */
  evaluateForSites(
    db: DbOrTx,
    pairs: ReadonlyArray<{ incident: Incident; siteId: string; options?: SharingOptions }>,
    purpose: Purpose,
    /** The run's memo of constituency look-ups (a campaign's), when it has one. */
    lookups?: SiteLookupMemo,
  ): Promise<SharingOutcome[]>;
  /** Decides and appends exactly one `disclosure.decision` audit entry in the caller's transaction (as its last step). */
  decideAndRecord(
    tx: DbOrTx,
    incident: Incident,
    recipient: SharingRecipient,
    purpose: Purpose,
    options?: RecordOptions,
  ): Promise<SharingOutcome>;
  /**
   * Appends the `disclosure.decision` entry for an outcome `evaluate` returned (pass the same
   * options), and remembers a handler's choice: the last step of the caller's transaction.
   */
  record(tx: DbOrTx, incident: Incident, outcome: SharingOutcome, options?: RecordOptions): Promise<void>;
  /** Appends one `disclosure.feed-page` entry for a page of pull-feed decisions. Nothing is served unless it succeeded. */
  recordFeedPage(db: DbOrTx, page: FeedPageRecord): Promise<void>;
  /**
   * What `recipient` would receive for `purpose`, and why (POST /api/v1/policy/explain).
   * 404 (`not-found`) for an unknown incident or site, `unknown-peer` for an unknown team.
   */
  explain(
    refOrId: string,
    recipientId: string,
    purpose: Purpose,
    options?: { kind?: 'team' | 'site' | OutsideKind; chosenByHandler?: boolean },
  ): Promise<ExplainResponse>;
  /** A peer's effective trust with its inputs and reasons (GET /api/v1/policy/trust/{teamId}); `unknown-peer` when absent. */
  peerTrust(teamId: string): Promise<PeerTrust>;
}

export interface SharingDeps {
  db: Db;
  config: Pick<Config, 'teamId'>;
  peers: Pick<PeerDirectory, 'find'>;
  audit: AuditLog;
  incidents: Pick<IncidentService, 'get'>;
  clock?: Clock;
  /** Node policy settings (section minimums, trust rules); absent: the documented defaults. */
  policy?: PolicyConfig;
  /** The trust our own constituency's sites get (default partner: TLP:AMBER may reach them on need to know). */
  siteTrust?: TrustLevel;
  /** The trust a law-enforcement agency gets once a handler approved a disclosure to it (default partner; ADR 0023). */
  lawEnforcementTrust?: TrustLevel;
  /** Worker threads for large feed batches (ADR 0034); 0 or absent: all on the node's thread. */
  disclosureThreads?: number;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** An outside recipient's id: the slug a law-enforcement approval names (LawEnforcementApprovalCreate.recipient). */
const OUTSIDE_ID = /^[a-z0-9][a-z0-9-]{1,62}$/;

/** The answer for a disclosure the policy refuses: 403 policy-denied with the reasons. Throw it after the deciding transaction committed. */
export function policyDenied(outcome: Pick<SharingOutcome, 'decision' | 'deniedBy'>): ProblemError {
  const { decision } = outcome;
  return new ProblemError(
    'policy-denied',
    `the sharing policy does not allow ${decision.purpose} disclosure to ${decision.recipient}: ${outcome.deniedBy.join(', ')}`,
    {
      reasons: decision.reasons,
      deniedBy: outcome.deniedBy,
      policyVersion: decision.policyVersion,
    },
  );
}

export function createSharingService(deps: SharingDeps): SharingService {
  const { db, peers, audit, incidents } = deps;
  const clock = deps.clock ?? systemClock;
  const rules = deps.policy?.trustRules ?? DEFAULT_TRUST_RULES;
  const siteTrust: TrustLevel = deps.siteTrust ?? 'partner';
  const lawEnforcementTrust: TrustLevel = deps.lawEnforcementTrust ?? 'partner';
  const resolve = createRecipientResolver({ peers, rules, siteTrust, lawEnforcementTrust });
  const pool = createDisclosurePool({ threads: deps.disclosureThreads ?? 0 });
  const { record, recordFeedPage } = createDisclosureRecorder({
    audit,
    clock,
    ...(deps.policy ? { policy: deps.policy } : {}),
  });

  async function evaluate(
    dbOrTx: DbOrTx,
    incident: Incident,
    target: SharingRecipient,
    purpose: Purpose,
    options: SharingOptions = {},
  ): Promise<SharingOutcome> {
    const facts = await findIncidentPolicy(dbOrTx, incident.id);
    const approvals = await listApprovals(dbOrTx, incident.id);
    const resolved = await resolve(dbOrTx, incident, target);
    return outcomeOf(deps, incident, facts, approvals, resolved, purpose, options);
  }

  async function decideFeed(
    dbOrTx: DbOrTx,
    list: Incident[],
    target: { teamId: string },
    purpose: Purpose,
    renderer: FeedRenderer,
  ): Promise<FeedDecided[]> {
    if (list.length === 0) return [];
    const ids = list.map((i) => i.id);
    const facts = await findIncidentPolicies(dbOrTx, ids);
    const approvals = await listApprovalsFor(dbOrTx, ids);
    // A team resolves the same for every incident (its constituency is never computed).
    const resolved = await resolve(dbOrTx, list[0]!, target);
    const { functions, ...named } = renderer;
    return pool.decide(
      {
        teamId: deps.config.teamId,
        ...(deps.policy ? { policy: deps.policy } : {}),
        now: clock().toISOString(),
        resolved,
        purpose,
        renderer: named,
        items: list.map((incident) => ({ incident, facts: facts.get(incident.id) ?? null, approvals: approvals.get(incident.id) ?? [] })),
      },
      functions,
    );
  }

  async function evaluateForSites(
    dbOrTx: DbOrTx,
    pairs: ReadonlyArray<{ incident: Incident; siteId: string; options?: SharingOptions }>,
    purpose: Purpose,
    lookups?: SiteLookupMemo,
  ): Promise<SharingOutcome[]> {
    if (pairs.length === 0) return [];
    const ids = [...new Set(pairs.map((p) => p.incident.id))];
    const facts = await findIncidentPolicies(dbOrTx, ids);
    const approvals = await listApprovalsFor(dbOrTx, ids);
    const resolved = await resolveSites(dbOrTx, pairs, siteTrust, lookups);
    return pairs.map(({ incident, options }, i) =>
      outcomeOf(deps, incident, facts.get(incident.id) ?? null, approvals.get(incident.id) ?? [], resolved[i]!, purpose, options ?? {}),
    );
  }

  /** Who explain asks about: a peer or site must exist; an outside recipient has no record, but takes its own purpose only. */
  async function explainTarget(recipientId: string, purpose: Purpose, kind: 'team' | 'site' | OutsideKind): Promise<SharingRecipient> {
    if (kind === 'team') {
      if (!(await peers.find(db, recipientId))) throw new ProblemError('unknown-peer', `no peer "${recipientId}"`);
      return { teamId: recipientId };
    }
    if (kind === 'site') {
      if (!UUID.test(recipientId) || !(await findSiteById(db, recipientId.toLowerCase())))
        throw new ProblemError('not-found', `no site ${recipientId}`);
      return { siteId: recipientId };
    }
    if (!OUTSIDE_ID.test(recipientId))
      throw new ProblemError('validation-failed', `an outside recipient's id is a slug (${OUTSIDE_ID.source}), got "${recipientId}"`);
    // The police and the press receive only for their own purpose: anything else would judge them as a peer team.
    if (purpose !== kind)
      throw new ProblemError('outside-purpose-mismatch', `a ${kind} recipient receives only for the ${kind} purpose, not ${purpose}`);
    return { outside: kind, id: recipientId };
  }

  async function decideAndRecord(
    tx: DbOrTx,
    incident: Incident,
    target: SharingRecipient,
    purpose: Purpose,
    options: RecordOptions = {},
  ): Promise<SharingOutcome> {
    const outcome = await evaluate(tx, incident, target, purpose, options);
    await record(tx, incident, outcome, options);
    return outcome;
  }

  return {
    evaluate,
    decideFeed,
    close: () => pool.close(),
    evaluateForSites,
    decideAndRecord,
    record,
    recordFeedPage,

    async explain(refOrId, recipientId, purpose, options = {}) {
      const incident = await incidents.get(refOrId);
      const target = await explainTarget(recipientId, purpose, options.kind ?? 'team');
      const outcome = await evaluate(db, incident, target, purpose, options.chosenByHandler ? { chosenByHandler: true } : {});
      return toExplainResponse(incident, outcome);
    },

    async peerTrust(teamId) {
      const peer = await peers.find(db, teamId);
      if (!peer) throw new ProblemError('unknown-peer', `no peer "${teamId}"`);
      const inputs = await trustInputsOf(db, peer);
      const computed = effectiveTrust(inputs.peer, inputs.ourGroups, rules);
      const ours = new Set(inputs.ourGroups.map((g) => g.group));
      return {
        teamId: peer.teamId,
        relationship: peer.relationship,
        assurance: peer.assurance,
        status: peer.status,
        ...computed,
        memberships: inputs.peer.memberships.map((m) => ({
          group: m.group,
          level: m.level,
          counts: ours.has(m.group),
        })),
        exchange: peer.status === 'active',
      };
    },
  };
}

export function toExplainResponse(incident: Incident, outcome: SharingOutcome): ExplainResponse {
  const { decision, recipient } = outcome;
  return {
    incident: { id: incident.id, ref: incident.ref },
    recipient: {
      id: recipient.id,
      kind: recipient.kind,
      name: recipient.name,
      relationship: recipient.relationship,
      status: recipient.status,
    },
    purpose: decision.purpose,
    allow: outcome.allow,
    detail: decision.detail,
    tlp: decision.tlp,
    mayRedistribute: decision.mayRedistribute,
    redactions: decision.redactions,
    scrubbed: outcome.payload?.scrubbed ?? [],
    deniedBy: outcome.deniedBy as ExplainResponse['deniedBy'],
    reasons: decision.reasons,
    policyVersion: decision.policyVersion,
    trust: outcome.trust,
    provenance: decision.provenance,
    // The preview is the payload itself (the default rendering), whatever a sender renders.
    preview: outcome.payload === null ? null : (defaultRender(outcome.payload) as ExplainResponse['preview']),
    payloadSha256: outcome.payload === null ? null : payloadDigest(defaultRender(outcome.payload)),
  };
}
