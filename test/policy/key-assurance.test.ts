import t from 'tap';
import {
  deriveAssurance,
  vouchStanding,
  type AssuranceFacts,
  type VoucherState,
  type VouchFact,
} from '../../src/modules/peers/key-assurance.js';

/** The assurance rule, table-tested (pure: src/modules/peers/key-assurance.ts; docs/trust-model.md §2). */
const KEY = 'A'.repeat(40);
const OLD = 'B'.repeat(40);
const intro = (voucher: string, extra: Partial<VouchFact> = {}): VouchFact => ({
  kind: 'introduction',
  voucher,
  fingerprint: KEY,
  withdrawn: false,
  ...extra,
});
const roster = (forum: string, extra: Partial<VouchFact> = {}): VouchFact => ({ ...intro(forum, extra), kind: 'roster' });

const verifiedActive: VoucherState = { assurance: 'verified', status: 'active' };
const base: AssuranceFacts = {
  assurance: 'unverified',
  fingerprint: KEY,
  keyInDoubt: false,
  vouches: [],
  vouchers: new Map<string, VoucherState>([
    ['bravo', verifiedActive],
    ['delta', verifiedActive],
    ['mallory', { assurance: 'unverified', status: 'active' }],
    ['echo', { assurance: 'introduced', status: 'active' }],
    ['sierra', { assurance: 'verified', status: 'suspended' }],
    ['kilo', { assurance: 'verified', status: 'key-changed' }],
  ]),
  introductionsNeeded: 1,
};

const table: Array<[string, Partial<AssuranceFacts>, string, string[]?]> = [
  ['nothing held', {}, 'unverified'],
  ['one verified, active voucher', { vouches: [intro('bravo')] }, 'introduced', ['bravo']],
  ['verified stays verified without vouches', { assurance: 'verified' }, 'verified'],
  ['verified stays verified with a flagged key', { assurance: 'verified', keyInDoubt: true }, 'verified'],
  ['a stored introduced with nothing behind it falls back', { assurance: 'introduced' }, 'unverified'],
  ['withdrawn', { vouches: [intro('bravo', { withdrawn: true })] }, 'unverified'],
  ['for another key (before a rotation)', { vouches: [intro('bravo', { fingerprint: OLD })] }, 'unverified'],
  ['voucher not verified', { vouches: [intro('mallory')] }, 'unverified'],
  ['voucher only introduced itself: no chains', { vouches: [intro('echo')] }, 'unverified'],
  ['voucher suspended', { vouches: [intro('sierra')] }, 'unverified'],
  ['voucher key-changed', { vouches: [intro('kilo')] }, 'unverified'],
  ['voucher not a peer', { vouches: [intro('zulu')] }, 'unverified'],
  ['subject key in doubt', { keyInDoubt: true, vouches: [intro('bravo'), roster('first')] }, 'unverified'],
  ['two needed, one held', { introductionsNeeded: 2, vouches: [intro('bravo'), intro('mallory')] }, 'unverified'],
  ['two needed, two held', { introductionsNeeded: 2, vouches: [intro('bravo'), intro('delta')] }, 'introduced', ['bravo', 'delta']],
  [
    'one voucher twice (two keys) is one voucher',
    { introductionsNeeded: 2, vouches: [intro('bravo'), intro('bravo', { fingerprint: OLD })] },
    'unverified',
  ],
  ['a roster listing is enough whatever N', { introductionsNeeded: 5, vouches: [roster('first')] }, 'introduced'],
  ['a withdrawn roster listing is not', { vouches: [roster('first', { withdrawn: true })] }, 'unverified'],
  ['a roster listing of another key is not', { vouches: [roster('first', { fingerprint: OLD })] }, 'unverified'],
];

for (const [name, facts, expected, introductions] of table) {
  t.test(name, async (t) => {
    const d = deriveAssurance({ ...base, ...facts });
    t.equal(d.assurance, expected, d.reason);
    if (introductions) t.same(d.introductions, introductions);
    t.ok(d.reason.length > 0, 'says why');
  });
}

t.test('standings say why a vouch does not count', async (t) => {
  t.equal(vouchStanding(intro('bravo', { withdrawn: true, fingerprint: OLD }), base), 'withdrawn');
  t.equal(vouchStanding(intro('bravo', { fingerprint: OLD }), base), 'other-key');
  t.equal(vouchStanding(intro('bravo'), { ...base, keyInDoubt: true }), 'key-in-doubt');
  t.equal(vouchStanding(intro('zulu'), base), 'voucher-not-a-peer');
  t.equal(vouchStanding(intro('mallory'), base), 'voucher-not-verified');
  t.equal(vouchStanding(intro('sierra'), base), 'voucher-not-active');
  t.equal(vouchStanding(roster('first'), base), 'counts');
  t.equal(vouchStanding(intro('bravo'), base), 'counts');
});
