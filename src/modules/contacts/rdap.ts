import { boundedGet, LookupFailure, type FetchLimits } from './bounded-fetch.js';
import { asnInRange, longestDomainSuffix, mostSpecificNetwork, networkMatcher, type NetworkMatcher } from './scope-match.js';

/**
 * RDAP (RFC 9082 queries, RFC 9083 answers, RFC 9224 bootstrap): which registry's server knows
 * the address, AS number or domain (IANA's bootstrap files, from a configurable base URL), then
 * that server's answer, from which the entities with the role `abuse` are taken with their vCard
 * e-mail addresses and telephone numbers.
 */
export type RdapRegistry = 'ipv4' | 'ipv6' | 'asn' | 'dns';

/** A bootstrap file's services: [entries, service URLs] pairs (RFC 9224 §3). */
export type BootstrapServices = Array<[string[], string[]]>;

export function parseBootstrap(text: string): BootstrapServices {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new LookupFailure('the RDAP bootstrap file is not JSON');
  }
  const services = (value as { services?: unknown } | null)?.services;
  const isStrings = (v: unknown): v is string[] => Array.isArray(v) && v.every((s) => typeof s === 'string');
  if (!Array.isArray(services) || !services.every((s) => Array.isArray(s) && s.length >= 2 && isStrings(s[0]) && isStrings(s[1])))
    throw new LookupFailure('the RDAP bootstrap file has no services list');
  return services.map((s) => [s[0], s[1]] as [string[], string[]]);
}

/** What the query is looked up by in the registry's file. */
export type RdapKey =
  { registry: 'ipv4' | 'ipv6'; address: string } | { registry: 'asn'; asn: number } | { registry: 'dns'; domain: string };

/** The service URL for the key (https preferred), or null when the file names no server for it. */
export function rdapServiceFor(services: BootstrapServices, key: RdapKey): string | null {
  let urls: string[] | null = null;
  if (key.registry === 'asn') {
    urls = services.find(([entries]) => entries.some((e) => asnInRange(e, key.asn)))?.[1] ?? null;
  } else if (key.registry === 'dns') {
    let best = '';
    for (const [entries, u] of services) {
      const suffix = longestDomainSuffix(entries, key.domain);
      if (suffix !== null && suffix.length > best.length) [best, urls] = [suffix, u];
    }
  } else {
    let best: NetworkMatcher | null = null;
    const family = key.registry === 'ipv4' ? 4 : 6;
    for (const [entries, u] of services) {
      const matchers = entries.map(networkMatcher).filter((m): m is NetworkMatcher => m !== null);
      const found = mostSpecificNetwork(matchers, key.address, family);
      if (found && (!best || found.prefixLength > best.prefixLength)) [best, urls] = [found, u];
    }
  }
  if (!urls || urls.length === 0) return null;
  return urls.find((u) => u.startsWith('https://')) ?? urls.find((u) => u.startsWith('http://')) ?? null;
}

/** The query path under a service URL (RFC 9082 §3.1). */
export function rdapPath(key: RdapKey): string {
  if (key.registry === 'asn') return `autnum/${key.asn}`;
  if (key.registry === 'dns') return `domain/${encodeURIComponent(key.domain)}`;
  return `ip/${encodeURIComponent(key.address)}`;
}

export interface RdapAbuseContact {
  handle: string | null;
  name: string | null;
  emails: string[];
  tels: string[];
}

/** The abuse entities of an RDAP answer, nested ones included (registries put them under the registrant). */
export function abuseContacts(answer: unknown): RdapAbuseContact[] {
  const out: RdapAbuseContact[] = [];
  const visit = (node: unknown, depth: number) => {
    if (depth > 5 || node === null || typeof node !== 'object') return;
    const entities = (node as { entities?: unknown }).entities;
    if (!Array.isArray(entities)) return;
    for (const entity of entities.slice(0, 100)) {
      if (entity === null || typeof entity !== 'object') continue;
      const roles = (entity as { roles?: unknown }).roles;
      if (Array.isArray(roles) && roles.includes('abuse')) out.push(contactOf(entity as Record<string, unknown>));
      visit(entity, depth + 1);
    }
  };
  visit(answer, 0);
  return out.filter((c) => c.emails.length > 0 || c.tels.length > 0);
}

/** jCard (RFC 7095): ["vcard", [[name, params, type, value], ...]]. */
function contactOf(entity: Record<string, unknown>): RdapAbuseContact {
  const contact: RdapAbuseContact = {
    handle: typeof entity['handle'] === 'string' ? entity['handle'] : null,
    name: null,
    emails: [],
    tels: [],
  };
  const card = entity['vcardArray'];
  const props = Array.isArray(card) && card[0] === 'vcard' && Array.isArray(card[1]) ? (card[1] as unknown[]) : [];
  for (const prop of props) {
    if (!Array.isArray(prop) || prop.length < 4 || typeof prop[0] !== 'string' || typeof prop[3] !== 'string') continue;
    const [name, , , value] = prop as [string, unknown, unknown, string];
    if (name === 'fn' && contact.name === null) contact.name = value;
    else if (name === 'email') contact.emails.push(value.replace(/^mailto:/i, ''));
    else if (name === 'tel') contact.tels.push(value.startsWith('tel:') ? value : `tel:${value.replace(/\s+/g, '')}`);
  }
  return contact;
}

export interface RdapAnswer {
  url: string;
  contacts: RdapAbuseContact[];
}

/** The registry's answer for the key; throws LookupFailure for no answer, an error status or garbage. */
export async function fetchRdap(fetchImpl: typeof fetch, serviceUrl: string, key: RdapKey, limits: FetchLimits): Promise<RdapAnswer> {
  const url = new URL(rdapPath(key), serviceUrl.endsWith('/') ? serviceUrl : `${serviceUrl}/`).href;
  const answer = await boundedGet(fetchImpl, url, limits, 'application/rdap+json, application/json');
  const host = new URL(answer.url).host;
  if (answer.status === 404) throw new LookupFailure(`${host} has no RDAP record for it`);
  if (answer.status !== 200) throw new LookupFailure(`${host} answered HTTP ${answer.status}`);
  let json: unknown;
  try {
    json = JSON.parse(answer.text);
  } catch {
    throw new LookupFailure(`${host} answered something that is not RDAP JSON`);
  }
  if (json === null || typeof json !== 'object' || typeof (json as { objectClassName?: unknown }).objectClassName !== 'string')
    throw new LookupFailure(`${host} answered something that is not an RDAP object`);
  return { url: answer.url, contacts: abuseContacts(json) };
}

/** Fetches and parses one bootstrap file: `${base}${registry}.json`. */
export async function fetchBootstrap(
  fetchImpl: typeof fetch,
  baseUrl: string,
  registry: RdapRegistry,
  limits: FetchLimits,
): Promise<BootstrapServices> {
  const url = new URL(`${registry}.json`, baseUrl.endsWith('/') ? baseUrl : `${baseUrl}/`).href;
  const answer = await boundedGet(fetchImpl, url, limits, 'application/json');
  if (answer.status !== 200) throw new LookupFailure(`the RDAP bootstrap ${registry}.json: HTTP ${answer.status}`);
  return parseBootstrap(answer.text);
}
