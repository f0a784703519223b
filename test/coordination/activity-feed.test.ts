import t from 'tap';
import { buildTestNode, type TestNode } from '../helpers/build-test-app.js';
import { api, createIncident, enc, fastDelivery, waitFor } from '../helpers/federation-harness.js';

/**
 * The member side of the activity feed: what a member queues for its coordinator, and how queued
 * summaries coalesce while nothing is delivered. alpha runs without its delivery worker until a
 * subtest starts it, so the outbox can be inspected between changes.
 */
fastDelivery();
const cc = await buildTestNode(t, { key: 'cc', listen: true, startWorker: true });
const alpha = await buildTestNode(t, { key: 'alpha', listen: true });

async function connect(from: TestNode, to: TestNode, relationship: string, trustLevel: string): Promise<void> {
  const added = await api(from, 'POST', '/peers', 'admin', { url: to.url });
  if (added.statusCode !== 201) throw new Error(`add peer: ${added.statusCode} ${added.body}`);
  const teamId = to.config.teamId;
  if ((await api(from, 'POST', `/peers/${teamId}/verify`, 'admin', { fingerprint: added.json().fingerprint })).statusCode !== 200)
    throw new Error('verify');
  if ((await api(from, 'PATCH', `/peers/${teamId}`, 'admin', { relationship, trustLevel })).statusCode !== 200) throw new Error('patch');
}
await connect(alpha, cc, 'coordinator', 'partner');
await connect(cc, alpha, 'member', 'partner');

async function summaries(incidentId: string) {
  return alpha.database.db
    .selectFrom('outbound_message')
    .select(['id', 'state', 'attempts', 'tlp', 'document'])
    .where('incident_id', '=', incidentId)
    .where('type', '=', 'activity.summary')
    .orderBy('seq')
    .execute();
}

async function feedDecisions(incidentId: string) {
  const items = (await api(alpha, 'GET', `/audit?kind=disclosure.decision&incident=${incidentId}`, 'admin')).json().items;
  return items.filter((d: any) => d.details.purpose === 'coordinator-feed');
}

let first: { ref: string; id: string };

t.test('changes coalesce: one queued summary per incident and coordinator, the newest', async (t) => {
  first = await createIncident(alpha);
  t.equal((await api(alpha, 'PATCH', `/incidents/${enc(first.ref)}`, 'handler', { severity: 'critical' })).statusCode, 200);
  t.equal((await api(alpha, 'PATCH', `/incidents/${enc(first.ref)}`, 'handler', { phase: 'analysis' })).statusCode, 200);
  t.equal(
    (
      await api(alpha, 'POST', `/incidents/${enc(first.ref)}/journal`, 'handler', {
        note: 'a note is not a summary change',
      })
    ).statusCode,
    201,
  );

  const queued = await summaries(first.id);
  t.equal(queued.length, 1, 'the two older summaries, never tried, were dropped');
  t.match(queued[0], { state: 'pending', attempts: 0, tlp: 'AMBER' });
  const body = JSON.parse(queued[0]!.document).body;
  t.match(body, {
    detail: 'summary',
    summary: { ref: first.ref, version: 3, severity: 'critical', phase: 'analysis' },
    links: [],
  });
  t.notOk('incident' in body, 'AMBER to a partner coordinator: no incident');
  const decisions = await feedDecisions(first.id);
  t.equal(decisions.length, 3, 'every summary was decided and recorded, the dropped ones too');
  t.ok(decisions.every((d: any) => d.decision === 'allow' && d.details.detail === 'summary'));
});

t.test('a summary already tried stays (it may be on the wire); the newer one waits behind it', async (t) => {
  // As if the worker had tried it once and the coordinator did not answer.
  await alpha.database.db.updateTable('outbound_message').set({ attempts: 1 }).where('incident_id', '=', first.id).execute();
  t.equal((await api(alpha, 'PATCH', `/incidents/${enc(first.ref)}`, 'handler', { phase: 'containment' })).statusCode, 200);
  t.equal((await api(alpha, 'PATCH', `/incidents/${enc(first.ref)}`, 'handler', { severity: 'high' })).statusCode, 200);
  const queued = await summaries(first.id);
  t.equal(queued.length, 2, 'the tried one and the newest');
  t.match(
    queued.map((q) => [q.attempts, JSON.parse(q.document).body.summary.version]),
    [
      [1, 3],
      [0, 5],
    ],
  );
});

