import { INCIDENT_FIELDS } from '../../schemas/federation.schema.js';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { Compile } from 'typebox/compile';
import { MispEventDocumentSchema } from '../../schemas/misp.schema.js';
import { runCli } from '../helpers/cli-runner.js';
import { buildTestNode } from '../helpers/build-test-app.js';
import { addPeer, api, auditKinds, createIncident, enc, incidentCount, journal, trustPeer } from '../helpers/federation-harness.js';
import { assertMarkers, everything, markedIncident } from '../helpers/marker-scan.js';
import { startFakeMisp } from '../helpers/misp-server.js';

/**
 * Issue 16 part 3: an incident as a MISP event and back, and push/pull against a small MISP
 * instance on loopback (misp-server.ts) that checks the key. One node (alpha) does the work;
 * bravo exists only to be a peer alpha can export `for`.
 */
const KEY = 'misp-automation-key-SECRET-4f1c9e';
const misp = await startFakeMisp(KEY);
t.teardown(() => misp.close());
const logs: string[] = [];
const alpha = await buildTestNode(t, {
  key: 'alpha',
  listen: true,
  config: { logLevel: 'info', misp: { url: misp.url, key: KEY, timeoutMs: 1000, maxResponseBytes: 1024 * 1024, pageSize: 2 } },
  logStream: { write: (line) => void logs.push(line) },
});
const bravo = await buildTestNode(t, { key: 'bravo', listen: true });
await addPeer(alpha, bravo);
await trustPeer(alpha, bravo, { trustLevel: 'community' });

const validEvent = Compile(MispEventDocumentSchema);
const SECTIONS_OF_REPORT = [...INCIDENT_FIELDS, 'phase'] as const;

function rich(tlp: string) {
  const { incident, markers } = markedIncident(tlp);
  return {
    markers,
    incident: {
      ...incident,
      phase: 'analysis',
      firstSeen: '2026-11-20T02:13:00+09:00',
      lastSeen: '2026-11-21T18:40:00.5+09:00',
      hosts: [...incident.hosts, { ip: '198.51.100.9', role: 'source', ports: [22, 2222], protocol: 'tcp', spoofedSource: true }],
      systemChanges: [...incident.systemChanges, { description: 'sshd restarted', at: '2026-11-21T01:00:00Z' }],
      installedSoftware: [...incident.installedSoftware, { name: 'bot', sha256: 'a'.repeat(64), path: '/tmp/.x' }],
      evidence: [...incident.evidence, { kind: 'screenshot', description: 'the desktop' }],
      vulnerabilities: [...incident.vulnerabilities, { description: 'weak password' }],
      indicators: [...incident.indicators, { kind: 'sha1', value: 'b'.repeat(40) }, { kind: 'asn', value: 'AS64500' }],
    },
  };
}

async function exportOf(ref: string, query = '') {
  return api(alpha, 'GET', `/incidents/${enc(ref)}/misp${query}`, 'handler');
}

t.test('an export is a valid MISP event with the TLP tag, typed attributes and stable uuids, and is audited', async (t) => {
  const { incident } = rich('AMBER+STRICT');
  const created = await createIncident(alpha, incident);
  const res = await exportOf(created.ref);
  t.equal(res.statusCode, 200, res.body);
  const doc = res.json();
  t.ok(validEvent.Check(doc), JSON.stringify([...validEvent.Errors(doc)].slice(0, 3)));
  const e = doc.Event;
  for (const field of ['uuid', 'info', 'date', 'threat_level_id', 'analysis', 'distribution', 'Attribute', 'Tag']) t.ok(field in e, field);
  t.equal(e.info, incident.title);
  t.equal(e.date, '2026-11-20');
  t.equal(e.threat_level_id, '1');
  t.equal(e.analysis, '1');
  t.equal(e.distribution, '0');
  const tags = e.Tag.map((x: { name: string }) => x.name);
  t.ok(tags.includes('tlp:amber+strict'), 'TLP 2.0 tag');
  t.ok(tags.includes('rsit:intrusions="system-compromise"'), 'RSIT tag');
  const types = new Set(e.Attribute.map((a: { type: string }) => a.type));
  for (const type of ['ip-src', 'ip-dst', 'hostname', 'domain', 'url', 'email-src', 'vulnerability', 'sha256', 'sha1', 'AS', 'text'])
    t.ok(types.has(type), `attribute type ${type}`);
  const attacker = e.Attribute.find((a: { type: string; value: string }) => a.type === 'ip-src' && a.value === '203.0.113.45');
  t.equal(attacker.to_ids, true, 'the source of the access is for IDSs');
  t.ok(
    e.Attribute.filter((a: { type: string; value: string }) => a.type === 'ip-dst' && a.value.startsWith('192.0.2.')).every(
      (a: any) => !a.to_ids,
    ),
    'victims are never to_ids',
  );
  t.equal(new Set(e.Attribute.map((a: { uuid: string }) => a.uuid)).size, e.Attribute.length, 'attribute uuids are unique');
  const again = await exportOf(created.ref);
  t.same(again.json(), doc, 'a re-export is the same event, uuids included');
  const audited = await auditKinds(alpha, { kind: 'format.export' });
  t.ok(audited.length >= 2, 'each export is audited');
  t.notOk(JSON.stringify(audited).includes(incident.title), 'the audit holds no content');
  t.equal((await exportOf('NOPE#2026-999999')).statusCode, 404);
  t.equal((await api(alpha, 'GET', `/incidents/${enc(created.ref)}/misp`, 'reader')).statusCode, 403, 'a reader may not export');
});

