import type { DbOrTx } from '../../db/database.js';
import type { Incident } from '../../../schemas/incident.schema.js';
import {
  canonicalDomain,
  findSitesByIds,
  parseAddress,
  siteIdsByAddress,
  siteIdsByAsn,
  siteIdsByName,
  type SiteLookupMemo,
  type SiteRecord,
} from '../sites/sites.module.js';
import { lookupKeyOf } from './notification-content.js';

/**
 * Who owns what in an incident (issue 19 part 1): every host address and name, and every
 * address, domain, URL host, e-mail domain and AS number among its indicators, looked up in the
 * constituency directory (longest match). A host belongs to the site of its address, else to
 * the site of its name.
 *
 * The look-ups go in bulk (one statement per kind, then one for the sites found), by the same
 * rules as one look-up: an incident of a campaign holds dozens of addresses, and a statement per
 * address was most of a campaign's time (issue 19's benchmark).
 */
export interface IncidentOwners {
  hostSites: Array<string | null>;
  indicatorSites: Array<string | null>;
  sites: Map<string, SiteRecord>;
}

type LookupKey = { address: string } | { domain: string } | { asn: number } | null;

const addressKey = (text: string): LookupKey => {
  const parsed = parseAddress(text);
  return parsed ? { address: parsed.address } : null;
};

const domainKey = (name: string): LookupKey => {
  try {
    return { domain: canonicalDomain(name) };
  } catch {
    return null; // not a domain name: it belongs to no site
  }
};

export async function ownersOf(db: DbOrTx, incident: Incident): Promise<IncidentOwners> {
  return (await ownersOfMany(db, [incident]))[0]!;
}

/** ownersOf for many incidents with the look-ups of all of them in one statement per kind (a campaign's chunk). */
export async function ownersOfMany(db: DbOrTx, incidents: readonly Incident[], memo?: SiteLookupMemo): Promise<IncidentOwners[]> {
  const keysOf = incidents.map((incident) => ({
    hostKeys: incident.hosts.map((host) => ({
      byIp: host.ip ? addressKey(host.ip) : null,
      byName: host.hostname ? domainKey(host.hostname) : null,
    })),
    indicatorKeys: incident.indicators.map((indicator): LookupKey => {
      const key = lookupKeyOf(indicator.kind, indicator.value);
      if (!key) return null;
      if ('address' in key) return addressKey(key.address);
      if ('domain' in key) return domainKey(key.domain);
      return { asn: key.asn };
    }),
  }));
  const addresses = new Set<string>();
  const names = new Set<string>();
  const asns = new Set<number>();
  for (const { hostKeys, indicatorKeys } of keysOf)
    for (const key of [...hostKeys.flatMap((k) => [k.byIp, k.byName]), ...indicatorKeys]) {
      if (!key) continue;
      if ('address' in key) addresses.add(key.address);
      else if ('domain' in key) names.add(key.domain);
      else asns.add(key.asn);
    }
  const [byAddress, byName, byAsn] = await Promise.all([
    addresses.size ? siteIdsByAddress(db, [...addresses], memo) : new Map<string, string>(),
    names.size ? siteIdsByName(db, [...names], memo) : new Map<string, string>(),
    asns.size ? siteIdsByAsn(db, [...asns]) : new Map<number, string>(),
  ]);
  const siteOf = (key: LookupKey): string | null => {
    if (!key) return null;
    if ('address' in key) return byAddress.get(key.address) ?? null;
    if ('domain' in key) return byName.get(key.domain) ?? null;
    return byAsn.get(key.asn) ?? null;
  };
  const found = keysOf.map(({ hostKeys, indicatorKeys }) => ({
    hostSites: hostKeys.map((k) => siteOf(k.byIp) ?? siteOf(k.byName)),
    indicatorSites: indicatorKeys.map(siteOf),
  }));
  const ids = new Set(found.flatMap((f) => [...f.hostSites, ...f.indicatorSites]).filter((id): id is string => id !== null));
  const records = new Map((await findSitesByIds(db, [...ids])).map((site) => [site.id, site] as const));
  // A site deleted between the look-ups and the read owns nothing.
  const known = (id: string | null) => (id && records.has(id) ? id : null);
  return found.map(({ hostSites, indicatorSites }) => {
    const mine = new Set([...hostSites, ...indicatorSites].filter((id): id is string => id !== null && records.has(id)));
    return {
      hostSites: hostSites.map(known),
      indicatorSites: indicatorSites.map(known),
      sites: new Map([...mine].map((id) => [id, records.get(id)!] as const)),
    };
  });
}
