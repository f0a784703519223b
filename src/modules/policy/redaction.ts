import type { Contact } from '../../../schemas/common.schema.js';
import type { Host, Incident } from '../../../schemas/incident.schema.js';
import type { ActivitySummary, PolicyDecision, PolicySection, Redaction, Scrubbed } from '../../../schemas/policy.schema.js';
import { internalHostPredicate, isVictimHost, type InternalHostPredicate } from './incident-sections.js';
import {
  createScrubber,
  emptyIdentifiers,
  hasIdentifiers,
  hideContact,
  hideHost,
  isRedactionMarker,
  REDACTED,
  type HiddenIdentifiers,
  type Scrubber,
} from './identifier-scrub.js';

export { REDACTED, isRedactionMarker };

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
 * Then redaction by identifier (identifier-scrub.ts): the names and addresses of every redacted
 * host (and, when internal hosts are redacted, every internal address or name), and the names,
 * organisations, e-mail addresses and phone numbers of a redacted reporter or POC, are scrubbed
 * from EVERY string of the item in any spelling: free text, host descriptions, system changes,
 * installed software (its name too), vulnerabilities, evidence that stays, indicator values and
 * descriptions, URLs with ports and paths, `IP:port`, UNC paths. An indicator whose value names
 * one is dropped (kinds `other` and `user-agent` are rewritten); a typed field (an address, an
 * e-mail address) that names one is dropped. `scrubbed` lists every place, by JSON pointer into
 * the incident as we hold it, so the handler's redaction report says what went and where. Free
 * text can still name a victim in other words (a company's nickname): handlers write titles and
 * summaries for the widest audience the incident will have.
 *
 * The decision's `redactions` (with the full reasons) travel next to the incident in the
 * message, so a recipient sees both the in-field marker and the reason.
 */

/** The in-field marker for a section: short enough for every field it lands in (names: 200). */
export const redactionMarker = (r: Pick<Redaction, 'section' | 'requiredLevel'>): string =>
  `[redacted: ${r.section} needs ${r.requiredLevel}]`;

export class PolicyPayloadError extends Error {
  override name = 'PolicyPayloadError';
}

export interface RedactionOptions {
  /** Adds to the default notion of internal host (e.g. the constituency's internal networks). Use the same one that computed the item's sections. */
  isInternalHost?: InternalHostPredicate;
}

/** One place where an identifier was scrubbed: what the handler's redaction report lists. */
export type ScrubRecord = Scrubbed;

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

/**
 * The identifiers a set of redacted sections hides: the victims' and internal hosts' names and
 * addresses (and, for internal hosts, every internal address or name), the reporter's and the
 * POC's names, organisations, e-mail addresses, phone numbers and postal addresses.
 */
export function hiddenIdentifiersOf(
  incident: Incident,
  sections: ReadonlySet<PolicySection>,
  options: RedactionOptions = {},
): HiddenIdentifiers {
  const ids = emptyIdentifiers();
  const isInternal = internalHostPredicate(options.isInternalHost);
  for (const host of incident.hosts) {
    if (sections.has('victims') && isVictimHost(host)) hideHost(ids, host, 'victims', { organisation: true });
    else if (sections.has('internalHosts') && isInternal(host)) hideHost(ids, host, 'internalHosts');
  }
  if (sections.has('internalHosts')) ids.internal = { predicate: isInternal, section: 'internalHosts' };
  if (sections.has('reporter')) hideContact(ids, incident.reporter, 'reporter');
  if (sections.has('poc') && incident.poc) hideContact(ids, incident.poc, 'poc');
  return ids;
}

/** Keys whose values are enumerations, times, hashes or ids: never an identifier, never rewritten. */
const STRUCTURAL_KEYS = new Set([
  'id',
  'ref',
  'category',
  'type',
  'severity',
  'tlp',
  'phase',
  'firstSeen',
  'lastSeen',
  'role',
  'kind',
  'cve',
  'sha256',
  'at',
  'collectedAt',
  'createdAt',
  'updatedAt',
  'createdBy',
  'version',
  'externalRefs',
  'ports',
  'spoofedSource',
  'language',
]);
/** Typed fields a rewritten value would make invalid: dropped when they name a hidden identifier. */
const DROPPED_KEYS = new Set(['ip', 'email']);
/** Indicator kinds whose value is the identifier itself: a value that names a hidden one drops the indicator. */
const REWRITABLE_INDICATORS = new Set(['other', 'user-agent']);
/** Longest text per field (the wire schema's limits): a scrubbed text is cut to it. */
const MAX_LENGTH: Record<string, number> = {
  title: 300,
  summary: 10000,
  intruderActivity: 100000,
  hostname: 253,
  host: 253,
  protocol: 32,
  version: 100,
  source: 500,
  value: 2048,
  name: 200,
  organisation: 200,
  phone: 64,
  fax: 64,
  mobile: 64,
  postalAddress: 1000,
  timeZone: 64,
  path: 4000,
  content: 262144,
};
const maxLength = (collection: string, key: string): number =>
  key === 'description'
    ? collection === 'hosts' || collection === 'indicators'
      ? 2000
      : 4000
    : key === 'name' && collection === 'installedSoftware'
      ? 500
      : (MAX_LENGTH[key] ?? 4000);

const DROP = Symbol('drop');

/**
 * Scrubs every string of `value` (a copy is returned; nothing is changed in place), recording
 * where. `collection` is the incident's top-level field the value sits in (for length limits).
 */
function scrubValue(value: unknown, path: string, key: string, collection: string, scrubber: Scrubber, report: ScrubRecord[]): unknown {
  if (typeof value === 'string') {
    if (STRUCTURAL_KEYS.has(key) || isRedactionMarker(value)) return value;
    const { text, sections } = scrubber.scrub(value);
    if (sections.length === 0) return value;
    if (DROPPED_KEYS.has(key)) {
      report.push({ path, action: 'dropped', sections });
      return DROP;
    }
    report.push({ path, action: 'rewritten', sections });
    return text.slice(0, maxLength(collection, key));
  }
  if (value === null || typeof value !== 'object') return value;
  // Not scrubbed, but copied all the same: the result shares nothing with the incident given.
  if (STRUCTURAL_KEYS.has(key)) return copyOf(value);
  if (Array.isArray(value)) {
    const out: unknown[] = [];
    for (let i = 0; i < value.length; i++) {
      const next = scrubValue(value[i], `${path}/${i}`, key, collection, scrubber, report);
      if (next !== DROP) out.push(next);
    }
    return out;
  }
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(value)) {
    const next = scrubValue((value as Record<string, unknown>)[k], `${path}/${k}`, k, collection || k, scrubber, report);
    if (next !== DROP) out[k] = next;
  }
  return out;
}

