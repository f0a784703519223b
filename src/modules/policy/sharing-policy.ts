import type { Tlp } from '../../../schemas/common.schema.js';
import {
  POLICY_SECTIONS,
  type Detail,
  type PolicyDecision,
  type PolicyItem,
  type PolicyRecipient,
  type PolicyRuleId,
  type ProvenanceHop,
  type Purpose,
  type Redaction,
  type RedistributionLimit,
  type Relationship,
  type SectionMinimums,
  type TrustLevel,
} from '../../../schemas/policy.schema.js';
import { DEFAULT_TRUST_RULES, effectiveTrust, type TrustRules } from './effective-trust.js';
import { DEFAULT_SECTION_MINIMUMS, sectionMinimum } from './incident-sections.js';
import { stricterTlp, trustAtLeast } from './policy-order.js';

/**
 * The sharing decision: may this item go to this recipient for this purpose, at what detail,
 * with which sections redacted, and why. Every path that sends data out (shares, updates,
 * replies, relays, broadcasts, feeds, law enforcement, press) asks `decide` first, and the
 * decision, allow or deny, is what the audit log records.
 *
 * Pure and deterministic: no I/O, no clock (a time reaches the provenance hop only through
 * `context.now`), no randomness; the same inputs give a deep-equal decision. The rules are
 * written out in docs/trust-model.md and pinned by POLICY_TABLE (policy-table.ts).
 */

/** Bump when a rule changes meaning: the audit log records it with every decision. */
export const POLICY_VERSION = 'hikeshi-policy/1';

/** Node-level settings; anything absent takes the documented default. */
export interface PolicyConfig {
  /** Section minimums for this node (incidents may still override per section). */
  sectionMinimums?: SectionMinimums;
  trustRules?: Readonly<TrustRules>;
}

export interface DecisionContext {
  config?: PolicyConfig;
  /** Stamps the provenance hop this decision appends; without it the hop carries no time. */
  now?: Date | string;
}

/** The least trust each label needs. Fixed: it is TLP 2.0's meaning, not a local setting. */
export const TLP_MINIMUM_TRUST: Readonly<Record<Tlp, TrustLevel>> = Object.freeze({
  CLEAR: 'unknown', // anyone, even the public
  GREEN: 'community', // the community, never public channels
  AMBER: 'partner', // need-to-know, and a team we work with
  'AMBER+STRICT': 'partner',
  RED: 'partner', // named recipients, and we must be sure it is them
});

/** What the label itself lets a recipient do with it, as a limit on a holder that re-shares. */
export const LIMIT_IMPLIED_BY_TLP: Readonly<Record<Tlp, RedistributionLimit>> = Object.freeze({
  CLEAR: 'none',
  GREEN: 'none',
  // TLP 2.0: AMBER may go to the recipient's own organisation and its clients (our constituency).
  AMBER: 'constituency',
  // AMBER+STRICT: the recipient's organisation only; RED: the named recipients only.
  'AMBER+STRICT': 'no-further',
  RED: 'no-further',
});

const LIMIT_RANK: Record<RedistributionLimit, number> = { none: 0, constituency: 1, 'no-further': 2 };
const stricterLimit = (a: RedistributionLimit, b: RedistributionLimit): RedistributionLimit => (LIMIT_RANK[a] >= LIMIT_RANK[b] ? a : b);

/** Purposes that may carry TLP:RED at all: RED goes to named people, never to a list or a feed. */
const RED_PURPOSES: readonly Purpose[] = ['direct', 'law-enforcement'];

/** Labels whose recipients may pass the item on beyond their own organisation (under the label's terms). */
const REDISTRIBUTABLE: readonly Tlp[] = ['CLEAR', 'GREEN', 'AMBER'];

/** Why a recipient has a need to know; `coordinator` alone gives summary detail. */
type NeedToKnow = 'chosen' | 'law-enforcement-approval' | 'relay-request' | 'constituency-involved' | 'holder' | 'coordinator';

const NEED_TO_KNOW_WORDS: Record<NeedToKnow, string> = {
  chosen: 'a handler explicitly chose it',
  'law-enforcement-approval': 'a handler approved the disclosure to it',
  'relay-request': 'the originator asked us to relay it there',
  'constituency-involved': 'its constituency is involved',
  holder: 'it already holds this report',
  coordinator: 'it is our coordinator',
};

// ---------------------------------------------------------------------------------------------
// Policy version: the base version, plus a fingerprint when the node changed the defaults, so an
// audit entry says exactly which rules applied.
// ---------------------------------------------------------------------------------------------

