import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import t, { type Test } from 'tap';
import { buildTestNode, type TestNode } from '../helpers/build-test-app.js';
import { runCli } from '../helpers/cli-runner.js';
import { api, auditKinds, createIncident, enc } from '../helpers/federation-harness.js';
import { assertMarkers, assertVisible, markedIncident } from '../helpers/marker-scan.js';

/**
 * Law enforcement (issue 17 part 3, ADR 0023) and explain for outside recipients, on one node:
 * a request, the handler's decision, and the signed package, which carries exactly what the
 * policy allows the agency (trust partner: internal hosts withheld) and which stock GnuPG verifies.
 */
const gpgMissing = spawnSync('gpg', ['--version'], { stdio: 'ignore' }).error === undefined ? false : 'gpg is not on PATH';

const node: TestNode = await buildTestNode(t, { key: 'alpha', listen: true });
const AGENCY = { id: 'police-cyber', name: 'National Police, Cybercrime Unit' };
const OFFICER = { name: 'Inspector Tanaka', contact: 'tanaka@police.example, +81 3 0000 0000' };

const recordRequest = (body: Record<string, unknown>, role: 'handler' | 'reader' = 'handler') =>
  api(node, 'POST', '/law-enforcement/requests', role, body);
const inbound = (incidents: string[], extra: Record<string, unknown> = {}) => ({
  agency: AGENCY,
  officer: OFFICER,
  legalBasis: 'Code of Criminal Procedure art. 197(2)',
  scope: { incidents, information: 'logs and affected hosts' },
  deadline: '2026-12-31T00:00:00Z',
  text: 'Request no. 2026-77 of the Cybercrime Unit',
  ...extra,
});
const decide = (id: string, body: Record<string, unknown>, role: 'handler' | 'reader' = 'handler') =>
  api(node, 'POST', `/law-enforcement/requests/${id}/decision`, role, body);
const makePackage = (id: string) => api(node, 'POST', `/law-enforcement/requests/${id}/packages`, 'handler');

function gpg(t: Test) {
  const home = mkdtempSync(path.join(tmpdir(), 'hikeshi-le-gpg-'));
  const env = { ...process.env, GNUPGHOME: home, LC_ALL: 'C' };
  const run = (args: string[], input?: string): SpawnSyncReturns<Buffer> =>
    spawnSync('gpg', ['--batch', '--no-tty', '--no-auto-key-locate', ...args], { env, input, timeout: 30_000 });
  t.teardown(() => {
    spawnSync('gpgconf', ['--kill', 'all'], { env, stdio: 'ignore' });
    rmSync(home, { recursive: true, force: true });
  });
  const file = (name: string, content: string) => {
    const p = path.join(home, name);
    writeFileSync(p, content, 'utf8');
    return p;
  };
  return { run, file };
}

