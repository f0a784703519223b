import { createHash } from 'node:crypto';
import type { Tlp } from '../../../schemas/common.schema.js';
import type { Incident } from '../../../schemas/incident.schema.js';

/**
 * What the MISP export and import agree on (docs/formats/misp.md): the tags, the attribute types
 * per indicator kind, and the comment marker that carries what MISP has no field for.
 *
 * The lecture's fields without a MISP home travel as attributes whose `comment` starts with
 * `hikeshi:<field>`, optionally followed by one space and a JSON object with the record's other
 * fields; the attribute's value is the field's main text (the reference number, a host's
 * address, a change's description). Labels and lifecycle travel as event tags: `tlp:<label>`,
 * `rsit:<category>="<type>"` (MISP's RSIT taxonomy), `hikeshi:phase="<phase>"`,
 * `hikeshi:severity="<severity>"`.
 */

export const MARKER = 'hikeshi:';

export const TLP_TAGS: Record<Tlp, string> = {
  CLEAR: 'tlp:clear',
  GREEN: 'tlp:green',
  AMBER: 'tlp:amber',
  'AMBER+STRICT': 'tlp:amber+strict',
  RED: 'tlp:red',
};

/** MISP's `distribution` closest to each label: RED and AMBER+STRICT stay in the organisation. */
export const TLP_DISTRIBUTION: Record<Tlp, string> = { RED: '0', 'AMBER+STRICT': '0', AMBER: '1', GREEN: '2', CLEAR: '3' };

export const SEVERITY_THREAT_LEVEL: Record<Incident['severity'], string> = { critical: '1', high: '1', medium: '2', low: '3' };

type IndicatorKind = Incident['indicators'][number]['kind'];

/** An indicator kind as a MISP attribute: type, category, and whether an IDS should match it. */
export const INDICATOR_ATTRIBUTES: Record<IndicatorKind, { type: string; category: string; toIds: boolean }> = {
  ipv4: { type: 'ip-dst', category: 'Network activity', toIds: true },
  ipv6: { type: 'ip-dst', category: 'Network activity', toIds: true },
  domain: { type: 'domain', category: 'Network activity', toIds: true },
  url: { type: 'url', category: 'Network activity', toIds: true },
  email: { type: 'email-src', category: 'Payload delivery', toIds: true },
  md5: { type: 'md5', category: 'Payload delivery', toIds: true },
  sha1: { type: 'sha1', category: 'Payload delivery', toIds: true },
  sha256: { type: 'sha256', category: 'Payload delivery', toIds: true },
  asn: { type: 'AS', category: 'Network activity', toIds: false },
  'user-agent': { type: 'user-agent', category: 'Network activity', toIds: false },
  other: { type: 'text', category: 'Other', toIds: false },
};

/** A MISP attribute type read back as an indicator kind (ip types split by the address family). */
export function indicatorKindOf(type: string, value: string): IndicatorKind | null {
  switch (type) {
    case 'ip-src':
    case 'ip-dst':
      return value.includes(':') ? 'ipv6' : 'ipv4';
    case 'domain':
    case 'hostname':
      return 'domain';
    case 'url':
    case 'uri':
    case 'link':
      return 'url';
    case 'email':
    case 'email-src':
    case 'email-dst':
      return 'email';
    case 'md5':
    case 'sha1':
    case 'sha256':
      return type;
    case 'AS':
      return 'asn';
    case 'user-agent':
      return 'user-agent';
    default:
      return null;
  }
}

// Our own namespace for UUIDv5 names (RFC 9562 §5.5): a fixed, random UUID, never to change, or
// every exported event would get a new uuid and a MISP instance would hold it twice.
const NAMESPACE = Buffer.from('8c1f7c0e4a2b4f0d9e3a6b5d2c1e0f47', 'hex');

/** UUIDv5 of `name` in the Hikeshi namespace: a re-export gives the same uuids. */
export function uuidV5(name: string): string {
  const hash = createHash('sha1').update(NAMESPACE).update(name, 'utf8').digest();
  hash[6] = (hash[6]! & 0x0f) | 0x50;
  hash[8] = (hash[8]! & 0x3f) | 0x80;
  const h = hash.subarray(0, 16).toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** `hikeshi:<field>` or `hikeshi:<field> {json}`: the marker and the record's other fields. */
export function markerComment(field: string, rest?: Record<string, unknown>): string {
  const fields = rest ? Object.fromEntries(Object.entries(rest).filter(([, v]) => v !== undefined && v !== null)) : {};
  return Object.keys(fields).length ? `${MARKER}${field} ${JSON.stringify(fields)}` : `${MARKER}${field}`;
}

/** The marker's field and JSON object (null when the JSON is not an object), or null for a comment that is not ours. */
export function parseMarker(comment: string | undefined): { field: string; rest: Record<string, unknown> | null } | null {
  const m = /^hikeshi:([a-z-]+)(?: ([\s\S]*))?$/.exec(comment ?? '');
  if (!m) return null;
  if (!m[2]) return { field: m[1]!, rest: {} };
  try {
    const rest = JSON.parse(m[2]) as unknown;
    return rest && typeof rest === 'object' && !Array.isArray(rest)
      ? { field: m[1]!, rest: rest as Record<string, unknown> }
      : { field: m[1]!, rest: null };
  } catch {
    return { field: m[1]!, rest: null };
  }
}
