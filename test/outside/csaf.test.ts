import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t, { type Test } from 'tap';
import validateStrict from '@secvisogram/csaf-validator-lib/validateStrict.js';
import { csaf_2_0_strict } from '@secvisogram/csaf-validator-lib/schemaTests.js';
import * as mandatory from '@secvisogram/csaf-validator-lib/mandatoryTests.js';
import { assertValidCsaf } from '../../src/modules/vendors/csaf-validation.js';
import { ProblemError } from '../../src/http/problem.js';
import { loadFixtureKey, loadFixtureSigner } from '../fixtures/keys/index.js';
import { buildTestNode } from '../helpers/build-test-app.js';
import { api, auditKinds } from '../helpers/federation-harness.js';
import { assertMarkers, markedIncident, SECTIONS } from '../helpers/marker-scan.js';

/**
 * Vulnerability cases with e-mail vendors and CSAF 2.0 advisories (issue 17 parts 1 and 2, ADR
 * 0024) on one node: pasted clear-signed statements (good, bad, unknown signature), a non-party
 * refused, the embargo enforced, the trusted provider's files (provider-metadata, index.txt,
 * changes.csv, hashes, .asc verified by GnuPG), a revision, and the incident's markers kept out.
 * Every CSAF document the test sees passes the validator (schema + mandatory tests).
 */
let now = new Date('2026-12-06T10:00:00.000Z');
const node = await buildTestNode(t, { clock: () => now });
const acmeKey = loadFixtureKey('delta');
const globexKey = loadFixtureKey('mallory');
const EMBARGO = '2026-12-08T00:00:00.000Z';
const marked = markedIncident('AMBER');
let incidentRef = '';

async function assertValid(t: Test, document: unknown, where: string): Promise<void> {
  const result = await validateStrict([csaf_2_0_strict, ...Object.values(mandatory)], document);
  const failures = result.tests.filter((x) => !x.isValid).map((x) => [x.name, x.errors]);
  t.ok(result.isValid, `${where}: the CSAF validator accepts it ${JSON.stringify(failures)}`);
}

async function statementText(lines: string[], signer: 'delta' | 'mallory'): Promise<string> {
  return (await loadFixtureSigner(signer)).clearSign(lines.join('\n') + '\n');
}

const publicGet = (url: string) => node.app.inject({ method: 'GET', url });

t.test('vendors: e-mail vendors with pinned keys', async (t) => {
  for (const [id, name, key] of [
    ['acme', 'ACME Corp', acmeKey],
    ['globex', 'Globex', globexKey],
    ['initech', 'Initech', globexKey],
  ] as const) {
    const res = await api(node, 'POST', '/vendors', 'handler', {
      id,
      name,
      email: `psirt@${id}.example`,
      publicKey: key.armoredPublicKey,
      fingerprint: key.fingerprint,
    });
    t.equal(res.statusCode, 201, res.body);
    t.equal(res.json().channel, 'email');
    t.equal(res.json().fingerprint, key.fingerprint);
  }
  const wrong = await api(node, 'POST', '/vendors', 'handler', {
    id: 'wrong',
    name: 'W',
    email: 'a@b.example',
    publicKey: acmeKey.armoredPublicKey,
    fingerprint: globexKey.fingerprint,
  });
  t.equal(wrong.statusCode, 409);
  t.equal(wrong.json().code, 'fingerprint-mismatch');
  const garbage = await api(node, 'POST', '/vendors', 'handler', {
    id: 'g',
    name: 'G',
    email: 'a@b.example',
    publicKey: 'not a key',
    fingerprint: globexKey.fingerprint,
  });
  t.equal(garbage.json().code, 'validation-failed');
  const both = await api(node, 'POST', '/vendors', 'handler', { id: 'both', name: 'B', teamId: 'bravo', email: 'a@b.example' });
  t.equal(both.json().code, 'validation-failed');
  const notPeer = await api(node, 'POST', '/vendors', 'handler', { id: 'np', name: 'N', teamId: 'bravo' });
  t.equal(notPeer.json().code, 'unknown-peer');
  const dup = await api(node, 'POST', '/vendors', 'handler', {
    id: 'acme',
    name: 'x',
    email: 'a@b.example',
    publicKey: acmeKey.armoredPublicKey,
    fingerprint: acmeKey.fingerprint,
  });
  t.equal(dup.json().code, 'conflict');
  const patched = await api(node, 'PATCH', '/vendors/initech', 'handler', { name: 'Initech Inc' });
  t.equal(patched.json().name, 'Initech Inc');
  t.equal((await api(node, 'GET', '/vendors', 'reader')).json().items.length, 3);
});