t.test('explain answers for an outside recipient without a peer record', async (t) => {
  const amber = await createIncident(node, { tlp: 'AMBER' });
  const clear = await createIncident(node, { tlp: 'CLEAR' });
  const green = await createIncident(node, { tlp: 'GREEN' });
  const explain = (body: Record<string, unknown>) => api(node, 'POST', '/policy/explain', 'reader', body);

  const before = await explain({ incident: amber.ref, peer: 'police-explain', kind: 'law-enforcement', purpose: 'law-enforcement' });
  t.equal(before.statusCode, 200, before.body);
  t.equal(before.json().allow, false);
  t.same(before.json().deniedBy, ['law-enforcement-not-approved', 'tlp-need-to-know'], 'no approval: no need to know either');
  t.equal(before.json().recipient.kind, 'law-enforcement');

  const approved = await api(node, 'POST', `/incidents/${enc(amber.ref)}/law-enforcement-approvals`, 'handler', {
    recipient: 'police-explain',
    legalBasis: 'Court order 2026-5',
  });
  t.equal(approved.statusCode, 201);
  const after = await explain({ incident: amber.ref, peer: 'police-explain', kind: 'law-enforcement', purpose: 'law-enforcement' });
  t.equal(after.json().allow, true, after.body);
  t.equal(after.json().detail, 'full');
  t.equal(after.json().trust.level, 'partner');
  t.ok(after.json().preview, 'the preview is what the package would carry');
  t.ok(after.json().payloadSha256);
  t.same(after.json().redactions, [], 'an approved agency (partner) gets the reporter, POC, victims and evidence (no internal hosts here)');
  t.equal(after.json().preview.reporter.name, 'Hanako Yamada');

  const press = await explain({ incident: clear.ref, peer: 'press', kind: 'press', purpose: 'press', explicitlyChosen: true });
  t.equal(press.json().allow, true, press.body);
  t.equal(press.json().trust.level, 'unknown');
  t.ok(press.json().redactions.length >= 3, 'the press is the public: personal sections withheld');
  const pressGreen = await explain({ incident: green.ref, peer: 'press', kind: 'press', purpose: 'press', explicitlyChosen: true });
  t.equal(pressGreen.json().allow, false);
  t.ok(pressGreen.json().deniedBy.includes('press-not-clear'));
  const notChosen = await explain({ incident: clear.ref, peer: 'press', kind: 'press', purpose: 'press' });
  t.same(notChosen.json().deniedBy, ['press-not-chosen']);

  const mismatch = await explain({ incident: amber.ref, peer: 'police-explain', kind: 'law-enforcement', purpose: 'direct' });
  t.equal(mismatch.statusCode, 400);
  t.equal(mismatch.json().code, 'outside-purpose-mismatch');
  const badId = await explain({ incident: amber.ref, peer: 'Police Explain!', kind: 'law-enforcement', purpose: 'law-enforcement' });
  t.equal(badId.json().code, 'validation-failed');
  const badKind = await explain({ incident: amber.ref, peer: 'press', kind: 'vendor', purpose: 'press' });
  t.equal(badKind.json().code, 'validation-failed');
  const unknownIncident = await explain({ incident: 'ALPHA#1999-000001', peer: 'press', kind: 'press', purpose: 'press' });
  t.equal(unknownIncident.statusCode, 404);
  t.equal((await auditKinds(node, { kind: 'disclosure.decision' })).length, 0, 'explain records nothing');
});

