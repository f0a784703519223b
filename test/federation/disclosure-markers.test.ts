import t from 'tap';
import { buildTestNode, type TestNode } from '../helpers/build-test-app.js';
import {
  addPeer,
  api,
  createIncident,
  enc,
  fastDelivery,
  findByExternalRef,
  journal,
  trustPeer,
  waitFor,
  waitForShareState,
} from '../helpers/federation-harness.js';
import { explain, peerToken, pullAll, settle } from '../helpers/policy-nodes.js';
import { assertMarkers, assertVisible, everything, markedIncident, SECTIONS, type Section } from '../helpers/marker-scan.js';

/**
 * Issue 11: nothing leaks. Four real nodes over loopback:
 *
 *   cc       coordinates alpha and bravo
 *   alpha    the originator: its coordinator cc; bravo a verified peer whose trust each subtest
 *            sets; mallory a peer whose key alpha never verified (trust unknown)
 *   bravo    alpha's peer, cc's member
 *   mallory  alpha's unverified peer
 *
 * Every incident plants unique marker strings, one set per section (victims, internal hosts,
 * reporter, POC, evidence), in every string field in several spellings. After each path (a
 * share, the coordinator feed, the pull feed, an update, an investigation, a warning, a label
 * change) every table of the receiving node is read back as text, and no marker of a section the
 * recipient may not see may be in it; the markers of the sections it may see must be.
 */
fastDelivery();
const cc = await buildTestNode(t, { key: 'cc', listen: true, startWorker: true });
const alpha = await buildTestNode(t, { key: 'alpha', listen: true, startWorker: true });
const bravo = await buildTestNode(t, { key: 'bravo', listen: true, startWorker: true });
const mallory = await buildTestNode(t, { key: 'mallory', listen: true, startWorker: true });

for (const [a, b] of [
  [cc, alpha],
  [cc, bravo],
  [alpha, bravo],
  [alpha, mallory],
  [bravo, mallory],
] as const) {
  await addPeer(a, b);
  await addPeer(b, a);
}
await trustPeer(cc, alpha, { relationship: 'member', trustLevel: 'partner' });
await trustPeer(cc, bravo, { relationship: 'member', trustLevel: 'partner' });
await trustPeer(alpha, cc, { relationship: 'coordinator' });
await trustPeer(bravo, cc, { relationship: 'coordinator' });
await trustPeer(alpha, bravo);
await trustPeer(bravo, alpha);
await trustPeer(bravo, mallory, { trustLevel: 'partner' });
// alpha never verifies mallory's key: unverified caps it at unknown (CLEAR only).

const share = (from: TestNode, ref: string, peer: string) => api(from, 'POST', `/incidents/${enc(ref)}/shares`, 'handler', { peer });
const patch = (node: TestNode, ref: string, body: Record<string, unknown>) => api(node, 'PATCH', `/incidents/${enc(ref)}`, 'handler', body);

async function copyOn(node: TestNode, ref: string): Promise<string> {
  return waitFor(`${ref} filed on ${node.config.teamId}`, async () => (await findByExternalRef(node, ref))[0]?.ref);
}

const HIDDEN_BY_TRUST: Record<string, Section[]> = {
  unknown: ['victims', 'internalHosts', 'reporter', 'poc', 'evidence'],
  community: ['victims', 'internalHosts', 'reporter', 'evidence'],
  partner: ['internalHosts'],
  close: [],
};