t.test('malformed input is a 4xx with a stable code', async (t) => {
  const unknownField = await api(node, 'POST', '/vendors', 'handler', { id: 'x', name: 'x', teamId: 'bravo', extra: 1 });
  t.equal(unknownField.json().code, 'validation-failed');
  const malformed = await node.app.inject({
    method: 'POST',
    url: '/api/v1/cases',
    headers: { ...node.auth.handler, 'content-type': 'application/json' },
    payload: '{"id":',
  });
  t.equal(malformed.json().code, 'malformed-json');
  const reader = await api(node, 'POST', '/vendors', 'reader', { id: 'x', name: 'x', teamId: 'bravo' });
  t.equal(reader.json().code, 'forbidden');
  t.equal((await api(node, 'GET', '/cases/nope', 'reader')).json().code, 'not-found');
  t.equal((await api(node, 'POST', '/cases/nope/advisory', 'handler')).json().code, 'not-found');
  const badCve = await api(node, 'POST', '/cases', 'handler', {
    id: 'c',
    title: 't',
    description: 'd',
    tlp: 'CLEAR',
    products: [{ vendor: 'acme', product: 'W', versions: ['1'] }],
    cveIds: ['CVE-1'],
  });
  t.equal(badCve.json().code, 'validation-failed');
  const unknownVendor = await api(node, 'POST', '/cases', 'handler', {
    id: 'c',
    title: 't',
    description: 'd',
    tlp: 'CLEAR',
    products: [{ vendor: 'nobody', product: 'W', versions: ['1'] }],
  });
  t.equal(unknownVendor.json().code, 'validation-failed');
  const unknownIncident = await api(node, 'POST', '/cases', 'handler', {
    id: 'c',
    title: 't',
    description: 'd',
    tlp: 'CLEAR',
    incidents: ['NOPE-1'],
    products: [{ vendor: 'acme', product: 'W', versions: ['1'] }],
  });
  t.equal(unknownIncident.json().code, 'validation-failed');
  const badFile = await publicGet('/.well-known/csaf/white/2026/..%2Fx.json');
  t.ok(badFile.statusCode >= 400 && badFile.statusCode < 500, `${badFile.statusCode}`);
  t.equal((await publicGet('/.well-known/csaf/white/2026/none.json')).statusCode, 404);
});

t.test('a case linked to a marked incident, questions await the e-mail channel', async (t) => {
  const incident = await api(node, 'POST', '/incidents', 'handler', marked.incident);
  t.equal(incident.statusCode, 201, 'the marked incident is filed');
  incidentRef = incident.json().ref;
  const res = await api(node, 'POST', '/cases', 'handler', {
    id: 'vc-2026-001',
    title: 'Widget Server remote code execution',
    description: 'A crafted request to the admin port runs code as root.',
    tlp: 'CLEAR',
    incidents: [incidentRef],
    products: [
      { vendor: 'acme', product: 'Widget Server', versions: ['2.3', '2.4.0'] },
      { vendor: 'globex', product: 'Gadget', versions: ['7'] },
    ],
    cveIds: ['CVE-2026-31337'],
    embargoUntil: EMBARGO,
  });
  t.equal(res.statusCode, 201, res.body);
  t.same(res.json().parties, ['acme', 'globex']);
  const asked = await api(node, 'POST', '/cases/vc-2026-001/questions', 'handler', {});
  t.equal(asked.statusCode, 202, asked.body);
  t.same(
    asked.json().questions.map((q: { vendor: string; state: string }) => [q.vendor, q.state]),
    [
      ['acme', 'awaiting-email'],
      ['globex', 'awaiting-email'],
    ],
  );
  const notParty = await api(node, 'POST', '/cases/vc-2026-001/questions', 'handler', { vendors: ['initech'] });
  t.same(notParty.json().questions, []);
  t.match(notParty.json().skipped, [{ vendor: 'initech', reason: /not a party/ }]);
  const audited = await auditKinds(node, { kind: 'vendor.question' });
  t.same(
    audited.map((e) => e.decision),
    ['allow', 'allow', 'deny'],
    'every question decided and audited',
  );
  assertMarkers(t, JSON.stringify(asked.json()), marked.markers, SECTIONS, 'the questions');
});