const versionCache = new WeakMap<PolicyConfig, string>();

/** FNV-1a (32 bit): a stable, dependency-free fingerprint; not a security function. */
function fnv1a(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h.toString(16).padStart(8, '0');
}

function stableJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${stableJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/** The version string decisions under `config` carry. */
export function policyVersionOf(config?: PolicyConfig): string {
  if (!config) return POLICY_VERSION;
  const cached = versionCache.get(config);
  if (cached) return cached;
  const resolved = {
    sectionMinimums: { ...DEFAULT_SECTION_MINIMUMS, ...config.sectionMinimums },
    trustRules: config.trustRules ?? DEFAULT_TRUST_RULES,
  };
  const defaults = { sectionMinimums: DEFAULT_SECTION_MINIMUMS, trustRules: DEFAULT_TRUST_RULES };
  const json = stableJson(resolved);
  const version = json === stableJson(defaults) ? POLICY_VERSION : `${POLICY_VERSION}+cfg.${fnv1a(json)}`;
  versionCache.set(config, version);
  return version;
}

// ---------------------------------------------------------------------------------------------
// decide
// ---------------------------------------------------------------------------------------------

/**
 * The sections a full-detail recipient gets redacted: each section present whose minimum (the
 * incident's own, else the node's, else the default) is above the recipient's trust. What
 * reaches the press is public: its sections are judged as for anyone.
 */
function sectionRedactions(
  item: PolicyItem,
  who: string,
  purpose: Purpose,
  trust: TrustLevel,
  config: PolicyConfig | undefined,
): Redaction[] {
  const redactions: Redaction[] = [];
  const sectionTrust: TrustLevel = purpose === 'press' ? 'unknown' : trust;
  for (const section of POLICY_SECTIONS) {
    if (!item.sections.includes(section)) continue;
    const required = sectionMinimum(section, item.sectionMinimums, config?.sectionMinimums);
    if (trustAtLeast(sectionTrust, required)) continue;
    const overridden = item.sectionMinimums?.[section] !== undefined ? ' (set on this incident)' : '';
    const reason =
      purpose === 'press'
        ? `${section} needs trust ${required}${overridden}; the press is treated as the public (unknown).`
        : `${section} needs trust ${required}${overridden}; ${who} has ${trust}.`;
    redactions.push({ section, requiredLevel: required, reason });
  }
  return redactions;
}

/** Findings of a decision: the reasons in words and the rules that denied, in evaluation order. */
interface Findings {
  reasons: string[];
  deny(rule: PolicyRuleId, why: string): void;
}

/**
 * Received data keeps its originator's limits (docs/trust-model.md §4.2): the chain must run
 * from the originator to the team we received it from; a holder in the chain may have it back;
 * otherwise the stricter of the stated limit and the label's decides who else may have it.
 */
function checkProvenance(
  f: Findings,
  provenance: NonNullable<PolicyItem['provenance']>,
  ctx: {
    who: string;
    label: Tlp;
    holder: boolean;
    relayRequested: boolean;
    recipient: PolicyRecipient;
    relationship: Relationship | undefined;
    purpose: Purpose;
  },
): void {
  const { reasons, deny } = f;
  const { who, label, holder, relayRequested, recipient, relationship, purpose } = ctx;
  const chain = provenance.chain;
  const first = chain[0];
  const last = chain[chain.length - 1];
  if (
    !first ||
    !last ||
    first.team !== provenance.originator ||
    first.tlp !== provenance.originatorTlp ||
    last.team !== provenance.receivedFrom
  ) {
    deny(
      'provenance-invalid',
      `the provenance chain does not run from the originator ${provenance.originator} (TLP:${provenance.originatorTlp}) to ${provenance.receivedFrom}, the team we received it from.`,
    );
  }
  const limit = stricterLimit(provenance.limit ?? 'none', LIMIT_IMPLIED_BY_TLP[label]);
  reasons.push(`Received from ${provenance.receivedFrom}, originated by ${provenance.originator}; redistribution limit: ${limit}.`);
  if (holder) {
    reasons.push(`${who} is in the provenance chain: sending it back is not a redistribution.`);
  } else if (limit === 'no-further') {
    deny(
      'provenance-no-further',
      `received TLP:${label} data goes no further than us${provenance.limit === 'no-further' ? ' (the originator said so)' : ''}.`,
    );
  } else if (limit === 'constituency') {
    if (recipient.kind === 'site') reasons.push(`${who} is one of our own constituency's sites, which the limit allows.`);
    // TLP 2.0 AMBER: "the recipient's organisation and its clients"; a coordinating CSIRT's
    // clients are its member teams (domain §3, §4). The label's need to know still applies.
    else if (recipient.kind === 'team' && relationship === 'member')
      reasons.push(`${who} is a member team we coordinate (our client under TLP 2.0), which the limit allows on a need to know.`);
    else if (purpose === 'relay' && relayRequested) reasons.push(`The originator asked us to relay it to ${who}, which the limit allows.`);
    else
      deny(
        'provenance-constituency-only',
        `received TLP:${label} data may reach only our own constituency's sites and the member teams we coordinate, not other teams or outside recipients.`,
      );
  }
}

/**
 * Decides whether `item` may go to `recipient` for `purpose`.
 *
 * Every rule is evaluated (not only up to the first failure) so a denial lists all the reasons
 * the explain route should show; `deniedBy` holds their stable rule ids.
 */
export function decide(item: PolicyItem, recipient: PolicyRecipient, purpose: Purpose, context: DecisionContext = {}): PolicyDecision {
  const config = context.config;
  const reasons: string[] = [];
  const deniedBy: PolicyRuleId[] = [];
  const deny = (rule: PolicyRuleId, why: string): void => {
    deniedBy.push(rule);
    reasons.push(`Denied [${rule}]: ${why}`);
  };
  const who = recipient.id;
  const has = (list: readonly string[] | undefined): boolean => list !== undefined && list.includes(who);

  // -- Recipient and its effective trust ---------------------------------------------------------
  let trust: TrustLevel;
  let relationship: Relationship | undefined = recipient.relationship;
  if (typeof recipient.trust === 'string') {
    trust = recipient.trust;
    reasons.push(`${who} (${recipient.kind}) has effective trust ${trust}.`);
  } else {
    const computed = effectiveTrust(recipient.trust.peer, recipient.trust.ourGroups, config?.trustRules);
    trust = computed.level;
    // The trust inputs are the peer's record: its relationship is authoritative.
    relationship = recipient.trust.peer.relationship;
    reasons.push(...computed.reasons.map((r) => `Trust: ${r}.`));
  }
  // Only teams stand in the CSIRT hierarchy; a site or an outside body is never "our coordinator".
  if (recipient.kind !== 'team') relationship = undefined;

  // -- The label: the strictest anyone along the way set (the relay may restrict, never loosen) --
  const provenance = item.provenance ?? null;
  let label: Tlp = item.tlp;
  if (provenance) {
    label = stricterTlp(label, provenance.originatorTlp);
    for (const hop of provenance.chain) label = stricterTlp(label, hop.tlp);
    if (label !== item.tlp)
      reasons.push(`Our copy is marked TLP:${item.tlp}, but it was received as TLP:${label}; the stricter label applies.`);
  }
  reasons.push(`Label: TLP:${label}.`);

  // -- Provenance: received data keeps its originator's limits ------------------------------------
  const holder = provenance !== null && provenance.chain.some((hop) => hop.team === who);
  const relayRequested = provenance !== null && has(provenance.relayRequestedTo);
  if (provenance) checkProvenance({ reasons, deny }, provenance, { who, label, holder, relayRequested, recipient, relationship, purpose });

  // -- A retracted report goes nowhere, whoever asks and whatever for (ADR 0018) -------------------
  if (item.retracted)
    deny(
      'retracted',
      `the originator ${item.retracted.originator} retracted this report (${item.retracted.reason}): it is kept for the audit and no longer shared.`,
    );

  // -- Purpose rules ------------------------------------------------------------------------------
  const chosen = has(item.chosenRecipients);
  let approved = false;
  switch (purpose) {
    case 'relay':
      if (!provenance)
        deny('relay-own-incident', 'relay is for reports received from another team; send our own incidents as direct notifications.');
      else if (!relayRequested) deny('relay-not-requested', `the originator did not ask us to relay this report to ${who}.`);
      else reasons.push(`The originator asked us to relay this report to ${who}.`);
      break;
    case 'coordinator-feed':
      if (relationship !== 'coordinator')
        deny('coordinator-feed-not-coordinator', `the coordinator feed goes only to our coordinator(s); ${who} is not one.`);
      break;
    case 'press':
      if (!chosen) deny('press-not-chosen', 'nothing goes to the press unless a handler chose to disclose it.');
      if (label !== 'CLEAR') deny('press-not-clear', `the press gets only TLP:CLEAR content; this is TLP:${label}.`);
      break;
    case 'law-enforcement': {
      const approval = item.lawEnforcementApprovals?.find(
        (a) => a.recipient === who && a.approvedBy.trim() !== '' && a.legalBasis.trim() !== '',
      );
      approved = approval !== undefined;
      if (approval) reasons.push(`Law-enforcement disclosure approved by ${approval.approvedBy}; legal basis: ${approval.legalBasis}.`);
      else
        deny(
          'law-enforcement-not-approved',
          `law enforcement gets data only with a handler's explicit approval and a recorded legal basis; there is none for ${who}.`,
        );
      break;
    }
    default:
      break;
  }

  // -- TLP 2.0 --------------------------------------------------------------------------------------
  const grounds: NeedToKnow[] = [];
  if (chosen) grounds.push('chosen');
  if (approved) grounds.push('law-enforcement-approval');
  if (purpose === 'relay' && relayRequested) grounds.push('relay-request');
  if (has(item.involvedRecipients)) grounds.push('constituency-involved');
  if (holder) grounds.push('holder');
  if (relationship === 'coordinator') grounds.push('coordinator');

  const minimum = TLP_MINIMUM_TRUST[label];
  const checkTrust = (): void => {
    if (trustAtLeast(trust, minimum)) reasons.push(`TLP:${label} needs trust ${minimum} or above: ${who} has ${trust}.`);
    else deny('tlp-trust', `TLP:${label} needs trust ${minimum} or above; ${who} has ${trust}.`);
  };
  switch (label) {
    case 'CLEAR':
      reasons.push('TLP:CLEAR: anyone may receive it.');
      break;
    case 'GREEN':
      checkTrust();
      break;
    case 'AMBER':
    case 'AMBER+STRICT':
      if (grounds.length > 0) reasons.push(`TLP:${label} is need-to-know: ${grounds.map((g) => NEED_TO_KNOW_WORDS[g]).join('; ')}.`);
      else
        deny(
          'tlp-need-to-know',
          `TLP:${label} is need-to-know: no handler chose ${who}, its constituency is not involved, and it is not our coordinator.`,
        );
      checkTrust();
      break;
    case 'RED':
      if (!RED_PURPOSES.includes(purpose)) deny('red-channel', `TLP:RED never goes by ${purpose}: only to named recipients, directly.`);
      if (has(item.redRecipients)) reasons.push(`${who} is a named recipient of this TLP:RED incident.`);
      else if (holder) reasons.push(`${who} already holds this TLP:RED report.`);
      else deny('red-not-named', `TLP:RED goes only to recipients a handler named on this incident; ${who} is not named.`);
      checkTrust();
      break;
  }

  const allow = deniedBy.length === 0;

  // -- Detail: being our coordinator is a need to know the activity, not every detail of it -------
  let detail: Detail = 'none';
  if (allow) {
    const coordinatorOnly = grounds.length === 1 && grounds[0] === 'coordinator';
    const needToKnowLabel = label === 'AMBER' || label === 'AMBER+STRICT';
    detail = needToKnowLabel && coordinatorOnly && !trustAtLeast(trust, 'close') ? 'summary' : 'full';
    if (detail === 'summary')
      reasons.push(`Summary detail only: ${who} knows of it as our coordinator; full detail needs close trust or a handler's choice.`);
  }

  const redactions = detail === 'full' ? sectionRedactions(item, who, purpose, trust, config) : [];
  for (const r of redactions) reasons.push(`Redacted: ${r.reason}`);

  const mayRedistribute = allow && REDISTRIBUTABLE.includes(label);
  reasons.push(
    allow
      ? `Allowed: ${detail} detail, ${redactions.length} section(s) redacted; ${mayRedistribute ? `${who} may pass it on under TLP:${label}` : `${who} may not pass it on`}.`
      : `Denied by ${deniedBy.length} rule(s).`,
  );

  let newChain: ProvenanceHop[] | null = null;
  if (allow) {
    const hop: ProvenanceHop = { team: item.ourTeamId, tlp: label };
    if (context.now !== undefined) hop.at = new Date(context.now).toISOString();
    newChain = [...(provenance?.chain ?? []).map((h) => ({ ...h })), hop];
  }

  return {
    allow,
    purpose,
    recipient: who,
    tlp: label,
    trust,
    detail,
    redactions,
    mayRedistribute,
    deniedBy,
    reasons,
    provenance: newChain,
    policyVersion: policyVersionOf(config),
  };
}
