/**
 * The sharing service's public surface: import from here (docs/trust-model.md "Where the
 * policy runs"). The header of sharing.service.ts shows how a sending path uses it.
 */
export { createSharingModule, type SharingModule, type SharingModuleDeps } from './sharing.module.js';
export {
  createSharingService,
  policyDenied,
  toExplainResponse,
  type FeedPageRecord,
  type OutsideKind,
  type RecordOptions,
  type ResolvedRecipient,
  type SharingOptions,
  type SharingOutcome,
  type SharingRecipient,
  type SharingService,
} from './sharing.service.js';
export {
  payloadDigest,
  digestedTextOf,
  feedOutcomeOf,
  type FeedDecided,
  type FeedOutcome,
  type FeedRenderer,
  type FeedRendererModule,
} from './disclosure-decision.js';
export {
  recordReceivedProvenance,
  recordReceivedProvenances,
  relabelReceivedProvenance,
  rememberChosenRecipient,
  findIncidentPolicy,
  insertApproval,
  type ReceivedProvenance,
  type IncidentPolicyRecord,
} from './sharing.repository.js';
export { effectiveTrustOf, trustInputsOf } from './peer-trust.js';

// Public surface for other modules (docs/architecture.md, rule 3).
export { reportBodyOf, reportContent, type ShareService } from './share.service.js';
export { findCopyByPeerRef } from './link.repository.js';
export {
  createMessageDisclosure,
  type MessageDisclosure,
  type MessageDisclosureInput,
  type MessageDisclosureOutcome,
} from './message-disclosure.js';
