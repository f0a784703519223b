import { readFileSync } from 'node:fs';
import t, { type Test } from 'tap';
import type { LightMyRequestResponse } from 'fastify';
import { recordReceivedProvenance } from '../../src/modules/sharing/index.js';
import { loadFixtureKey } from '../fixtures/keys/index.js';
import { buildTestNode } from '../helpers/build-test-app.js';

/**
 * The sharing service end to end, through the API: alpha (us) with three peers added over real
 * HTTP, as a handler would (POST /api/v1/peers, PATCH, verify):
 *   bravo   lateral peer, bilateral partner, verified
 *   cc      our coordinator, bilateral unknown (the relationship floor makes it partner), verified
 *   mallory lateral peer, bilateral unknown, a full member of a forum we belong to (community)
 * Subtests share the nodes and run in order.
 */

type Role = 'reader' | 'handler' | 'admin';
const alpha = await buildTestNode(t, { key: 'alpha' });
const bravo = await buildTestNode(t, { key: 'bravo', listen: true });
const cc = await buildTestNode(t, { key: 'cc', listen: true });
const mallory = await buildTestNode(t, { key: 'mallory', listen: true });

const EXAMPLE = JSON.parse(readFileSync(new URL('../../docs/examples/incident.json', import.meta.url), 'utf8')) as Record<string, unknown>;

function api(method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', url: string, role: Role | null, payload?: unknown) {
  return alpha.app.inject({
    method,
    url: `/api/v1${url}`,
    headers: role ? alpha.auth[role] : {},
    ...(payload === undefined ? {} : { payload: payload as object }),
  });
}

function ok(t: Test, res: LightMyRequestResponse, status = 200) {
  t.equal(res.statusCode, status, res.statusCode === status ? `${status}` : res.body);
  return res.json();
}

function problem(t: Test, res: LightMyRequestResponse, status: number, code: string) {
  t.equal(res.statusCode, status, res.statusCode === status ? `${status} ${code}` : res.body);
  t.match(res.headers['content-type'], /^application\/problem\+json/);
  t.equal(res.json().code, code);
}

async function createIncident(overrides: Record<string, unknown> = {}): Promise<{ id: string; ref: string }> {
  const res = await api('POST', '/incidents', 'handler', { ...EXAMPLE, ...overrides });
  if (res.statusCode !== 201) throw new Error(`create incident: ${res.body}`);
  return res.json();
}

const explain = (incident: string, peer: string, purpose: string, extra: Record<string, unknown> = {}) =>
  api('POST', '/policy/explain', 'reader', { incident, peer, purpose, ...extra });

const trustOf = async (t: Test, team: string) => ok(t, await api('GET', `/policy/trust/${team}`, 'reader'));

