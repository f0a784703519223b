import t from 'tap';
import type { PeerTrustProfile, TrustGroupPolicy } from '../../schemas/policy.schema.js';
import { DEFAULT_TRUST_RULES, effectiveTrust } from '../../src/modules/policy/effective-trust.js';

const peer = (over: Partial<PeerTrustProfile> = {}): PeerTrustProfile => ({
  teamId: 'bravo',
  relationship: 'peer',
  assurance: 'verified',
  bilateral: 'unknown',
  memberships: [],
  ...over,
});
const FIRST: TrustGroupPolicy = { group: 'first', ourLevel: 'full' };

t.test('the bilateral level stands when nothing raises or caps it', async (t) => {
  for (const level of ['unknown', 'community', 'partner', 'close'] as const) {
    const got = effectiveTrust(peer({ bilateral: level }), []);
    t.equal(got.level, level);
    t.equal(got.bilateral, level);
  }
  t.match(effectiveTrust(peer({ bilateral: 'partner' }), []).reasons.join('\n'), /bilateral level set for bravo: partner/);
});

t.test('a full member of a group we belong to is at least community', async (t) => {
  const got = effectiveTrust(peer({ memberships: [{ group: 'first', level: 'full' }] }), [FIRST]);
  t.equal(got.level, 'community');
  t.equal(got.floor, 'community');
  t.match(got.reasons.join('\n'), /full member of first, a group we belong to: at least community/);
  // A floor never lowers: a partner stays a partner.
  t.equal(effectiveTrust(peer({ bilateral: 'partner', memberships: [{ group: 'first', level: 'full' }] }), [FIRST]).level, 'partner');
});

t.test('groups we are not in, and liaison memberships, give nothing unless the group says so', async (t) => {
  t.equal(effectiveTrust(peer({ memberships: [{ group: 'other-forum', level: 'full' }] }), [FIRST]).level, 'unknown');
  t.match(
    effectiveTrust(peer({ memberships: [{ group: 'other-forum', level: 'full' }] }), [FIRST]).reasons.join('\n'),
    /do not belong to: no effect/,
  );
  t.equal(effectiveTrust(peer({ memberships: [{ group: 'first', level: 'liaison' }] }), [FIRST]).level, 'unknown');
  const generous: TrustGroupPolicy = { group: 'first', ourLevel: 'full', liaisonFloor: 'community' };
  t.equal(effectiveTrust(peer({ memberships: [{ group: 'first', level: 'liaison' }] }), [generous]).level, 'community');
});

t.test('a group floor never exceeds partner: close is a bilateral decision', async (t) => {
  const national: TrustGroupPolicy = { group: 'national', ourLevel: 'full', fullMemberFloor: 'close' };
  const got = effectiveTrust(peer({ memberships: [{ group: 'national', level: 'full' }] }), [national]);
  t.equal(got.level, 'partner');
  t.match(got.reasons.join('\n'), /the group states close; groups give at most partner/);
  const sector: TrustGroupPolicy = { group: 'sector', ourLevel: 'liaison', fullMemberFloor: 'partner' };
  t.equal(effectiveTrust(peer({ memberships: [{ group: 'sector', level: 'full' }] }), [sector]).level, 'partner');
});

t.test('relationship floors: our coordinator is at least partner, our member at least community', async (t) => {
  t.equal(effectiveTrust(peer({ relationship: 'coordinator' }), []).level, 'partner');
  t.equal(effectiveTrust(peer({ relationship: 'member' }), []).level, 'community');
  t.equal(effectiveTrust(peer({ relationship: 'peer' }), []).level, 'unknown');
  t.equal(effectiveTrust(peer({ relationship: 'coordinator', bilateral: 'close' }), []).level, 'close');
});

t.test('assurance caps: unverified at unknown, introduced at partner, verified uncapped', async (t) => {
  const close = { bilateral: 'close' as const };
  t.equal(effectiveTrust(peer({ ...close, assurance: 'unverified' }), []).level, 'unknown');
  t.equal(effectiveTrust(peer({ ...close, assurance: 'introduced' }), []).level, 'partner');
  t.equal(effectiveTrust(peer({ ...close, assurance: 'verified' }), []).level, 'close');
  const capped = effectiveTrust(peer({ ...close, assurance: 'unverified' }), []);
  t.equal(capped.cap, 'unknown');
  t.match(capped.reasons.join('\n'), /capped at unknown: key identity is unverified/);
});

t.test('the cap is applied after the floors: an unverified coordinator or forum member gets nothing', async (t) => {
  t.equal(effectiveTrust(peer({ relationship: 'coordinator', assurance: 'unverified' }), []).level, 'unknown');
  t.equal(effectiveTrust(peer({ assurance: 'unverified', memberships: [{ group: 'first', level: 'full' }] }), [FIRST]).level, 'unknown');
  t.equal(effectiveTrust(peer({ relationship: 'coordinator', assurance: 'introduced' }), []).level, 'partner');
});

t.test('rules can be changed by configuration', async (t) => {
  const strict = {
    ...DEFAULT_TRUST_RULES,
    assuranceCaps: { unverified: 'unknown', introduced: 'community', verified: 'close' },
  } as const;
  t.equal(effectiveTrust(peer({ bilateral: 'close', assurance: 'introduced' }), [], strict).level, 'community');
});

t.test('the result and its reasons do not depend on the order of memberships', async (t) => {
  const groups: TrustGroupPolicy[] = [FIRST, { group: 'national', ourLevel: 'full', fullMemberFloor: 'partner' }];
  const a = effectiveTrust(
    peer({
      memberships: [
        { group: 'first', level: 'full' },
        { group: 'national', level: 'full' },
      ],
    }),
    groups,
  );
  const b = effectiveTrust(
    peer({
      memberships: [
        { group: 'national', level: 'full' },
        { group: 'first', level: 'full' },
      ],
    }),
    [...groups].reverse(),
  );
  t.same(a, b);
  t.equal(a.level, 'partner');
});