t.test('export for a community-trust peer names no hidden marker; for an unknown team it is refused', async (t) => {
  const { incident, markers } = markedIncident('GREEN');
  const created = await createIncident(alpha, incident);
  const res = await exportOf(created.ref, '?for=bravo');
  t.equal(res.statusCode, 200, res.body);
  t.ok(validEvent.Check(res.json()), 'still a valid event');
  assertMarkers(t, res.body.toLowerCase(), markers, ['victims', 'internalHosts', 'reporter', 'evidence'], 'export for bravo (community)');
  t.ok(res.body.includes('203.0.113.45'), 'the attacker is still there');
  const decisions = await auditKinds(alpha, { kind: 'disclosure.decision', peer: 'bravo' });
  t.equal(decisions.at(-1)?.decision, 'allow', 'the disclosure decision is audited');
  const denied = await exportOf(created.ref, '?for=nobody-here');
  t.equal(denied.statusCode, 403);
  t.equal(denied.json().code, 'policy-denied');
  const red = await createIncident(alpha, { ...incident, tlp: 'RED' });
  t.equal((await exportOf(red.ref, '?for=bravo')).json().code, 'policy-denied', 'RED does not go to a community peer');
});

t.test('a round trip of our own export keeps every field; the same event twice files once; a changed one updates', async (t) => {
  const { incident } = rich('AMBER');
  const created = await createIncident(alpha, incident);
  const original = (await api(alpha, 'GET', `/incidents/${enc(created.ref)}`, 'handler')).json();
  const doc = (await exportOf(created.ref)).json();
  const before = await incidentCount(alpha);
  const first = await api(alpha, 'POST', '/imports/misp', 'handler', doc);
  t.equal(first.statusCode, 201, first.body);
  t.equal(first.json().status, 'created');
  const copy = (await api(alpha, 'GET', `/incidents/${enc(first.json().incident.ref)}`, 'handler')).json();
  for (const field of SECTIONS_OF_REPORT) t.same(copy[field], original[field], `${field} survives the round trip`);
  const entries = await journal(alpha, copy.ref);
  t.ok(
    entries.some((j: any) => j.kind === 'imported' && j.changes.format === 'misp' && j.changes.objectId === doc.Event.uuid),
    'journaled from MISP',
  );

  const twice = await api(alpha, 'POST', '/imports/misp', 'handler', doc.Event);
  t.equal(twice.statusCode, 200, 'without the Event wrapper too');
  t.equal(twice.json().status, 'unchanged');
  t.equal(twice.json().incident.ref, copy.ref);
  t.equal(await incidentCount(alpha), before + 1, 'filed once');

  const changed = structuredClone(doc);
  changed.Event.info = 'Renamed in MISP';
  changed.Event.Tag = changed.Event.Tag.map((x: { name: string }) => (x.name === 'tlp:amber' ? { name: 'tlp:red' } : x));
  const updated = await api(alpha, 'POST', '/imports/misp', 'handler', changed);
  t.equal(updated.json().status, 'updated', updated.body);
  const after = (await api(alpha, 'GET', `/incidents/${enc(copy.ref)}`, 'handler')).json();
  t.equal(after.title, 'Renamed in MISP');
  t.equal(after.tlp, 'RED');
  t.ok(
    (await journal(alpha, copy.ref)).some((j: any) => j.kind === 'updated'),
    'the update is journaled',
  );
  t.equal(await incidentCount(alpha), before + 1, 'still one incident');
  t.ok((await auditKinds(alpha, { kind: 'format.import' })).length >= 3, 'every import is audited');
});

