import type { PeerAssurance, PeerStatus } from './peer-directory.js';

/**
 * How sure we are that a peer's pinned key is the team's (docs/trust-model.md §1, "identity
 * assurance"), derived from what we hold. Pure: the peers module reads the facts and stores the
 * answer on the peer row (the policy reads it there), in the transaction of every change that can
 * move it (key-vouch.service.ts).
 *
 * - `verified`: a handler confirmed the fingerprint out of band. A human check beats any vouch,
 *   so a verified peer stays verified whatever is vouched or withdrawn.
 * - `introduced`: for the key pinned NOW, at least one roster vouch that is not withdrawn (a
 *   forum's signed roster lists it), or at least `introductionsNeeded` introductions that are not
 *   withdrawn, each by a peer of ours that is `verified` and `active`. A vouch for another key
 *   (the key before a rotation, a stale or hostile introduction) does not count, and none counts
 *   while a key change is flagged for the peer (which key is theirs is in doubt until a human
 *   looks).
 * - `unverified` otherwise.
 */

export const VOUCH_KINDS = ['introduction', 'roster'] as const;
export type VouchKind = (typeof VOUCH_KINDS)[number];

/** One statement that a key is the subject's, as far as the rule needs it. */
export interface VouchFact {
  kind: VouchKind;
  /** The introducing team, or for a roster the forum. */
  voucher: string;
  fingerprint: string;
  withdrawn: boolean;
}

/** A voucher as a peer of ours. */
export interface VoucherState {
  assurance: PeerAssurance;
  status: PeerStatus;
}

export interface AssuranceFacts {
  /** The stored assurance; only `verified` (a human's) is kept as is. */
  assurance: PeerAssurance;
  /** The key pinned for the subject now. */
  fingerprint: string;
  /** A key change is flagged for the subject (status key-changed, or remembered while suspended). */
  keyInDoubt: boolean;
  vouches: readonly VouchFact[];
  /** The introducing teams that are peers of ours, by team id; a voucher absent here is not a peer. */
  vouchers: ReadonlyMap<string, VoucherState>;
  /** HIKESHI_INTRODUCTIONS_NEEDED, at least 1. */
  introductionsNeeded: number;
}

/** Why a vouch counts or not, as GET /api/v1/peers/{teamId}/vouches shows it. */
export type VouchStanding =
  'counts' | 'withdrawn' | 'other-key' | 'key-in-doubt' | 'voucher-not-a-peer' | 'voucher-not-verified' | 'voucher-not-active';

export interface AssuranceDerivation {
  assurance: PeerAssurance;
  /** Forums whose roster vouch counts, by id. */
  roster: string[];
  /** Teams whose introduction counts, by team id. */
  introductions: string[];
  needed: number;
  /** The answer in words (audited with every change). */
  reason: string;
}

export function vouchStanding(vouch: VouchFact, facts: Pick<AssuranceFacts, 'fingerprint' | 'keyInDoubt' | 'vouchers'>): VouchStanding {
  if (vouch.withdrawn) return 'withdrawn';
  if (vouch.fingerprint !== facts.fingerprint) return 'other-key';
  if (facts.keyInDoubt) return 'key-in-doubt';
  // A forum's roster is checked against its operator's key by the forum module before it vouches.
  if (vouch.kind === 'roster') return 'counts';
  const voucher = facts.vouchers.get(vouch.voucher);
  if (!voucher) return 'voucher-not-a-peer';
  if (voucher.assurance !== 'verified') return 'voucher-not-verified';
  if (voucher.status !== 'active') return 'voucher-not-active';
  return 'counts';
}

export function deriveAssurance(facts: AssuranceFacts): AssuranceDerivation {
  const needed = Math.max(1, Math.floor(facts.introductionsNeeded));
  const counting = facts.vouches.filter((v) => vouchStanding(v, facts) === 'counts');
  const roster = [...new Set(counting.filter((v) => v.kind === 'roster').map((v) => v.voucher))].sort();
  const introductions = [...new Set(counting.filter((v) => v.kind === 'introduction').map((v) => v.voucher))].sort();
  const base = { roster, introductions, needed };
  if (facts.assurance === 'verified') {
    return { ...base, assurance: 'verified', reason: 'the fingerprint was confirmed out of band; vouches do not change that' };
  }
  if (roster.length > 0) {
    return { ...base, assurance: 'introduced', reason: `the key is listed in the signed roster of ${roster.join(', ')}` };
  }
  if (introductions.length >= needed) {
    return {
      ...base,
      assurance: 'introduced',
      reason: `introduced by ${introductions.join(', ')} (verified, active peers; ${needed} needed)`,
    };
  }
  const held = introductions.length === 0 ? 'no introduction' : `${introductions.length} introduction(s)`;
  return {
    ...base,
    assurance: 'unverified',
    reason: facts.keyInDoubt
      ? 'a key change is flagged: no vouch counts until a handler verifies the key'
      : `${held} of the pinned key by verified, active peers (${needed} needed) and no forum roster lists it`,
  };
}