t.test('peers are added over HTTP; effective trust: unverified caps, groups raise, coordinator floor', async (t) => {
  for (const [node, patch] of [
    [bravo, { trustLevel: 'partner' }],
    [cc, { relationship: 'coordinator' }],
    [mallory, {}],
  ] as const) {
    ok(t, await api('POST', '/peers', 'admin', { url: node.url }), 201);
    if (Object.keys(patch).length) ok(t, await api('PATCH', `/peers/${node.config.teamId}`, 'admin', patch));
  }

  // Unverified keys cap at unknown, whatever the bilateral level or the relationship.
  t.match(await trustOf(t, 'bravo'), {
    level: 'unknown',
    bilateral: 'partner',
    cap: 'unknown',
    assurance: 'unverified',
    exchange: true,
  });
  t.match(await trustOf(t, 'cc'), { level: 'unknown', floor: 'partner', relationship: 'coordinator' });

  // A forum we belong to, with mallory a full member; a group we are not in counts for nothing.
  ok(t, await api('POST', '/groups', 'admin', { id: 'first', name: 'FIRST', kind: 'forum', ourMembership: 'full' }), 201);
  ok(
    t,
    await api('POST', '/groups', 'admin', {
      id: 'elsewhere',
      name: 'Elsewhere',
      kind: 'national',
      floorFull: 'partner',
    }),
    201,
  );
  ok(t, await api('POST', '/groups/first/members', 'admin', { teamId: 'mallory', level: 'full' }), 201);
  ok(t, await api('POST', '/groups/elsewhere/members', 'admin', { teamId: 'mallory', level: 'full' }), 201);
  const capped = await trustOf(t, 'mallory');
  t.match(capped, { level: 'unknown', floor: 'community', cap: 'unknown' }, 'a full member, but its key is unverified');
  t.ok(capped.reasons.some((r: string) => /capped at unknown/.test(r)));

  for (const name of ['bravo', 'cc', 'mallory'] as const) {
    ok(t, await api('POST', `/peers/${name}/verify`, 'admin', { fingerprint: loadFixtureKey(name).fingerprint }));
  }
  t.match(await trustOf(t, 'bravo'), { level: 'partner', cap: 'close' });
  t.match(await trustOf(t, 'cc'), { level: 'partner', bilateral: 'unknown', floor: 'partner' }, 'our coordinator is at least partner');
  const community = await trustOf(t, 'mallory');
  t.match(community, { level: 'community', bilateral: 'unknown', floor: 'community' }, 'a full member of our forum is community');
  t.same(community.memberships, [
    { group: 'elsewhere', level: 'full', counts: false },
    { group: 'first', level: 'full', counts: true },
  ]);
  t.ok(community.reasons.some((r: string) => /elsewhere, a group we do not belong to: no effect/.test(r)));

  // A liaison gets nothing unless the group says so; the group's own floor never exceeds partner.
  ok(t, await api('POST', '/groups/first/members', 'admin', { teamId: 'mallory', level: 'liaison' }));
  t.equal((await trustOf(t, 'mallory')).level, 'unknown');
  ok(t, await api('PATCH', '/groups/first', 'admin', { floorLiaison: 'community' }));
  t.equal((await trustOf(t, 'mallory')).level, 'community');
  ok(t, await api('POST', '/groups/first/members', 'admin', { teamId: 'mallory', level: 'full' }));
  ok(t, await api('PATCH', '/groups/first', 'admin', { floorLiaison: null }));
  t.equal((await trustOf(t, 'mallory')).level, 'community');

  problem(t, await api('GET', '/policy/trust/zulu', 'reader'), 404, 'unknown-peer');
  problem(t, await api('GET', '/policy/trust/NOT%20A%20TEAM', 'reader'), 400, 'validation-failed');
  problem(t, await api('GET', '/policy/trust/bravo', null), 401, 'unauthenticated');
});

t.test(
  'TLP:AMBER with logs and a reporter: the chosen partner gets it all, the community peer nothing, the coordinator a summary',
  async (t) => {
    const incident = await createIncident();

    const partner = ok(t, await explain(incident.ref, 'bravo', 'direct', { explicitlyChosen: true }));
    t.match(partner, {
      allow: true,
      detail: 'full',
      tlp: 'AMBER',
      mayRedistribute: true,
      deniedBy: [],
      redactions: [],
      policyVersion: 'hikeshi-policy/1',
    });
    t.match(partner.trust, { level: 'partner' });
    t.match(partner.recipient, { id: 'bravo', kind: 'team', relationship: 'peer', status: 'active' });
    t.equal(
      partner.preview.evidence[0].content,
      (EXAMPLE['evidence'] as Array<{ content?: string }>)[0]!.content,
      'the partner gets the logs',
    );
    t.equal(partner.preview.reporter.email, 'security@example-univ.ac.jp', 'and the reporter');
    t.match(partner.payloadSha256, /^[0-9a-f]{64}$/);
    t.match(partner.provenance, [{ team: 'alpha', tlp: 'AMBER' }]);

    const unchosen = ok(t, await explain(incident.ref, 'bravo', 'direct'));
    t.match(unchosen, {
      allow: false,
      detail: 'none',
      preview: null,
      payloadSha256: null,
      deniedBy: ['tlp-need-to-know'],
    });

    const community = ok(t, await explain(incident.ref, 'mallory', 'direct', { explicitlyChosen: true }));
    t.match(community, { allow: false, preview: null, deniedBy: ['tlp-trust'] });
    t.ok(community.reasons.some((r: string) => /TLP:AMBER needs trust partner or above; mallory has community/.test(r)));

    const coordinator = ok(t, await explain(incident.id, 'cc', 'coordinator-feed'));
    t.match(coordinator, { allow: true, detail: 'summary', redactions: [] });
    t.match(coordinator.preview, {
      ref: incident.ref,
      category: 'intrusions',
      tlp: 'AMBER',
      counts: { evidence: 2, targetHosts: 1 },
    });
    t.notOk(
      'title' in coordinator.preview || 'reporter' in coordinator.preview || 'evidence' in coordinator.preview,
      'a summary: no title, reporter or logs',
    );
    t.notOk(JSON.stringify(coordinator.preview).includes('192.0.2.10'), 'nor the victim');

    const notCoordinator = ok(t, await explain(incident.ref, 'bravo', 'coordinator-feed', { explicitlyChosen: true }));
    t.match(notCoordinator, { allow: false, deniedBy: ['coordinator-feed-not-coordinator'] });

    // explain answers for every purpose, and sends nothing.
    for (const purpose of ['direct', 'relay', 'broadcast', 'coordinator-feed', 'pull-feed', 'law-enforcement', 'press']) {
      for (const peer of ['bravo', 'cc', 'mallory']) {
        const answer = ok(t, await explain(incident.ref, peer, purpose));
        t.equal(typeof answer.allow, 'boolean', `${peer} ${purpose}`);
        t.equal(answer.allow, answer.preview !== null);
      }
    }
    const shares = await api('GET', `/incidents/${encodeURIComponent(incident.ref)}/shares`, 'reader');
    if (shares.statusCode === 200) t.same(shares.json().items, [], 'nothing was shared');
    // The one decision recorded is the coordinator feed's, when the incident was created (cc is
    // alpha's coordinator: every change is summarised to it); explain adds none.
    const decisions = await alpha.database.db
      .selectFrom('audit_entry')
      .select(['seq', 'details'])
      .where('kind', '=', 'disclosure.decision')
      .execute();
    t.same(
      decisions.map((d) => [d.details['purpose'], d.details['type']]),
      [['coordinator-feed', 'activity.summary']],
      'explain records nothing',
    );
  },
);

