import type { DbOrTx } from '../../db/database.js';
import type { EffectiveTrust, PeerTrustProfile, TrustInputs } from '../../../schemas/policy.schema.js';
import type { PeerRecord } from '../peers/peers.module.js';
import { membershipsOf, ourGroupPolicies } from '../groups/groups.module.js';
import { DEFAULT_TRUST_RULES, effectiveTrust, type TrustRules } from '../policy/index.js';

/**
 * A peer's trust inputs as the policy takes them: its record (relationship, bilateral level,
 * key assurance) plus its trust-group memberships, and the groups we belong to. The policy's
 * `effectiveTrust` does the rest (docs/trust-model.md §2).
 */
export async function trustInputsOf(db: DbOrTx, peer: PeerRecord): Promise<TrustInputs> {
  // One after the other: inside a transaction both run on its one connection anyway.
  const memberships = await membershipsOf(db, peer.teamId);
  const ourGroups = await ourGroupPolicies(db);
  return trustInputsFrom(peer, memberships, ourGroups);
}

/** The trust inputs from facts already read (for many peers at once, each read once). */
export function trustInputsFrom(
  peer: PeerRecord,
  memberships: TrustInputs['peer']['memberships'],
  ourGroups: TrustInputs['ourGroups'],
): TrustInputs {
  const profile: PeerTrustProfile = {
    teamId: peer.teamId,
    relationship: peer.relationship,
    assurance: peer.assurance,
    bilateral: peer.trustLevel,
    memberships,
  };
  return { peer: profile, ourGroups };
}

/**
 * The effective trust level of a peer, with the reasons in words. Pure apart from reading the
 * groups; whether we exchange with the peer at all (its status) is a separate question the
 * sharing service asks.
 */
export async function effectiveTrustOf(
  db: DbOrTx,
  peer: PeerRecord,
  rules: Readonly<TrustRules> = DEFAULT_TRUST_RULES,
): Promise<EffectiveTrust> {
  const inputs = await trustInputsOf(db, peer);
  return effectiveTrust(inputs.peer, inputs.ourGroups, rules);
}
