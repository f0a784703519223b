import type { Host } from '../../../schemas/incident.schema.js';
import type { Observable, ObservableKind, ReportRef } from '../../../schemas/coordination.schema.js';
import { isInternalHostByAddress, isRedactionMarker } from '../policy/index.js';
import { canonicalDomain, canonicalNetwork, parseAddress } from '../sites/sites.module.js';

/**
 * What reports are correlated on, and when two reports count as related. Pure: no I/O.
 *
 * - `ip`: a host address (hosts, ipv4/ipv6 indicators), canonical as PostgreSQL prints it.
 * - `network`: the /24 (IPv4) or /48 (IPv6) around such an address: the usual allocation to
 *   one site, so two teams seeing neighbouring addresses are probably seeing one operator.
 * - `domain`: a host name or a domain indicator, lower case, without the root dot.
 * - `indicator`: any other indicator as "<kind>:<value>" (hashes and e-mail in lower case).
 *
 * Left out on purpose: private and special-use addresses and internal names (10.0.0.1 at one
 * team is not 10.0.0.1 at another), redaction markers, ASN indicators (an ASN names an operator,
 * not an activity: every report from a large network would be "related"), and values longer
 * than 600 characters.
 */

export const MAX_OBSERVABLE_LENGTH = 600;

type HostLike = Pick<Host, 'ip' | 'hostname'> & { role?: Host['role'] };
type IndicatorLike = { kind: string; value: string };

function ipv4Octets(address: string): number[] {
  return address.split('.').map(Number);
}

/** The eight 16-bit groups of a canonical IPv6 text (with PostgreSQL's dotted IPv4 tail). */
function ipv6Groups(text: string): number[] {
  let t = text;
  const tail = /(\d+\.\d+\.\d+\.\d+)$/.exec(t);
  if (tail?.[1]) {
    const [a = 0, b = 0, c = 0, d = 0] = ipv4Octets(tail[1]);
    t = `${t.slice(0, -tail[1].length)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head = '', rest] = t.split('::');
  const h = head ? head.split(':') : [];
  const r = rest !== undefined && rest !== '' ? rest.split(':') : [];
  const groups = rest === undefined ? h : [...h, ...Array<string>(8 - h.length - r.length).fill('0'), ...r];
  return groups.map((g) => parseInt(g, 16));
}

/** The /24 or /48 network around an address, canonical; null when the text is not an address. */
export function networkOf(addressText: string): string | null {
  const parsed = parseAddress(addressText);
  if (!parsed) return null;
  if (parsed.family === 4) {
    const [a, b, c] = ipv4Octets(parsed.address);
    return `${a}.${b}.${c}.0/24`;
  }
  const [g0 = 0, g1 = 0, g2 = 0] = ipv6Groups(parsed.address);
  return canonicalNetwork(`${g0.toString(16)}:${g1.toString(16)}:${g2.toString(16)}::/48`);
}

const DOMAIN = /^(?=.{1,253}$)([a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9])?\.)+[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
const LOWER_CASE_KINDS = new Set(['md5', 'sha1', 'sha256', 'email']);

function key(o: Observable): string {
  return `${o.kind}\u0000${o.value}`;
}

/** The observables of a report's hosts and indicators, de-duplicated, in a stable order. */
export function observablesOf(input: { hosts: readonly HostLike[]; indicators: readonly IndicatorLike[] }): Observable[] {
  const out = new Map<string, Observable>();
  const add = (kind: ObservableKind, value: string): void => {
    if (value.length === 0 || value.length > MAX_OBSERVABLE_LENGTH) return;
    const o = { kind, value };
    out.set(key(o), o);
  };
  const address = (text: string): void => {
    const parsed = parseAddress(text);
    if (!parsed || isInternalHostByAddress({ ip: parsed.address, role: 'source' } as Host)) return;
    add('ip', parsed.address);
    const network = networkOf(parsed.address);
    if (network) add('network', network);
  };
  const name = (text: string): void => {
    if (isRedactionMarker(text)) return;
    const domain = canonicalDomain(text);
    if (!DOMAIN.test(domain) || isInternalHostByAddress({ hostname: domain, role: 'source' } as Host)) return;
    add('domain', domain);
  };

  for (const host of input.hosts) {
    if (host.ip) address(host.ip);
    if (host.hostname) name(host.hostname);
  }
  for (const indicator of input.indicators) {
    const value = indicator.value.trim();
    if (indicator.kind === 'ipv4' || indicator.kind === 'ipv6') address(value);
    else if (indicator.kind === 'domain') name(value);
    else if (indicator.kind === 'asn') continue;
    else add('indicator', `${indicator.kind}:${LOWER_CASE_KINDS.has(indicator.kind) ? value.toLowerCase() : value}`);
  }
  return [...out.values()].sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
}

/** A report as correlation sees it. */
export interface CorrelatedReport {
  team: string;
  ref: string;
  /** Other teams' reference numbers of the same incident. */
  links: readonly ReportRef[];
  /** Its `ip` observables (for the network rule). */
  ips: readonly string[];
}

/** One incident held by two teams (one shared it with the other): not related activity, the teams already talk. */
export function sameIncident(a: CorrelatedReport, b: CorrelatedReport): boolean {
  return a.links.some((l) => l.team === b.team && l.ref === b.ref) || b.links.some((l) => l.team === a.team && l.ref === a.ref);
}

/**
 * Do two reports that share observable (kind, value) count as related activity? Only across
 * teams, never one incident with itself, and for a network only when they do not also share an
 * address in it (then the `ip` match says it, more precisely).
 */
export function relatedPair(kind: ObservableKind, value: string, a: CorrelatedReport, b: CorrelatedReport): boolean {
  if (a.team === b.team || sameIncident(a, b)) return false;
  if (kind === 'network') {
    const inNetwork = (r: CorrelatedReport) => new Set(r.ips.filter((ip) => networkOf(ip) === value));
    const ofA = inNetwork(a);
    for (const ip of inNetwork(b)) if (ofA.has(ip)) return false;
  }
  return true;
}

/** For each report of `reports`, the reports of other teams related to it through (kind, value). */
export function relatedTo(
  kind: ObservableKind,
  value: string,
  reports: readonly CorrelatedReport[],
): Map<CorrelatedReport, CorrelatedReport[]> {
  const out = new Map<CorrelatedReport, CorrelatedReport[]>();
  for (const a of reports) {
    const others = reports.filter((b) => relatedPair(kind, value, a, b));
    if (others.length > 0) out.set(a, others);
  }
  return out;
}

/** ISO 8601 week of a UTC instant, e.g. 2026-W47 (weeks start on Monday; week 1 holds the first Thursday). */
export function isoWeek(at: Date): string {
  const day = new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth(), at.getUTCDate()));
  const weekday = day.getUTCDay() || 7;
  day.setUTCDate(day.getUTCDate() + 4 - weekday);
  const year = day.getUTCFullYear();
  const week = Math.ceil(((day.getTime() - Date.UTC(year, 0, 1)) / 86_400_000 + 1) / 7);
  return `${year}-W${String(week).padStart(2, '0')}`;
}

/** The bucket of an instant for the overview's byPeriod. */
export function periodOf(at: Date, period: 'week' | 'day'): string {
  return period === 'week' ? isoWeek(at) : at.toISOString().slice(0, 10);
}