t.test('below a section minimum, the section is redacted with the reason', async (t) => {
  const incident = await createIncident({ tlp: 'GREEN' });
  const res = ok(t, await explain(incident.ref, 'mallory', 'direct'));
  t.match(res, { allow: true, detail: 'full', tlp: 'GREEN' });
  t.same(
    res.redactions.map((r: { section: string }) => r.section),
    ['reporter', 'victims', 'evidence'],
  );
  t.match(res.redactions[0], {
    section: 'reporter',
    requiredLevel: 'partner',
    reason: /reporter needs trust partner; mallory has community/,
  });
  t.same(res.preview.reporter, { name: '[redacted: reporter needs partner]' });
  t.equal(res.preview.poc.name, 'Taro Suzuki', 'the POC needs community only');
  t.notOk(JSON.stringify(res.preview.evidence).includes('Accepted password'), 'no logs');
  t.notOk(JSON.stringify(res.preview).includes('192.0.2.10'), 'the victim address appears nowhere');

  // A handler may raise or lower a section for one incident.
  ok(
    t,
    await api('PUT', `/incidents/${encodeURIComponent(incident.ref)}/policy`, 'handler', {
      redRecipients: [],
      sectionMinimums: { evidence: 'community', poc: 'partner' },
    }),
  );
  const after = ok(t, await explain(incident.ref, 'mallory', 'direct'));
  t.same(
    after.redactions.map((r: { section: string }) => r.section),
    ['reporter', 'poc', 'victims'],
  );
  t.match(after.redactions[1].reason, /set on this incident/);
  t.ok(JSON.stringify(after.preview.evidence).includes('Accepted password'));
});

t.test('TLP:RED goes only to the recipient a handler named, and never by a feed', async (t) => {
  const incident = await createIncident({ tlp: 'RED' });
  const ref = encodeURIComponent(incident.ref);
  t.match(ok(t, await explain(incident.ref, 'bravo', 'direct', { explicitlyChosen: true })), {
    allow: false,
    deniedBy: ['red-not-named'],
  });
  ok(t, await api('PUT', `/incidents/${ref}/policy`, 'handler', { redRecipients: ['bravo'], sectionMinimums: {} }));
  t.match(ok(t, await explain(incident.ref, 'bravo', 'direct')), {
    allow: true,
    detail: 'full',
    tlp: 'RED',
    mayRedistribute: false,
  });
  t.match(ok(t, await explain(incident.ref, 'cc', 'direct', { explicitlyChosen: true })), {
    allow: false,
    deniedBy: ['red-not-named'],
  });
  t.match(ok(t, await explain(incident.ref, 'cc', 'coordinator-feed')), {
    allow: false,
    deniedBy: ['red-channel', 'red-not-named'],
  });
  t.match(ok(t, await explain(incident.ref, 'bravo', 'pull-feed')), { allow: false, deniedBy: ['red-channel'] });
  t.match(ok(t, await explain(incident.ref, 'bravo', 'broadcast')), { allow: false, deniedBy: ['red-channel'] });
});

