import { TLP_LABELS, type Tlp } from '../../../schemas/common.schema.js';
import { ASSURANCES, TRUST_LEVELS, type Assurance, type TrustLevel } from '../../../schemas/policy.schema.js';

/**
 * Ranks of the ordered vocabularies. The schema lists them lowest first, so the index is the
 * rank; these helpers keep comparisons readable ("at least partner") instead of index arithmetic
 * scattered through the rules.
 */

export const trustRank = (level: TrustLevel): number => TRUST_LEVELS.indexOf(level);

/** true when `level` is `minimum` or higher. */
export const trustAtLeast = (level: TrustLevel, minimum: TrustLevel): boolean => trustRank(level) >= trustRank(minimum);

export const higherTrust = (a: TrustLevel, b: TrustLevel): TrustLevel => (trustRank(a) >= trustRank(b) ? a : b);
export const lowerTrust = (a: TrustLevel, b: TrustLevel): TrustLevel => (trustRank(a) <= trustRank(b) ? a : b);

export const assuranceRank = (a: Assurance): number => ASSURANCES.indexOf(a);

/** TLP labels from least to most restrictive (CLEAR < GREEN < AMBER < AMBER+STRICT < RED). */
export const tlpRank = (label: Tlp): number => TLP_LABELS.indexOf(label);

/** The more restrictive of two labels: a relay may only restrict, never loosen (TLP 2.0). */
export const stricterTlp = (a: Tlp, b: Tlp): Tlp => (tlpRank(a) >= tlpRank(b) ? a : b);