t.test('request, approval and a signed package with exactly what the policy allows', async (t) => {
  const marked = markedIncident('AMBER');
  const incident = await createIncident(node, marked.incident);

  const recorded = await recordRequest(inbound([incident.ref]));
  t.equal(recorded.statusCode, 201, recorded.body);
  const request = recorded.json();
  t.equal(request.state, 'pending');
  t.same(request.scope.incidents, [{ id: incident.id, ref: incident.ref }]);
  t.same(request.officer, OFFICER);

  // Before approval: refused and audited.
  const early = await makePackage(request.id);
  t.equal(early.statusCode, 409);
  t.equal(early.json().code, 'law-enforcement-not-approved');
  const refused = await auditKinds(node, { kind: 'law-enforcement.disclosure-refused' });
  t.equal(refused.length, 1);
  t.equal(refused[0]!.details.requestId, request.id);

  // A reader reads, and does not decide.
  t.equal((await api(node, 'GET', `/law-enforcement/requests/${request.id}`, 'reader')).statusCode, 200);
  const byReader = await decide(request.id, { decision: 'approve', legalBasis: 'x' }, 'reader');
  t.equal(byReader.statusCode, 403);
  t.equal(byReader.json().code, 'forbidden');
  t.equal((await api(node, 'POST', `/law-enforcement/requests/${request.id}/packages`, 'reader')).json().code, 'forbidden');

  const noBasis = await decide(request.id, { decision: 'approve' });
  t.equal(noBasis.json().code, 'validation-failed');
  const approved = await decide(request.id, { decision: 'approve', legalBasis: 'Court order 2026-123' });
  t.equal(approved.statusCode, 200, approved.body);
  t.equal(approved.json().state, 'approved');
  t.equal(approved.json().decision.by, 'handler-user');
  const again = await decide(request.id, { decision: 'decline', reason: 'changed our mind' });
  t.equal(again.json().code, 'law-enforcement-request-decided');
  const policy = (await api(node, 'GET', `/incidents/${enc(incident.ref)}/policy`, 'reader')).json();
  t.same(
    policy.lawEnforcementApprovals.map((a: { recipient: string; approvedBy: string }) => [a.recipient, a.approvedBy]),
    [[AGENCY.id, 'handler-user']],
    'the approval is the existing law-enforcement approval, approvedBy the handler',
  );

  const made = await makePackage(request.id);
  t.equal(made.statusCode, 201, made.body);
  const pkg = made.json();
  t.same(pkg.incidents[0].redactions, ['internalHosts']);
  const json = pkg.canonicalJson.toLowerCase();
  const text = pkg.text.toLowerCase();
  for (const [where, body] of [
    ['package JSON', json],
    ['package text', text],
  ] as const) {
    assertMarkers(t, body, marked.markers, ['internalHosts'], where);
    assertVisible(t, body, marked.markers, ['victims', 'reporter', 'poc', 'evidence'], where);
    t.ok(body.includes(marked.attacker), `${where}: the attacker is there`);
  }
  const doc = JSON.parse(pkg.canonicalJson);
  t.equal(doc.type, 'hikeshi.law-enforcement-disclosure');
  t.equal(doc.agency.id, AGENCY.id);
  t.equal(doc.approval.legalBasis, 'Court order 2026-123');
  t.equal(pkg.signerFingerprint, node.signer.fingerprint);

  const downloaded = await api(node, 'GET', `/law-enforcement/packages/${pkg.id}`, 'handler');
  t.equal(downloaded.statusCode, 200);
  t.equal(downloaded.json().canonicalJson, pkg.canonicalJson, 'the same signed bytes on every download');
  t.equal(downloaded.json().jsonSignature, pkg.jsonSignature);
  t.equal((await api(node, 'GET', `/law-enforcement/packages/${pkg.id}`, 'reader')).statusCode, 403);

  await t.test('gpg --verify accepts both renderings and refuses a tampered one', { skip: gpgMissing }, async (t) => {
    const g = gpg(t);
    t.equal(g.run(['--import'], node.signer.armoredPublicKey).status, 0, 'import the node key');
    const jsonFile = g.file('package.json', pkg.canonicalJson);
    const textFile = g.file('package.txt', pkg.text);
    const verifiedJson = g.run(['--status-fd', '1', '--verify', g.file('package.json.asc', pkg.jsonSignature), jsonFile]);
    t.equal(verifiedJson.status, 0, verifiedJson.stderr.toString());
    t.match(verifiedJson.stdout.toString(), new RegExp(`VALIDSIG ${node.signer.fingerprint} `));
    const verifiedText = g.run(['--status-fd', '1', '--verify', g.file('package.txt.asc', pkg.textSignature), textFile]);
    t.equal(verifiedText.status, 0, verifiedText.stderr.toString());
    const tampered = g.file('tampered.json', pkg.canonicalJson.replace(AGENCY.id, 'police-other'));
    const bad = g.run(['--status-fd', '1', '--verify', g.file('package.json.asc', pkg.jsonSignature), tampered]);
    t.not(bad.status, 0, 'a tampered package fails');
    t.match(bad.stdout.toString(), /BADSIG/);
  });

  const kinds = (await auditKinds(node)).map((e) => e.kind);
  for (const kind of [
    'law-enforcement.request-recorded',
    'law-enforcement.disclosure-refused',
    'law-enforcement.approval',
    'law-enforcement.request-decided',
    'disclosure.decision',
    'law-enforcement.package-made',
    'law-enforcement.package-downloaded',
  ])
    t.ok(kinds.includes(kind), `audited: ${kind}`);
  const decision = (await auditKinds(node, { kind: 'disclosure.decision' })).at(-1)!;
  t.equal(decision.details.purpose, 'law-enforcement');
  t.same(decision.details.recipient, { kind: 'law-enforcement', id: AGENCY.id });
  t.equal(decision.details.requestId, request.id);

  // Nothing of the incident in the audit text: not even what the agency may see.
  const auditText = JSON.stringify(await auditKinds(node)).toLowerCase();
  assertMarkers(t, auditText, marked.markers, ['victims', 'internalHosts', 'reporter', 'poc', 'evidence'], 'audit');
  t.notOk(auditText.includes(OFFICER.contact.toLowerCase()), "the officer's contact is not in the audit");
});

