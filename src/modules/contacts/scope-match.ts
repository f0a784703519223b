import { BlockList } from 'node:net';

/**
 * Does a declared scope cover what was asked? Pure matching shared by the signed profiles'
 * constituencies and the RDAP bootstrap files: networks by containment (the most specific wins),
 * AS numbers by equality or range, domains by suffix on label boundaries.
 */

export interface NetworkMatcher {
  cidr: string;
  prefixLength: number;
  family: 4 | 6;
  block: BlockList;
}

/** A matcher for one CIDR block; null when it is not one. */
export function networkMatcher(cidr: string): NetworkMatcher | null {
  const m = /^([^/]+)\/(\d{1,3})$/.exec(cidr.trim());
  if (!m) return null;
  const family = m[1]!.includes(':') ? 6 : 4;
  const prefixLength = Number(m[2]);
  if (prefixLength > (family === 4 ? 32 : 128)) return null;
  const block = new BlockList();
  try {
    block.addSubnet(m[1]!, prefixLength, family === 4 ? 'ipv4' : 'ipv6');
  } catch {
    return null;
  }
  return { cidr: cidr.trim(), prefixLength, family, block };
}

/** The most specific of the networks containing the address (canonical text, its family), or null. */
export function mostSpecificNetwork(networks: NetworkMatcher[], address: string, family: 4 | 6): NetworkMatcher | null {
  let best: NetworkMatcher | null = null;
  for (const n of networks) {
    if (n.family !== family || (best && best.prefixLength >= n.prefixLength)) continue;
    if (n.block.check(address, family === 4 ? 'ipv4' : 'ipv6')) best = n;
  }
  return best;
}

/** The longest of the declared domains that is the name itself or a parent of it (lower case, no trailing dot). */
export function longestDomainSuffix(declared: string[], name: string): string | null {
  let best: string | null = null;
  for (const raw of declared) {
    const d = raw.toLowerCase().replace(/\.$/, '');
    if ((name === d || name.endsWith(`.${d}`)) && (best === null || d.length > best.length)) best = d;
  }
  return best;
}

/** An RDAP bootstrap ASN entry: "64496-64511" or "64500". */
export function asnInRange(entry: string, asn: number): boolean {
  const m = /^(\d{1,10})(?:-(\d{1,10}))?$/.exec(entry.trim());
  if (!m) return false;
  const low = Number(m[1]);
  const high = m[2] === undefined ? low : Number(m[2]);
  return asn >= low && asn <= high;
}
