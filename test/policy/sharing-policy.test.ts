import t from 'tap';
import type { Tlp } from '../../schemas/common.schema.js';
import type { PolicyItem, PolicyRecipient, Provenance, TrustLevel } from '../../schemas/policy.schema.js';
import { decide, POLICY_VERSION, policyVersionOf } from '../../src/modules/policy/sharing-policy.js';
import { DEFAULT_TRUST_RULES } from '../../src/modules/policy/effective-trust.js';

const ALL = ['reporter', 'poc', 'victims', 'evidence', 'internalHosts'] as const;
const own = (tlp: Tlp, extra: Partial<PolicyItem> = {}): PolicyItem => ({
  ourTeamId: 'alpha',
  tlp,
  sections: [...ALL],
  ...extra,
});
const team = (id: string, trust: TrustLevel, relationship: 'peer' | 'coordinator' | 'member' = 'peer'): PolicyRecipient => ({
  id,
  kind: 'team',
  relationship,
  trust,
});
const site = (id: string, trust: TrustLevel = 'partner'): PolicyRecipient => ({ id, kind: 'site', trust });
const receivedFrom = (originator: string, tlp: Tlp, extra: Partial<Provenance> = {}): Provenance => ({
  originator,
  originatorTlp: tlp,
  receivedFrom: originator,
  chain: [{ team: originator, tlp }],
  ...extra,
});
const sections = (d: ReturnType<typeof decide>) => d.redactions.map((r) => r.section);

t.test('sections below their minimum are redacted with a reason, per level', async (t) => {
  const item = own('GREEN');
  t.same(sections(decide(item, team('bravo', 'community'), 'direct')), ['reporter', 'victims', 'evidence', 'internalHosts']);
  t.same(sections(decide(item, team('bravo', 'partner'), 'direct')), ['internalHosts']);
  t.same(sections(decide(item, team('bravo', 'close'), 'direct')), []);
  const r = decide(item, team('bravo', 'community'), 'direct').redactions.find((x) => x.section === 'evidence');
  t.equal(r?.requiredLevel, 'partner');
  t.match(r?.reason, /evidence needs trust partner; bravo has community/);
  // Only sections present in the incident are listed.
  t.same(sections(decide(own('GREEN', { sections: ['reporter'] }), team('bravo', 'community'), 'direct')), ['reporter']);
});

t.test('per-incident section minimums override the defaults, both ways', async (t) => {
  const raised = own('GREEN', { sectionMinimums: { evidence: 'close' } });
  const d = decide(raised, team('bravo', 'partner'), 'direct');
  t.same(sections(d), ['evidence', 'internalHosts']);
  t.match(d.redactions[0]?.reason, /\(set on this incident\)/);
  const lowered = own('GREEN', { sectionMinimums: { evidence: 'community', internalHosts: 'community' } });
  t.same(sections(decide(lowered, team('bravo', 'community'), 'direct')), ['reporter', 'victims']);
});

t.test('node configuration changes the defaults and the policy version says so', async (t) => {
  const config = { sectionMinimums: { reporter: 'close' as const } };
  const d = decide(own('GREEN'), team('bravo', 'partner'), 'direct', { config });
  t.same(sections(d), ['reporter', 'internalHosts']);
  t.match(d.policyVersion, new RegExp(`^${POLICY_VERSION.replace('/', '\\/')}\\+cfg\\.[0-9a-f]{8}$`));
  t.equal(decide(own('GREEN'), team('bravo', 'partner'), 'direct').policyVersion, POLICY_VERSION);
  // Restating the defaults is not a change.
  t.equal(policyVersionOf({ sectionMinimums: { reporter: 'partner' }, trustRules: DEFAULT_TRUST_RULES }), POLICY_VERSION);
  t.not(policyVersionOf({ sectionMinimums: { reporter: 'close' } }), policyVersionOf({ sectionMinimums: { poc: 'close' } }));
  // The incident still wins over the configuration.
  t.same(
    sections(
      decide(own('GREEN', { sectionMinimums: { reporter: 'community' } }), team('bravo', 'partner'), 'direct', {
        config,
      }),
    ),
    ['internalHosts'],
  );
});

