import { readFileSync } from 'node:fs';
import t, { type Test } from 'tap';
import type { LightMyRequestResponse } from 'fastify';
import { recordReceivedProvenance } from '../../src/modules/sharing/index.js';
import { buildTestNode, type TestNode } from '../helpers/build-test-app.js';

/** GET/PUT /api/v1/incidents/{ref}/policy, and what the exchange records for a received report. */

const EXAMPLE = JSON.parse(readFileSync(new URL('../../docs/examples/incident.json', import.meta.url), 'utf8')) as Record<string, unknown>;
type Role = 'reader' | 'handler' | 'admin';

function api(node: TestNode, method: 'GET' | 'PUT' | 'POST', url: string, role: Role | null, payload?: unknown) {
  return node.app.inject({
    method,
    url: `/api/v1${url}`,
    headers: role ? node.auth[role] : {},
    ...(payload === undefined ? {} : { payload: payload as object }),
  });
}

function problem(t: Test, res: LightMyRequestResponse, status: number, code: string) {
  t.equal(res.statusCode, status, res.statusCode === status ? `${status} ${code}` : res.body);
  t.equal(res.json().code, code);
}

async function setup(t: Test) {
  const node = await buildTestNode(t);
  const created = await api(node, 'POST', '/incidents', 'handler', EXAMPLE);
  if (created.statusCode !== 201) throw new Error(created.body);
  const incident = created.json() as { id: string; ref: string };
  return { node, incident, path: `/incidents/${encodeURIComponent(incident.ref)}/policy` };
}

t.test('an incident without facts reads as empty; handlers set RED recipients and section minimums (audited)', async (t) => {
  const { node, incident, path } = await setup(t);
  const empty = await api(node, 'GET', path, 'reader');
  t.equal(empty.statusCode, 200, empty.body);
  t.same(empty.json(), {
    incidentId: incident.id,
    ref: incident.ref,
    tlp: 'AMBER',
    redRecipients: [],
    chosenRecipients: [],
    sectionMinimums: {},
    provenance: null,
    lawEnforcementApprovals: [],
    version: 0,
    updatedAt: null,
    updatedBy: null,
  });

  const put = await api(node, 'PUT', path, 'handler', {
    redRecipients: ['bravo', 'cc'],
    sectionMinimums: { evidence: 'close', poc: 'unknown' },
  });
  t.equal(put.statusCode, 200, put.body);
  t.match(put.json(), {
    redRecipients: ['bravo', 'cc'],
    sectionMinimums: { evidence: 'close', poc: 'unknown' },
    version: 1,
    updatedBy: 'handler-user',
  });
  const byId = await api(node, 'GET', `/incidents/${incident.id}/policy`, 'reader');
  t.same(byId.json(), put.json(), 'by id as by reference');

  const replaced = await api(node, 'PUT', path, 'handler', { redRecipients: [], sectionMinimums: {} });
  t.match(replaced.json(), { redRecipients: [], sectionMinimums: {}, version: 2 });

  const entries = await node.database.db
    .selectFrom('audit_entry')
    .select(['kind', 'actor', 'incident_id', 'details'])
    .where('kind', '=', 'policy.incident-updated')
    .orderBy('seq')
    .execute();
  t.equal(entries.length, 2);
  t.match(entries[0], {
    actor: 'handler-user',
    incident_id: incident.id,
    details: { redRecipients: { from: [], to: ['bravo', 'cc'] }, sectionMinimums: { to: { evidence: 'close' } } },
  });
  t.match(entries[1]!.details, { redRecipients: { from: ['bravo', 'cc'], to: [] } });
});