/** A copy of plain data: a list of plain values (ports) without structuredClone's cost. */
function copyOf(value: object): unknown {
  if (Array.isArray(value) && value.every((v) => v === null || typeof v !== 'object')) return value.slice();
  return structuredClone(value);
}

/** An indicator as it may go: rewritten, or dropped when its value is (or names) a hidden identifier. */
function scrubIndicators(indicators: Incident['indicators'], scrubber: Scrubber, report: ScrubRecord[]): Incident['indicators'] {
  const out: Incident['indicators'] = [];
  indicators.forEach((indicator, i) => {
    const path = `/indicators/${i}`;
    const value = scrubber.scrub(indicator.value);
    if (value.sections.length > 0 && !REWRITABLE_INDICATORS.has(indicator.kind)) {
      report.push({ path, action: 'dropped', sections: value.sections });
      return;
    }
    const rest = scrubValue(
      { ...indicator, value: indicator.value },
      path,
      '',
      'indicators',
      scrubber,
      report,
    ) as Incident['indicators'][number];
    out.push(rest);
  });
  return out;
}

/**
 * Every string of `incident` with the hidden identifiers scrubbed (indicators naming one
 * dropped, typed fields naming one dropped), and the report of where.
 */
export function scrubIncident(incident: Incident, ids: HiddenIdentifiers): { incident: Incident; scrubbed: ScrubRecord[] } {
  const scrubber = createScrubber(ids);
  if (scrubber.empty) return { incident, scrubbed: [] };
  const report: ScrubRecord[] = [];
  const { indicators, ...rest } = incident;
  const scrubbed = scrubValue(rest, '', '', '', scrubber, report) as Omit<Incident, 'indicators'>;
  return {
    incident: { ...scrubbed, indicators: scrubIndicators(indicators, scrubber, report) } as Incident,
    scrubbed: report,
  };
}

/** Returns a deep copy of `incident` as `decision` lets its recipient see it. */
export function applyRedactions(incident: Incident, decision: PolicyDecision, options: RedactionOptions = {}): Incident {
  return redactIncident(incident, decision, options).incident;
}

/** As applyRedactions, with the redaction report: every field scrubbed of an identifier, and how. */
export function redactIncident(
  incident: Incident,
  decision: PolicyDecision,
  options: RedactionOptions = {},
): { incident: Incident; scrubbed: ScrubRecord[] } {
  if (!decision.allow) throw new PolicyPayloadError(`decision for ${decision.recipient} is a deny: nothing may be sent`);
  if (decision.detail !== 'full')
    throw new PolicyPayloadError(`decision for ${decision.recipient} allows ${decision.detail} detail only: send summarise() instead`);

  // A shallow copy: what is replaced below is new, and scrubIncident copies the rest (every
  // string scrubbed), so the result shares nothing with `incident` (no structuredClone first).
  // The recipient must honour the strictest label along the way, whatever our copy says.
  const out: Incident = { ...incident, tlp: decision.tlp };

  const bySection = new Map<PolicySection, Redaction>(decision.redactions.map((r) => [r.section, r]));
  const reporter = bySection.get('reporter');
  if (reporter) out.reporter = redactedContact(reporter);
  const poc = bySection.get('poc');
  if (poc && out.poc !== null) out.poc = redactedContact(poc);

  const victims = bySection.get('victims');
  const internal = bySection.get('internalHosts');
  const isInternal = internalHostPredicate(options.isInternalHost);
  out.hosts = out.hosts.map((host) => {
    // Victims first: a target on an internal address is named by the victims rule when both apply.
    const rule = victims && isVictimHost(host) ? victims : internal && isInternal(host) ? internal : undefined;
    return rule ? redactedHost(host, rule) : host;
  });

  const evidence = bySection.get('evidence');
  if (evidence) {
    out.evidence = out.evidence.map((e) => ({
      kind: e.kind,
      ...(e.collectedAt !== undefined ? { collectedAt: e.collectedAt } : {}),
      description: redactionMarker(evidence),
    }));
  }

  // The identifiers come from the incident as we hold it: the redacted copy no longer names them.
  const ids = hiddenIdentifiersOf(incident, new Set(bySection.keys()), options);
  // Nothing to scrub: scrubIncident would hand the shallow copy back as it is.
  if (!hasIdentifiers(ids)) return { incident: structuredClone(out), scrubbed: [] };
  return scrubIncident(out, ids);
}