t.test('TLP:RED reaches only the recipients a handler named, and never a feed or broadcast', async (t) => {
  const item = own('RED', { redRecipients: ['bravo'], chosenRecipients: ['bravo', 'charlie'] });
  const named = decide(item, team('bravo', 'partner'), 'direct');
  t.ok(named.allow);
  t.equal(named.mayRedistribute, false, 'RED is never passed on');
  const other = decide(item, team('charlie', 'close'), 'direct');
  t.notOk(other.allow);
  t.same(other.deniedBy, ['red-not-named']);
  for (const purpose of ['pull-feed', 'broadcast', 'relay', 'press'] as const) {
    const d = decide(item, team('bravo', 'close'), purpose);
    t.notOk(d.allow, purpose);
    t.ok(d.deniedBy.includes('red-channel'), purpose);
  }
  const feed = decide(own('RED', { redRecipients: ['cc'] }), team('cc', 'close', 'coordinator'), 'coordinator-feed');
  t.notOk(feed.allow);
  t.ok(feed.deniedBy.includes('red-channel'));
  // Naming does not replace trust: an unknown key may not be who we named.
  t.same(decide(item, team('bravo', 'unknown'), 'direct').deniedBy, ['tlp-trust']);
});

t.test('TLP:AMBER+STRICT: allowed on need-to-know, and the recipient may not pass it on', async (t) => {
  const d = decide(own('AMBER+STRICT', { chosenRecipients: ['bravo'] }), team('bravo', 'partner'), 'direct');
  t.ok(d.allow);
  t.equal(d.mayRedistribute, false);
  t.equal(d.tlp, 'AMBER+STRICT');
  const amber = decide(own('AMBER', { chosenRecipients: ['bravo'] }), team('bravo', 'partner'), 'direct');
  t.equal(amber.mayRedistribute, true, "AMBER may go on to the recipient's own constituency");
  const noNeed = decide(own('AMBER+STRICT'), team('bravo', 'close'), 'direct');
  t.same(noNeed.deniedBy, ['tlp-need-to-know']);
});

t.test('received AMBER may reach our own constituency sites, not other teams', async (t) => {
  const item = own('AMBER', { chosenRecipients: ['site-1', 'bravo'], provenance: receivedFrom('charlie', 'AMBER') });
  const toSite = decide(item, site('site-1'), 'direct');
  t.ok(toSite.allow, toSite.reasons.join('\n'));
  const toTeam = decide(item, team('bravo', 'close'), 'direct');
  t.notOk(toTeam.allow);
  t.same(toTeam.deniedBy, ['provenance-constituency-only']);
  // A site still needs a need to know and the trust AMBER asks for.
  t.same(decide(own('AMBER', { provenance: receivedFrom('charlie', 'AMBER') }), site('site-2'), 'direct').deniedBy, ['tlp-need-to-know']);
  // An outside body is not our constituency either.
  const le = decide(item, { id: 'site-1', kind: 'external', trust: 'close' }, 'direct');
  t.same(le.deniedBy, ['provenance-constituency-only']);
});

t.test('received AMBER+STRICT and RED go nowhere, whoever asks', async (t) => {
  for (const tlp of ['AMBER+STRICT', 'RED'] as const) {
    const item = own(tlp, {
      chosenRecipients: ['site-1', 'bravo'],
      redRecipients: ['site-1', 'bravo'],
      provenance: receivedFrom('charlie', tlp, { relayRequestedTo: ['bravo'] }),
    });
    for (const [recipient, purpose] of [
      [site('site-1', 'close'), 'direct'],
      [team('bravo', 'close'), 'direct'],
      [team('bravo', 'close'), 'relay'],
    ] as const) {
      const d = decide(item, recipient, purpose);
      t.notOk(d.allow, `${tlp} ${recipient.id} ${purpose}`);
      t.ok(d.deniedBy.includes('provenance-no-further'), `${tlp} ${purpose}: ${d.deniedBy.join(',')}`);
    }
  }
});

