import t from 'tap';
import { buildTestNode, type TestNode } from '../helpers/build-test-app.js';
import {
  api,
  createIncident,
  enc,
  fastDelivery,
  findByExternalRef,
  journal,
  partnersBoth,
  shares,
  waitFor,
  waitForShareState,
} from '../helpers/federation-harness.js';

/**
 * Two real nodes on loopback, peered both ways, delivering through their workers: sharing,
 * receipts, both reference numbers, updates both ways, investigations, sealing. The subtests
 * share the nodes and run in order.
 */
fastDelivery();
const alpha = await buildTestNode(t, { key: 'alpha', listen: true, startWorker: true });
const bravo = await buildTestNode(t, { key: 'bravo', listen: true, startWorker: true });
// Partners with verified keys both ways: TLP:AMBER (the example incident) needs it.
await partnersBoth(alpha, bravo);

async function share(from: TestNode, ref: string, peer: string) {
  return api(from, 'POST', `/incidents/${enc(ref)}/shares`, 'handler', { peer });
}

async function outboundCount(node: TestNode, peer: string): Promise<number> {
  const row = await node.database.db
    .selectFrom('outbound_message')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('peer_team', '=', peer)
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

async function settled(node: TestNode): Promise<void> {
  await waitFor('outbox empty', async () => {
    const row = await node.database.db
      .selectFrom('outbound_message')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('state', '=', 'pending')
      .executeTakeFirstOrThrow();
    return Number(row.n) === 0;
  });
}

let shared: { ref: string; peerRef: string };

t.test('share: a receipt, and both reference numbers on both sides', async (t) => {
  const incident = await createIncident(alpha);
  const res = await share(alpha, incident.ref, 'bravo');
  t.equal(res.statusCode, 202, res.body);
  t.match(res.json(), {
    peer: 'bravo',
    direction: 'outgoing',
    state: 'queued',
    attempts: 0,
    peerRef: null,
    createdBy: 'handler-user',
  });
  const delivered = await waitForShareState(alpha, incident.ref, 'bravo', 'delivered');
  t.match(delivered.peerRef, /^BRAVO#\d{4}-\d{6}$/);
  t.ok(delivered.receiptAt);
  t.equal(delivered.lastError, null);
  shared = { ref: incident.ref, peerRef: delivered.peerRef! };

  // GET /api/v1/incidents?externalRef= finds the incident on either side.
  const onBravo = await findByExternalRef(bravo, incident.ref);
  t.equal(onBravo.length, 1);
  t.equal(onBravo[0]!.ref, shared.peerRef);
  t.same(onBravo[0]!.externalRefs, [{ team: 'alpha', ref: incident.ref }]);
  const onAlpha = await findByExternalRef(alpha, shared.peerRef);
  t.equal(onAlpha.length, 1);
  t.equal(onAlpha[0]!.ref, incident.ref);
  t.same(onAlpha[0]!.externalRefs, [{ team: 'bravo', ref: shared.peerRef }]);

  // Journals: shared and delivered on alpha; bravo's copy created on behalf of alpha.
  const alphaKinds = (await journal(alpha, incident.ref)).map((e) => e.kind);
  t.same(alphaKinds, ['created', 'shared', 'share-delivered']);
  t.match((await journal(bravo, shared.peerRef))[0], { kind: 'created', team: 'alpha' });
  t.match(await shares(bravo, shared.peerRef), [{ peer: 'alpha', direction: 'incoming', state: 'received', peerRef: incident.ref }]);
  // The receipt is stored as proof of delivery, and it verifies against bravo's key.
  const row = await alpha.database.db
    .selectFrom('outbound_message')
    .select(['receipt', 'receipt_status'])
    .where('incident_id', '=', incident.id)
    .executeTakeFirstOrThrow();
  t.equal(row.receipt_status, 'filed');
  t.match(JSON.parse(row.receipt!), { document: { type: 'receipt', from: 'bravo', body: { ref: shared.peerRef } } });
});

t.test('updates travel both ways, attributed to the other team, never echoed back', async (t) => {
  const toBravo = await outboundCount(alpha, 'bravo');
  const toAlpha = await outboundCount(bravo, 'alpha');
  t.equal(
    (
      await api(alpha, 'POST', `/incidents/${enc(shared.ref)}/journal`, 'handler', {
        note: 'the source host is a known stepping stone',
      })
    ).statusCode,
    201,
  );
  t.equal(
    (await api(alpha, 'PATCH', `/incidents/${enc(shared.ref)}`, 'handler', { phase: 'analysis', severity: 'critical' })).statusCode,
    200,
  );
  const onBravo = await waitFor('three updates on bravo', async () => {
    const entries = (await journal(bravo, shared.peerRef)).filter((e) => e.kind.startsWith('peer-'));
    return entries.length === 3 ? entries : null;
  });
  t.match(onBravo[0], {
    kind: 'peer-note',
    team: 'alpha',
    actor: 'handler-user',
    note: 'the source host is a known stepping stone',
    changes: { peerRef: shared.ref },
  });
  t.match(onBravo[1], {
    kind: 'peer-updated',
    team: 'alpha',
    changes: { fields: [{ field: 'severity', from: 'high', to: 'critical' }] },
  });
  t.match(onBravo[2], {
    kind: 'peer-phase-changed',
    team: 'alpha',
    changes: { phase: { from: 'triage', to: 'analysis' } },
  });
  const bravoCopy = (await api(bravo, 'GET', `/incidents/${enc(shared.peerRef)}`, 'reader')).json();
  t.equal(bravoCopy.phase, 'triage', "bravo's own phase does not move with alpha's");
  t.equal(bravoCopy.severity, 'high', "bravo's copy keeps its own fields");

  // bravo's own changes on its copy travel back to alpha.
  t.equal(
    (
      await api(bravo, 'POST', `/incidents/${enc(shared.peerRef)}/journal`, 'handler', {
        note: 'the attacking host is in our constituency; owner contacted',
      })
    ).statusCode,
    201,
  );
  t.equal((await api(bravo, 'PATCH', `/incidents/${enc(shared.peerRef)}`, 'handler', { phase: 'containment' })).statusCode, 200);
  const onAlpha = await waitFor('two updates on alpha', async () => {
    const entries = (await journal(alpha, shared.ref)).filter((e) => e.kind.startsWith('peer-'));
    return entries.length === 2 ? entries : null;
  });
  t.match(onAlpha, [
    {
      kind: 'peer-note',
      team: 'bravo',
      note: 'the attacking host is in our constituency; owner contacted',
      changes: { peerRef: shared.peerRef },
    },
    { kind: 'peer-phase-changed', team: 'bravo', changes: { phase: { from: 'triage', to: 'containment' } } },
  ]);
  t.equal((await api(alpha, 'GET', `/incidents/${enc(shared.ref)}`, 'reader')).json().phase, 'analysis');

  await settled(alpha);
  await settled(bravo);
  t.equal(await outboundCount(alpha, 'bravo'), toBravo + 3, 'alpha sent its three changes, and nothing of what bravo sent');
  t.equal(await outboundCount(bravo, 'alpha'), toAlpha + 2, 'bravo sent its two changes, and nothing of what alpha sent');
});

t.test('share API: roles, bad input and conflicts', async (t) => {
  const incident = await createIncident(alpha);
  t.equal((await api(alpha, 'POST', `/incidents/${enc(incident.ref)}/shares`, 'reader', { peer: 'bravo' })).statusCode, 403);
  t.equal((await api(alpha, 'POST', `/incidents/${enc(incident.ref)}/shares`, null, { peer: 'bravo' })).statusCode, 401);
  const badPeer = await share(alpha, incident.ref, 'Not A Team');
  t.equal(badPeer.statusCode, 400);
  t.equal(badPeer.json().code, 'validation-failed');
  const extra = await api(alpha, 'POST', `/incidents/${enc(incident.ref)}/shares`, 'handler', {
    peer: 'bravo',
    tlp: 'RED',
  });
  t.equal(extra.statusCode, 400);
  const unknown = await share(alpha, incident.ref, 'zulu');
  t.equal(unknown.statusCode, 404);
  t.equal(unknown.json().code, 'unknown-peer');
  const noIncident = await share(alpha, 'ALPHA#1999-000001', 'bravo');
  t.equal(noIncident.statusCode, 404);
  t.equal(noIncident.json().code, 'not-found');
  t.equal((await share(alpha, shared.ref, 'bravo')).json().code, 'already-shared');
  const back = await share(bravo, shared.peerRef, 'alpha');
  t.equal(back.statusCode, 409);
  t.equal(back.json().code, 'already-shared', 'the copy is linked to its originator already');
  t.equal((await api(alpha, 'GET', `/incidents/${enc(shared.ref)}/shares`, 'reader')).statusCode, 200, 'readers see shares');

  t.equal((await api(alpha, 'POST', '/peers/bravo/suspend', 'admin')).statusCode, 200);
  const suspended = await share(alpha, incident.ref, 'bravo');
  t.equal(suspended.statusCode, 409);
  t.equal(suspended.json().code, 'peer-not-active');
  t.equal((await api(alpha, 'POST', '/peers/bravo/resume', 'admin')).statusCode, 200);
  t.same(await shares(alpha, incident.ref), [], 'nothing queued by refused shares');
});

t.test('investigation request and result (§7: ask the other side to check the facts)', async (t) => {
  const hosts = [{ ip: '198.51.100.7', role: 'source', description: 'scanning us on port 22' }];
  // On the shared incident: a note on bravo's copy.
  const asked = await api(alpha, 'POST', `/incidents/${enc(shared.ref)}/investigations`, 'handler', {
    peer: 'bravo',
    hosts,
    question: 'Is 198.51.100.7 compromised, or misconfigured?',
  });
  t.equal(asked.statusCode, 202, asked.body);
  t.match(asked.json(), { direction: 'outgoing', peer: 'bravo', state: 'open', finding: null });
  const incoming = await waitFor(
    'request on bravo',
    async () => (await api(bravo, 'GET', `/incidents/${enc(shared.peerRef)}/investigations`, 'reader')).json().items[0],
  );
  t.match(incoming, {
    id: asked.json().id,
    direction: 'incoming',
    peer: 'alpha',
    state: 'open',
    question: 'Is 198.51.100.7 compromised, or misconfigured?',
    hosts,
  });
  t.ok((await journal(bravo, shared.peerRef)).some((e) => e.kind === 'peer-investigation-request' && e.team === 'alpha'));

  const wrongSide = await api(alpha, 'POST', `/incidents/${enc(shared.ref)}/investigations/${asked.json().id}/result`, 'handler', {
    finding: 'fault',
    summary: 'x',
  });
  t.equal(wrongSide.statusCode, 409, 'the asking side does not answer');
  const answered = await api(bravo, 'POST', `/incidents/${enc(shared.peerRef)}/investigations/${incoming.id}/result`, 'handler', {
    finding: 'misconfiguration',
    summary: 'An open proxy left by a contractor; closed.',
  });
  t.equal(answered.statusCode, 202, answered.body);
  t.match(answered.json(), { state: 'answered', finding: 'misconfiguration' });
  const result = await waitFor('result on alpha', async () => {
    const item = (await api(alpha, 'GET', `/incidents/${enc(shared.ref)}/investigations`, 'reader')).json().items[0];
    return item?.state === 'answered' ? item : null;
  });
  t.match(result, { finding: 'misconfiguration', summary: 'An open proxy left by a contractor; closed.' });
  t.match(
    (await journal(alpha, shared.ref)).find((e) => e.kind === 'peer-investigation-result'),
    { team: 'bravo', note: 'An open proxy left by a contractor; closed.', changes: { finding: 'misconfiguration' } },
  );
  t.equal(
    (
      await api(bravo, 'POST', `/incidents/${enc(shared.peerRef)}/investigations/${incoming.id}/result`, 'handler', {
        finding: 'fault',
        summary: 'again',
      })
    ).statusCode,
    409,
  );

  // On an incident bravo has never seen: filed there as a new incident; both keep both numbers.
  const fresh = await createIncident(alpha, { title: 'Scans from a partner network' });
  const badHost = await api(alpha, 'POST', `/incidents/${enc(fresh.ref)}/investigations`, 'handler', {
    peer: 'bravo',
    hosts: [{ ip: 'not-an-ip', role: 'source' }],
    question: 'x',
  });
  t.equal(badHost.statusCode, 400);
  t.equal(
    (
      await api(alpha, 'POST', `/incidents/${enc(fresh.ref)}/investigations`, 'reader', {
        peer: 'bravo',
        hosts,
        question: 'x',
      })
    ).statusCode,
    403,
  );
  const second = await api(alpha, 'POST', `/incidents/${enc(fresh.ref)}/investigations`, 'handler', {
    peer: 'bravo',
    hosts,
    question: 'Please check this host.',
  });
  t.equal(second.statusCode, 202);
  const filed = await waitFor('filed on bravo', async () => (await findByExternalRef(bravo, fresh.ref))[0]);
  t.match(filed, { externalRefs: [{ team: 'alpha', ref: fresh.ref }] });
  const bravoRef = filed.ref;
  await waitFor('alpha keeps bravo ref', async () => (await findByExternalRef(alpha, bravoRef)).length === 1);
  const item = (await api(bravo, 'GET', `/incidents/${enc(bravoRef)}/investigations`, 'reader')).json().items[0];
  t.equal(
    (
      await api(bravo, 'POST', `/incidents/${enc(bravoRef)}/investigations/${item.id}/result`, 'handler', {
        finding: 'no-evidence',
        summary: 'Nothing in our logs.',
      })
    ).statusCode,
    202,
  );
  await waitFor(
    'second result',
    async () =>
      (await api(alpha, 'GET', `/incidents/${enc(fresh.ref)}/investigations`, 'reader')).json().items[0]?.finding === 'no-evidence',
  );
  // bravo's later notes on that incident do not travel: only the answer was asked for.
  t.same(await shares(bravo, bravoRef), []);
});

t.test('sealed delivery: always at TLP:RED, and when the peer asks for it', async (t) => {
  const red = await createIncident(alpha, { tlp: 'RED', title: 'Named-recipient report' });
  // TLP:RED goes to the recipients a handler named on the incident only.
  t.equal(
    (
      await api(alpha, 'PUT', `/incidents/${enc(red.ref)}/policy`, 'handler', {
        redRecipients: ['bravo'],
        sectionMinimums: {},
      })
    ).statusCode,
    200,
  );
  t.equal((await share(alpha, red.ref, 'bravo')).statusCode, 202);
  const redDelivered = await waitForShareState(alpha, red.ref, 'bravo', 'delivered');
  const sealedOf = async (ref: string) => {
    const row = await bravo.database.db
      .selectFrom('inbound_message')
      .innerJoin('incident', 'incident.id', 'inbound_message.incident_id')
      .select(['inbound_message.sealed'])
      .where('incident.ref', '=', ref)
      .where('inbound_message.type', '=', 'incident.report')
      .executeTakeFirstOrThrow();
    return row.sealed;
  };
  t.equal(await sealedOf(redDelivered.peerRef!), true);

  const amber = await createIncident(alpha);
  t.equal((await share(alpha, amber.ref, 'bravo')).statusCode, 202);
  t.equal(
    await sealedOf((await waitForShareState(alpha, amber.ref, 'bravo', 'delivered')).peerRef!),
    false,
    'AMBER travels signed, not sealed, by default',
  );

  t.equal((await api(alpha, 'PATCH', '/peers/bravo', 'admin', { sealAlways: true })).statusCode, 200);
  const sealedAmber = await createIncident(alpha);
  t.equal((await share(alpha, sealedAmber.ref, 'bravo')).statusCode, 202);
  t.equal(await sealedOf((await waitForShareState(alpha, sealedAmber.ref, 'bravo', 'delivered')).peerRef!), true);
});
