import type { Incident } from '../../../schemas/incident.schema.js';
import type { PolicyItem } from '../../../schemas/policy.schema.js';
import { internalHostPredicate, sectionsPresent, type InternalHostPredicate } from './incident-sections.js';

/**
 * Builds the policy's view of an incident. The incident gives the label and the sections
 * present; everything else is a fact only the caller knows (who we are, whom a handler chose or
 * named, whose constituency the hosts fall in, approvals, where a received report came from).
 */
export interface PolicyItemFacts extends Omit<PolicyItem, 'tlp' | 'sections'> {
  /** Widens the default notion of internal host; pass the same one to applyRedactions/summarise. */
  isInternalHost?: InternalHostPredicate;
}

export function policyItemFromIncident(incident: Incident, facts: PolicyItemFacts): PolicyItem {
  const { isInternalHost, ...rest } = facts;
  return {
    ...rest,
    tlp: incident.tlp,
    sections: sectionsPresent(incident, internalHostPredicate(isInternalHost)),
    // A retraction is a fact of the incident itself (its originator's signed correction), not of the caller.
    ...(incident.retracted ? { retracted: { originator: incident.retracted.originator, reason: incident.retracted.reason } } : {}),
  };
}