t.test('delivered in order, the coordinator keeps the newest', async (t) => {
  alpha.app.federation.start();
  const stored = await waitFor('the newest summary at cc', async () => {
    const row = await cc.database.db
      .selectFrom('member_activity')
      .selectAll()
      .where('team', '=', 'alpha')
      .where('ref', '=', first.ref)
      .executeTakeFirst();
    return row && row.version === 5 ? row : null;
  });
  t.match(stored, { phase: 'containment', severity: 'high', detail: 'summary', tlp: 'AMBER', own: false });
  const received = await cc.database.db
    .selectFrom('inbound_message')
    .select('seq')
    .where('sender', '=', 'alpha')
    .where('type', '=', 'activity.summary')
    .execute();
  t.equal(received.length, 2, 'two summaries crossed the network for five changes');
  await waitFor('alpha outbox empty', async () => (await summaries(first.id)).every((s) => s.state === 'delivered'));
});

t.test('GREEN goes in full, redacted for the coordinator; its hosts are correlated, internal ones never', async (t) => {
  const green = await createIncident(alpha, {
    title: 'Defacement of a public site',
    category: 'intrusions',
    type: 'system-compromise',
    tlp: 'GREEN',
    hosts: [
      { ip: '203.0.113.99', role: 'source' },
      { ip: '192.0.2.77', hostname: 'www.example-univ.ac.jp', role: 'target' },
      { ip: '10.20.30.40', hostname: 'db.internal', role: 'intermediary' },
    ],
    indicators: [{ kind: 'ipv4', value: '203.0.113.99' }],
  });
  const row = await waitFor('the GREEN report at cc', async () =>
    cc.database.db.selectFrom('member_activity').selectAll().where('team', '=', 'alpha').where('ref', '=', green.ref).executeTakeFirst(),
  );
  t.equal(row.detail, 'full');
  t.equal(row.tlp, 'GREEN');
  const sent = await cc.database.db
    .selectFrom('inbound_message')
    .select('envelope')
    .where('sender', '=', 'alpha')
    .where('type', '=', 'activity.summary')
    .orderBy('seq', 'desc')
    .executeTakeFirstOrThrow();
  const body = JSON.parse(sent.envelope).document.body;
  t.equal(body.detail, 'full');
  t.match(body.incident.hosts, [
    { ip: '203.0.113.99' },
    { ip: '192.0.2.77', role: 'target' },
    { hostname: '[redacted]', role: 'intermediary' },
  ]);
  t.notOk(JSON.stringify(body).includes('10.20.30.40'), 'the internal host needs close: redacted');
  const observables = await cc.database.db
    .selectFrom('activity_observable')
    .select(['kind', 'value'])
    .where('ref', '=', green.ref)
    .orderBy('kind')
    .orderBy('value')
    .execute();
  t.same(observables, [
    { kind: 'domain', value: 'www.example-univ.ac.jp' },
    { kind: 'ip', value: '192.0.2.77' },
    { kind: 'ip', value: '203.0.113.99' },
    { kind: 'network', value: '192.0.2.0/24' },
    { kind: 'network', value: '203.0.113.0/24' },
  ]);
});

t.test('nothing goes to a coordinator we do not exchange with', async (t) => {
  t.equal((await api(alpha, 'POST', '/peers/cc/suspend', 'admin')).statusCode, 200);
  t.teardown(async () => {
    await api(alpha, 'POST', '/peers/cc/resume', 'admin');
  });
  const quiet = await createIncident(alpha, { title: 'While cc is suspended' });
  t.same(await summaries(quiet.id), []);
  t.same(await feedDecisions(quiet.id), [], 'not even asked: only active coordinators are fed');
  // A lateral peer is not a coordinator: nothing goes to it either.
  t.equal((await api(alpha, 'POST', '/peers/cc/resume', 'admin')).statusCode, 200);
  t.equal((await api(alpha, 'PATCH', '/peers/cc', 'admin', { relationship: 'peer' })).statusCode, 200);
  const lateral = await createIncident(alpha, { title: 'cc is only a peer now' });
  t.same(await summaries(lateral.id), []);
  t.equal((await api(alpha, 'PATCH', '/peers/cc', 'admin', { relationship: 'coordinator' })).statusCode, 200);
});
