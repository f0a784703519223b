import type { DbOrTx } from '../../db/database.js';
import type { Incident } from '../../../schemas/incident.schema.js';
import type { PolicyRecipient, TrustLevel } from '../../../schemas/policy.schema.js';
import type { RecipientBlock, RecipientTrust } from '../../../schemas/sharing.schema.js';
import type { PeerDirectory } from '../peers/peers.module.js';
import { effectiveTrust, type TrustRules } from '../policy/index.js';
import { findSiteByAddress, findSiteByDomain, findSiteById, type SiteRecord } from '../sites/sites.module.js';
import { domainSuffixes, parseAddress } from '../sites/sites.module.js';
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
    if (parsed && (await findSiteByAddress(dbOrTx, parsed.address, parsed.family))?.site.id === site.id) return true;
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
      involved: await siteInvolved(dbOrTx, site, incident),
    };
  };
}
