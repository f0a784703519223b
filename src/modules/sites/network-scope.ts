import { BlockList, isIPv4, isIPv6 } from 'node:net';

/**
 * Address and network parsing for constituency scopes. PostgreSQL's `cidr` rejects host bits
 * right of the mask; we check the same in the request path so a bad scope is a 400 with the
 * offending value, not a database error. The canonical text we produce is the text PostgreSQL
 * prints for the same value, so a scope de-duplicated here is also unique in the database and a
 * client reads back exactly what it was told was stored.
 */
function ipv4ToBigInt(ip: string): bigint {
  return ip.split('.').reduce((acc, part) => (acc << 8n) + BigInt(Number(part)), 0n);
}

function ipv6ToBigInt(ip: string): bigint {
  let text = ip;
  // An embedded IPv4 tail (::ffff:192.0.2.1) becomes two hextets.
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4?.[1]) {
    const n = ipv4ToBigInt(v4[1]);
    text = text.slice(0, -v4[1].length) + `${(n >> 16n).toString(16)}:${(n & 0xffffn).toString(16)}`;
  }
  const [head = '', tail] = text.split('::');
  const h = head ? head.split(':') : [];
  const t = tail !== undefined && tail !== '' ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t];
  return groups.reduce((acc, g) => (acc << 16n) + BigInt(parseInt(g, 16)), 0n);
}

function bigIntToIpv4(value: bigint): string {
  return [24n, 16n, 8n, 0n].map((shift) => String((value >> shift) & 0xffn)).join('.');
}

/**
 * RFC 5952 text, with PostgreSQL's one addition: an address whose first 96 bits are zero (and
 * whose seventh group is not), or an IPv4-mapped one, ends in dotted IPv4 form.
 */
function bigIntToIpv6(value: bigint): string {
  const words = Array.from({ length: 8 }, (_, i) => Number((value >> BigInt(112 - 16 * i)) & 0xffffn));
  let best = { base: -1, len: 0 };
  let cur = { base: -1, len: 0 };
  words.forEach((w, i) => {
    if (w === 0) {
      cur = cur.base === -1 ? { base: i, len: 1 } : { base: cur.base, len: cur.len + 1 };
      if (cur.len > best.len) best = cur;
    } else {
      cur = { base: -1, len: 0 };
    }
  });
  // A single zero group is written out, not compressed (RFC 5952 §4.2.2).
  if (best.len < 2) best = { base: -1, len: 0 };
  const embedsIpv4 = best.base === 0 && (best.len === 6 || (best.len === 5 && words[5] === 0xffff));
  let out = '';
  for (let i = 0; i < 8; i++) {
    if (i === best.base) {
      out += '::';
      i += best.len - 1;
      continue;
    }
    if (embedsIpv4 && i === 6) {
      out += bigIntToIpv4(value & 0xffffffffn);
      break;
    }
    out += words[i]!.toString(16) + (i < 7 && i + 1 !== best.base ? ':' : '');
  }
  return out;
}

/** True for a plain IPv4 or IPv6 address. Zone ids (fe80::1%eth0) are refused: `inet` has none. */
export function isIpAddress(text: string): boolean {
  return isIPv4(text) || (isIPv6(text) && !text.includes('%'));
}

export interface ParsedAddress {
  /** Canonical text, as PostgreSQL prints it. */
  address: string;
  family: 4 | 6;
}

/**
 * An address to look up. An IPv4-mapped IPv6 address (::ffff:192.0.2.1, what a dual-stack
 * socket reports for an IPv4 peer) is the IPv4 host it names, so it finds IPv4 networks.
 */
export function parseAddress(text: string): ParsedAddress | null {
  const trimmed = text.trim();
  if (isIPv4(trimmed)) return { address: bigIntToIpv4(ipv4ToBigInt(trimmed)), family: 4 };
  if (!isIpAddress(trimmed)) return null;
  const value = ipv6ToBigInt(trimmed);
  if (value >> 32n === 0xffffn) return { address: bigIntToIpv4(value & 0xffffffffn), family: 4 };
  return { address: bigIntToIpv6(value), family: 6 };
}