t.test('the scope narrows the package to the sections asked for', async (t) => {
  const marked = markedIncident('GREEN');
  const incident = await createIncident(node, marked.incident);
  const request = (await recordRequest(inbound([incident.id], { scope: { incidents: [incident.ref], sections: ['victims'] } }))).json();
  t.same(request.scope.sections, ['victims']);
  t.equal((await decide(request.id, { decision: 'approve', legalBasis: 'Agreement 7' })).statusCode, 200);
  const pkg = (await makePackage(request.id)).json();
  t.same([...pkg.incidents[0].redactions].sort(), ['evidence', 'internalHosts', 'poc', 'reporter']);
  assertMarkers(t, pkg.canonicalJson.toLowerCase(), marked.markers, ['internalHosts', 'reporter', 'poc', 'evidence'], 'scoped JSON');
  assertMarkers(t, pkg.text.toLowerCase(), marked.markers, ['internalHosts', 'reporter', 'poc', 'evidence'], 'scoped text');
  assertVisible(t, pkg.text.toLowerCase(), marked.markers, ['victims'], 'scoped text');
});

t.test('a declined request, a proactive report and a RED incident not named', async (t) => {
  const green = await createIncident(node, { tlp: 'GREEN' });
  const declined = (await recordRequest(inbound([green.ref]))).json();
  const decline = await decide(declined.id, { decision: 'decline', reason: 'no legal basis for this scope' });
  t.equal(decline.json().state, 'declined');
  t.equal(decline.json().decision.reason, 'no legal basis for this scope');
  t.equal((await makePackage(declined.id)).json().code, 'law-enforcement-not-approved');

  const proactive = await recordRequest({
    origin: 'proactive',
    agency: AGENCY,
    legalBasis: 'Duty to report, Act on Cybersecurity art. 12',
    scope: { incidents: [green.ref] },
  });
  t.equal(proactive.statusCode, 201, proactive.body);
  t.equal(proactive.json().officer, null);
  await decide(proactive.json().id, { decision: 'approve', legalBasis: 'Act on Cybersecurity art. 12' });
  t.equal((await makePackage(proactive.json().id)).statusCode, 201, 'a proactive report goes through the same approval');

  const red = await createIncident(node, { tlp: 'RED' });
  const redRequest = (await recordRequest(inbound([red.ref]))).json();
  await decide(redRequest.id, { decision: 'approve', legalBasis: 'Court order 9' });
  const denied = await makePackage(redRequest.id);
  t.equal(denied.statusCode, 403);
  t.equal(denied.json().code, 'policy-denied');
  t.ok(denied.json().deniedBy.includes('red-not-named'), 'TLP:RED needs the agency named as well');
  const last = (await auditKinds(node, { kind: 'disclosure.decision' })).at(-1)!;
  t.equal(last.decision, 'deny', 'the denial is audited');
  t.equal(last.details.requestId, redRequest.id);
  t.equal((await api(node, 'GET', `/law-enforcement/requests/${redRequest.id}`, 'reader')).json().packages.length, 0);
});