t.test('pasted clear-signed statements: good, bad and unknown signature; a non-party refused', async (t) => {
  const lines = ['Case: vc-2026-001', 'Product: Widget Server', 'Status: affected', 'Fixed-Versions: 2.4.1', 'Statement: Fixed in 2.4.1.'];
  const good = await statementText(lines, 'delta');
  const res = await api(node, 'POST', '/cases/vc-2026-001/statements', 'handler', { vendor: 'acme', signedText: good });
  t.equal(res.statusCode, 201, res.body);
  t.match(res.json().statements, [
    { vendor: 'acme', product: 'Widget Server', status: 'affected', fixedVersions: ['2.4.1'], provenance: 'openpgp', signed: true },
  ]);

  const tampered = good.replace('Fixed-Versions: 2.4.1', 'Fixed-Versions: 9.9.9');
  const bad = await api(node, 'POST', '/cases/vc-2026-001/statements', 'handler', { vendor: 'acme', signedText: tampered });
  t.equal(bad.statusCode, 422);
  t.equal(bad.json().code, 'statement-signature-invalid');
  t.equal(bad.json().reason, 'bad-signature');

  const unknown = await api(node, 'POST', '/cases/vc-2026-001/statements', 'handler', {
    vendor: 'acme',
    signedText: await statementText(lines, 'mallory'),
  });
  t.equal(unknown.statusCode, 422);
  t.equal(unknown.json().reason, 'unknown-key');

  const garbage = await api(node, 'POST', '/cases/vc-2026-001/statements', 'handler', { vendor: 'acme', signedText: 'hello' });
  t.equal(garbage.json().reason, 'malformed');

  const otherCase = await statementText(['Case: vc-other', 'Product: Widget Server', 'Status: affected'], 'delta');
  t.equal(
    (await api(node, 'POST', '/cases/vc-2026-001/statements', 'handler', { vendor: 'acme', signedText: otherCase })).json().code,
    'validation-failed',
  );

  const nonParty = await api(node, 'POST', '/cases/vc-2026-001/statements', 'handler', {
    vendor: 'initech',
    product: 'Gadget',
    status: 'not affected',
  });
  t.equal(nonParty.statusCode, 403);
  t.equal(nonParty.json().code, 'not-a-case-party');
  const mixed = await api(node, 'POST', '/cases/vc-2026-001/statements', 'handler', {
    vendor: 'acme',
    signedText: good,
    status: 'affected',
  });
  t.equal(mixed.json().code, 'validation-failed');

  const manual = await api(node, 'POST', '/cases/vc-2026-001/statements', 'handler', {
    vendor: 'globex',
    product: 'Gadget',
    status: 'under investigation',
  });
  t.equal(manual.statusCode, 201, manual.body);
  t.equal(manual.json().statements.at(-1).provenance, 'manual');
  t.equal(manual.json().statements.at(-1).signed, false);

  const refused = await auditKinds(node, { kind: 'vendor.statement-refused' });
  t.same(
    refused.map((e) => e.details.code),
    ['statement-signature-invalid', 'statement-signature-invalid', 'statement-signature-invalid', 'validation-failed', 'not-a-case-party'],
  );
});

let firstSignature = '';