t.test("received reports keep their originator's limits: AMBER+STRICT goes nowhere, AMBER only to our own sites", async (t) => {
  const site = ok(t, await api('POST', '/sites', 'handler', { name: 'Example University', networks: ['192.0.2.0/24'] }), 201);
  const otherSite = ok(t, await api('POST', '/sites', 'handler', { name: 'Other College', networks: ['198.18.0.0/15'] }), 201);

  const strict = await createIncident({ tlp: 'AMBER+STRICT' });
  await alpha.database.db.transaction().execute((tx) =>
    recordReceivedProvenance(tx, strict.id, {
      originatorTeam: 'bravo',
      originatorTlp: 'AMBER+STRICT',
      chain: [{ team: 'bravo', tlp: 'AMBER+STRICT' }],
    }),
  );
  const facts = ok(t, await api('GET', `/incidents/${encodeURIComponent(strict.ref)}/policy`, 'reader'));
  t.same(facts.provenance, {
    originator: 'bravo',
    originatorTlp: 'AMBER+STRICT',
    receivedFrom: 'bravo',
    chain: [{ team: 'bravo', tlp: 'AMBER+STRICT' }],
  });

  const reshared = ok(t, await explain(strict.ref, 'cc', 'direct', { explicitlyChosen: true }));
  t.match(reshared, { allow: false, deniedBy: ['provenance-no-further'] });
  t.match(ok(t, await explain(strict.ref, site.id, 'direct', { kind: 'site', explicitlyChosen: true })), {
    allow: false,
    deniedBy: ['provenance-no-further'],
  });
  const back = ok(t, await explain(strict.ref, 'bravo', 'direct'));
  t.match(back, { allow: true, mayRedistribute: false }, 'sending it back to its originator is not a redistribution');
  t.same(
    back.provenance.map((h: { team: string }) => h.team),
    ['bravo', 'alpha'],
    'the chain grows by our hop',
  );

  const amber = await createIncident({ tlp: 'AMBER' });
  await alpha.database.db.transaction().execute((tx) =>
    recordReceivedProvenance(tx, amber.id, {
      originatorTeam: 'mallory',
      originatorTlp: 'AMBER',
      chain: [
        { team: 'mallory', tlp: 'AMBER' },
        { team: 'bravo', tlp: 'AMBER' },
      ],
    }),
  );
  t.match(ok(t, await explain(amber.ref, 'cc', 'direct', { explicitlyChosen: true })), {
    allow: false,
    deniedBy: ['provenance-constituency-only'],
  });
  const toSite = ok(t, await explain(amber.ref, site.id, 'direct', { kind: 'site' }));
  t.match(
    toSite,
    { allow: true, detail: 'full', recipient: { kind: 'site', name: 'Example University' } },
    'its hosts are in the site: need to know',
  );
  t.same(
    toSite.provenance.map((h: { team: string }) => h.team),
    ['mallory', 'bravo', 'alpha'],
  );
  t.match(
    ok(t, await explain(amber.ref, otherSite.id, 'direct', { kind: 'site' })),
    { allow: false, deniedBy: ['tlp-need-to-know'] },
    'a site not involved has no need to know',
  );

  // Our own AMBER incident reaches the involved site too, without a provenance.
  const own = await createIncident();
  t.match(ok(t, await explain(own.ref, site.id, 'direct', { kind: 'site' })), {
    allow: true,
    provenance: [{ team: 'alpha' }],
  });
  problem(t, await explain(own.ref, '00000000-0000-4000-8000-000000000000', 'direct', { kind: 'site' }), 404, 'not-found');
  problem(t, await explain(own.ref, 'not-a-uuid', 'direct', { kind: 'site' }), 404, 'not-found');
});