t.test('bad input: unknown ids, malformed bodies, missing officer', async (t) => {
  const green = await createIncident(node, { tlp: 'GREEN' });
  const unknownIncident = await recordRequest(inbound(['ALPHA#1999-000404']));
  t.equal(unknownIncident.statusCode, 404);
  t.equal(unknownIncident.json().code, 'not-found');
  const missing = '00000000-0000-4000-8000-000000000000';
  t.equal((await api(node, 'GET', `/law-enforcement/requests/${missing}`, 'reader')).json().code, 'not-found');
  t.equal((await decide(missing, { decision: 'decline', reason: 'x' })).json().code, 'not-found');
  t.equal((await makePackage(missing)).json().code, 'not-found');
  t.equal((await api(node, 'GET', `/law-enforcement/packages/${missing}`, 'handler')).json().code, 'not-found');
  t.equal((await api(node, 'GET', '/law-enforcement/requests/not-a-uuid', 'reader')).json().code, 'validation-failed');

  const noOfficer = await recordRequest({ ...inbound([green.ref]), officer: undefined });
  t.equal(noOfficer.statusCode, 400);
  t.equal(noOfficer.json().code, 'validation-failed');
  for (const body of [
    { ...inbound([green.ref]), extra: 1 },
    { ...inbound([green.ref]), agency: { id: 'Not A Slug', name: 'x' } },
    { ...inbound([green.ref]), scope: { incidents: [] } },
    { ...inbound([green.ref]), scope: { incidents: [green.ref], sections: ['secrets'] } },
    { ...inbound([green.ref]), legalBasis: '   ' },
    { ...inbound([green.ref]), deadline: 'tomorrow' },
    { ...inbound([green.ref]), officer: { name: 42, contact: 'x' } },
  ]) {
    const res = await recordRequest(body);
    t.equal(res.statusCode, 400, JSON.stringify(body).slice(0, 80));
    t.equal(res.json().code, 'validation-failed');
  }
  const malformed = await node.app.inject({
    method: 'POST',
    url: '/api/v1/law-enforcement/requests',
    headers: { ...node.auth.handler, 'content-type': 'application/json' },
    payload: '{"agency": ',
  });
  t.equal(malformed.statusCode, 400);
  t.equal(malformed.json().code, 'malformed-json');
  const request = (await recordRequest(inbound([green.ref]))).json();
  t.equal((await decide(request.id, { decision: 'maybe' })).json().code, 'validation-failed');
  t.equal((await decide(request.id, { decision: 'decline' })).json().code, 'validation-failed');
  t.equal((await recordRequest(inbound([green.ref]), 'reader')).json().code, 'forbidden');
  t.equal((await api(node, 'GET', '/law-enforcement/requests', null)).statusCode, 401);
  const listed = (await api(node, 'GET', '/law-enforcement/requests', 'reader')).json();
  t.ok(listed.items.some((r: { id: string }) => r.id === request.id));
});

t.test('the CLI records, approves and writes the signed package', async (t) => {
  const green = await createIncident(node, { tlp: 'GREEN' });
  const recorded = await runCli(
    node,
    'law-enforcement',
    'request',
    '--agency',
    'police-cli',
    '--agency-name',
    'Prefectural Police',
    '--officer',
    'Sergeant Sato',
    '--contact',
    'sato@police.example',
    '--legal-basis',
    'Warrant 12',
    '--incident',
    green.ref,
  );
  t.equal(recorded.code, 0, recorded.stderr);
  const id = /^([0-9a-f-]{36}) {2}pending/m.exec(recorded.stdout)?.[1];
  t.ok(id, recorded.stdout);
  const approved = await runCli(node, 'law-enforcement', 'approve', id!, '--legal-basis', 'Warrant 12');
  t.equal(approved.code, 0, approved.stderr);
  t.match(approved.stdout, /approved by /);
  const dir = mkdtempSync(path.join(tmpdir(), 'hikeshi-le-cli-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const made = await runCli(node, 'law-enforcement', 'package', id!, '--out', dir);
  t.equal(made.code, 0, made.stderr);
  const packageId = /^package ([0-9a-f-]{36})/m.exec(made.stdout)?.[1];
  t.ok(packageId);
  t.match(readFileSync(path.join(dir, `le-package-${packageId}.txt`), 'utf8'), /^LAW-ENFORCEMENT DISCLOSURE/);
  t.match(readFileSync(path.join(dir, `le-package-${packageId}.json.asc`), 'utf8'), /BEGIN PGP SIGNATURE/);
  const listed = await runCli(node, 'law-enforcement', 'list');
  t.match(listed.stdout, new RegExp(`${id}  approved`));
  const usage = await runCli(node, 'law-enforcement', 'approve', id!);
  t.not(usage.code, 0, 'approve without a legal basis is a usage error');
});