t.test('a draft advisory; publication before the embargo is refused with the date', async (t) => {
  const draft = await api(node, 'POST', '/cases/vc-2026-001/advisory', 'handler');
  t.equal(draft.statusCode, 201, draft.body);
  const doc = draft.json().document;
  t.equal(doc.document.tracking.status, 'draft');
  t.equal(doc.document.distribution.tlp.label, 'WHITE', 'TLP:CLEAR is CSAF WHITE');
  t.equal(doc.vulnerabilities[0].cve, 'CVE-2026-31337');
  await assertValid(t, doc, 'the draft');

  const edited = await api(node, 'PUT', '/cases/vc-2026-001/advisory/edits', 'handler', {
    notes: [{ category: 'general', title: 'Credits', text: 'Thanks to the reporter.' }],
    remediations: [{ vendor: 'acme', product: 'Widget Server', details: 'Upgrade to 2.4.1 or later.', url: 'https://acme.example/psirt' }],
  });
  t.equal(edited.statusCode, 200, edited.body);
  const vuln = edited.json().document.vulnerabilities[0];
  t.match(vuln.remediations, [{ category: 'vendor_fix', details: 'Upgrade to 2.4.1 or later.', url: 'https://acme.example/psirt' }]);
  t.ok(
    vuln.product_status.known_affected.length === 2 &&
      vuln.product_status.fixed.length === 1 &&
      vuln.product_status.under_investigation.length === 1,
  );
  await assertValid(t, edited.json().document, 'the edited draft');

  const early = await api(node, 'POST', '/cases/vc-2026-001/advisory/publish', 'handler', {});
  t.equal(early.statusCode, 409);
  t.equal(early.json().code, 'embargo-in-force');
  t.equal(early.json().embargoUntil, EMBARGO);
  t.equal((await publicGet('/.well-known/csaf/white/index.txt')).body, '', 'nothing published');
  const denied = (await auditKinds(node, { kind: 'csaf.advisory-published' })).at(-1);
  t.equal(denied?.decision, 'deny');
});

t.test('after the embargo: published as a trusted provider, gpg verifies the signature', async (t) => {
  now = new Date('2026-12-08T09:00:00.000Z');
  const res = await api(node, 'POST', '/cases/vc-2026-001/advisory/publish', 'handler', {});
  t.equal(res.statusCode, 201, res.body);
  const published = res.json();
  t.equal(published.version, 1);
  const file = 'alpha-vc-2026-001.json';
  t.equal(published.location, `${node.config.publicUrl}/.well-known/csaf/white/2026/${file}`);
  const doc = JSON.parse(published.document);
  t.equal(doc.document.tracking.status, 'final');
  t.equal(doc.document.tracking.version, '1');
  t.equal(doc.document.publisher.name, node.config.teamName);
  await assertValid(t, doc, 'the published advisory');
  firstSignature = published.signature;

  const metadata = await publicGet('/.well-known/csaf/provider-metadata.json');
  t.equal(metadata.statusCode, 200);
  const m = metadata.json();
  t.equal(m.role, 'csaf_trusted_provider');
  t.equal(m.metadata_version, '2.0');
  t.equal(m.canonical_url, `${node.config.publicUrl}/.well-known/csaf/provider-metadata.json`);
  const feedUrl = `${node.config.publicUrl}/.well-known/csaf/feed-tlp-white.json`;
  t.same(m.distributions, [
    { directory_url: `${node.config.publicUrl}/.well-known/csaf/white/` },
    { rolie: { feeds: [{ summary: 'TLP:WHITE advisories', tlp_label: 'WHITE', url: feedUrl }] } },
  ]);
  t.same(m.public_openpgp_keys, [{ fingerprint: node.signer.fingerprint, url: `${node.config.publicUrl}/pgp-key.asc` }]);
  t.equal(m.last_updated, now.toISOString());
  t.equal(m.publisher.category, 'coordinator');

  t.equal((await publicGet('/.well-known/csaf/white/index.txt')).body, `2026/${file}\n`);
  t.equal((await publicGet('/.well-known/csaf/white/changes.csv')).body, `"2026/${file}","${now.toISOString()}"\n`);
  const json = await publicGet(`/.well-known/csaf/white/2026/${file}`);
  t.equal(json.body, published.document, 'the exact bytes published');
  const sha256 = (await publicGet(`/.well-known/csaf/white/2026/${file}.sha256`)).body;
  const sha512 = (await publicGet(`/.well-known/csaf/white/2026/${file}.sha512`)).body;
  t.equal(sha256, `${createHash('sha256').update(json.rawPayload).digest('hex')}  ${file}\n`);
  t.equal(sha512, `${createHash('sha512').update(json.rawPayload).digest('hex')}  ${file}\n`);
  const asc = (await publicGet(`/.well-known/csaf/white/2026/${file}.asc`)).body;
  gpgVerify(t, json.rawPayload, asc, (await publicGet('/pgp-key.asc')).body);

  // The ROLIE feed (CSAF 2.0 §7.1.20): one entry, whose every link answers with what it names.
  const feedRes = await publicGet('/.well-known/csaf/feed-tlp-white.json');
  t.equal(feedRes.statusCode, 200);
  t.match(feedRes.headers['content-type'], /^application\/json/);
  const feed = feedRes.json().feed;
  t.same(feed.link, [{ rel: 'self', href: feedUrl }]);
  t.same(feed.category, [{ scheme: 'urn:ietf:params:rolie:category:information-type', term: 'csaf' }]);
  t.equal(feed.updated, now.toISOString());
  t.equal(feed.entry.length, 1);
  const entry = feed.entry[0];
  t.equal(entry.id, doc.document.tracking.id);
  t.equal(entry.title, doc.document.title);
  t.equal(entry.published, doc.document.tracking.initial_release_date);
  t.equal(entry.updated, doc.document.tracking.current_release_date);
  t.same(entry.format, { schema: 'https://docs.oasis-open.org/csaf/csaf/v2.0/csaf_json_schema.json', version: '2.0' });
  t.equal(entry.content.src, published.location);
  t.same(
    entry.link.map((l: { rel: string; href: string }) => [l.rel, l.href.slice(published.location.length)]),
    [
      ['self', ''],
      ['hash', '.sha256'],
      ['hash', '.sha512'],
      ['signature', '.asc'],
    ],
  );
  for (const link of entry.link as Array<{ href: string }>) {
    const got = await publicGet(link.href.slice(node.config.publicUrl.length));
    t.equal(got.statusCode, 200, `${link.href} answers`);
  }

  const securityTxt = (await publicGet('/.well-known/security.txt')).body;
  t.match(securityTxt, `CSAF: ${node.config.publicUrl}/.well-known/csaf/provider-metadata.json`);
  assertMarkers(t, published.document, marked.markers, SECTIONS, 'the advisory');
  t.notOk(published.document.includes(incidentRef), 'not even the incident reference number');
});

