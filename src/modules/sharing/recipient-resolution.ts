import type { DbOrTx } from '../../db/database.js';
import type { Incident } from '../../../schemas/incident.schema.js';
import type { PolicyRecipient, TrustLevel } from '../../../schemas/policy.schema.js';
import type { RecipientBlock, RecipientTrust } from '../../../schemas/sharing.schema.js';
import type { PeerDirectory } from '../peers/peers.module.js';
import { effectiveTrust, type TrustRules } from '../policy/index.js';
import { findSiteByAddress, findSiteByDomain, findSiteById, findSitesByIds, type SiteRecord } from '../sites/sites.module.js';
import {
  canonicalDomain,
  domainSuffixes,
  parseAddress,
  siteIdsByAddress,
  siteIdsByName,
  type SiteLookupMemo,
} from '../sites/sites.module.js';
import { trustInputsOf } from './peer-trust.js';
import type { OutsideKind, ResolvedRecipient, SharingRecipient } from './sharing.service.js';

/**
 * Who a recipient is, for the sharing policy: a peer team with its effective trust and the
 * inputs behind it, or one of our own constituency's sites (and whether the incident involves
 * it); blocked when we do not exchange with it (unknown, suspended, key changed).
 */
export interface Resolved {
  recipient: ResolvedRecipient;
  policyRecipient: PolicyRecipient;
  trust: RecipientTrust;
  blockedBy: RecipientBlock[];
  involved: boolean;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Is any host of the incident in this site's scope (the most specific registered owner)? */
async function siteInvolved(dbOrTx: DbOrTx, site: SiteRecord, incident: Incident): Promise<boolean> {
  for (const host of incident.hosts) {
    const parsed = host.ip ? parseAddress(host.ip) : null;
    if (parsed && (await findSiteByAddress(dbOrTx, parsed.address))?.site.id === site.id) return true;
    if (host.hostname && (await findSiteByDomain(dbOrTx, domainSuffixes(host.hostname)))?.site.id === site.id) return true;
  }
  return false;
}

/**
 * An outside recipient (ADR 0023): no peer record, no relationship. A law-enforcement agency
 * has the node's trust for it (what an approval then lets through); the press is the public.
 */
function outsideRecipient(target: { outside: OutsideKind; id: string }, lawEnforcementTrust: TrustLevel): Resolved {
  const { id, outside } = target;
  const level: TrustLevel = outside === 'press' ? 'unknown' : lawEnforcementTrust;
  const reason =
    outside === 'press'
      ? `${id} is the press: the public, unknown`
      : `${id} is a law-enforcement agency: ${level} (node setting), and only with a handler's approval`;
  return {
    recipient: { id, kind: outside, name: null, relationship: null, status: null, peer: null, site: null },
    policyRecipient: { id, kind: 'external', trust: level },
    trust: { level, reasons: [reason] },
    blockedBy: [],
    involved: false,
  };
}

export function createRecipientResolver(deps: {
  peers: Pick<PeerDirectory, 'find'>;
  rules: TrustRules;
  siteTrust: TrustLevel;
  lawEnforcementTrust: TrustLevel;
}) {
  const { peers, rules, siteTrust, lawEnforcementTrust } = deps;
  return async function resolve(dbOrTx: DbOrTx, incident: Incident, target: SharingRecipient): Promise<Resolved> {
    if ('outside' in target) return outsideRecipient(target, lawEnforcementTrust);
    if ('teamId' in target) {
      const id = target.teamId;
      const peer = await peers.find(dbOrTx, id);
      if (!peer) {
        return {
          recipient: { id, kind: 'team', name: null, relationship: null, status: null, peer: null, site: null },
          policyRecipient: { id, kind: 'team', trust: 'unknown' },
          trust: { level: 'unknown', reasons: [`${id} is not a peer of ours: unknown`] },
          blockedBy: ['recipient-unknown'],
          involved: false,
        };
      }
      const inputs = await trustInputsOf(dbOrTx, peer);
      const computed = effectiveTrust(inputs.peer, inputs.ourGroups, rules);
      const blockedBy: RecipientBlock[] =
        peer.status === 'suspended' ? ['peer-suspended'] : peer.status === 'key-changed' ? ['peer-key-changed'] : [];
      return {
        recipient: {
          id,
          kind: 'team',
          name: peer.name,
          relationship: peer.relationship,
          status: peer.status,
          peer,
          site: null,
        },
        // The trust inputs, not just the level: the decision then explains the level in its reasons.
        policyRecipient: { id, kind: 'team', relationship: peer.relationship, trust: inputs },
        trust: {
          level: computed.level,
          reasons: computed.reasons,
          bilateral: computed.bilateral,
          floor: computed.floor,
          cap: computed.cap,
        },
        blockedBy,
        involved: false,
      };
    }
    const id = target.siteId;
    const site = UUID.test(id) ? await findSiteById(dbOrTx, id.toLowerCase()) : null;
    return siteRecipient(id, site, siteTrust, site ? await siteInvolved(dbOrTx, site, incident) : false);
  };
}

/** A site of our constituency as a recipient (or an unknown one), its involvement found by the caller. */
function siteRecipient(id: string, site: SiteRecord | null, siteTrust: TrustLevel, involved: boolean): Resolved {
  const trust: RecipientTrust = {
    level: siteTrust,
    reasons: [`${id} is one of our own constituency's sites: ${siteTrust} (node setting)`],
  };
  if (!site) {
    return {
      recipient: { id, kind: 'site', name: null, relationship: null, status: null, peer: null, site: null },
      policyRecipient: { id, kind: 'site', trust: 'unknown' },
      trust: { level: 'unknown', reasons: [`${id} is not a site of our constituency: unknown`] },
      blockedBy: ['recipient-unknown'],
      involved: false,
    };
  }
  return {
    recipient: { id: site.id, kind: 'site', name: site.name, relationship: null, status: null, peer: null, site },
    policyRecipient: { id: site.id, kind: 'site', trust: siteTrust },
    trust,
    blockedBy: [],
    involved,
  };
}

const canonicalOrNull = (name: string): string | null => {
  try {
    return canonicalDomain(name);
  } catch {
    return null; // not a domain name: it belongs to no site
  }
};

/**
 * The sites of many (incident, site) pairs resolved at once (a campaign's proposals): the sites
 * read in one statement and every host's owner looked up in bulk, by the same longest-match
 * rules as siteInvolved's one look-up per host, so each pair resolves as `resolve` would.
 */
export async function resolveSites(
  dbOrTx: DbOrTx,
  pairs: ReadonlyArray<{ incident: Incident; siteId: string }>,
  siteTrust: TrustLevel,
  memo?: SiteLookupMemo,
): Promise<Resolved[]> {
  const ids = [...new Set(pairs.flatMap((p) => (UUID.test(p.siteId) ? [p.siteId.toLowerCase()] : [])))];
  const sites = new Map((await findSitesByIds(dbOrTx, ids)).map((site) => [site.id, site] as const));
  const addresses = new Set<string>();
  const names = new Set<string>();
  for (const { incident } of pairs)
    for (const host of incident.hosts) {
      const parsed = host.ip ? parseAddress(host.ip) : null;
      if (parsed) addresses.add(parsed.address);
      const name = host.hostname ? canonicalOrNull(host.hostname) : null;
      if (name) names.add(name);
    }
  const [byAddress, byName] = await Promise.all([
    addresses.size ? siteIdsByAddress(dbOrTx, [...addresses], memo) : new Map<string, string>(),
    names.size ? siteIdsByName(dbOrTx, [...names], memo) : new Map<string, string>(),
  ]);
  return pairs.map(({ incident, siteId }) => {
    const site = UUID.test(siteId) ? (sites.get(siteId.toLowerCase()) ?? null) : null;
    const involved =
      site !== null &&
      incident.hosts.some((host) => {
        const parsed = host.ip ? parseAddress(host.ip) : null;
        if (parsed && byAddress.get(parsed.address) === site.id) return true;
        const name = host.hostname ? canonicalOrNull(host.hostname) : null;
        return name !== null && byName.get(name) === site.id;
      });
    return siteRecipient(siteId, site, siteTrust, involved);
  });
}
