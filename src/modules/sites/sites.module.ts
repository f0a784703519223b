/**
 * The sites module's public surface: address and domain parsing in the form PostgreSQL stores
 * them, and the constituency look-ups the sharing policy needs (which site owns an address or
 * a domain: a site's need to know).
 */
export {
  canonicalDomain,
  blocksOverlap,
  canonicalNetwork,
  domainSuffixes,
  isIpAddress,
  longestDomainSuffix,
  mostSpecificNetwork,
  networkCovers,
  networkBlock,
  networkMatcher,
  parseAddress,
  type NetworkBlock,
  type NetworkMatcher,
} from './network-scope.js';
export { findSiteByAddress, findSiteByAsn, findSiteByDomain, findSiteById, findSitesByIds, type SiteRecord } from './site.repository.js';
export {
  createSiteLookupMemo,
  siteContactsByIds,
  siteIdsByAddress,
  siteIdsByAsn,
  siteIdsByName,
  type SiteLookupMemo,
} from './site-bulk-lookup.repository.js';