t.test('roles and bad input', async (t) => {
  const { node, path } = await setup(t);
  problem(t, await api(node, 'GET', path, null), 401, 'unauthenticated');
  problem(t, await api(node, 'PUT', path, 'reader', { redRecipients: [], sectionMinimums: {} }), 403, 'forbidden');
  problem(t, await api(node, 'GET', '/incidents/ALPHA%232026-999999/policy', 'reader'), 404, 'not-found');
  problem(
    t,
    await api(node, 'PUT', '/incidents/ALPHA%232026-999999/policy', 'handler', {
      redRecipients: [],
      sectionMinimums: {},
    }),
    404,
    'not-found',
  );
  const bad: Array<[string, unknown]> = [
    ['missing sectionMinimums', { redRecipients: [] }],
    ['missing redRecipients', { sectionMinimums: {} }],
    ['duplicate recipients', { redRecipients: ['bravo', 'bravo'], sectionMinimums: {} }],
    ['bad team id', { redRecipients: ['Bravo CSIRT'], sectionMinimums: {} }],
    ['unknown section', { redRecipients: [], sectionMinimums: { title: 'close' } }],
    ['unknown level', { redRecipients: [], sectionMinimums: { evidence: 'secret' } }],
    ['chosen recipients are not set by hand', { redRecipients: [], sectionMinimums: {}, chosenRecipients: ['bravo'] }],
    ['not an object', ['bravo']],
  ];
  for (const [why, body] of bad) {
    const res = await api(node, 'PUT', path, 'handler', body);
    t.equal(res.statusCode, 400, why);
    t.equal(res.json().code, 'validation-failed', why);
  }
  t.equal((await api(node, 'GET', path, 'reader')).json().version, 0, 'nothing was written');
  const noAudit = await node.database.db.selectFrom('audit_entry').select('seq').where('kind', '=', 'policy.incident-updated').execute();
  t.same(noAudit, []);
});

t.test('recordReceivedProvenance: what the exchange records for a received report', async (t) => {
  const { node, incident, path } = await setup(t);
  const db = node.database.db;
  await db.transaction().execute((tx) =>
    recordReceivedProvenance(
      tx,
      incident.id,
      {
        originatorTeam: 'mallory',
        originatorTlp: 'AMBER',
        redistribution: 'constituency',
        chain: [
          { team: 'mallory', tlp: 'AMBER', at: '2026-11-20T00:00:00.000Z' },
          { team: 'bravo', tlp: 'AMBER' },
        ],
        relayRequestedTo: ['cc', 'cc'],
      },
      { at: new Date('2026-11-21T00:00:00Z') },
    ),
  );
  const facts = (await api(node, 'GET', path, 'reader')).json();
  t.same(facts.provenance, {
    originator: 'mallory',
    originatorTlp: 'AMBER',
    receivedFrom: 'bravo',
    limit: 'constituency',
    relayRequestedTo: ['cc'],
    chain: [
      { team: 'mallory', tlp: 'AMBER', at: '2026-11-20T00:00:00.000Z' },
      { team: 'bravo', tlp: 'AMBER' },
    ],
  });
  t.match(facts, { version: 1, updatedBy: 'bravo', updatedAt: '2026-11-21T00:00:00.000Z' }, 'recorded by the sender by default');

  // A handler's later settings keep the provenance; a later report replaces it.
  await api(node, 'PUT', path, 'handler', { redRecipients: ['bravo'], sectionMinimums: {} });
  t.equal((await api(node, 'GET', path, 'reader')).json().provenance.originator, 'mallory');
  await db.transaction().execute((tx) =>
    recordReceivedProvenance(tx, incident.id, {
      originatorTeam: 'bravo',
      originatorTlp: 'GREEN',
      chain: [{ team: 'bravo', tlp: 'GREEN' }],
    }),
  );
  const after = (await api(node, 'GET', path, 'reader')).json();
  t.same(after.provenance, {
    originator: 'bravo',
    originatorTlp: 'GREEN',
    receivedFrom: 'bravo',
    chain: [{ team: 'bravo', tlp: 'GREEN' }],
  });
  t.same(after.redRecipients, ['bravo']);
  t.equal(after.version, 3);

  await t.rejects(
    db
      .transaction()
      .execute((tx) => recordReceivedProvenance(tx, incident.id, { originatorTeam: 'bravo', originatorTlp: 'GREEN', chain: [] })),
    /at least the originator hop/,
  );
});