t.test("the originator's own limit binds even when its label is loose", async (t) => {
  const base = { chosenRecipients: ['bravo', 'site-1'] };
  const noFurther = own('GREEN', { ...base, provenance: receivedFrom('charlie', 'GREEN', { limit: 'no-further' }) });
  t.same(decide(noFurther, team('bravo', 'close'), 'direct').deniedBy, ['provenance-no-further']);
  t.match(decide(noFurther, team('bravo', 'close'), 'direct').reasons.join('\n'), /the originator said so/);
  const constituency = own('GREEN', {
    ...base,
    provenance: receivedFrom('charlie', 'GREEN', { limit: 'constituency' }),
  });
  t.same(decide(constituency, team('bravo', 'close'), 'direct').deniedBy, ['provenance-constituency-only']);
  t.ok(decide(constituency, site('site-1'), 'direct').allow);
});

t.test('the strictest label along the chain applies: a relay may restrict, never loosen', async (t) => {
  // Our copy says GREEN, but the originator said AMBER.
  const loosened = own('GREEN', { chosenRecipients: ['site-1'], provenance: receivedFrom('charlie', 'AMBER') });
  const d = decide(loosened, site('site-1'), 'direct');
  t.equal(d.tlp, 'AMBER');
  t.match(d.reasons.join('\n'), /received as TLP:AMBER; the stricter label applies/);
  t.same(decide(own('GREEN', { provenance: receivedFrom('charlie', 'AMBER') }), team('bravo', 'close'), 'direct').deniedBy, [
    'provenance-constituency-only',
    'tlp-need-to-know',
  ]);
  // A hop in the middle that loosened the label does not loosen it for us.
  const chain: Provenance = {
    originator: 'charlie',
    originatorTlp: 'AMBER+STRICT',
    receivedFrom: 'delta',
    chain: [
      { team: 'charlie', tlp: 'AMBER+STRICT' },
      { team: 'delta', tlp: 'GREEN' },
    ],
  };
  const relayed = decide(own('GREEN', { provenance: chain }), team('bravo', 'close'), 'direct');
  t.equal(relayed.tlp, 'AMBER+STRICT');
  t.ok(relayed.deniedBy.includes('provenance-no-further'));
});

t.test('a malformed provenance chain is refused', async (t) => {
  const bad: Provenance = {
    originator: 'charlie',
    originatorTlp: 'GREEN',
    receivedFrom: 'delta',
    chain: [{ team: 'charlie', tlp: 'GREEN' }],
  };
  t.ok(decide(own('GREEN', { provenance: bad }), team('bravo', 'close'), 'direct').deniedBy.includes('provenance-invalid'));
  const empty = { ...receivedFrom('charlie', 'GREEN'), chain: [] };
  t.ok(decide(own('GREEN', { provenance: empty }), team('bravo', 'close'), 'direct').deniedBy.includes('provenance-invalid'));
});

t.test('the provenance chain grows by exactly our hop', async (t) => {
  const mine = decide(own('GREEN'), team('bravo', 'partner'), 'direct');
  t.same(mine.provenance, [{ team: 'alpha', tlp: 'GREEN' }]);
  const chain: Provenance = {
    originator: 'charlie',
    originatorTlp: 'GREEN',
    receivedFrom: 'delta',
    chain: [
      { team: 'charlie', tlp: 'GREEN', at: '2026-11-20T00:00:00.000Z' },
      { team: 'delta', tlp: 'GREEN' },
    ],
  };
  const item = own('GREEN', { provenance: chain });
  const d = decide(item, team('bravo', 'partner'), 'direct', { now: '2026-11-21T09:00:00+09:00' });
  t.same(d.provenance, [...chain.chain, { team: 'alpha', tlp: 'GREEN', at: '2026-11-21T00:00:00.000Z' }]);
  // The returned chain is a copy: changing it does not change the item.
  d.provenance![0]!.team = 'mallory';
  t.equal(chain.chain[0]!.team, 'charlie');
  t.equal(chain.chain.length, 2);
  t.equal(decide(item, team('bravo', 'unknown'), 'direct').provenance, null, 'a deny sends nothing, so no chain');
});

t.test('replies go back along the chain, even for RED', async (t) => {
  const item = own('RED', { provenance: receivedFrom('charlie', 'RED') });
  const reply = decide(item, team('charlie', 'partner'), 'direct');
  t.ok(reply.allow, reply.reasons.join('\n'));
  t.match(reply.reasons.join('\n'), /in the provenance chain: sending it back is not a redistribution/);
  t.same(reply.provenance, [
    { team: 'charlie', tlp: 'RED' },
    { team: 'alpha', tlp: 'RED' },
  ]);
  t.same(decide(item, team('charlie', 'partner'), 'pull-feed').deniedBy, ['red-channel']);
  t.same(decide(own('AMBER', { provenance: receivedFrom('charlie', 'AMBER') }), team('charlie', 'partner'), 'pull-feed').deniedBy, []);
});