t.test(
  'a share at every label and trust level: no hidden marker anywhere the recipient stores it; the report says what was scrubbed',
  async (t) => {
    for (const trust of ['community', 'partner', 'close'] as const) {
      const res = await api(alpha, 'PATCH', '/peers/bravo', 'admin', { trustLevel: trust });
      t.equal(res.statusCode, 200, res.body);
      for (const tlp of trust === 'community' ? ['CLEAR', 'GREEN'] : ['GREEN', 'AMBER', 'AMBER+STRICT', 'RED']) {
        const { incident, markers } = markedIncident(tlp);
        const created = await createIncident(alpha, incident);
        if (tlp === 'RED') {
          const named = await api(alpha, 'PUT', `/incidents/${enc(created.ref)}/policy`, 'handler', {
            redRecipients: ['bravo'],
            sectionMinimums: {},
          });
          t.equal(named.statusCode, 200, named.body);
        }
        const preview = await explain(alpha, created.ref, 'bravo', 'direct', { explicitlyChosen: true });
        const shared = await share(alpha, created.ref, 'bravo');
        t.equal(shared.statusCode, 202, `${tlp} at ${trust}: ${shared.body}`);
        const answer = shared.json();
        const hidden = HIDDEN_BY_TRUST[trust]!;
        t.same(
          answer.redactions.map((r: { section: string }) => r.section).sort(),
          [...hidden].sort(),
          `${tlp}/${trust}: redacted sections`,
        );
        if (hidden.includes('victims')) {
          t.ok(
            answer.scrubbed.some((s: { path: string; action: string }) => s.path === '/indicators/1' && s.action === 'dropped'),
            'the report lists the dropped URL indicator',
          );
          t.ok(
            answer.scrubbed.some(
              (s: { path: string; action: string }) => s.path === '/installedSoftware/0/name' && s.action === 'rewritten',
            ),
            'and the rewritten software name',
          );
        }
        t.same(preview.scrubbed, answer.scrubbed, 'explain showed the same redaction report beforehand');
        await waitForShareState(alpha, created.ref, 'bravo', 'delivered');
        const copyRef = await copyOn(bravo, created.ref);
        const stored = await everything(bravo);
        assertMarkers(t, stored, markers, hidden, `bravo (${trust}, ${tlp})`);
        assertVisible(
          t,
          stored,
          markers,
          SECTIONS.filter((s) => !hidden.includes(s)),
          `bravo (${trust}, ${tlp})`,
        );
        t.ok(copyRef);
      }
    }
    await api(alpha, 'PATCH', '/peers/bravo', 'admin', { trustLevel: 'partner' });
  },
);

t.test(
  'an unverified peer gets CLEAR with every section hidden; a recipient re-sharing its copy hides what its own policy hides',
  async (t) => {
    const clear = markedIncident('CLEAR');
    const toMallory = await createIncident(alpha, clear.incident);
    const shared = await share(alpha, toMallory.ref, 'mallory');
    t.equal(shared.statusCode, 202, shared.body);
    await waitForShareState(alpha, toMallory.ref, 'mallory', 'delivered');
    await copyOn(mallory, toMallory.ref);
    assertMarkers(t, await everything(mallory), clear.markers, SECTIONS, 'mallory (unknown, CLEAR)');

    // bravo holds a GREEN copy at partner (victims visible to it) and passes it to mallory, whom it trusts at community.
    const green = markedIncident('GREEN');
    const created = await createIncident(alpha, green.incident);
    t.equal((await share(alpha, created.ref, 'bravo')).statusCode, 202);
    await waitForShareState(alpha, created.ref, 'bravo', 'delivered');
    const copyRef = await copyOn(bravo, created.ref);
    assertVisible(t, await everything(bravo), green.markers, ['victims'], 'bravo (partner)');
    t.equal((await api(bravo, 'PATCH', '/peers/mallory', 'admin', { trustLevel: 'community' })).statusCode, 200);
    const reshared = await share(bravo, copyRef, 'mallory');
    t.equal(reshared.statusCode, 202, reshared.body);
    await waitForShareState(bravo, copyRef, 'mallory', 'delivered');
    await copyOn(mallory, copyRef);
    assertMarkers(t, await everything(mallory), green.markers, HIDDEN_BY_TRUST['community']!, 'mallory (community, re-shared by bravo)');
    await api(bravo, 'PATCH', '/peers/mallory', 'admin', { trustLevel: 'partner' });
  },
);

t.test(
  'the coordinator: summaries and full reports name no target or internal host in any field, and it indexes nothing of them',
  async (t) => {
    const amber = markedIncident('AMBER');
    const green = markedIncident('GREEN');
    await createIncident(alpha, amber.incident);
    await createIncident(alpha, green.incident);
    await settle([alpha, cc]);
    const stored = await everything(cc);
    assertMarkers(t, stored, amber.markers, SECTIONS, 'cc (AMBER summary)');
    // GREEN to a partner coordinator goes in full, internal hosts redacted; its summary still names no victim.
    assertMarkers(t, stored, green.markers, ['internalHosts'], 'cc (GREEN full)');
    t.ok(stored.includes(amber.attacker), "the attacker's domain is there: summaries keep what is not hidden");
    const observables = await cc.database.db
      .selectFrom('activity_observable')
      .select(['kind', 'value'])
      .where('team', '=', 'alpha')
      .execute();
    const indexed = JSON.stringify(observables).toLowerCase();
    for (const m of [...amber.markers.victims, ...amber.markers.internalHosts, ...green.markers.internalHosts])
      t.notOk(indexed.includes(m.toLowerCase()), `cc does not index ${m}`);
  },
);

