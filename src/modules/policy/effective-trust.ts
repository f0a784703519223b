import type {
  Assurance,
  EffectiveTrust,
  PeerTrustProfile,
  Relationship,
  TrustGroupPolicy,
  TrustLevel,
} from '../../../schemas/policy.schema.js';
import { higherTrust, lowerTrust, trustRank } from './policy-order.js';

/**
 * A peer's effective trust level (docs/trust-model.md, "Effective trust").
 *
 *   level = min( max(bilateral, relationship floor, group floors), assurance cap )
 *
 * Floors only raise, the cap only lowers, and the cap is applied last: however well a team is
 * connected, we give no more than we can be sure of its key. All of it is pure and explained
 * in words so the peers API and the explain route can show why a team sits where it does.
 */

export interface TrustRules {
  /** The least a relationship is worth. */
  relationshipFloors: Record<Relationship, TrustLevel>;
  /** The most an identity assurance allows. */
  assuranceCaps: Record<Assurance, TrustLevel>;
  /** Group floor for full members when the group does not state one. */
  defaultFullMemberFloor: TrustLevel;
  /** Group floor for liaison members when the group does not state one. */
  defaultLiaisonFloor: TrustLevel;
  /** No group, whatever it states, raises a team above this: `close` is a bilateral decision. */
  groupFloorLimit: TrustLevel;
}

export const DEFAULT_TRUST_RULES: Readonly<TrustRules> = Object.freeze({
  // Our coordinator is told of all activity in its domain (domain §4) under an agreement we
  // entered: partner is what AMBER needs, so need-to-know reporting to it works by default.
  // Members are teams in our domain we warn of related activity: a known, formal relation, but
  // one coordinator serves many members, so more than community is a bilateral decision.
  relationshipFloors: Object.freeze({ coordinator: 'partner', member: 'community', peer: 'unknown' }),
  // unverified: anyone could hold that key, so nothing beyond what anyone may have.
  // introduced: teams we trust vouched for the key (the web of trust): enough for need-to-know
  // sharing, but `close` (internal hosts) waits for our own out-of-band check.
  assuranceCaps: Object.freeze({ unverified: 'unknown', introduced: 'partner', verified: 'close' }),
  // A forum's vetting (domain §1) makes its full members part of the community.
  defaultFullMemberFloor: 'community',
  // A liaison is a contact, not a vetted member: nothing unless the group says otherwise.
  defaultLiaisonFloor: 'unknown',
  groupFloorLimit: 'partner',
}) as Readonly<TrustRules>;

/**
 * The effective trust level of `peer`, given the trust groups we belong to. Memberships in groups
 * we are not in count for nothing: we cannot judge their vetting.
 */
export function effectiveTrust(
  peer: PeerTrustProfile,
  ourGroups: readonly TrustGroupPolicy[],
  rules: Readonly<TrustRules> = DEFAULT_TRUST_RULES,
): EffectiveTrust {
  const reasons: string[] = [`bilateral level set for ${peer.teamId}: ${peer.bilateral}`];
  let floor: TrustLevel = 'unknown';

  const relationshipFloor = rules.relationshipFloors[peer.relationship];
  if (trustRank(relationshipFloor) > 0) {
    reasons.push(`relationship ${peer.relationship} gives at least ${relationshipFloor}`);
  }
  floor = higherTrust(floor, relationshipFloor);

  // Sorted by group id so the reasons (and so the audit record) do not depend on input order.
  const groupsById = new Map(ourGroups.map((g) => [g.group, g]));
  const memberships = [...peer.memberships].sort((a, b) => (a.group < b.group ? -1 : a.group > b.group ? 1 : 0));
  for (const m of memberships) {
    const group = groupsById.get(m.group);
    if (!group) {
      reasons.push(`${m.level} member of ${m.group}, a group we do not belong to: no effect`);
      continue;
    }
    const stated =
      m.level === 'full' ? (group.fullMemberFloor ?? rules.defaultFullMemberFloor) : (group.liaisonFloor ?? rules.defaultLiaisonFloor);
    const groupFloor = lowerTrust(stated, rules.groupFloorLimit);
    if (trustRank(groupFloor) === 0) {
      reasons.push(`${m.level} member of ${m.group}: no effect`);
      continue;
    }
    const limited = groupFloor !== stated ? ` (the group states ${stated}; groups give at most ${rules.groupFloorLimit})` : '';
    reasons.push(`${m.level} member of ${m.group}, a group we belong to: at least ${groupFloor}${limited}`);
    floor = higherTrust(floor, groupFloor);
  }

  const raised = higherTrust(peer.bilateral, floor);
  if (raised !== peer.bilateral) reasons.push(`raised to ${raised} by the floor`);

  const cap = rules.assuranceCaps[peer.assurance];
  const level = lowerTrust(raised, cap);
  if (level !== raised) reasons.push(`capped at ${cap}: key identity is ${peer.assurance}`);
  reasons.push(`effective trust: ${level}`);

  return { level, bilateral: peer.bilateral, floor, cap, reasons };
}
