import type { ForumInquiryBody, InquiryMatch } from '../../../schemas/forum-inquiry.schema.js';
import {
  blocksOverlap,
  canonicalDomain,
  canonicalNetwork,
  longestDomainSuffix,
  networkBlock,
  parseAddress,
  type NetworkBlock,
} from '../sites/sites.module.js';

/**
 * Matching an inquiry against this node's own data, pure: `probesOf` says what to look up (the
 * indexed lookups are the repository's), `matchesOf` turns what the lookups found plus our
 * constituency into the matches a handler sees, de-duplicated and in a stable order.
 */

export interface InquiryProbes {
  /** Canonical addresses: hosts' ip, ipv4/ipv6 indicators. */
  addresses: string[];
  /** Canonical CIDR blocks asked about. */
  networks: string[];
  /** Lower-case names: hosts' hostname, domain indicators, domains asked about. */
  names: string[];
  /** Lower-case indicator values, as incidents store them (any kind). */
  indicatorValues: string[];
}

/** A lookup's find: one of our incidents or sites, and what of the inquiry it matched. */
export interface MatchCandidate {
  kind: 'incident' | 'site';
  id: string;
  label: string;
  matchedOn: InquiryMatch['matchedOn'];
  value: string;
}

const MAX_PROBES = 1000;
const uniq = (values: Iterable<string>): string[] => [...new Set(values)].slice(0, MAX_PROBES);

export function probesOf(body: Pick<ForumInquiryBody, 'hosts' | 'networks' | 'domains' | 'indicators'>): InquiryProbes {
  const addresses: string[] = [];
  const names: string[] = [];
  const address = (text: string) => {
    const parsed = parseAddress(text);
    if (parsed) addresses.push(parsed.address);
  };
  const name = (text: string) => {
    const domain = canonicalDomain(text);
    if (domain.length > 0 && domain.length <= 253) names.push(domain);
  };
  for (const h of body.hosts ?? []) {
    if (h.ip) address(h.ip);
    if (h.hostname) name(h.hostname);
  }
  for (const d of body.domains ?? []) name(d);
  for (const i of body.indicators ?? []) {
    if (i.kind === 'ipv4' || i.kind === 'ipv6') address(i.value);
    else if (i.kind === 'domain') name(i.value);
  }
  return {
    addresses: uniq(addresses),
    networks: uniq((body.networks ?? []).flatMap((n) => canonicalNetwork(n) ?? [])),
    names: uniq(names),
    indicatorValues: uniq((body.indicators ?? []).map((i) => i.value.trim().toLowerCase()).filter((v) => v.length > 0)),
  };
}

/** What of the inquiry falls in our constituency as our profile states it. */
function constituencyMatches(probes: InquiryProbes, constituency: { networks: string[]; domains: string[] }): InquiryMatch[] {
  const out: InquiryMatch[] = [];
  // Each side parsed once, not once per pair (networkCovers parses both per call).
  const blocks = (values: string[]) => values.map((value) => ({ value, block: networkBlock(value) }));
  const asked = { addresses: blocks(probes.addresses), networks: blocks(probes.networks) };
  for (const { value: network, block: outer } of blocks(constituency.networks)) {
    if (!outer) continue;
    const covers = (inner: NetworkBlock | null) => inner !== null && blocksOverlap(outer, inner);
    for (const a of asked.addresses) if (covers(a.block)) out.push(cm(network, 'ip', a.value));
    for (const n of asked.networks) if (covers(n.block)) out.push(cm(network, 'network', n.value));
  }
  for (const name of probes.names) {
    const owner = longestDomainSuffix(constituency.domains, name);
    if (owner) out.push(cm(owner, 'domain', name));
  }
  return out;
}

const cm = (entry: string, matchedOn: InquiryMatch['matchedOn'], value: string): InquiryMatch => ({
  kind: 'constituency',
  id: entry,
  label: `our constituency (${entry})`,
  matchedOn,
  value,
});

const keyOf = (m: InquiryMatch) => `${m.kind}\u0000${m.id}\u0000${m.matchedOn}\u0000${m.value}`;

export function matchesOf(
  probes: InquiryProbes,
  candidates: readonly MatchCandidate[],
  constituency: { networks: string[]; domains: string[] },
): InquiryMatch[] {
  const all = new Map<string, InquiryMatch>();
  for (const m of [...candidates, ...constituencyMatches(probes, constituency)]) all.set(keyOf(m), m);
  return [...all.values()].sort((a, b) => (keyOf(a) < keyOf(b) ? -1 : keyOf(a) > keyOf(b) ? 1 : 0));
}
