import t from 'tap';
import { buildTestNode } from '../helpers/build-test-app.js';
import { addPeer, api, auditKinds, createIncident, enc, incidentCount, journal, trustPeer } from '../helpers/federation-harness.js';
import { assertMarkers, markedIncident } from '../helpers/marker-scan.js';
import { validateStix } from '../helpers/stix-schemas.js';
import { uuidV5 } from '../../src/modules/formats/stix-common.js';

/**
 * STIX 2.1 export and import (issue 16 part 1) on two real nodes: alpha exports, bravo (alpha's
 * verified peer, community trust) is the recipient of `?for=bravo` and the node that imports.
 */
const alpha = await buildTestNode(t, { key: 'alpha', listen: true });
const bravo = await buildTestNode(t, { key: 'bravo', listen: true });
await addPeer(alpha, bravo);
await trustPeer(alpha, bravo, { trustLevel: 'community' });

const TLP2_AMBER = 'marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421';
const TLP1_AMBER = 'marking-definition--f88d31f6-486f-44da-b317-01333bde0b82';
const EXT = 'extension-definition--671d50c5-68a9-4b03-8149-eb19cf3b492b';

const why = (r: { statusCode: number; body: string }): string => (r.statusCode < 300 ? `HTTP ${r.statusCode}` : r.body);

type Bundle = { type: string; id: string; objects: Array<Record<string, any> & { type: string; id: string }> };

