/**
 * What a press statement may say (issue 17 part 4, ADR 0023, docs/trust-model.md "Outside
 * recipients"). Pure: the caller gathers the incidents and the press decisions.
 *
 * A statement goes to the public, so it may speak only from TLP:CLEAR content. Whether each
 * incident it names may reach the press at all is the sharing policy's press decision; this
 * checks the words the handler wrote: they must not carry
 * - an identifier of a section the press decision redacts from an incident the statement names
 *   (a CLEAR incident's victims, reporter, POC, internal hosts: the public gets none of them);
 * - any identifier of an incident that is not CLEAR at all (its reference number, every host's
 *   name and address, its indicators, its contacts), among those the caller could check.
 * The matching is the redaction's identifier scrub (identifier-scrub.ts): every spelling of an
 * address, subdomains, phrases in any case, phone digits however grouped.
 */
import type { Incident } from '../../../schemas/incident.schema.js';
import { POLICY_SECTIONS, type PolicySection } from '../../../schemas/policy.schema.js';
import { parseAddress } from '../sites/sites.module.js';
import { createScrubber, emptyIdentifiers, hideHost, type HiddenIdentifiers } from './identifier-scrub.js';
import { hiddenIdentifiersOf, type RedactionOptions } from './redaction.js';

/** One incident whose identifiers a statement must not carry, and which part of it is not CLEAR. */
export interface PressTextSource {
  incident: Incident;
  /** The sections the press decision redacts (a CLEAR incident the statement names), or 'all' for an incident that is not CLEAR. */
  hidden: readonly PolicySection[] | 'all';
}

/** Where a statement's text names something that is not CLEAR: the incident and the sections (or 'reference' / 'indicators'), never the value. */
export interface PressTextFinding {
  incidentId: string;
  ref: string;
  found: string[];
}

const HOSTLIKE_INDICATORS = new Set(['ipv4', 'ipv6', 'domain']);

/** Every identifier of an incident that is not CLEAR: all its hosts, its indicators, its contacts. */
function everyIdentifierOf(incident: Incident, options: RedactionOptions): HiddenIdentifiers {
  const ids = hiddenIdentifiersOf(incident, new Set<PolicySection>(POLICY_SECTIONS), options);
  // A source or an intermediary of a GREEN incident is GREEN information too: only the label says
  // who may know it. Added without overwriting, so a victim's name is still reported as victims.
  const extra = emptyIdentifiers();
  for (const host of incident.hosts) hideHost(extra, host, 'victims');
  for (const indicator of incident.indicators) {
    const value = indicator.value.trim();
    if (HOSTLIKE_INDICATORS.has(indicator.kind)) hideHost(extra, parseAddress(value) ? { ip: value } : { hostname: value }, 'evidence');
    else if (indicator.kind === 'email') extra.emails.set(value.toLowerCase(), 'evidence');
    else if (indicator.kind === 'url') {
      const host = hostOfUrl(value);
      if (host) hideHost(extra, parseAddress(host) ? { ip: host } : { hostname: host }, 'evidence');
    }
  }
  for (const key of ['addresses', 'domains', 'labels', 'emails'] as const)
    for (const [k, v] of extra[key]) if (!ids[key].has(k)) ids[key].set(k, v);
  return ids;
}

function hostOfUrl(value: string): string | null {
  try {
    const host = new URL(value).hostname;
    return host.startsWith('[') ? host.slice(1, -1) : host || null;
  } catch {
    return null;
  }
}

const containsWord = (text: string, word: string): boolean => {
  const escaped = word.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`(?<![\\p{L}\\p{N}_])${escaped}(?![\\p{L}\\p{N}_])`, 'iu').test(text);
};

/**
 * The places the statement's texts (title, body) name what is not CLEAR; empty when it may go out.
 * For an incident that is not CLEAR, `found` lists 'reference' and the sections whose identifiers
 * appear ('victims' for any of its hosts, 'evidence' for its indicators).
 */
export function findNonClearInPressText(
  texts: readonly string[],
  sources: readonly PressTextSource[],
  options: RedactionOptions = {},
): PressTextFinding[] {
  const findings: PressTextFinding[] = [];
  const joined = texts.join('\n');
  for (const { incident, hidden } of sources) {
    const found: string[] = [];
    if (hidden === 'all' && containsWord(joined, incident.ref)) found.push('reference');
    const ids = hidden === 'all' ? everyIdentifierOf(incident, options) : hiddenIdentifiersOf(incident, new Set(hidden), options);
    const { sections } = createScrubber(ids).scrub(joined);
    for (const section of POLICY_SECTIONS) if (sections.includes(section)) found.push(section);
    if (found.length > 0) findings.push({ incidentId: incident.id, ref: incident.ref, found });
  }
  return findings;
}
