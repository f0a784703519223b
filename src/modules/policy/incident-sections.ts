import type { Host, Incident } from '../../../schemas/incident.schema.js';
import type { Contact } from '../../../schemas/common.schema.js';
import { createScrubber, emptyIdentifiers, isRedactionMarker, parseIpv4Octets, REDACTED } from './identifier-scrub.js';
import { POLICY_SECTIONS, type PolicySection, type SectionMinimums, type TrustLevel } from '../../../schemas/policy.schema.js';

/**
 * Which parts of an incident are sections with their own minimum trust level, how to find them
 * in the Incident wire object, and their default minimums (docs/trust-model.md, "Sections").
 */

export const DEFAULT_SECTION_MINIMUMS: Readonly<Record<PolicySection, TrustLevel>> = Object.freeze({
  // Personal data of the person who reported (often at the affected site): need-to-know only.
  reporter: 'partner',
  // §7: every report carries the person in charge so the other side can answer: the community
  // may have it; only strangers (unknown) get it redacted.
  poc: 'community',
  // Who was hit. Below partner a recipient learns what happened and the attacker's side.
  victims: 'partner',
  // Logs explain most (§7), and partners handling the incident need them.
  evidence: 'partner',
  // Internal addressing maps our constituency's networks for an attacker: close teams only.
  internalHosts: 'close',
});

/** Resolves one section's minimum: per-incident override, then configuration, then default. */
export function sectionMinimum(
  section: PolicySection,
  incident: SectionMinimums | undefined,
  configured: SectionMinimums | undefined,
): TrustLevel {
  return incident?.[section] ?? configured?.[section] ?? DEFAULT_SECTION_MINIMUMS[section];
}

/** Decides whether a host is internal; the caller may add its own networks (e.g. the constituency's internal ranges). */
export type InternalHostPredicate = (host: Host) => boolean;

const INTERNAL_SUFFIXES = ['.internal', '.local', '.localdomain', '.lan', '.corp', '.intranet', '.home.arpa', '.private'];

/** RFC 1918, shared (RFC 6598), loopback, link-local, "this network". */
function isInternalIpv4(ip: string): boolean {
  const o = parseIpv4Octets(ip);
  if (!o) return false;
  const [a, b] = o as [number, number, number, number];
  return (
    a === 10 ||
    a === 127 ||
    a === 0 ||
    (a === 172 && b >= 16 && b <= 31) ||
    (a === 192 && b === 168) ||
    (a === 169 && b === 254) ||
    (a === 100 && b >= 64 && b <= 127)
  );
}

/** Unique local (fc00::/7), link-local (fe80::/10), loopback, and IPv4-mapped internal addresses. */
function isInternalIpv6(ip: string): boolean {
  const lower = ip.toLowerCase().split('%')[0]!;
  if (!lower.includes(':')) return false;
  if (lower === '::1' || lower === '::') return true;
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/.exec(lower);
  if (mapped) return isInternalIpv4(mapped[1]!);
  const first = lower.startsWith('::') ? 0 : Number.parseInt(lower.split(':')[0]!, 16);
  if (Number.isNaN(first)) return false;
  return (first & 0xfe00) === 0xfc00 || (first & 0xffc0) === 0xfe80;
}

/**
 * Default notion of "internal host": private or special-use addresses, and names that only make
 * sense inside an organisation (single-label names, internal suffixes). It errs on the side of
 * redacting: an internal name leaking is worse than a public one being withheld.
 */
export const isInternalHostByAddress: InternalHostPredicate = (host) => {
  if (host.ip && (isInternalIpv4(host.ip) || isInternalIpv6(host.ip))) return true;
  if (host.hostname) {
    const name = host.hostname.toLowerCase().replace(/\.$/, '');
    if (!name.includes('.')) return true;
    if (INTERNAL_SUFFIXES.some((s) => name.endsWith(s))) return true;
  }
  return false;
};

/** The default predicate, widened by the caller's own one (e.g. the constituency's internal networks). */
export function internalHostPredicate(extra?: InternalHostPredicate): InternalHostPredicate {
  return extra ? (h) => isInternalHostByAddress(h) || extra(h) : isInternalHostByAddress;
}

export const isVictimHost = (host: Host): boolean => host.role === 'target';

/*
 * What a redaction upstream left in place of a section (redaction.ts): a copy received with its
 * victims or reporter redacted holds markers, not the section. Counting the markers as the
 * section would make a relay refuse to pass on a report because of what the originator already
 * removed (a relay forwards the signed report intact and cannot redact), and would list
 * redactions that remove nothing.
 */
const isRedactedHost = (h: Host): boolean => h.ip === undefined && h.hostname === REDACTED;
const isRedactedContact = (c: Contact): boolean =>
  isRedactionMarker(c.name) && Object.values(c).filter((v) => v !== undefined).length === 1;
const isRedactedEvidence = (e: Incident['evidence'][number]): boolean =>
  e.content === undefined && e.source === undefined && isRedactionMarker(e.description ?? '');

/** Sections actually present in an incident, in the fixed order of POLICY_SECTIONS; markers of an upstream redaction are not. */
export function sectionsPresent(incident: Incident, isInternal: InternalHostPredicate = isInternalHostByAddress): PolicySection[] {
  const hosts = incident.hosts.filter((h) => !isRedactedHost(h));
  const present: Record<PolicySection, boolean> = {
    reporter: !isRedactedContact(incident.reporter),
    poc: incident.poc !== null && !isRedactedContact(incident.poc),
    victims: hosts.some(isVictimHost),
    evidence: incident.evidence.some((e) => !isRedactedEvidence(e)),
    // An internal address or name in any text (a URL indicator, a log line) names the inside
    // of the constituency as much as a listed host does: the section is present then too.
    internalHosts: hosts.some(isInternal) || mentionsInternal(incident, isInternal),
  };
  return POLICY_SECTIONS.filter((s) => present[s]);
}

/** Texts of an incident that can name a host without listing it. */
function* textsOf(incident: Incident): Generator<string> {
  yield incident.title;
  if (incident.summary) yield incident.summary;
  if (incident.intruderActivity) yield incident.intruderActivity;
  for (const h of incident.hosts) if (h.description) yield h.description;
  for (const i of incident.indicators) {
    yield i.value;
    if (i.description) yield i.description;
  }
  for (const v of incident.vulnerabilities) if (v.description) yield v.description;
  for (const c of incident.systemChanges) {
    yield c.description;
    if (c.host) yield c.host;
  }
  for (const s of incident.installedSoftware) for (const t of [s.name, s.path, s.description]) if (t) yield t;
  for (const e of incident.evidence) for (const t of [e.description, e.content, e.source]) if (t) yield t;
}

/** Does any text of the incident name an internal address or name (as `isInternal` judges it)? */
export function mentionsInternal(incident: Incident, isInternal: InternalHostPredicate): boolean {
  const ids = emptyIdentifiers();
  ids.internal = { predicate: isInternal, section: 'internalHosts' };
  const scrubber = createScrubber(ids);
  for (const text of textsOf(incident)) if (scrubber.scrub(text).sections.length > 0) return true;
  return false;
}
