import t from 'tap';
import { payloadDigest } from '../../src/modules/sharing/index.js';
import {
  api,
  createIncident,
  EXAMPLE_INCIDENT,
  enc,
  findByExternalRef,
  journal,
  shares,
  waitFor,
  waitForShareState,
} from '../helpers/federation-harness.js';
import { buildPolicyNodes, decisions, explain, outbound, peerToken, pullAll } from '../helpers/policy-nodes.js';
import type { TestNode } from '../helpers/build-test-app.js';

/**
 * Every path that sends incident data out asks the sharing policy and records its decision,
 * between three real nodes (test/helpers/policy-nodes.ts): cc, the coordinator; alpha, its
 * member and partner; bravo, its member at community level. Subtests share the nodes, in order.
 */
const { cc, alpha, bravo } = await buildPolicyNodes(t);

const share = (from: TestNode, ref: string, peer: string) => api(from, 'POST', `/incidents/${enc(ref)}/shares`, 'handler', { peer });

/** The reference number `node` filed `ref` (of another team) under, once delivered. */
async function copyOn(node: TestNode, ref: string): Promise<string> {
  return waitFor(`${ref} filed on ${node.config.teamId}`, async () => (await findByExternalRef(node, ref))[0]?.ref);
}

async function get(node: TestNode, ref: string): Promise<any> {
  const res = await api(node, 'GET', `/incidents/${enc(ref)}`, 'reader');
  if (res.statusCode !== 200) throw new Error(`get ${ref}: ${res.body}`);
  return res.json();
}

const INTERNAL_HOST = {
  ip: '10.20.30.40',
  hostname: 'build.corp',
  role: 'intermediary',
  description: 'internal jump host',
};

t.test(
  'TLP:AMBER with logs and a reporter: the partner gets it, logs included; the community member is refused, nothing queued, audited',
  async (t) => {
    const incident = await createIncident(cc, { hosts: [...(EXAMPLE_INCIDENT['hosts'] as unknown[]), INTERNAL_HOST] });

    const toAlpha = await share(cc, incident.ref, 'alpha');
    t.equal(toAlpha.statusCode, 202, toAlpha.body);
    const answer = toAlpha.json();
    t.match(answer, { peer: 'alpha', state: 'queued', detail: 'full' });
    t.same(
      answer.redactions.map((r: { section: string }) => r.section),
      ['internalHosts'],
      'the answer says which sections were redacted',
    );
    t.match(answer.redactions[0].reason, /close/);

    await waitForShareState(cc, incident.ref, 'alpha', 'delivered');
    const copyRef = await copyOn(alpha, incident.ref);
    const copy = await get(alpha, copyRef);
    t.match(copy.evidence[0], { kind: 'log', content: /Accepted password for guest/ }, 'the partner gets the logs');
    t.equal(copy.reporter.email, 'security@example-univ.ac.jp', 'and the reporter');
    t.notOk(
      JSON.stringify(copy).includes('10.20.30.40') || JSON.stringify(copy).includes('build.corp'),
      'an internal host needs close trust: redacted',
    );
    const facts = (await api(alpha, 'GET', `/incidents/${enc(copyRef)}/policy`, 'reader')).json();
    t.match(
      facts.provenance,
      {
        originator: 'cc',
        originatorTlp: 'AMBER',
        receivedFrom: 'cc',
        limit: 'constituency',
        chain: [{ team: 'cc', tlp: 'AMBER' }],
      },
      "alpha keeps the originator's marking",
    );

    const refused = await share(cc, incident.ref, 'bravo');
    t.equal(refused.statusCode, 403, refused.body);
    const problem = refused.json();
    t.equal(problem.code, 'policy-denied');
    t.same(problem.deniedBy, ['tlp-trust']);
    t.ok(
      problem.reasons.some((r: string) => /Denied \[tlp-trust\]/.test(r)),
      'the reasons say why',
    );
    t.equal(problem.policyVersion, 'hikeshi-policy/1');
    t.same(await outbound(cc, 'bravo', { incidentId: incident.id, type: 'incident.report' }), [], 'nothing queued for bravo');
    t.notOk(
      (await shares(cc, incident.ref)).some((s) => s.peer === 'bravo'),
      'no share either',
    );

    const recorded = (await decisions(cc, { incidentId: incident.id })).filter((d) => d.details.type === 'incident.report');
    t.equal(recorded.length, 2, 'one decision per share, allow or deny');
    const [allowed, denied] = recorded;
    const sent = (await outbound(cc, 'alpha', { incidentId: incident.id, type: 'incident.report' }))[0]!;
    t.match(allowed, {
      decision: 'allow',
      peer: 'alpha',
      details: {
        purpose: 'direct',
        chosenByHandler: true,
        messageId: sent.id,
        redactions: ['internalHosts'],
        tlp: 'AMBER',
      },
    });
    t.equal(
      allowed!.details.payloadSha256,
      payloadDigest(JSON.parse(sent.document).body),
      'the digest covers exactly the body that was queued',
    );
    t.match(denied, {
      decision: 'deny',
      peer: 'bravo',
      details: { purpose: 'direct', messageId: null, deniedBy: ['tlp-trust'], payloadSha256: null },
    });
    const adHoc = await cc.database.db.selectFrom('audit_entry').select('seq').where('kind', '=', 'disclosure').execute();
    t.same(adHoc, [], 'no ad-hoc disclosure entries any more');
  },
);