function fullIncident(tlp: string) {
  const marked = markedIncident(tlp);
  marked.incident.indicators.push(
    { kind: 'md5', value: 'd41d8cd98f00b204e9800998ecf8427e' },
    { kind: 'sha256', value: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855' },
    { kind: 'asn', value: 'AS64500' },
  );
  return {
    ...marked,
    incident: { ...marked.incident, phase: 'analysis', firstSeen: '2026-11-20T02:13:00+09:00', lastSeen: '2026-11-21T00:00:00Z' },
  };
}

const exportOf = async (node: typeof alpha, ref: string, query = '') => api(node, 'GET', `/incidents/${enc(ref)}/stix${query}`, 'handler');
const importInto = async (node: typeof alpha, bundle: unknown) => api(node, 'POST', '/imports/stix', 'handler', bundle);

t.test('UUIDv5 as RFC 9562 computes it (the ids of every export hang on it)', async (t) => {
  // RFC 9562 appendix A.4: the DNS namespace and "www.example.com".
  t.equal(uuidV5('6ba7b810-9dad-11d1-80b4-00c04fd430c8', 'www.example.com'), '2ed6657d-e927-568b-95e1-2665a8aea6a2');
  t.match(
    uuidV5('00abedb4-aa42-466c-9c01-fed23315a9b7', '{"value":"山田.example"}'),
    /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
  );
});

t.test('the export of a full incident validates against the OASIS schemas, object by object, and is stable', async (t) => {
  const { incident } = fullIncident('AMBER');
  const created = await createIncident(alpha, incident);
  const res = await exportOf(alpha, created.ref);
  t.equal(res.statusCode, 200, why(res));
  t.equal(res.headers['content-type'], 'application/stix+json;version=2.1');
  const bundle = res.json() as Bundle;
  // The OASIS bundle schema predates incident and extension-definition in its oneOf: each object is checked by its own schema.
  t.equal(bundle.type, 'bundle');
  t.match(bundle.id, /^bundle--[0-9a-f-]{36}$/);
  for (const object of bundle.objects) t.same(validateStix(object), [], `${object.type} ${object.id} validates`);
  const types = new Set(bundle.objects.map((o) => o.type));
  for (const type of [
    'incident',
    'identity',
    'indicator',
    'relationship',
    'observed-data',
    'marking-definition',
    'extension-definition',
    'ipv4-addr',
    'ipv6-addr',
    'url',
    'domain-name',
    'email-addr',
    'file',
  ]) {
    t.ok(types.has(type), `has a ${type}`);
  }
  const marking = bundle.objects.find((o) => o.type === 'marking-definition')!;
  t.equal(marking.id, TLP2_AMBER, 'the official TLP 2.0 AMBER marking');
  t.same(marking.extensions, {
    'extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d': { extension_type: 'property-extension', tlp_2_0: 'amber' },
  });
  for (const o of bundle.objects) if (o.type !== 'marking-definition') t.same(o.object_marking_refs, [TLP2_AMBER], `${o.type} is marked`);
  const sdo = bundle.objects.find((o) => o.type === 'incident')!;
  t.equal(sdo.extensions[EXT].category, 'intrusions');
  t.equal(sdo.extensions[EXT].ref, created.ref);
  t.ok(
    bundle.objects.some(
      (o) =>
        o.type === 'indicator' &&
        o.pattern === "[file:hashes.'SHA-256' = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855']",
    ),
  );
  const again = (await exportOf(alpha, created.ref)).json() as Bundle;
  t.same(again, bundle, 'a re-export names the same objects');
  const audited = await auditKinds(alpha, { kind: 'format.export' });
  t.ok(
    audited.some((a) => a.details.ref === created.ref && a.details.format === 'stix' && /^[0-9a-f]{64}$/.test(a.details.sha256)),
    'audited',
  );
  t.notOk(JSON.stringify(audited).includes('Intrusion at'), 'the audit holds no content');
});

t.test('an export for a community-trust peer names no hidden marker; a team we do not share with is refused', async (t) => {
  const { incident, markers } = fullIncident('GREEN');
  const created = await createIncident(alpha, incident);
  const res = await exportOf(alpha, created.ref, '?for=bravo');
  t.equal(res.statusCode, 200, why(res));
  const bundle = res.json() as Bundle;
  for (const object of bundle.objects) t.same(validateStix(object), [], `${object.type} validates`);
  assertMarkers(t, res.body.toLowerCase(), markers, ['victims', 'internalHosts', 'reporter', 'evidence'], 'bundle for bravo');
  const decisions = await auditKinds(alpha, { kind: 'disclosure.decision', peer: 'bravo' });
  t.ok(
    decisions.some((d) => d.decision === 'allow' && d.details.format === 'stix'),
    'the decision is recorded',
  );

  const denied = await exportOf(alpha, created.ref, '?for=nobody-team');
  t.equal(denied.statusCode, 403, why(denied));
  t.equal(denied.json().code, 'policy-denied');
  const bad = await exportOf(alpha, created.ref, '?for=Not%20A%20Team');
  t.equal(bad.statusCode, 400);
  t.equal((await exportOf(alpha, 'NOPE%232026-999999')).statusCode, 404);
  t.equal((await api(alpha, 'GET', `/incidents/${enc(created.ref)}/stix`, 'reader')).statusCode, 403, 'handlers only');
});

t.test('an import of our own export keeps every field; twice files once; new content updates', async (t) => {
  const { incident } = fullIncident('AMBER');
  const created = await createIncident(alpha, incident);
  const original = (await api(alpha, 'GET', `/incidents/${enc(created.ref)}`, 'reader')).json();
  const bundle = (await exportOf(alpha, created.ref)).json() as Bundle;
  const before = await incidentCount(bravo);
  const first = await importInto(bravo, bundle);
  t.equal(first.statusCode, 200, why(first));
  t.equal(first.json().items[0].outcome, 'created');
  const copy = (await api(bravo, 'GET', `/incidents/${enc(first.json().items[0].incident.ref)}`, 'reader')).json();
  for (const key of Object.keys(original)) {
    if (['id', 'ref', 'version', 'createdBy', 'createdAt', 'updatedAt', 'externalRefs'].includes(key)) continue;
    t.same(copy[key], original[key], `${key} survives the round trip`);
  }
  const entries = await journal(bravo, copy.ref);
  t.ok(
    entries.some((e: any) => e.kind === 'imported' && e.changes.format === 'stix' && e.changes.sourceRef === created.ref),
    'journaled',
  );

  const second = await importInto(bravo, bundle);
  t.equal(second.json().items[0].outcome, 'unchanged');
  t.equal(await incidentCount(bravo), before + 1, 'filed once');

  const sdo = bundle.objects.find((o) => o.type === 'incident')!;
  sdo.name = 'Renamed at the source';
  sdo.modified = new Date().toISOString();
  const third = await importInto(bravo, bundle);
  t.equal(third.json().items[0].outcome, 'updated', why(third));
  t.equal((await api(bravo, 'GET', `/incidents/${enc(copy.ref)}`, 'reader')).json().title, 'Renamed at the source');
  t.equal(await incidentCount(bravo), before + 1, 'still one');
  const audited = await auditKinds(bravo, { kind: 'format.import' });
  t.same(
    audited.slice(-3).map((a) => a.details.outcome),
    ['created', 'unchanged', 'updated'],
  );
});

t.test("another tool's bundle: TLP 1.0 markings read as 2.0, patterns and SCOs as indicators, no marking as AMBER", async (t) => {
  const now = '2026-11-20T01:02:03.000Z';
  const base = { spec_version: '2.1', created: now, modified: now };
  const bundle = {
    type: 'bundle',
    id: 'bundle--5d0092c5-5f74-4287-9642-33f4c354e56d',
    objects: [
      {
        ...base,
        type: 'incident',
        id: 'incident--7a2b252e-4c0e-4a69-b23f-98a2f2a7a1f1',
        name: 'Phishing wave',
        description: 'Mails to staff',
        object_marking_refs: [TLP1_AMBER],
      },
      {
        ...base,
        type: 'indicator',
        id: 'indicator--2b9c3c4e-1e4a-4e0b-9a57-0f4a7a9d6f10',
        pattern: "[domain-name:value = 'evil.example']",
        pattern_type: 'stix',
        valid_from: now,
      },
      {
        ...base,
        type: 'indicator',
        id: 'indicator--3c9c3c4e-1e4a-4e0b-9a57-0f4a7a9d6f11',
        pattern: "[ipv4-addr:value = '198.51.100.7'] AND [url:value = 'x']",
        pattern_type: 'stix',
        valid_from: now,
      },
      { type: 'ipv4-addr', spec_version: '2.1', id: 'ipv4-addr--ff26c055-6336-5bc5-b98d-13d6226742dd', value: '198.51.100.9' },
    ],
  };
  const res = await importInto(bravo, bundle);
  t.equal(res.statusCode, 200, why(res));
  const filed = (await api(bravo, 'GET', `/incidents/${enc(res.json().items[0].incident.ref)}`, 'reader')).json();
  t.equal(filed.tlp, 'AMBER', 'TLP 1.0 AMBER is TLP 2.0 AMBER');
  t.equal(filed.title, 'Phishing wave');
  t.same(
    filed.indicators,
    [
      { kind: 'domain', value: 'evil.example' },
      { kind: 'ipv4', value: '198.51.100.9' },
    ],
    'the simple pattern and the SCO; the compound pattern is skipped',
  );

  const unlabelled = structuredClone(bundle);
  unlabelled.id = 'bundle--6d0092c5-5f74-4287-9642-33f4c354e56d';
  unlabelled.objects = unlabelled.objects.slice(1);
  const grouped = await importInto(bravo, unlabelled);
  t.equal(grouped.statusCode, 200, why(grouped));
  t.equal(grouped.json().items[0].objectId, unlabelled.id, 'no incident: filed under the bundle id');
  const group = (await api(bravo, 'GET', `/incidents/${enc(grouped.json().items[0].incident.ref)}`, 'reader')).json();
  t.equal(group.tlp, 'AMBER', 'no marking: AMBER');
});

t.test('a broken bundle is 400 import-invalid with a pointer and files nothing', async (t) => {
  const before = await incidentCount(bravo);
  const now = '2026-11-20T01:02:03.000Z';
  const good = {
    type: 'incident',
    spec_version: '2.1',
    id: 'incident--8a2b252e-4c0e-4a69-b23f-98a2f2a7a1f1',
    created: now,
    modified: now,
    name: 'x',
  };
  const cases: Array<[string, unknown, string]> = [
    ['not a bundle', { type: 'report' }, '/type'],
    ['bad bundle id', { type: 'bundle', id: 'bundle--nope', objects: [good] }, '/id'],
    [
      'wrong spec_version',
      { type: 'bundle', id: 'bundle--1d0092c5-5f74-4287-9642-33f4c354e56d', objects: [{ ...good, spec_version: '2.0' }] },
      '/objects/0/spec_version',
    ],
    [
      'id of another type',
      {
        type: 'bundle',
        id: 'bundle--1d0092c5-5f74-4287-9642-33f4c354e56d',
        objects: [good, { ...good, id: 'indicator--8a2b252e-4c0e-4a69-b23f-98a2f2a7a1f1' }],
      },
      '/objects/1/id',
    ],
    [
      'timestamp with an offset',
      { type: 'bundle', id: 'bundle--1d0092c5-5f74-4287-9642-33f4c354e56d', objects: [{ ...good, modified: '2026-11-20T10:02:03+09:00' }] },
      '/objects/0/modified',
    ],
    [
      'our extension with a category RSIT does not have',
      {
        type: 'bundle',
        id: 'bundle--1d0092c5-5f74-4287-9642-33f4c354e56d',
        objects: [{ ...good, extensions: { [EXT]: { extension_type: 'property-extension', detail: 'full', category: 'nope' } } }],
      },
      `/objects/0/extensions/${EXT}/category`,
    ],
  ];
  for (const [what, body, pointer] of cases) {
    const res = await importInto(bravo, body);
    t.equal(res.statusCode, 400, `${what}: ${why(res)}`);
    t.equal(res.json().code, 'import-invalid', what);
    t.equal(res.json().pointer, pointer, what);
  }
  const malformed = await bravo.app.inject({
    method: 'POST',
    url: '/api/v1/imports/stix',
    headers: { ...bravo.auth.handler, 'content-type': 'application/stix+json;version=2.1' },
    payload: '{"type": "bundle",',
  });
  t.equal(malformed.statusCode, 400, why(malformed));
  t.equal(malformed.json().code, 'malformed-json');
  const huge = await bravo.app.inject({
    method: 'POST',
    url: '/api/v1/imports/stix',
    headers: { ...bravo.auth.handler, 'content-type': 'application/json' },
    payload: `{"pad":"${'x'.repeat(17 * 1024 * 1024)}"}`,
  });
  t.equal(huge.statusCode, 413);
  t.equal((await api(bravo, 'POST', '/imports/stix', 'reader', cases[2]![1])).statusCode, 403, 'handlers only');
  t.equal(await incidentCount(bravo), before, 'nothing filed');
});