/** The canonical text of a CIDR block, or null when it is not one (including host bits set). */
export function canonicalNetwork(text: string): string | null {
  const m = /^([^/]+)(?:\/(\d{1,3}))?$/.exec(text.trim());
  if (!m?.[1]) return null;
  const address = m[1];
  const v4 = isIPv4(address);
  if (!v4 && !isIpAddress(address)) return null;
  const bits = v4 ? 32 : 128;
  const prefix = m[2] === undefined ? bits : Number(m[2]);
  if (prefix > bits) return null;
  const value = v4 ? ipv4ToBigInt(address) : ipv6ToBigInt(address);
  const hostMask = (1n << BigInt(bits - prefix)) - 1n;
  if ((value & hostMask) !== 0n) return null;
  return `${v4 ? bigIntToIpv4(value) : bigIntToIpv6(value)}/${prefix}`;
}

/** Lower case, without the root's trailing dot: the form domains are stored and compared in. */
export function canonicalDomain(domain: string): string {
  return domain.trim().toLowerCase().replace(/\.$/, '');
}

/** The suffixes a domain can be matched by, longest first: a.b.example.jp, b.example.jp, example.jp, jp. */
export function domainSuffixes(domain: string): string[] {
  const labels = canonicalDomain(domain).split('.');
  return labels.map((_, i) => labels.slice(i).join('.'));
}

/*
 * Containment in memory, for scopes that are not our site tables: a peer's or forum member's
 * signed constituency, the RDAP bootstrap files, the constituency our own profile declares. The
 * site tables answer the same questions in SQL (site.repository.ts); these are their in-memory
 * twins, one place for the relays, the contact determination and the forum's inquiry matching.
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

/** The most specific of the networks containing the address, or null. */
export function mostSpecificNetwork(networks: NetworkMatcher[], address: string, family: 4 | 6): NetworkMatcher | null {
  let best: NetworkMatcher | null = null;
  for (const n of networks) {
    if (n.family !== family || (best && best.prefixLength >= n.prefixLength)) continue;
    if (n.block.check(address, family === 4 ? 'ipv4' : 'ipv6')) best = n;
  }
  return best;
}

/** A CIDR block as numbers: what overlap tests compare. */
export interface NetworkBlock {
  family: 4 | 6;
  value: bigint;
  prefixLength: number;
}

/** An address (as a host network) or a network in any spelling, as numbers; null when it is neither. */
export function networkBlock(addressOrNetwork: string): NetworkBlock | null {
  const canonical = canonicalNetwork(addressOrNetwork);
  if (!canonical) return null;
  const [address = '', prefix = ''] = canonical.split('/');
  const family = isIPv4(address) ? 4 : 6;
  return { family, value: family === 4 ? ipv4ToBigInt(address) : ipv6ToBigInt(address), prefixLength: Number(prefix) };
}

/**
 * Whether two blocks overlap (one holds the other's base): an address in a network, or two
 * networks. Plain arithmetic, parsed once per value: a BlockList per pair cost the forum's
 * inquiry matching more than its database lookups (ADR 0005).
 */
export function blocksOverlap(a: NetworkBlock, b: NetworkBlock): boolean {
  if (a.family !== b.family) return false;
  const shift = BigInt((a.family === 4 ? 32 : 128) - Math.min(a.prefixLength, b.prefixLength));
  return a.value >> shift === b.value >> shift;
}

/** Whether an address lies in a network, or two networks overlap (one holds the other's base). */
export function networkCovers(network: string, addressOrNetwork: string): boolean {
  const outer = networkBlock(network);
  const inner = networkBlock(addressOrNetwork);
  return outer !== null && inner !== null && blocksOverlap(outer, inner);
}

/** The longest of the declared domains that is the name itself or a parent of it, or null. */
export function longestDomainSuffix(declared: readonly string[], name: string): string | null {
  const ours = new Set(declared.map(canonicalDomain));
  return domainSuffixes(name).find((s) => ours.has(s)) ?? null;
}
