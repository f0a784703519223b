import t from 'tap';
import type { Incident } from '../../schemas/incident.schema.js';
import { createAuditModule } from '../../src/modules/audit/audit.module.js';
import { createIncidentService } from '../../src/modules/incidents/incident.service.js';
import { createSharingService, type SharingService } from '../../src/modules/sharing/index.js';
import { createSiteLookupMemo } from '../../src/modules/sites/sites.module.js';
import { buildTestNode } from '../helpers/build-test-app.js';
import { api, createIncident } from '../helpers/federation-harness.js';

/**
 * evaluateForSites (a campaign's proposals, ADR 0026 "Proposals in bulk") decides each (incident,
 * site) pair exactly as evaluate decides it alone: the same allow or deny, reasons, label,
 * redactions and payload digest, with the site's involvement found by the same longest-match
 * look-ups (by address and by host name; a more specific network of another site wins; a site the
 * incident does not involve is not "involved"; an unknown site id is blocked). With a run's memo
 * of look-ups the answers do not change.
 */
const node = await buildTestNode(t, { key: 'alpha' });
const db = node.database.db;
const audit = createAuditModule({ db, clock: () => new Date() });
const incidents = createIncidentService({ db, clock: () => new Date(), config: node.config });
const sharing: SharingService = createSharingService({
  db,
  config: node.config,
  peers: node.app.federation.peers,
  audit: audit.log,
  incidents,
});

async function site(body: Record<string, unknown>): Promise<string> {
  const res = await api(node, 'POST', '/sites', 'admin', body);
  if (res.statusCode !== 201) throw new Error(`site: ${res.statusCode} ${res.body}`);
  return res.json().id;
}
const uni = await site({ name: 'University', networks: ['192.0.2.0/24'] });
const lab = await site({ name: 'Lab', networks: ['192.0.2.128/25'] }); // inside the university's: longest match
const isp = await site({ name: 'ISP', domains: ['isp.example'] });
const other = await site({ name: 'Uninvolved', networks: ['198.51.100.0/24'] });

const make = async (tlp: string, hosts: Array<Record<string, unknown>>): Promise<Incident> =>
  incidents.get((await createIncident(node, { tlp, hosts, category: 'vulnerable', type: 'ddos-amplifier' })).id);
const list: Incident[] = [
  await make('GREEN', [
    { ip: '192.0.2.10', role: 'target' },
    { ip: '192.0.2.200', role: 'target' },
  ]),
  await make('AMBER', [{ hostname: 'dns1.ISP.example', role: 'source' }]),
  await make('AMBER', [{ ip: '192.0.2.130', role: 'target' }]), // the lab's only, not the university's
];
const pairs = list.flatMap((incident) =>
  [uni, lab, isp, other, '00000000-0000-4000-8000-000000000000'].map((siteId) => ({ incident, siteId })),
);

const summary = (o: Awaited<ReturnType<SharingService['evaluate']>>) => ({
  allow: o.allow,
  deniedBy: o.deniedBy,
  reasons: o.decision.reasons,
  tlp: o.decision.tlp,
  detail: o.decision.detail,
  redactions: o.decision.redactions.map((r) => r.section),
  payloadSha256: o.payloadSha256,
  recipient: { id: o.recipient.id, kind: o.recipient.kind },
});

t.test('each pair is decided as evaluate decides it alone', async (t) => {
  const alone = [];
  for (const { incident, siteId } of pairs) alone.push(summary(await sharing.evaluate(db, incident, { siteId }, 'direct')));
  const bulk = (await sharing.evaluateForSites(db, pairs, 'direct')).map(summary);
  t.same(bulk, alone);
  // The cases this covers, so the comparison cannot pass on uniform answers.
  const at = (i: number, siteId: string) => bulk[pairs.findIndex((p) => p.incident.id === list[i]!.id && p.siteId === siteId)]!;
  t.equal(at(0, uni).allow, true, 'GREEN to the site of one of its hosts');
  t.equal(at(2, lab).allow, true, 'AMBER to the site of the more specific network (need to know)');
  t.equal(at(2, uni).allow, false, 'AMBER not to the site whose wider network holds it: not involved');
  t.equal(at(1, isp).allow, true, 'AMBER to the site of the host name, matched case-insensitively');
  t.equal(at(1, other).allow, false, 'AMBER not to an uninvolved site');
  t.match(at(0, '00000000-0000-4000-8000-000000000000'), { allow: false, deniedBy: ['recipient-unknown'] });
  t.not(at(0, uni).payloadSha256, null);
});

t.test('with a memo of look-ups, the same answers; the memo is filled and then used', async (t) => {
  const memo = createSiteLookupMemo();
  const first = (await sharing.evaluateForSites(db, pairs, 'direct', memo)).map(summary);
  t.equal(memo.addresses.get('192.0.2.130'), lab);
  t.equal(memo.names.get('dns1.isp.example'), isp);
  t.same(first, (await sharing.evaluateForSites(db, pairs, 'direct')).map(summary));
  // A value the memo holds is not asked again: a memo that says "no site" is believed.
  memo.addresses.set('192.0.2.130', null);
  const again = (await sharing.evaluateForSites(db, pairs, 'direct', memo)).map(summary);
  t.equal(again[pairs.findIndex((p) => p.incident.id === list[2]!.id && p.siteId === lab)]!.allow, false);
});