t.test('pull feed, later updates and investigations go through the same scrubbing', async (t) => {
  await api(alpha, 'PATCH', '/peers/bravo', 'admin', { trustLevel: 'community' });
  const { incident, markers } = markedIncident('GREEN');
  const created = await createIncident(alpha, incident);
  t.equal((await share(alpha, created.ref, 'bravo')).statusCode, 202);
  await waitForShareState(alpha, created.ref, 'bravo', 'delivered');
  const hidden = HIDDEN_BY_TRUST['community']!;

  // An update whose note and changed fields name the hidden hosts and people.
  const note = await api(alpha, 'POST', `/incidents/${enc(created.ref)}/journal`, 'handler', {
    note: `Called ${markers.reporter[0]} about ${markers.victims[1]} and ${markers.internalHosts[0]}`,
  });
  t.equal(note.statusCode, 201, note.body);
  const changed = await patch(alpha, created.ref, {
    title: `Now also ${markers.victims[0]}`,
    summary: `more on ${markers.internalHosts[1]}`,
  });
  t.equal(changed.statusCode, 200, changed.body);
  // An investigation request naming a victim in its question, and one host to check of each kind.
  const asked = await api(alpha, 'POST', `/incidents/${enc(created.ref)}/investigations`, 'handler', {
    peer: 'bravo',
    question: `Did 203.0.113.45 also reach ${markers.victims[0]} or ${markers.internalHosts[1]}?`,
    hosts: [
      { ip: '203.0.113.45', role: 'source' },
      { ip: markers.victims[1], role: 'target' },
    ],
  });
  t.equal(asked.statusCode, 202, asked.body);
  await settle([alpha, bravo]);
  assertMarkers(t, await everything(bravo), markers, hidden, 'bravo after updates and an investigation');

  const token = await peerToken(bravo, alpha);
  const { items } = await pullAll(bravo, alpha, token);
  const item = items.find((i) => i.report?.ref === created.ref);
  t.ok(item, 'the incident is in the feed');
  assertMarkers(t, JSON.stringify(items).toLowerCase(), markers, hidden, 'bravo pulling alpha');
  const malloryToken = await peerToken(mallory, alpha);
  const forMallory = await pullAll(mallory, alpha, malloryToken);
  assertMarkers(t, JSON.stringify(forMallory.items).toLowerCase(), markers, SECTIONS, 'mallory (unverified) pulling alpha');
  await api(alpha, 'PATCH', '/peers/bravo', 'admin', { trustLevel: 'partner' });
});

t.test('a label tightened by the originator binds the holder: no re-share, no feed, the coordinator forgets it', async (t) => {
  const { incident } = markedIncident('GREEN');
  const created = await createIncident(alpha, {
    ...incident,
    hosts: [...incident.hosts, { ip: '198.51.100.77', role: 'source' }],
    indicators: [{ kind: 'ipv4', value: '198.51.100.77' }],
  });
  t.equal((await share(alpha, created.ref, 'bravo')).statusCode, 202);
  await waitForShareState(alpha, created.ref, 'bravo', 'delivered');
  const copyRef = await copyOn(bravo, created.ref);
  // bravo's handler works on the copy: its node sends cc a summary of it.
  t.equal((await patch(bravo, copyRef, { phase: 'analysis' })).statusCode, 200);
  await settle([alpha, bravo, cc]);
  const before = await cc.database.db.selectFrom('member_activity').select(['team', 'ref']).where('own', '=', false).execute();
  t.ok(
    before.some((r) => r.team === 'alpha' && r.ref === created.ref),
    "cc holds alpha's summary",
  );
  t.ok(
    before.some((r) => r.team === 'bravo' && r.ref === copyRef),
    "and bravo's",
  );

  // alpha names bravo and raises the label to RED.
  t.equal(
    (
      await api(alpha, 'PUT', `/incidents/${enc(created.ref)}/policy`, 'handler', {
        redRecipients: ['bravo'],
        sectionMinimums: {},
      })
    ).statusCode,
    200,
  );
  t.equal((await patch(alpha, created.ref, { tlp: 'RED' })).statusCode, 200);
  await waitFor('the copy is RED', async () => (await api(bravo, 'GET', `/incidents/${enc(copyRef)}`, 'reader')).json().tlp === 'RED');
  const facts = (await api(bravo, 'GET', `/incidents/${enc(copyRef)}/policy`, 'reader')).json();
  t.match(facts.provenance, { originatorTlp: 'RED', limit: 'no-further' }, 'the provenance carries the new label');
  t.ok(
    (await journal(bravo, copyRef)).some((e) => e.kind === 'label-changed' && e.changes.to === 'RED'),
    'journalled as label-changed',
  );
  const audited = await bravo.database.db
    .selectFrom('audit_entry')
    .select(['decision', 'details'])
    .where('kind', '=', 'label-change')
    .execute();
  t.ok(
    audited.some((a) => a.decision === 'allow' && (a.details as any).after === 'RED'),
    'audited',
  );

  const why = await explain(bravo, copyRef, 'mallory', 'direct', { explicitlyChosen: true });
  t.equal(why.allow, false, 'explain now says deny');
  t.ok(why.deniedBy.includes('provenance-no-further'));
  const reshare = await share(bravo, copyRef, 'mallory');
  t.equal(reshare.statusCode, 403, 'the re-share is refused');
  const token = await peerToken(mallory, bravo);
  t.notOk(
    (await pullAll(mallory, bravo, token)).items.some((i) => i.report?.ref === copyRef),
    'not in the pull feed',
  );

  await settle([alpha, bravo, cc]);
  const after = await cc.database.db.selectFrom('member_activity').select(['team', 'ref']).where('own', '=', false).execute();
  t.notOk(
    after.some((r) => r.team === 'alpha' && r.ref === created.ref),
    "cc forgot alpha's summary",
  );
  t.notOk(
    after.some((r) => r.team === 'bravo' && r.ref === copyRef),
    "and bravo's copy's",
  );
  t.ok(
    (await bravo.database.db.selectFrom('audit_entry').select('kind').where('kind', '=', 'coordination.withdrawal').execute()).length > 0,
    'the withdrawal is audited',
  );

  // A member later reports the same attacker: cc's warning must not name the RED report.
  const again = await createIncident(bravo, {
    title: 'Scan',
    category: 'information-gathering',
    type: 'scanner',
    tlp: 'GREEN',
    hosts: [{ ip: '198.51.100.77', role: 'source' }],
    indicators: [{ kind: 'ipv4', value: '198.51.100.77' }],
  });
  await settle([bravo, cc]);
  const warned = await cc.database.db
    .selectFrom('related_warning')
    .select(['other_team', 'other_ref'])
    .where('other_ref', '=', created.ref)
    .execute();
  t.same(warned, [], "cc records no warning naming alpha's RED report");
  const relatedOnCc = (await api(cc, 'GET', '/overview', 'reader')).json();
  t.notOk(JSON.stringify(relatedOnCc).includes(created.ref), "cc's overview does not show it");
  t.notOk(JSON.stringify(await journal(bravo, again.ref)).includes(created.ref), 'no warning names it');
});

