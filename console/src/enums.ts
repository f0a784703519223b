import type { Schemas } from '../../src/client/hikeshi-client.js';

/** The enumerations the forms offer, typed from the generated client so a new value fails the build. */
type Incident = Schemas['Incident'];
export const PHASES: Incident['phase'][] = [
  'triage',
  'analysis',
  'notification',
  'evidence',
  'containment',
  'eradication',
  'recovery',
  'lessons-learned',
  'closed',
];
export const TLPS: Incident['tlp'][] = ['CLEAR', 'GREEN', 'AMBER', 'AMBER+STRICT', 'RED'];
export const CATEGORIES: Incident['category'][] = [
  'abusive-content',
  'malicious-code',
  'information-gathering',
  'intrusion-attempts',
  'intrusions',
  'availability',
  'information-content-security',
  'fraud',
  'vulnerable',
  'other',
  'test',
];
export const SEVERITIES: Incident['severity'][] = ['low', 'medium', 'high', 'critical'];

/** Which phases an incident may move to (the node's rule, src/modules/incidents/phase-transitions.ts). */
export function nextPhases(from: Incident['phase']): Incident['phase'][] {
  const a = PHASES.indexOf(from);
  return PHASES.filter((to, b) => to !== from && (b > a ? from !== 'closed' : to === 'analysis'));
}

export const TEAM_TYPES: Schemas['TeamProfileInput']['type'][] = ['coordination-centre', 'national', 'sector', 'corporate', 'product'];
export const HOST_ROLES: Schemas['Host']['role'][] = ['source', 'target', 'intermediary'];
export const INDICATOR_KINDS: Schemas['Indicator']['kind'][] = [
  'ipv4',
  'ipv6',
  'domain',
  'url',
  'email',
  'md5',
  'sha1',
  'sha256',
  'asn',
  'user-agent',
  'other',
];
export const EVIDENCE_KINDS: Schemas['Evidence']['kind'][] = ['log', 'packet-capture', 'file', 'screenshot', 'memory', 'other'];
export const RETRACTION_REASONS: NonNullable<Schemas['CorrectionView']['reason']>[] = ['false-positive', 'hoax', 'mistaken', 'other'];
export const RELATIONSHIPS: Schemas['Peer']['relationship'][] = ['coordinator', 'member', 'peer'];
export const TRUST_LEVELS: Schemas['Peer']['trustLevel'][] = ['unknown', 'community', 'partner', 'close'];
export const CHANNEL_KINDS: Schemas['PocChannel']['kind'][] = ['email', 'phone', 'mobile', 'fax', 'hotline', 'postal', 'url', 'other'];
