import { isDeepStrictEqual } from 'node:util';
import type { Contact } from '../../../schemas/common.schema.js';
import type { Host, Incident } from '../../../schemas/incident.schema.js';
import { INCIDENT_FIELDS } from '../../../schemas/federation.schema.js';
import { ERASED_MARKER, type ErasureSubject } from '../../../schemas/personal-data.schema.js';
import {
  createScrubber,
  emptyIdentifiers,
  hideContact,
  hideHost,
  isRedactionMarker,
  isVictimHost,
  scrubIncident,
  type HiddenIdentifiers,
  type Scrubber,
} from '../policy/index.js';
import type { IncidentContent } from './incident.repository.js';

/**
 * What an erasure of personal data does to an incident (ADR 0013). Pure, so the rule can be
 * read and tested alone; the service stores the result.
 *
 * - reporter, poc: the contact becomes `{ name: "[erased]" }`; every field goes (organisation
 *   and postal address too: for a private reporter they name the person).
 * - victims: each target host keeps its role, ports, protocol and spoofing flag; its address
 *   and description go and its name becomes `[erased]` (a host needs an address or a name).
 * - Then the erased names, organisations, e-mail addresses, phone numbers, postal addresses,
 *   host addresses, host names and the victims' organisational domains are scrubbed from EVERY
 *   other field, in any spelling, by the same identifier scrubber the sharing policy redacts with
 *   (src/modules/policy/identifier-scrub.ts): free text reads `[redacted]` where one stood, an
 *   indicator whose value names one is dropped, a typed field naming one (an address, an e-mail
 *   address) is dropped.
 *
 * The scrubber is only as good as its identifiers: a victim named in other words (a nickname,
 * a name never entered as a host) stays. The erasure's answer lists the fields it changed.
 */

// The content fields an `updated` change may name (phase is never personal data, and the
// scrubber leaves it alone): the erasure reports which of them it changed.
const CONTENT_FIELDS = INCIDENT_FIELDS satisfies ReadonlyArray<keyof IncidentContent>;

/** A placeholder (ours, or a redaction marker in a copy a peer sent us) names nobody. */
const isPlaceholder = (value: string | undefined): boolean => value !== undefined && (value === ERASED_MARKER || isRedactionMarker(value));

/** The identifiers the given subjects' data consists of, as the incident holds them now. */
export function erasedIdentifiers(incident: Incident, subjects: ReadonlySet<ErasureSubject>): HiddenIdentifiers {
  const ids = emptyIdentifiers();
  // A name that is already a placeholder would otherwise make every placeholder a match.
  const person = (c: Contact): Contact => (isPlaceholder(c.name) ? { ...c, name: '' } : c);
  if (subjects.has('reporter')) hideContact(ids, person(incident.reporter), 'reporter');
  if (subjects.has('poc') && incident.poc) hideContact(ids, person(incident.poc), 'poc');
  if (subjects.has('victims')) {
    for (const host of incident.hosts) {
      if (!isVictimHost(host)) continue;
      const named: Pick<Host, 'ip' | 'hostname'> = {};
      if (host.ip) named.ip = host.ip;
      if (host.hostname && !isPlaceholder(host.hostname)) named.hostname = host.hostname;
      // organisation: a victim's host name also names its organisation's domain (mail.victim.example -> victim.example).
      hideHost(ids, named, 'victims', { organisation: true });
    }
  }
  return ids;
}

function erasedHost(host: Host): Host {
  const out: Host = { role: host.role, hostname: ERASED_MARKER };
  if (host.ports) out.ports = [...host.ports];
  if (host.protocol !== undefined) out.protocol = host.protocol;
  if (host.spoofedSource !== undefined) out.spoofedSource = host.spoofedSource;
  return out;
}

export interface ErasedIncident {
  /** The incident as it is to be stored. */
  incident: Incident;
  /** The content fields that changed (empty when nothing of the subjects' data was left). */
  fields: string[];
  /** Finds the erased identifiers in any text, in any spelling. */
  scrubber: Scrubber;
}

export function erasePersonalData(incident: Incident, subjects: ReadonlySet<ErasureSubject>): ErasedIncident {
  const ids = erasedIdentifiers(incident, subjects);
  const out = structuredClone(incident);
  if (subjects.has('reporter')) out.reporter = { name: ERASED_MARKER };
  if (subjects.has('poc') && out.poc) out.poc = { name: ERASED_MARKER };
  if (subjects.has('victims')) out.hosts = out.hosts.map((h) => (isVictimHost(h) ? erasedHost(h) : h));
  const scrubbed = scrubIncident(out, ids).incident;
  // Another host that shared a victim's address lost it to the scrubber: it still needs a name
  // or an address to be a host at all (and to pass the checks of later changes).
  scrubbed.hosts = scrubbed.hosts.map((h) => (h.ip || h.hostname ? h : { ...h, hostname: ERASED_MARKER }));
  // Compared as values: jsonb hands keys back in its own order, which is no change.
  const fields = CONTENT_FIELDS.filter((key) => !isDeepStrictEqual(incident[key], scrubbed[key]));
  return { incident: scrubbed, fields, scrubber: createScrubber(ids) };
}

/** true when any string in `value` (a text, a journal entry's changes) names an erased identifier. */
export function namesErased(value: unknown, scrubber: Scrubber): boolean {
  if (scrubber.empty) return false;
  if (typeof value === 'string') return scrubber.scrub(value).sections.length > 0;
  if (Array.isArray(value)) return value.some((v) => namesErased(v, scrubber));
  if (value !== null && typeof value === 'object') return Object.values(value).some((v) => namesErased(v, scrubber));
  return false;
}

/** The incident's content (what the repository stores) without its identity and bookkeeping. */
export function contentOf(incident: Incident): IncidentContent {
  const {
    id: _id,
    ref: _ref,
    externalRefs: _refs,
    version: _version,
    createdBy: _by,
    createdAt: _at,
    updatedAt: _updated,
    ...content
  } = incident;
  return content;
}
