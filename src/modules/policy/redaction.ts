import type { Contact } from '../../../schemas/common.schema.js';
import type { Host, Incident } from '../../../schemas/incident.schema.js';
import type { ActivitySummary, PolicyDecision, PolicySection, Redaction } from '../../../schemas/policy.schema.js';
import { internalHostPredicate, isVictimHost, type InternalHostPredicate } from './incident-sections.js';

/**
 * Turns a decision into what actually leaves the node.
 *
 * The Incident wire schema is closed, and a recipient validates what it receives against it, so
 * redaction markers live *inside* the existing fields rather than as new ones:
 *
 * | section        | representation after redaction                                                            |
 * |----------------|-------------------------------------------------------------------------------------------|
 * | reporter       | `reporter = { name: "[redacted: reporter needs partner]" }`, every other field dropped     |
 * | poc            | `poc = { name: "[redacted: poc needs community]" }` (a null poc stays null)                |
 * | victims        | each target host: `ip` dropped, `hostname = "[redacted]"`, `description` = the marker      |
 * | internalHosts  | each internal host (any role): as for victims                                              |
 * | evidence       | each item: `{ kind, collectedAt?, description: marker }`, content/source/time zone dropped |
 *
 * The identifiers (address, name) of every redacted host are also replaced by `[redacted]` in
 * free text (title, summary, intruder activity, other hosts' descriptions, system changes,
 * installed software, vulnerabilities, evidence that stays, indicator descriptions), and
 * indicators whose value *is* such an identifier are dropped, so the identity does not leak
 * through a second field. Free text can still name a victim in other words (a company name):
 * handlers write titles and summaries for the widest audience the incident will have.
 *
 * The decision's `redactions` (with the full reasons) travel next to the incident in the
 * message, so a recipient sees both the in-field marker and the reason.
 */

export const REDACTED = '[redacted]';

/** The in-field marker for a section: short enough for every field it lands in (names: 200). */
export const redactionMarker = (r: Pick<Redaction, 'section' | 'requiredLevel'>): string => `[redacted: ${r.section} needs ${r.requiredLevel}]`;

/** true for a string this module wrote as a marker. */
export const isRedactionMarker = (value: string): boolean => value === REDACTED || /^\[redacted: [A-Za-z]+ needs [a-z]+\]$/.test(value);

export class PolicyPayloadError extends Error {
  override name = 'PolicyPayloadError';
}

export interface RedactionOptions {
  /** Adds to the default notion of internal host (e.g. the constituency's internal networks). Use the same one that computed the item's sections. */
  isInternalHost?: InternalHostPredicate;
}

const TITLE_MAX = 300;

const escapeRegExp = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * Builds one scrubber for all identifiers. Boundaries keep "10.0.0.1" from matching inside
 * "10.0.0.12" and "www.example.org" inside "www.example.org.evil", while "10.0.0.1:22",
 * "host:/var/log" and a sentence's full stop after a name still match. IPv6 addresses get
 * hex-and-colon boundaries instead, so "2001:db8::1" does not match inside "2001:db8::1:5".
 */
function identifierScrubber(identifiers: readonly string[]): (text: string) => string {
  const unique = [...new Set(identifiers.filter((s) => s.length > 0))].sort((a, b) => b.length - a.length);
  if (unique.length === 0) return (text) => text;
  const piece = (id: string): string =>
    id.includes(':')
      ? `(?<![0-9A-Fa-f:])${escapeRegExp(id)}(?![0-9A-Fa-f:])`
      : `(?<![A-Za-z0-9_.-])${escapeRegExp(id)}(?![A-Za-z0-9_-]|\\.[A-Za-z0-9])`;
  const pattern = new RegExp(unique.map(piece).join('|'), 'gi');
  return (text) => text.replace(pattern, REDACTED);
}

function redactedContact(r: Redaction): Contact {
  return { name: redactionMarker(r) };
}

function redactedHost(host: Host, r: Redaction): Host {
  const out: Host = { role: host.role, hostname: REDACTED, description: redactionMarker(r) };
  if (host.ports) out.ports = [...host.ports];
  if (host.protocol !== undefined) out.protocol = host.protocol;
  if (host.spoofedSource !== undefined) out.spoofedSource = host.spoofedSource;
  return out;
}