t.test('TLP:RED reaches only the recipient a handler named, and never shows in a feed', async (t) => {
  const red = await createIncident(cc, { tlp: 'RED', title: 'Named recipients only' });
  const before = await share(cc, red.ref, 'alpha');
  t.equal(before.statusCode, 403);
  t.same(before.json().deniedBy, ['red-not-named']);
  t.equal(
    (
      await api(cc, 'PUT', `/incidents/${enc(red.ref)}/policy`, 'handler', {
        redRecipients: ['alpha'],
        sectionMinimums: {},
      })
    ).statusCode,
    200,
  );
  const toBravo = await share(cc, red.ref, 'bravo');
  t.equal(toBravo.statusCode, 403);
  t.match(toBravo.json().deniedBy, ['red-not-named', 'tlp-trust']);
  t.equal((await share(cc, red.ref, 'alpha')).statusCode, 202);
  await waitForShareState(cc, red.ref, 'alpha', 'delivered');
  const copyRef = await copyOn(alpha, red.ref);
  t.equal((await get(alpha, copyRef)).tlp, 'RED');
  t.same(await outbound(cc, 'bravo', { incidentId: red.id }), [], 'bravo got nothing of it');

  for (const peer of [alpha, bravo]) {
    const { items } = await pullAll(peer, cc, await peerToken(peer, cc));
    t.notOk(
      items.some((i) => i.tlp === 'RED' || i.report?.ref === red.ref),
      `never in ${peer.config.teamId}'s feed, named or not`,
    );
  }
  // alpha holds it now: it goes no further from there either.
  const onward = await share(alpha, copyRef, 'bravo');
  t.equal(onward.statusCode, 403);
  t.ok(onward.json().deniedBy.includes('provenance-no-further'));
});