t.test('a revision republishes: version and history grow, a new signature', async (t) => {
  now = new Date('2026-12-09T12:00:00.000Z');
  const statement = await statementText(
    ['Case: vc-2026-001', 'Product: Widget Server', 'Status: affected', 'Fixed-Versions: 2.4.1, 2.5.0'],
    'delta',
  );
  t.equal((await api(node, 'POST', '/cases/vc-2026-001/statements', 'handler', { vendor: 'acme', signedText: statement })).statusCode, 201);
  t.equal(
    (await api(node, 'POST', '/cases/vc-2026-001/statements', 'handler', { vendor: 'globex', product: 'Gadget', status: 'not affected' }))
      .statusCode,
    201,
  );
  const res = await api(node, 'POST', '/cases/vc-2026-001/advisory/publish', 'handler', {
    summary: 'Globex not affected; 2.5.0 fixed too.',
  });
  t.equal(res.statusCode, 201, res.body);
  const doc = JSON.parse(res.json().document);
  t.equal(doc.document.tracking.version, '2');
  t.same(
    doc.document.tracking.revision_history.map((r: { number: string }) => r.number),
    ['1', '2'],
  );
  t.equal(doc.document.tracking.initial_release_date, '2026-12-08T09:00:00.000Z');
  t.equal(doc.document.tracking.current_release_date, now.toISOString());
  t.equal(doc.vulnerabilities[0].product_status.known_not_affected.length, 1);
  t.equal(doc.vulnerabilities[0].product_status.fixed.length, 2);
  await assertValid(t, doc, 'the revision');
  t.not(res.json().signature, firstSignature);
  const file = 'alpha-vc-2026-001.json';
  t.equal((await publicGet('/.well-known/csaf/white/changes.csv')).body, `"2026/${file}","${now.toISOString()}"\n`);
  const json = await publicGet(`/.well-known/csaf/white/2026/${file}`);
  t.equal(json.body, res.json().document);
  gpgVerify(t, json.rawPayload, (await publicGet(`/.well-known/csaf/white/2026/${file}.asc`)).body, (await publicGet('/pgp-key.asc')).body);
  const feed = (await publicGet('/.well-known/csaf/feed-tlp-white.json')).json().feed;
  t.equal(feed.updated, now.toISOString(), 'the feed moved with the revision');
  t.same(
    feed.entry.map((e: { updated: string; published: string }) => [e.published, e.updated]),
    [['2026-12-08T09:00:00.000Z', now.toISOString()]],
    'still one entry, updated',
  );
  t.equal(
    feed.entry[0].summary?.content,
    doc.document.notes.find((n: { category: string }) => n.category === 'summary').text,
    "the advisory's own summary",
  );
});

