import { isIP } from 'node:net';
import { ProblemError } from '../../http/problem.js';
import { canonicalDomain, parseAddress } from '../sites/sites.module.js';
import type { ContactResolveQuery } from '../../../schemas/contacts.schema.js';

/** What a route plan is resolved for, in canonical form (the cache key and the audit's value). */
export type ContactQuery =
  | { kind: 'ip'; value: string; family: 4 | 6 }
  | { kind: 'host' | 'domain'; value: string; registrable: string }
  | { kind: 'asn'; value: string; asn: number };

const MAX_ASN = 4_294_967_295;

function invalid(pointer: string, detail: string, message: string): ProblemError {
  return new ProblemError('validation-failed', detail, { errors: [{ location: 'querystring', pointer, message }] });
}

/**
 * Second-level labels under which ccTLD registries register names (example.co.jp, example.ac.uk):
 * the registrable domain is then three labels. A heuristic, not the Public Suffix List: wrong only
 * for the rarer layouts, where the RFC 2142 guesses and the SOA walk stop one label early or late.
 */
const CC_SECOND_LEVELS = new Set([
  'co',
  'ac',
  'go',
  'ne',
  'or',
  'ed',
  'gr',
  'lg',
  'ad',
  'com',
  'net',
  'org',
  'gov',
  'edu',
  'mil',
  'ltd',
  'plc',
  'nhs',
]);

export function registrableDomain(name: string): string {
  const labels = name.split('.');
  if (labels.length <= 2) return name;
  const tld = labels[labels.length - 1]!;
  const second = labels[labels.length - 2]!;
  const keep = tld.length === 2 && CC_SECOND_LEVELS.has(second) ? 3 : 2;
  return labels.slice(-keep).join('.');
}

/** The names from `name` up to its registrable domain, most specific first: where an SOA is looked for. */
export function namesUpToRegistrable(name: string, registrable: string): string[] {
  const labels = name.split('.');
  const out: string[] = [];
  for (let i = 0; i < labels.length; i++) {
    const candidate = labels.slice(i).join('.');
    out.push(candidate);
    if (candidate === registrable) break;
  }
  return out;
}

/** Exactly one of ip, host, domain, asn, well formed (the route schema checks the shape; this the meaning). */
export function contactQueryOf(query: ContactResolveQuery): ContactQuery {
  const given = (['ip', 'host', 'domain', 'asn'] as const).filter((k) => query[k] !== undefined);
  if (given.length !== 1) throw invalid('/', 'give exactly one of ip, host, domain, asn', 'exactly one of ip, host, domain, asn');
  if (query.ip !== undefined) {
    const parsed = parseAddress(query.ip);
    if (!parsed) throw invalid('/ip', `"${query.ip}" is not an IPv4 or IPv6 address`, 'not an IP address');
    return { kind: 'ip', value: parsed.address, family: parsed.family };
  }
  if (query.asn !== undefined) {
    const asn = Number(/^(?:as)?(\d{1,10})$/i.exec(query.asn.trim())?.[1] ?? NaN);
    if (!(asn <= MAX_ASN)) throw invalid('/asn', `"${query.asn}" is not an AS number (0 to ${MAX_ASN})`, 'not an AS number');
    return { kind: 'asn', value: `AS${asn}`, asn };
  }
  const kind = query.host !== undefined ? 'host' : 'domain';
  const name = canonicalDomain((query.host ?? query.domain)!);
  // The schema's pattern admits all-digit names; an address is asked with ip=.
  if (isIP(name) !== 0 || !name.includes('.') || /^[0-9.]+$/.test(name))
    throw invalid(`/${kind}`, `"${name}" is not a ${kind} name with a parent domain`, `not a ${kind} name`);
  return { kind, value: name, registrable: registrableDomain(name) };
}