t.test('a bad event is 400 import-invalid with the first failing pointer; nothing filed', async (t) => {
  const before = await incidentCount(alpha);
  const good = {
    uuid: '5e1c0d4a-7b2e-4c9f-8a61-3d2f1e0a9b87',
    info: 'phishing wave',
    Attribute: [{ type: 'url', value: 'http://evil.example/x' }],
  };
  const cases: Array<[string, unknown, string]> = [
    ['no uuid', { Event: { info: 'x' } }, '/Event'],
    [
      'attribute value not a string',
      { Event: { ...good, Attribute: [good.Attribute[0], { type: 'domain', value: 42 }] } },
      '/Event/Attribute/1/value',
    ],
    [
      'a host marker with a bad address',
      { ...good, Attribute: [{ type: 'ip-src', value: 'not-an-ip', comment: 'hikeshi:host {"role":"source"}' }] },
      '/Attribute/0',
    ],
    [
      'a marker with broken JSON',
      { Event: { ...good, Attribute: [{ type: 'text', value: 'x', comment: 'hikeshi:reporter {oops' }] } },
      '/Event/Attribute/0/comment',
    ],
    [
      'a host marker with an unknown field',
      { Event: { ...good, Attribute: [{ type: 'ip-dst', value: '192.0.2.1', comment: 'hikeshi:host {"role":"target","x":1}' }] } },
      '/Event/Attribute/0',
    ],
    ['info empty', { Event: { ...good, info: '' } }, '/Event/info'],
  ];
  for (const [what, body, pointer] of cases) {
    const res = await api(alpha, 'POST', '/imports/misp', 'handler', body);
    t.equal(res.statusCode, 400, `${what}: ${res.body}`);
    t.equal(res.json().code, 'import-invalid', what);
    t.ok(String(res.json().pointer).startsWith(pointer), `${what}: pointer ${res.json().pointer} at ${pointer}`);
  }
  const malformed = await alpha.app.inject({
    method: 'POST',
    url: '/api/v1/imports/misp',
    headers: { ...alpha.auth.handler, 'content-type': 'application/json' },
    payload: '{"Event": ',
  });
  t.equal(malformed.statusCode, 400, 'malformed JSON');
  t.equal(await incidentCount(alpha), before, 'nothing filed');
  t.equal((await api(alpha, 'POST', '/imports/misp', 'reader', good)).statusCode, 403, 'a reader may not import');
});

function foreignEvent(n: number) {
  return {
    uuid: `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`,
    info: `CIRCL feed event ${n}`,
    date: '2026-10-01',
    threat_level_id: '3',
    analysis: '0',
    distribution: '1',
    timestamp: String(Math.floor(Date.now() / 1000) + 10 + n), // changed after our push
    Orgc: { name: 'CIRCL', uuid: '55f6ea5e-2c60-40e5-964f-47a8950d210f' },
    Attribute: [
      { type: 'ip-dst', category: 'Network activity', value: `198.51.100.${n}`, to_ids: true, comment: 'C2' },
      { type: 'vulnerability', category: 'External analysis', value: 'CVE-2024-3400', to_ids: false },
      { type: 'filename|sha256', category: 'Payload delivery', value: `drop.exe|${'c'.repeat(64)}`, to_ids: true },
    ],
    Tag: [{ name: 'tlp:green' }, { name: 'rsit:malicious-code="c2-server"' }],
  };
}

const importedUuids = async () =>
  (await alpha.database.db.selectFrom('imported_object').select('object_id').where('format', '=', 'misp').execute()).map(
    (r) => r.object_id,
  );