t.test('a TLP:AMBER advisory is signed but never in the public folder', async (t) => {
  const kase = await api(node, 'POST', '/cases', 'handler', {
    id: 'vc-amber',
    title: 'Gadget info leak',
    description: 'Leaks memory.',
    tlp: 'AMBER',
    products: [{ vendor: 'globex', product: 'Gadget', versions: ['7'] }],
  });
  t.equal(kase.statusCode, 201, kase.body);
  t.equal((await api(node, 'POST', '/cases/vc-amber/advisory', 'handler')).json().document.document.distribution.tlp.label, 'AMBER');
  const res = await api(node, 'POST', '/cases/vc-amber/advisory/publish', 'handler', {});
  t.equal(res.statusCode, 201, res.body);
  t.equal(res.json().location, null);
  await assertValid(t, JSON.parse(res.json().document), 'the AMBER advisory');
  t.equal((await publicGet('/.well-known/csaf/white/index.txt')).body, '2026/alpha-vc-2026-001.json\n', 'only the CLEAR one');
  t.same(
    (await publicGet('/.well-known/csaf/feed-tlp-white.json')).json().feed.entry.map((e: { id: string }) => e.id),
    ['alpha-vc-2026-001'],
    'nor in the ROLIE feed',
  );
  t.equal((await api(node, 'GET', '/cases/vc-amber/advisory/published', 'reader')).json().version, 1);
  t.equal((await publicGet('/.well-known/csaf/white/2026/alpha-vc-amber.json')).statusCode, 404);
});

t.test('an invalid CSAF document is refused with the errors listed', async (t) => {
  const broken = { document: { category: 'csaf_security_advisory', csaf_version: '2.0' } };
  const error = await assertValidCsaf(broken).then(
    () => null,
    (e: unknown) => e,
  );
  t.ok(error instanceof ProblemError);
  t.equal((error as ProblemError).code, 'csaf-invalid');
  t.ok(((error as ProblemError).extensions['errors'] as unknown[]).length > 0);
});

function gpgVerify(t: Test, document: Buffer, signature: string, publicKey: string): void {
  const home = mkdtempSync(path.join(os.tmpdir(), 'hikeshi-gpg-'));
  try {
    writeFileSync(path.join(home, 'key.asc'), publicKey);
    writeFileSync(path.join(home, 'doc.json'), document);
    writeFileSync(path.join(home, 'doc.json.asc'), signature);
    execFileSync('gpg', ['--batch', '--homedir', home, '--import', path.join(home, 'key.asc')], { stdio: 'pipe' });
    const out = execFileSync(
      'gpg',
      ['--batch', '--homedir', home, '--status-fd', '1', '--verify', path.join(home, 'doc.json.asc'), path.join(home, 'doc.json')],
      { stdio: 'pipe' },
    ).toString();
    t.match(out, /\[GNUPG:\] GOODSIG/, 'gpg --verify: good signature');
    t.match(out, new RegExp(`VALIDSIG ${node.signer.fingerprint}`), 'by the node key');
    const tampered = Buffer.concat([document, Buffer.from(' ')]);
    writeFileSync(path.join(home, 'doc.json'), tampered);
    t.throws(
      () =>
        execFileSync('gpg', ['--batch', '--homedir', home, '--verify', path.join(home, 'doc.json.asc'), path.join(home, 'doc.json')], {
          stdio: 'pipe',
        }),
      'a changed byte fails',
    );
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
}