t.test(
  "received reports keep their originator's marking: AMBER+STRICT goes nowhere, AMBER only to our own sites, and the chain grows by a hop",
  async (t) => {
    const strict = await createIncident(cc, { tlp: 'AMBER+STRICT', title: 'Strictly for alpha' });
    t.equal((await share(cc, strict.ref, 'alpha')).statusCode, 202);
    const strictCopy = await copyOn(alpha, strict.ref);
    const reshared = await share(alpha, strictCopy, 'bravo');
    t.equal(reshared.statusCode, 403, reshared.body);
    t.equal(reshared.json().code, 'policy-denied');
    t.same(reshared.json().deniedBy, ['provenance-no-further']);
    const copyId = (await get(alpha, strictCopy)).id;
    t.same(await outbound(alpha, 'bravo', { incidentId: copyId }), [], 'nothing queued');
    t.match(
      (await decisions(alpha, { incidentId: copyId, peer: 'bravo' })).filter((d) => d.details.type === 'incident.report'),
      [{ decision: 'deny', details: { deniedBy: ['provenance-no-further'], type: 'incident.report' } }],
      'the refusal is audited',
    );

    const amber = await createIncident(cc, { title: 'For alpha and its constituency' });
    t.equal((await share(cc, amber.ref, 'alpha')).statusCode, 202);
    const amberCopy = await copyOn(alpha, amber.ref);
    const toTeam = await share(alpha, amberCopy, 'bravo');
    t.equal(toTeam.statusCode, 403);
    t.same(toTeam.json().deniedBy, ['provenance-constituency-only']);
    const site = (await api(alpha, 'POST', '/sites', 'handler', { name: 'Example University', networks: ['192.0.2.0/24'] })).json();
    t.match(
      await explain(alpha, amberCopy, site.id, 'direct', { kind: 'site' }),
      { allow: true, detail: 'full' },
      "but it may reach the site of alpha's constituency it involves",
    );

    const green = await createIncident(cc, { tlp: 'GREEN', title: 'For the community' });
    t.equal((await share(cc, green.ref, 'alpha')).statusCode, 202);
    const greenCopy = await copyOn(alpha, green.ref);
    const onward = await share(alpha, greenCopy, 'bravo');
    t.equal(onward.statusCode, 202, onward.body);
    const onBravo = await copyOn(bravo, greenCopy);
    const facts = (await api(bravo, 'GET', `/incidents/${enc(onBravo)}/policy`, 'reader')).json();
    t.same(
      facts.provenance.chain.map((h: { team: string }) => h.team),
      ['cc', 'alpha'],
      "the chain grew by alpha's hop",
    );
    t.match(facts.provenance, { originator: 'cc', originatorTlp: 'GREEN', receivedFrom: 'alpha' });
    const received = await bravo.database.db
      .selectFrom('inbound_message')
      .select('envelope')
      .where('sender', '=', 'alpha')
      .where('type', '=', 'incident.report')
      .execute();
    const report = received.map((r) => JSON.parse(r.envelope).document).find((d) => d.body.ref === greenCopy);
    t.same(
      report.body.provenance.map((h: { team: string }) => h.team),
      ['cc', 'alpha'],
      'the incident.report carries the chain',
    );
    t.ok(
      report.body.provenance.every((h: { at?: string }) => typeof h.at === 'string'),
      'each hop says when',
    );
  },
);

t.test(
  'updates: each linked peer as its decision says now; a peer now refused is skipped (audited, never sent); free text redacted as decided',
  async (t) => {
    const incident = await createIncident(cc, { title: 'Updates follow the policy' });
    t.equal((await share(cc, incident.ref, 'alpha')).statusCode, 202);
    await waitForShareState(cc, incident.ref, 'alpha', 'delivered');
    const copyRef = await copyOn(alpha, incident.ref);

    t.equal((await api(cc, 'PATCH', '/peers/alpha', 'admin', { trustLevel: 'community' })).statusCode, 200);
    t.equal(
      (
        await api(cc, 'POST', `/incidents/${enc(incident.ref)}/journal`, 'handler', {
          note: 'while alpha is only community',
        })
      ).statusCode,
      201,
    );
    t.same(await outbound(cc, 'alpha', { incidentId: incident.id, type: 'incident.update' }), [], 'the update to alpha was not queued');
    const skipped = (await decisions(cc, { incidentId: incident.id, peer: 'alpha' })).filter((d) => d.details.type === 'incident.update');
    t.match(
      skipped,
      [{ decision: 'deny', details: { purpose: 'direct', messageId: null, deniedBy: ['tlp-trust'] } }],
      'and the refusal is audited',
    );

    t.equal((await api(cc, 'PATCH', '/peers/alpha', 'admin', { trustLevel: 'partner' })).statusCode, 200);
    t.equal(
      (
        await api(cc, 'POST', `/incidents/${enc(incident.ref)}/journal`, 'handler', {
          note: 'alpha is a partner again',
        })
      ).statusCode,
      201,
    );
    await waitFor('the second note on alpha', async () => (await journal(alpha, copyRef)).some((e) => e.kind === 'peer-note'));
    await waitForShareState(cc, incident.ref, 'alpha', 'delivered');
    t.same(
      (await journal(alpha, copyRef)).filter((e) => e.kind === 'peer-note').map((e) => e.note),
      ['alpha is a partner again'],
      'only what the policy allowed arrived',
    );

    // GREEN reaches bravo (community) without the victim: so does a note naming it.
    const green = await createIncident(cc, { tlp: 'GREEN', title: 'Victim names stay home' });
    const toBravo = await share(cc, green.ref, 'bravo');
    t.equal(toBravo.statusCode, 202);
    t.same(
      toBravo.json().redactions.map((r: { section: string }) => r.section),
      ['reporter', 'victims', 'evidence'],
    );
    t.equal((await share(cc, green.ref, 'alpha')).statusCode, 202);
    const note = 'www.example-univ.ac.jp (192.0.2.10) was reinstalled from known-good media';
    t.equal((await api(cc, 'POST', `/incidents/${enc(green.ref)}/journal`, 'handler', { note })).statusCode, 201);
    const bravoCopy = await copyOn(bravo, green.ref);
    const alphaCopy = await copyOn(alpha, green.ref);
    const bravoNote = await waitFor('note on bravo', async () => (await journal(bravo, bravoCopy)).find((e) => e.kind === 'peer-note'));
    const alphaNote = await waitFor('note on alpha', async () => (await journal(alpha, alphaCopy)).find((e) => e.kind === 'peer-note'));
    t.equal(bravoNote.note, '[redacted] ([redacted]) was reinstalled from known-good media', 'the victim is redacted in the note too');
    t.equal(alphaNote.note, note, 'the partner reads it as written');
    const bravoView = await get(bravo, bravoCopy);
    t.notOk(JSON.stringify(bravoView).includes('192.0.2.10'), "nor anywhere in bravo's copy");
    const updates = (await decisions(cc, { incidentId: green.id })).filter((d) => d.details.type === 'incident.update');
    t.same(
      updates.map((d) => [d.peer, d.decision, d.details.redactions]),
      [
        ['bravo', 'allow', ['reporter', 'victims', 'evidence']],
        ['alpha', 'allow', []],
      ],
    );
  },
);