t.test('push adds then edits the event on MISP; pull files its events once, and resumes after a page fails', async (t) => {
  const created = await createIncident(alpha, rich('GREEN').incident);
  const pushed = await api(alpha, 'POST', `/incidents/${enc(created.ref)}/misp/push`, 'handler');
  t.equal(pushed.statusCode, 200, pushed.body);
  t.equal(pushed.json().action, 'added');
  const uuid = pushed.json().eventUuid;
  t.ok(validEvent.Check({ Event: misp.events.get(uuid) }), 'MISP holds a valid event');
  t.equal((await api(alpha, 'POST', `/incidents/${enc(created.ref)}/misp/push`, 'handler')).json().action, 'edited', 'a second push edits');
  t.ok((await auditKinds(alpha, { kind: 'format.push' })).length >= 2, 'pushes are audited');

  for (const n of [1, 2, 3]) misp.events.set(foreignEvent(n).uuid, foreignEvent(n));
  const before = await incidentCount(alpha);
  const pulled = await api(alpha, 'POST', '/misp/pull', 'handler');
  t.equal(pulled.statusCode, 200, pulled.body);
  t.match(pulled.json(), { created: 3, updated: 0, unchanged: 1, invalid: 0 });
  t.equal(await incidentCount(alpha), before + 3, 'three foreign events; our own pushed one is not filed again');
  const foreign = (await api(alpha, 'GET', `/incidents?indicator=198.51.100.2`, 'handler')).json().items[0];
  t.match(foreign, { title: 'CIRCL feed event 2', tlp: 'GREEN', category: 'malicious-code', type: 'c2-server', severity: 'low' });
  t.same(foreign.vulnerabilities, [{ cve: 'CVE-2024-3400' }]);
  t.ok(
    foreign.indicators.some((i: any) => i.kind === 'sha256' && i.value === 'c'.repeat(64)),
    'composite attribute read',
  );
  const roundTripped = (await importedUuids()).includes(uuid);
  t.ok(roundTripped, 'our pushed event is known by its uuid');

  // Page 2 fails once, halfway through a pull of five new events (two a page).
  for (const n of [4, 5, 6, 7, 8]) misp.events.set(foreignEvent(n).uuid, foreignEvent(n));
  misp.failNext(2, 'status-500');
  const broken = await api(alpha, 'POST', '/misp/pull', 'handler');
  t.equal(broken.statusCode, 502, broken.body);
  t.equal(broken.json().code, 'misp-unavailable');
  const midway = await incidentCount(alpha);
  t.ok(midway > before + 3, 'the first page was filed');
  const resumed = await api(alpha, 'POST', '/misp/pull', 'handler');
  t.equal(resumed.statusCode, 200, resumed.body);
  t.equal(await incidentCount(alpha), before + 3 + 5, 'every new event filed exactly once');
  const uuids = await importedUuids();
  t.equal(new Set(uuids).size, uuids.length);
  t.equal(misp.searches.at(-resumed.json().pages)!.page, 2, 'the resumed pull started at the page that failed');
  const quiet = await api(alpha, 'POST', '/misp/pull', 'handler');
  t.equal(quiet.json().created, 0, 'nothing new: nothing filed');
});

t.test('MISP failures are a clear 502, never a crash; the key is never logged or audited', async (t) => {
  const before = await incidentCount(alpha);
  for (const how of ['bad-json', 'slow'] as const) {
    misp.failNext(1, how);
    const res = await api(alpha, 'POST', '/misp/pull', 'handler');
    t.equal(res.statusCode, 502, `${how}: ${res.body}`);
    t.equal(res.json().code, 'misp-unavailable', how);
    t.notOk(res.body.includes(KEY), `${how}: the answer does not name the key`);
  }
  t.equal(await incidentCount(alpha), before, 'nothing half-filed');
  const unconfigured = await api(bravo, 'POST', '/misp/pull', 'handler');
  t.equal(unconfigured.statusCode, 409, 'a node without HIKESHI_MISP_URL/KEY says so');
  t.equal(unconfigured.json().code, 'misp-not-configured');
  t.equal(misp.refused, 0, 'every request carried the key');
  t.ok(logs.length > 0, 'the node logged');
  t.notOk(logs.join('\n').includes(KEY), 'no log line names the key');
  t.notOk((await everything(alpha)).includes(KEY.toLowerCase()), 'no table (audit included) holds the key');
});

/** `hikeshi <args>` in this process against alpha. */
const hikeshi = (...args: string[]) => runCli(alpha, ...args);

t.test('the CLI: export misp, import misp, misp push, misp pull', async (t) => {
  const created = await createIncident(alpha, rich('GREEN').incident);
  const exported = await hikeshi('export', 'misp', created.ref, '--for', 'bravo');
  t.equal(exported.code, 0, exported.stderr);
  const doc = JSON.parse(exported.stdout);
  t.ok(validEvent.Check(doc), 'prints a valid event');
  const dir = await mkdtemp(path.join(os.tmpdir(), 'hikeshi-misp-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'event.json');
  await writeFile(file, exported.stdout);
  const imported = await hikeshi('import', 'misp', file);
  t.equal(imported.code, 0, imported.stderr);
  t.match(imported.stdout, /^created: MISP event [0-9a-f-]{36} is ALPHA#\d{4}-\d+/);
  t.match((await hikeshi('import', 'misp', file)).stdout, /^unchanged:/);
  const pushed = await hikeshi('misp', 'push', created.ref);
  t.equal(pushed.code, 0, pushed.stderr);
  t.match(pushed.stdout, /^added event [0-9a-f-]{36} on http:\/\/127\.0\.0\.1:\d+/);
  const pulled = await hikeshi('misp', 'pull');
  t.equal(pulled.code, 0, pulled.stderr);
  // The event we pushed comes back and files nothing: it is our own incident.
  t.match(pulled.stdout, /^pulled \d+ page\(s\): 0 created, 0 updated, \d+ unchanged/);
  t.equal((await hikeshi('export', 'cybox', created.ref)).code, 2, 'an unknown format is a usage error');
  await writeFile(file, '{"Event": {"info": "x"}}');
  const bad = await hikeshi('import', 'misp', file);
  t.equal(bad.code, 1);
  t.match(bad.stderr, /import-invalid/);
});
