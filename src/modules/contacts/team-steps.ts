import { readPeerKey, verifyDocumentSignature } from '../../crypto/index.js';
import type { Poc } from '../../../schemas/site.schema.js';
import type { ContactChannel } from '../../../schemas/contacts.schema.js';
import type { ContactQuery } from './contact-query.js';
import type { UnrankedStep } from './contact-ranking.js';
import { longestDomainSuffix, mostSpecificNetwork, networkMatcher, type NetworkMatcher } from './scope-match.js';

/**
 * The steps from what this node itself holds: our own site's POCs (the constituency directory),
 * the teams whose signed profile declares the network, AS number or domain in its constituency
 * (peers; forum members when a forum roster we hold lists them), and our coordinators.
 */

/** The site responsible, as the sites module's lookup answers it. */
export interface SiteMatch {
  siteId: string;
  siteName: string;
  /** The scope that matched: a network, a domain, an AS number. */
  matched: string;
  pocs: Poc[];
}

/** An active peer with the signed profile its key was pinned from. */
export interface PeerWithProfile {
  teamId: string;
  name: string;
  url: string;
  relationship: 'coordinator' | 'member' | 'peer';
  fingerprint: string;
  publicKey: string;
  signedProfile: string;
  profileFetchedAt: Date;
}

export interface ForumListing {
  forum: string;
  fingerprint: string;
}

/** What this node holds, through ports the composition root fills (sites, peers, forums). */
export interface ContactDirectory {
  lookupSite(query: { ip: string } | { domain: string } | { asn: string }): Promise<SiteMatch | null>;
  activePeers(): Promise<PeerWithProfile[]>;
  /** Team id -> the forums whose newest roster lists it as an active member, with the key the roster states. */
  forumMemberships(): Promise<Map<string, ForumListing[]>>;
}

const CHANNEL_VIA: Record<string, ContactChannel> = { email: 'email', phone: 'tel', mobile: 'tel', hotline: 'tel', url: 'web' };

export function sitePocSteps(site: SiteMatch): UnrankedStep[] {
  const steps: UnrankedStep[] = [];
  for (const poc of site.pocs) {
    for (const channel of poc.channels) {
      const via = CHANNEL_VIA[channel.kind] ?? 'other';
      steps.push({
        kind: 'site-poc',
        source: `our site "${site.siteName}" (${site.siteId})`,
        team: null,
        name: poc.role ? `${poc.name} (${poc.role})` : poc.name,
        address: via === 'tel' && !channel.value.startsWith('tel:') ? `tel:${channel.value.replace(/\s+/g, '')}` : channel.value,
        via,
        matched: site.matched,
        verified: true,
        fetchedAt: null,
        expiresAt: null,
        status: 'reachable',
        reason: null,
        ...(poc.languages.length ? { details: { preferredLanguages: poc.languages } } : {}),
      });
    }
  }
  return steps;
}

/** A peer's constituency as its signed profile declares it, ready to match. */
interface DeclaredConstituency {
  networks: NetworkMatcher[];
  asns: Set<number>;
  domains: string[];
}

/**
 * Signed profiles parsed and their signatures checked once per pinned version (team, key, time
 * fetched), not per lookup: a verification costs milliseconds and a plan is asked thousands of
 * times a second from the cache. A profile whose signature does not verify with the pinned key,
 * or that carries another key, declares nothing.
 */
export function createConstituencyReader(): (peer: PeerWithProfile) => Promise<DeclaredConstituency | null> {
  const known = new Map<string, Promise<DeclaredConstituency | null>>();
  async function read(peer: PeerWithProfile): Promise<DeclaredConstituency | null> {
    let envelope: unknown;
    try {
      envelope = JSON.parse(peer.signedProfile);
    } catch {
      return null;
    }
    const profile = (envelope as { document?: { profile?: { fingerprint?: unknown; constituency?: unknown } } }).document?.profile;
    if (!profile || profile.fingerprint !== peer.fingerprint) return null;
    const result = await verifyDocumentSignature(envelope, await readPeerKey(peer.publicKey), { now: peer.profileFetchedAt });
    if (!result.ok) return null;
    const c = profile.constituency as { networks?: unknown; asns?: unknown; domains?: unknown } | undefined;
    const strings = (v: unknown): string[] => (Array.isArray(v) ? v.filter((s): s is string => typeof s === 'string') : []);
    return {
      networks: strings(c?.networks)
        .map(networkMatcher)
        .filter((m): m is NetworkMatcher => m !== null),
      asns: new Set(Array.isArray(c?.asns) ? c.asns.filter((n): n is number => typeof n === 'number') : []),
      domains: strings(c?.domains).map((d) => d.toLowerCase().replace(/\.$/, '')),
    };
  }
  return (peer) => {
    const key = `${peer.teamId} ${peer.fingerprint} ${peer.profileFetchedAt.toISOString()}`;
    let entry = known.get(key);
    if (!entry) {
      // A bounded memo: profiles change rarely, but a long-running node sees many versions.
      if (known.size >= 10_000) known.clear();
      entry = read(peer).catch(() => null);
      known.set(key, entry);
    }
    return entry;
  };
}

/** The scope of a constituency that covers the query, with how specific it is; null when none does. */
function coveringScope(c: DeclaredConstituency, query: ContactQuery): { matched: string; specificity: number } | null {
  if (query.kind === 'ip') {
    const n = mostSpecificNetwork(c.networks, query.value, query.family);
    return n ? { matched: n.cidr, specificity: n.prefixLength } : null;
  }
  if (query.kind === 'asn') return c.asns.has(query.asn) ? { matched: query.value, specificity: 0 } : null;
  const d = longestDomainSuffix(c.domains, query.value);
  return d ? { matched: d, specificity: d.split('.').length } : null;
}

/** Peers and forum members whose signed constituency covers the query, then our coordinators not already among them. */
export async function teamSteps(
  query: ContactQuery,
  peers: PeerWithProfile[],
  forums: Map<string, ForumListing[]>,
  constituencyOf: (peer: PeerWithProfile) => Promise<DeclaredConstituency | null>,
): Promise<UnrankedStep[]> {
  const steps: UnrankedStep[] = [];
  const covered = new Set<string>();
  for (const peer of peers) {
    const declared = await constituencyOf(peer);
    const scope = declared ? coveringScope(declared, query) : null;
    if (!scope) continue;
    covered.add(peer.teamId);
    // A roster that names another key than the one we pinned does not make the team a member we know.
    const inForums = (forums.get(peer.teamId) ?? []).filter((l) => l.fingerprint === peer.fingerprint).map((l) => l.forum);
    steps.push({
      kind: inForums.length > 0 ? 'forum-member' : 'peer',
      source: `the signed profile of ${peer.teamId} (constituency)`,
      team: peer.teamId,
      name: peer.name,
      address: peer.url,
      via: 'node',
      matched: scope.matched,
      verified: true,
      fetchedAt: peer.profileFetchedAt.toISOString(),
      expiresAt: null,
      status: 'reachable',
      reason: null,
      specificity: scope.specificity,
      ...(inForums.length > 0 ? { details: { forums: inForums } } : {}),
    });
  }
  for (const peer of peers) {
    if (peer.relationship !== 'coordinator' || covered.has(peer.teamId)) continue;
    steps.push({
      kind: 'coordinator',
      source: 'our coordinator (peer relationship)',
      team: peer.teamId,
      name: peer.name,
      address: peer.url,
      via: 'node',
      matched: null,
      verified: true,
      fetchedAt: null,
      expiresAt: null,
      status: 'reachable',
      reason: null,
    });
  }
  return steps;
}
