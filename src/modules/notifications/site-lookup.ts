import type { DbOrTx } from '../../db/database.js';
import type { Incident } from '../../../schemas/incident.schema.js';
import {
  domainSuffixes,
  findSiteByAddress,
  findSiteByAsn,
  findSiteByDomain,
  parseAddress,
  type SiteRecord,
} from '../sites/sites.module.js';
import { lookupKeyOf } from './notification-content.js';

/**
 * Who owns what in an incident (issue 19 part 1): every host address and name, and every
 * address, domain, URL host, e-mail domain and AS number among its indicators, looked up in the
 * constituency directory (longest match). A host belongs to the site of its address, else to
 * the site of its name.
 */
export interface IncidentOwners {
  hostSites: Array<string | null>;
  indicatorSites: Array<string | null>;
  sites: Map<string, SiteRecord>;
}

export async function ownersOf(db: DbOrTx, incident: Incident): Promise<IncidentOwners> {
  const sites = new Map<string, SiteRecord>();
  const cache = new Map<string, SiteRecord | null>();
  const remember = (key: string, site: SiteRecord | null): string | null => {
    cache.set(key, site);
    if (site) sites.set(site.id, site);
    return site?.id ?? null;
  };
  const byAddress = async (text: string): Promise<string | null> => {
    const key = `a:${text}`;
    if (cache.has(key)) return cache.get(key)?.id ?? null;
    const parsed = parseAddress(text);
    return remember(key, parsed ? ((await findSiteByAddress(db, parsed.address, parsed.family))?.site ?? null) : null);
  };
  const byDomain = async (name: string): Promise<string | null> => {
    const key = `d:${name.toLowerCase()}`;
    if (cache.has(key)) return cache.get(key)?.id ?? null;
    let suffixes: string[] = [];
    try {
      suffixes = domainSuffixes(name);
    } catch {
      // Not a domain name: it belongs to no site.
    }
    return remember(key, (await findSiteByDomain(db, suffixes))?.site ?? null);
  };
  const hostSites: Array<string | null> = [];
  for (const host of incident.hosts) {
    const byIp = host.ip ? await byAddress(host.ip) : null;
    hostSites.push(byIp ?? (host.hostname ? await byDomain(host.hostname) : null));
  }
  const indicatorSites: Array<string | null> = [];
  for (const indicator of incident.indicators) {
    const key = lookupKeyOf(indicator.kind, indicator.value);
    if (!key) indicatorSites.push(null);
    else if ('address' in key) indicatorSites.push(await byAddress(key.address));
    else if ('domain' in key) indicatorSites.push(await byDomain(key.domain));
    else {
      const cacheKey = `n:${key.asn}`;
      indicatorSites.push(
        cache.has(cacheKey) ? (cache.get(cacheKey)?.id ?? null) : remember(cacheKey, (await findSiteByAsn(db, key.asn))?.site ?? null),
      );
    }
  }
  return { hostSites, indicatorSites, sites };
}