t.test('relay: only reports received, only where the originator asked', async (t) => {
  t.same(decide(own('GREEN', { chosenRecipients: ['bravo'] }), team('bravo', 'close'), 'relay').deniedBy, ['relay-own-incident']);
  const notAsked = own('AMBER', { provenance: receivedFrom('charlie', 'AMBER', { relayRequestedTo: ['delta'] }) });
  t.ok(decide(notAsked, team('bravo', 'close'), 'relay').deniedBy.includes('relay-not-requested'));
  const asked = own('AMBER', { provenance: receivedFrom('charlie', 'AMBER', { relayRequestedTo: ['bravo'] }) });
  const d = decide(asked, team('bravo', 'partner'), 'relay');
  t.ok(d.allow, d.reasons.join('\n'));
  t.same(d.provenance, [
    { team: 'charlie', tlp: 'AMBER' },
    { team: 'alpha', tlp: 'AMBER' },
  ]);
  // The request is for a relay, not for our own direct notification.
  t.same(decide(asked, team('bravo', 'partner'), 'direct').deniedBy, ['provenance-constituency-only', 'tlp-need-to-know']);
  t.same(decide(asked, team('bravo', 'community'), 'relay').deniedBy, ['tlp-trust']);
});

t.test('law enforcement: only with an approval for that recipient and a recorded legal basis', async (t) => {
  const police = { id: 'npa', kind: 'external' as const, trust: 'partner' as const };
  t.same(decide(own('AMBER'), police, 'law-enforcement').deniedBy, ['law-enforcement-not-approved', 'tlp-need-to-know']);
  t.same(decide(own('CLEAR'), police, 'law-enforcement').deniedBy, ['law-enforcement-not-approved'], 'even CLEAR needs an approval');
  const noBasis = own('AMBER', {
    lawEnforcementApprovals: [{ recipient: 'npa', approvedBy: 'handler-1', legalBasis: '   ' }],
  });
  t.ok(decide(noBasis, police, 'law-enforcement').deniedBy.includes('law-enforcement-not-approved'));
  const otherRecipient = own('AMBER', {
    lawEnforcementApprovals: [{ recipient: 'fbi', approvedBy: 'handler-1', legalBasis: 'MLAT request 7' }],
  });
  t.ok(decide(otherRecipient, police, 'law-enforcement').deniedBy.includes('law-enforcement-not-approved'));
  const approved = own('AMBER', {
    lawEnforcementApprovals: [{ recipient: 'npa', approvedBy: 'handler-1', legalBasis: 'Court order 2026-123' }],
  });
  const d = decide(approved, police, 'law-enforcement');
  t.ok(d.allow, d.reasons.join('\n'));
  t.match(d.reasons.join('\n'), /approved by handler-1; legal basis: Court order 2026-123/);
  // An approval is not a TLP:RED naming.
  t.same(decide({ ...approved, tlp: 'RED' }, police, 'law-enforcement').deniedBy, ['red-not-named']);
  // Nor does it open the other purposes.
  t.same(decide(approved, police, 'direct').deniedBy, ['tlp-need-to-know']);
});

t.test('press: CLEAR content only, chosen by a handler, judged as the public', async (t) => {
  const journalist = { id: 'newspaper', kind: 'external' as const, trust: 'close' as const };
  for (const tlp of ['GREEN', 'AMBER', 'AMBER+STRICT', 'RED'] as const) {
    const d = decide(own(tlp, { chosenRecipients: ['newspaper'], redRecipients: ['newspaper'] }), journalist, 'press');
    t.notOk(d.allow, tlp);
    t.ok(d.deniedBy.includes('press-not-clear'), tlp);
  }
  t.same(decide(own('CLEAR'), journalist, 'press').deniedBy, ['press-not-chosen']);
  const ok = decide(own('CLEAR', { chosenRecipients: ['newspaper'] }), journalist, 'press');
  t.ok(ok.allow);
  t.same(sections(ok), [...ALL], 'every section redacted whatever the recipient trust');
  t.match(ok.redactions[0]?.reason, /the press is treated as the public/);
});