/** The sections a summary always hides, whatever the trust: it never names a person, a target or an internal host. */
const SUMMARY_HIDES: ReadonlySet<PolicySection> = new Set(['reporter', 'poc', 'victims', 'internalHosts']);

/**
 * Summary-level detail for a coordinator (issue 4 item 5): counts, category, phase, indicators,
 * CVEs, and the attacker side's hosts. Never the title or any free text, contacts, targets,
 * internal hosts or evidence, whatever the trust: a summary is what may go when the full
 * incident may not. An indicator or host that names a target, an internal host, the reporter
 * or the POC (in any spelling: a URL on the victim's domain, an internal address with a port)
 * is left out.
 */
export function summarise(incident: Incident, options: RedactionOptions & { tlp?: Incident['tlp'] } = {}): ActivitySummary {
  return summariseWithReport(incident, options).summary;
}

export function summariseWithReport(
  incident: Incident,
  options: RedactionOptions & { tlp?: Incident['tlp'] } = {},
): { summary: ActivitySummary; scrubbed: ScrubRecord[] } {
  const isInternal = internalHostPredicate(options.isInternalHost);
  const scrubber = createScrubber(hiddenIdentifiersOf(incident, SUMMARY_HIDES, options));
  const scrubbed: ScrubRecord[] = [];
  const names = (path: string, ...texts: Array<string | undefined>): boolean => {
    const sections = new Set<PolicySection>();
    for (const text of texts) if (text !== undefined) for (const s of scrubber.scrub(text).sections) sections.add(s);
    if (sections.size === 0) return false;
    scrubbed.push({ path, action: 'dropped', sections: [...sections] });
    return true;
  };
  const count = (role: Host['role']): number => incident.hosts.filter((h) => h.role === role).length;
  const summary: ActivitySummary = {
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
    hosts: incident.hosts.flatMap((h, i) => {
      if (isVictimHost(h) || isInternal(h) || names(`/hosts/${i}`, h.ip, h.hostname)) return [];
      return [
        {
          role: h.role,
          ...(h.ip !== undefined ? { ip: h.ip } : {}),
          ...(h.hostname !== undefined && !isRedactionMarker(h.hostname) ? { hostname: h.hostname } : {}),
        },
      ];
    }),
    indicators: incident.indicators.flatMap((ind, i) =>
      names(`/indicators/${i}`, ind.value) ? [] : [{ kind: ind.kind, value: ind.value }],
    ),
    cves: [...new Set(incident.vulnerabilities.flatMap((v) => (v.cve ? [v.cve] : [])))].sort(),
  };
  return { summary, scrubbed };
}

/**
 * A scrubber for text that goes with a decision (a note, a changed field's old and new value,
 * an investigation's question): it hides what the decision's redactions hide in the incident.
 * At summary detail it hides everything a summary hides.
 */
export function scrubberFor(incident: Incident, decision: PolicyDecision, options: RedactionOptions = {}): Scrubber {
  const sections: ReadonlySet<PolicySection> =
    decision.detail === 'summary' ? SUMMARY_HIDES : new Set(decision.redactions.map((r) => r.section));
  return createScrubber(hiddenIdentifiersOf(incident, sections, options));
}

/** `scrubbed`: the redaction report, every field an identifier was scrubbed from (paths into the incident as we hold it). */
export type PolicyPayload =
  | { detail: 'full'; incident: Incident; scrubbed: ScrubRecord[] }
  | { detail: 'summary'; summary: ActivitySummary; scrubbed: ScrubRecord[] };

/**
 * What the decision lets go out: the redacted incident or its summary. Throws for a deny, so
 * a caller cannot send something by forgetting to look at `allow`.
 */
export function preparePayload(incident: Incident, decision: PolicyDecision, options: RedactionOptions = {}): PolicyPayload {
  if (!decision.allow) throw new PolicyPayloadError(`decision for ${decision.recipient} is a deny: nothing may be sent`);
  if (decision.detail === 'summary') return { detail: 'summary', ...summariseWithReport(incident, { ...options, tlp: decision.tlp }) };
  return { detail: 'full', ...redactIncident(incident, decision, options) };
}
