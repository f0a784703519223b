/**
 * The sharing policy (architecture §5, docs/trust-model.md): pure functions that decide what may
 * leave the node, to whom, for what purpose, and in what shape. Import from here, not from the
 * files behind it.
 *
 *   const trust = effectiveTrust(peerProfile, ourGroups);               // level + reasons
 *   const item = policyItemFromIncident(incident, { ourTeamId, chosenRecipients, ... });
 *   const decision = decide(item, { id, kind: 'team', relationship, trust: trust.level }, 'direct', { now });
 *   // audit.append(... decision ...) whether it allows or not
 *   if (decision.allow) send(preparePayload(incident, decision), decision.redactions, decision.provenance);
 */
export {
  decide,
  policyVersionOf,
  POLICY_VERSION,
  TLP_MINIMUM_TRUST,
  LIMIT_IMPLIED_BY_TLP,
  type DecisionContext,
  type PolicyConfig,
} from './sharing-policy.js';
export { effectiveTrust, DEFAULT_TRUST_RULES, type TrustRules } from './effective-trust.js';
export {
  DEFAULT_SECTION_MINIMUMS,
  sectionMinimum,
  sectionsPresent,
  isInternalHostByAddress,
  internalHostPredicate,
  isVictimHost,
  type InternalHostPredicate,
} from './incident-sections.js';
export { policyItemFromIncident, type PolicyItemFacts } from './policy-item.js';
export {
  applyRedactions,
  redactIncident,
  scrubIncident,
  hiddenIdentifiersOf,
  scrubberFor,
  summarise,
  summariseWithReport,
  preparePayload,
  redactionMarker,
  isRedactionMarker,
  REDACTED,
  PolicyPayloadError,
  type PolicyPayload,
  type RedactionOptions,
  type ScrubRecord,
} from './redaction.js';
export {
  createScrubber,
  emptyIdentifiers,
  hideHost,
  hideContact,
  organisationalDomain,
  type HiddenIdentifiers,
  type Scrubber,
} from './identifier-scrub.js';
export {
  POLICY_TABLE,
  POLICY_SCENARIOS,
  EXPECTED_REDACTIONS,
  EXPECTED_MAY_REDISTRIBUTE,
  type PolicyTableRow,
  type PolicyScenario,
} from './policy-table.js';
export { trustAtLeast, trustRank, higherTrust, lowerTrust, stricterTlp, tlpRank } from './policy-order.js';
export { benchPolicyDecisions, type PolicyBenchResult } from './policy-bench.js';
export { decideLabelChange, mayNotifyLabelTightening, type LabelChangeInput, type LabelChangeOutcome } from './label-change.js';
export {
  decideCorrectionAcceptance,
  decideCopyBinding,
  mayForwardCorrection,
  scrubCorrectionNote,
  type IdentifierSection,
  type CopyBinding,
  type CorrectionAcceptance,
  type CorrectionAcceptanceInput,
  type OriginHopFacts,
  type OriginatorSignature,
} from './correction-rules.js';
export {
  csafTlpOf,
  decideAdvisoryPublication,
  decideVendorQuestion,
  decideVendorStatement,
  vendorQuestionContent,
  type AdvisoryPublication,
  type VendorCaseFacts,
  type VendorQuestionContent,
  type VendorQuestionFacts,
  type VendorRuleDecision,
} from './vendor-rules.js';
export { findNonClearInPressText, type PressTextFinding, type PressTextSource } from './press-rules.js';