t.test('investigations: the request and its answer are decided and audited like any disclosure', async (t) => {
  const hosts = [{ ip: '198.51.100.7', role: 'source' }];
  const amber = await createIncident(cc, { title: 'Ask about a source' });
  const refused = await api(cc, 'POST', `/incidents/${enc(amber.ref)}/investigations`, 'handler', {
    peer: 'bravo',
    hosts,
    question: 'Is this host yours?',
  });
  t.equal(refused.statusCode, 403, 'AMBER needs a partner');
  t.same(refused.json().deniedBy, ['tlp-trust']);
  const asked = await api(cc, 'POST', `/incidents/${enc(amber.ref)}/investigations`, 'handler', {
    peer: 'alpha',
    hosts,
    question: 'Is this host yours?',
  });
  t.equal(asked.statusCode, 202, asked.body);
  const facts = (await api(cc, 'GET', `/incidents/${enc(amber.ref)}/policy`, 'reader')).json();
  t.same(facts.chosenRecipients, [], 'asking is not a share: the pull feed does not widen');
  t.same(
    (await decisions(cc, { incidentId: amber.id }))
      .filter((d) => d.details.type === 'investigation.request')
      .map((d) => [d.peer, d.decision, d.details.type]),
    [
      ['bravo', 'deny', 'investigation.request'],
      ['alpha', 'allow', 'investigation.request'],
    ],
  );

  // alpha files it as an incident of its own, received from cc: the answer goes back to cc.
  const filed = await waitFor('request filed on alpha', async () => (await findByExternalRef(alpha, amber.ref))[0]);
  const request = (await api(alpha, 'GET', `/incidents/${enc(filed.ref)}/investigations`, 'reader')).json().items[0];
  const answered = await api(alpha, 'POST', `/incidents/${enc(filed.ref)}/investigations/${request.id}/result`, 'handler', {
    finding: 'no-evidence',
    summary: 'Nothing in our logs.',
  });
  t.equal(answered.statusCode, 202, answered.body);
  t.match(
    (await decisions(alpha, { peer: 'cc' })).filter((d) => d.details.type === 'investigation.result'),
    [{ decision: 'allow', details: { type: 'investigation.result', purpose: 'direct' } }],
  );
  await waitFor(
    'answer on cc',
    async () => (await api(cc, 'GET', `/incidents/${enc(amber.ref)}/investigations`, 'reader')).json().items[0]?.state === 'answered',
  );
});
