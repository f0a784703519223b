import type { ContactStep, ContactStepKind } from '../../../schemas/contacts.schema.js';

/**
 * The ranking of a route plan, pure (ADR 0019). Those we know first, then those who vouch for
 * themselves, then guesses: our own site's POC; a team whose signed profile declares the scope
 * (the most specific declaration first: a /24 before a /16); our coordinator; then the direct
 * contacts, security.txt (the domain's own statement) > RDAP abuse (the registry's record) > the
 * SOA mailbox (the zone administrator) > RFC 2142 role addresses (unverified guesses). Within a
 * kind the source's own order stands (security.txt lists its Contact fields by preference).
 * Unreachable steps follow every reachable one, in the same order: they say what was tried.
 */
export type UnrankedStep = Omit<ContactStep, 'rank'> & {
  /** How specific the matching declaration is (prefix length, domain labels); higher first. */
  specificity?: number;
};

const TIER: Record<ContactStepKind, number> = {
  'site-poc': 0,
  peer: 1,
  'forum-member': 1,
  coordinator: 2,
  'security-txt': 3,
  'rdap-abuse': 4,
  'soa-mailbox': 5,
  rfc2142: 6,
};

export function rankSteps(steps: UnrankedStep[]): ContactStep[] {
  const indexed = steps.map((step, index) => ({ step, index }));
  indexed.sort((a, b) => {
    const reach = Number(a.step.status === 'unreachable') - Number(b.step.status === 'unreachable');
    if (reach !== 0) return reach;
    const tier = TIER[a.step.kind] - TIER[b.step.kind];
    if (tier !== 0) return tier;
    const specific = (b.step.specificity ?? 0) - (a.step.specificity ?? 0);
    if (specific !== 0) return specific;
    // A team we exchange with directly before one we know through a forum, at equal specificity.
    const direct = Number(a.step.kind === 'forum-member') - Number(b.step.kind === 'forum-member');
    return direct !== 0 ? direct : a.index - b.index;
  });
  return indexed.map(({ step }, i) => {
    const { specificity: _specificity, ...rest } = step;
    return { rank: i + 1, ...rest };
  });
}