t.test('a tightening reaches a holder not named for RED as a label notice', async (t) => {
  const { incident, markers } = markedIncident('GREEN');
  const created = await createIncident(alpha, incident);
  t.equal((await share(alpha, created.ref, 'bravo')).statusCode, 202);
  await waitForShareState(alpha, created.ref, 'bravo', 'delivered');
  const copyRef = await copyOn(bravo, created.ref);
  t.equal((await patch(alpha, created.ref, { tlp: 'RED', summary: `secret now: ${markers.evidence[0]}-NEW` })).statusCode, 200);
  await waitFor('the copy is RED', async () => (await api(bravo, 'GET', `/incidents/${enc(copyRef)}`, 'reader')).json().tlp === 'RED');
  const notices = await alpha.database.db
    .selectFrom('audit_entry')
    .select(['decision', 'details'])
    .where('kind', '=', 'disclosure.label-notice')
    .execute();
  t.ok(
    notices.some((n) => (n.details as any).to === 'RED'),
    'alpha audited the notice',
  );
  t.notOk((await everything(bravo)).includes(`${markers.evidence[0]}-new`.toLowerCase()), 'the notice carried no content');
});

t.test('a coordinator passes received AMBER to its member on need to know; AMBER+STRICT stays with it', async (t) => {
  for (const tlp of ['AMBER', 'AMBER+STRICT'] as const) {
    const created = await createIncident(alpha, {
      title: `For the coordinator ${tlp}`,
      category: 'intrusions',
      type: 'system-compromise',
      tlp,
      hosts: [{ ip: '203.0.113.9', role: 'source' }],
    });
    t.equal((await share(alpha, created.ref, 'cc')).statusCode, 202);
    await waitForShareState(alpha, created.ref, 'cc', 'delivered');
    const ccRef = await copyOn(cc, created.ref);
    const why = await explain(cc, ccRef, 'bravo', 'direct', { explicitlyChosen: true });
    const passed = await share(cc, ccRef, 'bravo');
    if (tlp === 'AMBER') {
      t.equal(passed.statusCode, 202, passed.body);
      t.equal(why.allow, true);
      t.ok(
        why.reasons.some((r: string) => /member team we coordinate/.test(r)),
        'explain says why',
      );
    } else {
      t.equal(passed.statusCode, 403, passed.body);
      t.ok(passed.json().deniedBy.includes('provenance-no-further'));
    }
    const peerExplain = await explain(cc, ccRef, 'alpha', 'direct', { explicitlyChosen: true });
    t.equal(peerExplain.allow, true, 'sending back to the originator stays allowed');
  }
});