t.test("law enforcement: denied without a handler's approval, allowed with one (audited)", async (t) => {
  const incident = await createIncident({ tlp: 'GREEN' });
  const ref = encodeURIComponent(incident.ref);
  t.match(ok(t, await explain(incident.ref, 'mallory', 'law-enforcement')), {
    allow: false,
    deniedBy: ['law-enforcement-not-approved'],
  });
  problem(
    t,
    await api('POST', `/incidents/${ref}/law-enforcement-approvals`, 'reader', {
      recipient: 'mallory',
      legalBasis: 'x',
    }),
    403,
    'forbidden',
  );
  problem(
    t,
    await api('POST', `/incidents/${ref}/law-enforcement-approvals`, 'handler', {
      recipient: 'mallory',
      legalBasis: '   ',
    }),
    400,
    'validation-failed',
  );
  problem(
    t,
    await api('POST', `/incidents/${ref}/law-enforcement-approvals`, 'handler', { recipient: 'mallory' }),
    400,
    'validation-failed',
  );
  problem(
    t,
    await api('POST', '/incidents/NOPE%232026-000999/law-enforcement-approvals', 'handler', {
      recipient: 'mallory',
      legalBasis: 'Art. 197',
    }),
    404,
    'not-found',
  );
  // An approval for someone else does not count.
  ok(
    t,
    await api('POST', `/incidents/${ref}/law-enforcement-approvals`, 'handler', {
      recipient: 'bravo',
      legalBasis: 'Court order 2026-17',
    }),
    201,
  );
  t.match(ok(t, await explain(incident.ref, 'mallory', 'law-enforcement')), {
    allow: false,
    deniedBy: ['law-enforcement-not-approved'],
  });

  const approval = ok(
    t,
    await api('POST', `/incidents/${ref}/law-enforcement-approvals`, 'handler', {
      recipient: 'mallory',
      legalBasis: 'Code of Criminal Procedure Art. 197(2), request 2026-42',
    }),
    201,
  );
  t.match(approval, { incidentId: incident.id, recipient: 'mallory', approvedBy: 'handler-user' });
  const allowed = ok(t, await explain(incident.ref, 'mallory', 'law-enforcement'));
  t.match(allowed, { allow: true, detail: 'full' });
  t.ok(allowed.reasons.some((r: string) => /approved by handler-user; legal basis: Code of Criminal Procedure/.test(r)));

  const facts = ok(t, await api('GET', `/incidents/${ref}/policy`, 'reader'));
  t.same(
    facts.lawEnforcementApprovals.map((a: { recipient: string }) => a.recipient),
    ['bravo', 'mallory'],
  );
  const audited = await alpha.database.db
    .selectFrom('audit_entry')
    .select(['peer', 'incident_id', 'details'])
    .where('kind', '=', 'law-enforcement.approval')
    .orderBy('seq')
    .execute();
  t.equal(audited.length, 2);
  t.match(audited[1], {
    peer: 'mallory',
    incident_id: incident.id,
    details: { approvalId: approval.id, legalBasis: /Art\. 197/ },
  });
});

t.test('a suspended peer gets nothing, whatever the policy would allow', async (t) => {
  const incident = await createIncident({ tlp: 'CLEAR' });
  t.match(ok(t, await explain(incident.ref, 'mallory', 'direct')), { allow: true });
  ok(t, await api('POST', '/peers/mallory/suspend', 'admin'));
  const suspended = ok(t, await explain(incident.ref, 'mallory', 'direct'));
  t.match(suspended, {
    allow: false,
    detail: 'none',
    preview: null,
    deniedBy: ['peer-suspended'],
    recipient: { status: 'suspended' },
  });
  t.match(suspended.reasons[0], /^Denied \[peer-suspended\]/);
  t.match(suspended.reasons.at(-1), /^Denied by 1 rule/);
  t.notOk(suspended.reasons.some((r: string) => r.startsWith('Allowed')));
  t.match(await trustOf(t, 'mallory'), { exchange: false, status: 'suspended' });
  ok(t, await api('POST', '/peers/mallory/resume', 'admin'));
  t.match(ok(t, await explain(incident.ref, 'mallory', 'direct')), { allow: true });
});

t.test('explain: bad input, unknown incident or peer, no token', async (t) => {
  const incident = await createIncident();
  problem(t, await explain('ALPHA#2026-999999', 'bravo', 'direct'), 404, 'not-found');
  problem(t, await explain(incident.ref, 'zulu', 'direct'), 404, 'unknown-peer');
  problem(t, await explain(incident.ref, 'bravo', 'gossip'), 400, 'validation-failed');
  problem(t, await explain(incident.ref, 'bravo', 'direct', { kind: 'external' }), 400, 'validation-failed');
  problem(t, await explain(incident.ref, 'bravo', 'direct', { explicitlyChosen: 'yes' }), 400, 'validation-failed');
  problem(t, await explain(incident.ref, 'bravo', 'direct', { because: 'I say so' }), 400, 'validation-failed');
  problem(t, await api('POST', '/policy/explain', 'reader', { incident: incident.ref, purpose: 'direct' }), 400, 'validation-failed');
  problem(t, await api('POST', '/policy/explain', 'reader', { incident: '', peer: 'bravo', purpose: 'direct' }), 400, 'validation-failed');
  const malformed = await alpha.app.inject({
    method: 'POST',
    url: '/api/v1/policy/explain',
    headers: { ...alpha.auth.reader, 'content-type': 'application/json' },
    payload: '{"incident":',
  });
  problem(t, malformed, 400, 'malformed-json');
  problem(
    t,
    await api('POST', '/policy/explain', null, { incident: incident.ref, peer: 'bravo', purpose: 'direct' }),
    401,
    'unauthenticated',
  );
});