t.test('coordinator feed: only to our coordinator; summary unless close or chosen', async (t) => {
  t.same(decide(own('GREEN'), team('bravo', 'close', 'peer'), 'coordinator-feed').deniedBy, ['coordinator-feed-not-coordinator']);
  t.same(decide(own('GREEN'), team('bravo', 'close', 'member'), 'coordinator-feed').deniedBy, ['coordinator-feed-not-coordinator']);
  const summary = decide(own('AMBER'), team('cc', 'partner', 'coordinator'), 'coordinator-feed');
  t.equal(summary.detail, 'summary');
  t.same(summary.redactions, [], 'a summary carries no sections to redact');
  t.equal(decide(own('AMBER'), team('cc', 'close', 'coordinator'), 'coordinator-feed').detail, 'full');
  t.equal(decide(own('AMBER', { chosenRecipients: ['cc'] }), team('cc', 'partner', 'coordinator'), 'coordinator-feed').detail, 'full');
  t.equal(decide(own('GREEN'), team('cc', 'partner', 'coordinator'), 'coordinator-feed').detail, 'full');
  // A site is never our coordinator, whatever the caller says.
  const s = { id: 'cc', kind: 'site' as const, relationship: 'coordinator' as const, trust: 'close' as const };
  t.same(decide(own('GREEN'), s, 'coordinator-feed').deniedBy, ['coordinator-feed-not-coordinator']);
});

t.test('trust can be given as inputs: the policy computes it and explains it', async (t) => {
  const recipient: PolicyRecipient = {
    id: 'cc',
    kind: 'team',
    trust: {
      peer: {
        teamId: 'cc',
        relationship: 'coordinator',
        assurance: 'introduced',
        bilateral: 'unknown',
        memberships: [],
      },
      ourGroups: [],
    },
  };
  const d = decide(own('AMBER'), recipient, 'coordinator-feed');
  t.equal(d.trust, 'partner');
  t.equal(d.detail, 'summary', 'the relationship came from the trust inputs');
  t.match(d.reasons.join('\n'), /Trust: relationship coordinator gives at least partner/);
  const unverified: PolicyRecipient = {
    ...recipient,
    trust: {
      ...(recipient.trust as object),
      peer: { teamId: 'cc', relationship: 'coordinator', assurance: 'unverified', bilateral: 'close', memberships: [] },
      ourGroups: [],
    },
  };
  t.same(decide(own('AMBER'), unverified, 'coordinator-feed').deniedBy, ['tlp-trust']);
  t.ok(decide(own('CLEAR'), unverified, 'coordinator-feed').allow, 'CLEAR is for anyone');
});

t.test('decisions are deterministic and depend only on their inputs', async (t) => {
  const item = own('AMBER', {
    chosenRecipients: ['site-1'],
    provenance: receivedFrom('charlie', 'AMBER'),
    sectionMinimums: { evidence: 'close' },
  });
  const first = decide(item, site('site-1'), 'direct');
  const copy = JSON.parse(JSON.stringify(item)) as PolicyItem;
  for (let i = 0; i < 50; i++) t.same(decide(copy, site('site-1'), 'direct'), first);
  t.same(JSON.parse(JSON.stringify(first)), first, 'the decision is plain JSON (for the audit log)');
  t.notOk(JSON.stringify(first).includes('"at"'), 'no time unless one is passed in');
  t.same(item, JSON.parse(JSON.stringify(copy)), 'the item is not modified');
});

t.test('every denial names its rule in the reasons', async (t) => {
  const d = decide(own('AMBER'), team('bravo', 'community'), 'direct');
  t.same(d.deniedBy, ['tlp-need-to-know', 'tlp-trust']);
  t.equal(d.detail, 'none');
  t.equal(d.mayRedistribute, false);
  for (const rule of d.deniedBy)
    t.ok(
      d.reasons.some((r) => r.startsWith(`Denied [${rule}]`)),
      rule,
    );
  t.match(d.reasons.at(-1), /Denied by 2 rule\(s\)/);
});