/** Returns a deep copy of `incident` as `decision` lets its recipient see it. */
export function applyRedactions(incident: Incident, decision: PolicyDecision, options: RedactionOptions = {}): Incident {
  if (!decision.allow) throw new PolicyPayloadError(`decision for ${decision.recipient} is a deny: nothing may be sent`);
  if (decision.detail !== 'full') throw new PolicyPayloadError(`decision for ${decision.recipient} allows ${decision.detail} detail only: send summarise() instead`);

  const out = structuredClone(incident);
  // The recipient must honour the strictest label along the way, whatever our copy says.
  out.tlp = decision.tlp;

  const bySection = new Map<PolicySection, Redaction>(decision.redactions.map((r) => [r.section, r]));
  const reporter = bySection.get('reporter');
  if (reporter) out.reporter = redactedContact(reporter);
  const poc = bySection.get('poc');
  if (poc && out.poc !== null) out.poc = redactedContact(poc);

  const victims = bySection.get('victims');
  const internal = bySection.get('internalHosts');
  const isInternal = internalHostPredicate(options.isInternalHost);
  const hidden: string[] = [];
  out.hosts = out.hosts.map((host) => {
    // Victims first: a target on an internal address is named by the victims rule when both apply.
    const rule = victims && isVictimHost(host) ? victims : internal && isInternal(host) ? internal : undefined;
    if (!rule) return host;
    if (host.ip) hidden.push(host.ip);
    if (host.hostname) hidden.push(host.hostname);
    return redactedHost(host, rule);
  });

  const evidence = bySection.get('evidence');
  if (evidence) {
    out.evidence = out.evidence.map((e) => ({
      kind: e.kind,
      ...(e.collectedAt !== undefined ? { collectedAt: e.collectedAt } : {}),
      description: redactionMarker(evidence),
    }));
  }

  if (hidden.length > 0) {
    const scrub = identifierScrubber(hidden);
    const scrubOpt = <T extends string | undefined>(s: T): T => (s === undefined ? s : (scrub(s) as T));
    const hiddenSet = new Set(hidden.map((h) => h.toLowerCase()));
    out.title = scrub(out.title).slice(0, TITLE_MAX);
    out.summary = out.summary === null ? null : scrub(out.summary);
    out.intruderActivity = out.intruderActivity === null ? null : scrub(out.intruderActivity);
    out.hosts = out.hosts.map((h) => (h.description === undefined ? h : { ...h, description: scrub(h.description) }));
    out.vulnerabilities = out.vulnerabilities.map((v) => ({ ...v, ...(v.description !== undefined ? { description: scrub(v.description) } : {}) }));
    out.systemChanges = out.systemChanges.map((c) => ({
      ...c,
      description: scrub(c.description),
      ...(c.host !== undefined ? { host: scrub(c.host) } : {}),
    }));
    out.installedSoftware = out.installedSoftware.map((s) => ({
      ...s,
      ...(s.path !== undefined ? { path: scrubOpt(s.path) } : {}),
      ...(s.description !== undefined ? { description: scrubOpt(s.description) } : {}),
    }));
    if (!evidence) {
      out.evidence = out.evidence.map((e) => ({
        ...e,
        ...(e.description !== undefined ? { description: scrubOpt(e.description) } : {}),
        ...(e.content !== undefined ? { content: scrubOpt(e.content) } : {}),
        ...(e.source !== undefined ? { source: scrubOpt(e.source) } : {}),
      }));
    }
    out.indicators = out.indicators
      .filter((i) => !hiddenSet.has(i.value.toLowerCase()))
      .map((i) => (i.description === undefined ? i : { ...i, description: scrub(i.description) }));
  }
  return out;
}

/**
 * Summary-level detail for a coordinator (issue 4 item 5): counts, category, phase, indicators,
 * CVEs, and the attacker side's hosts. Never the title or any free text, contacts, targets,
 * internal hosts or evidence, whatever the trust: a summary is what may go when the full
 * incident may not.
 */
export function summarise(incident: Incident, options: RedactionOptions & { tlp?: Incident['tlp'] } = {}): ActivitySummary {
  const isInternal = internalHostPredicate(options.isInternalHost);
  const withheld = new Set<string>();
  for (const h of incident.hosts) {
    if (isVictimHost(h) || isInternal(h)) {
      if (h.ip) withheld.add(h.ip.toLowerCase());
      if (h.hostname) withheld.add(h.hostname.toLowerCase());
    }
  }
  const count = (role: Host['role']): number => incident.hosts.filter((h) => h.role === role).length;
  return {
    ref: incident.ref,
    category: incident.category,
    type: incident.type,
    severity: incident.severity,
    tlp: options.tlp ?? incident.tlp,
    phase: incident.phase,
    firstSeen: incident.firstSeen,
    lastSeen: incident.lastSeen,
    updatedAt: incident.updatedAt,
    version: incident.version,
    counts: {
      sourceHosts: count('source'),
      targetHosts: count('target'),
      intermediaryHosts: count('intermediary'),
      indicators: incident.indicators.length,
      vulnerabilities: incident.vulnerabilities.length,
      systemChanges: incident.systemChanges.length,
      installedSoftware: incident.installedSoftware.length,
      evidence: incident.evidence.length,
    },
    hosts: incident.hosts
      .filter((h) => !isVictimHost(h) && !isInternal(h))
      .map((h) => ({ role: h.role, ...(h.ip !== undefined ? { ip: h.ip } : {}), ...(h.hostname !== undefined ? { hostname: h.hostname } : {}) })),
    indicators: incident.indicators.filter((i) => !withheld.has(i.value.toLowerCase())).map((i) => ({ kind: i.kind, value: i.value })),
    cves: [...new Set(incident.vulnerabilities.flatMap((v) => (v.cve ? [v.cve] : [])))].sort(),
  };
}

export type PolicyPayload = { detail: 'full'; incident: Incident } | { detail: 'summary'; summary: ActivitySummary };

/**
 * What the decision lets go out: the redacted incident or its summary. Throws for a deny, so
 * a caller cannot send something by forgetting to look at `allow`.
 */
export function preparePayload(incident: Incident, decision: PolicyDecision, options: RedactionOptions = {}): PolicyPayload {
  if (!decision.allow) throw new PolicyPayloadError(`decision for ${decision.recipient} is a deny: nothing may be sent`);
  if (decision.detail === 'summary') return { detail: 'summary', summary: summarise(incident, { ...options, tlp: decision.tlp }) };
  return { detail: 'full', incident: applyRedactions(incident, decision, options) };
}
