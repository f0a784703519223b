import type { IncidentCreate, IncidentPatch } from '../../../schemas/incident.schema.js';

/**
 * A new version of an outside object replaces what its earlier import filed: every field it holds
 * replaces ours, and the optional fields it no longer holds are cleared, as the sender no longer
 * says them. Our phase is not the sender's to set (the caller decides about it).
 */
export function replacementPatch(input: Omit<IncidentCreate, 'phase'>): IncidentPatch {
  return {
    summary: null,
    type: null,
    firstSeen: null,
    lastSeen: null,
    poc: null,
    intruderActivity: null,
    hosts: [],
    vulnerabilities: [],
    systemChanges: [],
    installedSoftware: [],
    evidence: [],
    indicators: [],
    ...input,
  };
}
