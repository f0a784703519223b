/**
 * Does a declared scope cover what was asked? The signed profiles' constituencies and the RDAP
 * bootstrap files are matched with the sites module's in-memory containment (networks: the most
 * specific wins; domains: by suffix on label boundaries); AS numbers by equality or range, here.
 */
export { longestDomainSuffix, mostSpecificNetwork, networkMatcher, type NetworkMatcher } from '../sites/sites.module.js';

/** An RDAP bootstrap ASN entry: "64496-64511" or "64500". */
export function asnInRange(entry: string, asn: number): boolean {
  const m = /^(\d{1,10})(?:-(\d{1,10}))?$/.exec(entry.trim());
  if (!m) return false;
  const low = Number(m[1]);
  const high = m[2] === undefined ? low : Number(m[2]);
  return asn >= low && asn <= high;
}
