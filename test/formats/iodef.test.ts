import { INCIDENT_FIELDS } from '../../schemas/federation.schema.js';
import { execFile, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import t, { type Test } from 'tap';
import { readFileSync } from 'node:fs';
import { main } from '../../src/cli/main.js';
import { buildTestNode, type TestNode } from '../helpers/build-test-app.js';
import { addPeer, api, createIncident, enc, EXAMPLE_INCIDENT, trustPeer } from '../helpers/federation-harness.js';
import { assertMarkers, markedIncident, type Section } from '../helpers/marker-scan.js';

/**
 * IODEF v2 (issue 16 part 4) on one node, alpha; bravo only answers alpha's profile fetch so that
 * alpha can hold it as a verified community peer. Every export is validated with xmllint against
 * the vendored RFC 7970 schema (test/fixtures/standards/iodef, offline through its catalog).
 */
const run = promisify(execFile);
const IODEF_NS_ATTR = 'xmlns="urn:ietf:params:xml:ns:iodef-2.0"';
const kit = fileURLToPath(new URL('../fixtures/standards/iodef/', import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'iodef-'));
let files = 0;

// CI installs xmllint (Debian libxml2-utils, .ci/run); a machine without it skips the schema checks, as gpg's are.
const noXmllint = spawnSync('xmllint', ['--version']).error ? 'no xmllint (Debian libxml2-utils)' : false;

/** Asserts `xml` is valid IODEF v2 against the vendored RFC 7970 schema. */
async function assertValid(t: Test, xml: string, message = 'validates against the RFC 7970 schema'): Promise<void> {
  if (noXmllint) await t.test(message, { skip: noXmllint }, async () => {});
  else t.same(await xmllint(xml), { code: 0, stderr: '' }, message);
}

async function xmllint(xml: string): Promise<{ code: number; stderr: string }> {
  const file = join(work, `doc-${files++}.xml`);
  writeFileSync(file, xml);
  try {
    await run('xmllint', ['--nonet', '--noout', '--schema', join(kit, 'iodef-2.0.rfc7970.xsd'), file], {
      env: { ...process.env, XML_CATALOG_FILES: join(kit, 'catalog.xml') },
    });
    return { code: 0, stderr: '' };
  } catch (err) {
    const e = err as { code?: number; stderr?: string };
    return { code: e.code ?? -1, stderr: e.stderr ?? '' };
  }
}

const alpha: TestNode = await buildTestNode(t, { key: 'alpha', listen: true });
const bravo: TestNode = await buildTestNode(t, { key: 'bravo', listen: true });
await addPeer(alpha, bravo);
await trustPeer(alpha, bravo, { trustLevel: 'community' });

const exportXml = (ref: string, query = '') => api(alpha, 'GET', `/incidents/${enc(ref)}/iodef${query}`, 'handler');
const importXml = (xml: string, contentType = 'application/xml') =>
  alpha.app.inject({
    method: 'POST',
    url: '/api/v1/imports/iodef',
    headers: { ...alpha.auth.handler, 'content-type': contentType },
    payload: xml,
  });
const count = async () => (await api(alpha, 'GET', '/incidents?limit=500', 'reader')).json().items.length as number;

t.test('a full incident exports as a valid IODEF document and round-trips every field', async (t) => {
  const full: Record<string, unknown> = { ...structuredClone(EXAMPLE_INCIDENT), phase: 'triage' };
  (full.evidence as Array<Record<string, unknown>>)[0]!.content = 'line 1 <root> & "quoted"\r\n  indented line 2\n';
  const created = await createIncident(alpha, full);
  await api(alpha, 'POST', `/incidents/${enc(created.ref)}/journal`, 'handler', { note: 'Asked the ISP to check the host.' });
  const res = await exportXml(created.ref);
  t.equal(res.statusCode, 200);
  t.match(res.headers['content-type'], /^application\/xml/);
  const xml = res.body;
  t.match(xml, /<IODEF-Document xmlns="urn:ietf:params:xml:ns:iodef-2.0" version="2.00" xml:lang="ja">/);
  t.match(xml, /<IncidentID name="alpha">ALPHA#\d{4}-\d{6}<\/IncidentID>/);
  t.match(xml, /<System category="source" spoofed="no">/);
  t.match(xml, /<System category="intermediate"/);
  t.match(xml, /<Address category="ipv4-addr">203.0.113.45<\/Address>/);
  t.match(xml, /CVE-2016-5195/);
  t.match(xml, /<HistoryItem action="ext-value" ext-action="note">/);
  t.match(xml, /meaning="tlp" formatid="hikeshi">TLP:AMBER</);
  await assertValid(t, xml, 'validates against the RFC 7970 schema');

  // Round trip: our own export filed again is a new incident with every field IODEF holds.
  const other = xml.replace(/<IncidentID name="alpha">/, '<IncidentID name="alpha-copy">');
  const imported = await importXml(other);
  t.equal(imported.statusCode, 201, imported.body);
  const back = (await api(alpha, 'GET', `/incidents/${enc(imported.json().ref)}`, 'reader')).json();
  const original = (await api(alpha, 'GET', `/incidents/${enc(created.ref)}`, 'reader')).json();
  for (const field of [...INCIDENT_FIELDS, 'phase']) {
    t.same(back[field], original[field], `${field} survives the round trip`);
  }
  const journal = (await api(alpha, 'GET', `/incidents/${enc(back.ref)}/journal`, 'reader')).json().items;
  t.ok(
    journal.some((j: any) => j.kind === 'imported' && j.changes.format === 'iodef' && j.changes.sourceTeam === 'alpha-copy'),
    'the journal says where it came from',
  );
  const audit = (await api(alpha, 'GET', '/audit?limit=500', 'admin')).json().items;
  t.ok(
    audit.some((a: any) => a.kind === 'export' && a.details.format === 'iodef' && a.details.for === null),
    'the export is audited',
  );
  t.ok(
    audit.some((a: any) => a.kind === 'import' && a.details.status === 'created'),
    'the import is audited',
  );
  t.notOk(JSON.stringify(audit).includes('Hanako'), 'no incident content in the audit log');
});

t.test('a minimal incident exports as a valid document', async (t) => {
  const created = await createIncident(alpha, {
    title: 'Minimal',
    summary: undefined,
    type: undefined,
    firstSeen: undefined,
    lastSeen: undefined,
    poc: undefined,
    hosts: undefined,
    intruderActivity: undefined,
    vulnerabilities: undefined,
    systemChanges: undefined,
    installedSoftware: undefined,
    evidence: undefined,
    indicators: undefined,
    reporter: { name: 'R' },
    tlp: 'CLEAR',
  });
  const res = await exportXml(created.ref);
  t.equal(res.statusCode, 200);
  t.match(res.body, /restriction="white"/);
  await assertValid(t, res.body);
});

t.test('an export for a community peer is what a share would carry: valid, redacted, audited', async (t) => {
  const marked = markedIncident('GREEN');
  const created = await createIncident(alpha, marked.incident);
  const explain = (
    await api(alpha, 'POST', '/policy/explain', 'handler', { incident: created.ref, peer: 'bravo', purpose: 'direct' })
  ).json();
  t.equal(explain.allow ?? explain.decision?.allow, true, 'the policy lets a community peer have TLP:GREEN');
  const hidden = ((explain.redactions ?? explain.decision?.redactions ?? []) as Array<{ section: Section }>).map((r) => r.section);
  t.ok(hidden.length > 0, `the policy hides sections from a community peer: ${hidden.join(', ')}`);
  const res = await exportXml(created.ref, '?for=bravo');
  t.equal(res.statusCode, 200, res.body);
  await assertValid(t, res.body);
  assertMarkers(t, res.body.toLowerCase(), marked.markers, hidden, 'IODEF for bravo');
  t.notMatch(res.body, /<History>/, 'no journal for another team');
  const audit = (await api(alpha, 'GET', '/audit?limit=500', 'admin')).json().items;
  t.ok(
    audit.some((a: any) => a.kind === 'disclosure.decision' && a.peer === 'bravo' && a.details?.format === 'iodef'),
    'the disclosure is audited',
  );

  const red = await createIncident(alpha, { tlp: 'RED' });
  const denied = await exportXml(red.ref, '?for=bravo');
  t.equal(denied.statusCode, 403);
  t.equal(denied.json().type?.endsWith('policy-denied') || denied.json().code === 'policy-denied', true, denied.body);
  t.equal((await exportXml(red.ref, '?for=nobody')).statusCode, 403, 'an unknown team is refused');
  t.equal((await exportXml('ALPHA#1999-000001')).statusCode, 404);
  t.equal((await api(alpha, 'GET', `/incidents/${enc(red.ref)}/iodef`, 'reader')).statusCode, 403, 'a reader may not export');
});

t.test('hostile and invalid documents: 400 with a pointer, nothing filed', async (t) => {
  const valid = (await exportXml((await createIncident(alpha)).ref)).body;
  const before = await count();
  const cases: Array<[string, string, RegExp]> = [
    ['malformed XML', '<IODEF-Document><Incident></IODEF-Document>', /^\/$/],
    [
      'a billion-laughs entity bomb',
      '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;">]><IODEF-Document xmlns="urn:ietf:params:xml:ns:iodef-2.0">&lol2;</IODEF-Document>',
      /^\/$/,
    ],
    [
      'an external entity (XXE)',
      '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><IODEF-Document xmlns="urn:ietf:params:xml:ns:iodef-2.0">&xxe;</IODEF-Document>',
      /^\/$/,
    ],
    ['deep nesting', `<IODEF-Document ${IODEF_NS_ATTR} version="2.00">${'<a>'.repeat(500)}${'</a>'.repeat(500)}</IODEF-Document>`, /^\/$/],
    ['a wrong root', '<Report xmlns="urn:ietf:params:xml:ns:iodef-2.0" version="2.00"/>', /^\/Report$/],
    ['a wrong namespace', valid.replace(IODEF_NS_ATTR, 'xmlns="urn:example"'), /^\/IODEF-Document$/],
    ['no IncidentID', valid.replace(/<IncidentID[^>]*>[^<]*<\/IncidentID>/, ''), /^\/IODEF-Document\/Incident\[1\]\/IncidentID$/],
    ['an IncidentID without a name', valid.replace(/<IncidentID name="alpha">/, '<IncidentID>'), /IncidentID\/@name$/],
    ['no Contact', valid.replace(/<Contact [\s\S]*<\/Contact>\n/, ''), /Incident\[1\]\/Contact$/],
    ['a bad port', valid.replace(/<Port>22<\/Port>/, '<Port>99999</Port>'), /System\[2\]\/Service\[1\]\/Port$/],
    ['an unknown HTML entity', valid.replace('</Description>', '&nbsp;</Description>'), /^\/$/],
  ];
  for (const [what, body, pointer] of cases) {
    const res = await importXml(body);
    t.equal(res.statusCode, 400, `${what}: 400`);
    t.match(res.headers['content-type'], /problem\+json/);
    t.match(res.json().pointer, pointer, `${what}: pointer ${res.json().pointer}`);
  }
  t.equal(await count(), before, 'nothing was filed');
  t.equal((await importXml(valid, 'text/plain')).statusCode, 415);
  const huge = valid.replace(
    '</Incident>',
    `<AdditionalData dtype="string">${'x'.repeat(alpha.config.bodyLimitBytes)}</AdditionalData></Incident>`,
  );
  t.equal((await importXml(huge)).statusCode, 413, 'oversize is 413');
  t.equal(
    (
      await alpha.app.inject({
        method: 'POST',
        url: '/api/v1/imports/iodef',
        headers: { ...alpha.auth.reader, 'content-type': 'application/xml' },
        payload: valid,
      })
    ).statusCode,
    403,
  );
});

t.test('the same document twice files once; new content updates and journals', async (t) => {
  const created = await createIncident(alpha);
  const xml = (await exportXml(created.ref)).body.replace(/<IncidentID name="alpha">/, '<IncidentID name="csirt.example.org">');
  const first = await importXml(xml);
  t.equal(first.statusCode, 201);
  const before = await count();
  const again = await importXml(xml.replace(/<GenerationTime>[^<]*</, '<GenerationTime>2030-01-01T00:00:00Z<'));
  t.equal(again.statusCode, 200);
  t.match(again.json(), { status: 'unchanged', ref: first.json().ref });
  t.equal(await count(), before, 'filed once');
  const changed = await importXml(
    xml
      .replace(/<SystemImpact severity="high">/, '<SystemImpact severity="high">')
      .replace('meaning="severity" formatid="hikeshi">high<', 'meaning="severity" formatid="hikeshi">critical<'),
  );
  t.match(changed.json(), { status: 'updated', ref: first.json().ref });
  const now = (await api(alpha, 'GET', `/incidents/${enc(first.json().ref)}`, 'reader')).json();
  t.equal(now.severity, 'critical');
  const journal = (await api(alpha, 'GET', `/incidents/${enc(now.ref)}/journal`, 'reader')).json().items;
  t.ok(journal.some((j: any) => j.kind === 'updated'));
  t.ok(journal.some((j: any) => j.kind === 'imported' && j.changes.status === 'updated'));

  const twin = xml.replace('<IncidentID name="csirt.example.org">', '<IncidentID name="twin.example.org">');
  const both = await Promise.all([importXml(twin), importXml(twin)]);
  t.same(both.map((r) => r.json().status).sort(), ['created', 'unchanged'], 'two at once file once');
});

t.test("another tool's document: a namespace prefix, CDATA, no hikeshi AdditionalData", async (t) => {
  const doc = `<?xml version="1.0" encoding="UTF-8"?>
<!-- written by another tool & kept as a comment -->
<iodef:IODEF-Document version="2.00" xml:lang="en" xmlns:iodef="urn:ietf:params:xml:ns:iodef-2.0">
  <iodef:Incident purpose="reporting" restriction="green">
    <iodef:IncidentID name="csirt.example.com">189493</iodef:IncidentID>
    <iodef:GenerationTime>2015-10-08T02:12:00Z</iodef:GenerationTime>
    <iodef:Description>Scanning &amp; brute force</iodef:Description>
    <iodef:Contact type="organization" role="creator">
      <iodef:ContactName>Example CSIRT</iodef:ContactName>
      <iodef:Email><iodef:EmailTo>contact@csirt.example.com</iodef:EmailTo></iodef:Email>
    </iodef:Contact>
    <iodef:EventData>
      <iodef:Flow>
        <iodef:System category="source"><iodef:Node><iodef:Address category="ipv4-addr">192.0.2.200</iodef:Address></iodef:Node>
          <iodef:Service ip-protocol="6"><iodef:Port>22</iodef:Port></iodef:Service></iodef:System>
      </iodef:Flow>
      <iodef:Record><iodef:RecordData><iodef:RecordItem dtype="string"><![CDATA[sshd: a & b &nbsp; &lt; <x>]]></iodef:RecordItem></iodef:RecordData></iodef:Record>
    </iodef:EventData>
  </iodef:Incident>
</iodef:IODEF-Document>`;
  await assertValid(t, doc, 'the document itself is valid IODEF');
  const res = await importXml(doc, 'text/xml');
  t.equal(res.statusCode, 201, res.body);
  const filed = (await api(alpha, 'GET', `/incidents/${enc(res.json().ref)}`, 'reader')).json();
  t.match(filed, {
    title: 'Scanning & brute force',
    category: 'other',
    type: 'undetermined',
    severity: 'medium',
    tlp: 'GREEN',
    reporter: { name: 'Example CSIRT', email: 'contact@csirt.example.com' },
    hosts: [{ role: 'source', ip: '192.0.2.200', ports: [22], protocol: 'tcp' }],
    evidence: [{ kind: 'log', content: 'sshd: a & b &nbsp; &lt; <x>' }],
  });
});

t.test('the CLI exports and imports through the node', async (t) => {
  const created = await createIncident(alpha, { title: 'From the CLI' });
  const file = join(work, 'cli.xml');
  const lines: string[] = [];
  const hikeshi = (...args: string[]) =>
    main([...args, '--data-dir', alpha.config.dataDir, '--team-id', alpha.config.teamId, '--url', alpha.url], (s) => lines.push(s));
  t.equal(await hikeshi('export', 'iodef', created.ref, '--out', file), 0);
  await assertValid(t, readFileSync(file, 'utf8'));
  writeFileSync(file, readFileSync(file, 'utf8').replace('<IncidentID name="alpha">', '<IncidentID name="cli.example">'));
  t.equal(await hikeshi('import', 'iodef', file), 0);
  t.match(lines.at(-1), /^created: ALPHA#\d{4}-\d{6} \(IODEF cli\.example:ALPHA#/);
  t.equal(await hikeshi('import', 'iodef', file), 0);
  t.match(lines.at(-1), /^unchanged: /);
  t.equal(await hikeshi('export', 'iodef', created.ref, '--for', 'nobody'), 1, 'a refusal exits 1');
  t.equal(await hikeshi('export', 'cybox', created.ref), 2, 'an unknown format is a usage error');
});
