import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import validateStrict from '@secvisogram/csaf-validator-lib/validateStrict.js';
import { csaf_2_0_strict } from '@secvisogram/csaf-validator-lib/schemaTests.js';
import * as mandatory from '@secvisogram/csaf-validator-lib/mandatoryTests.js';
import { loadFixtureKey } from '../fixtures/keys/index.js';
import { buildTestNode } from '../helpers/build-test-app.js';
import { runCli } from '../helpers/cli-runner.js';
import { api, auditKinds, fastDelivery, messageDocument, partnersBoth, postMessage, sign, waitFor } from '../helpers/federation-harness.js';
import { assertMarkers, everything, markedIncident, SECTIONS } from '../helpers/marker-scan.js';

/**
 * Vendor coordination between two nodes on loopback (issue 17 part 1, ADR 0024): alpha, the
 * reporting team, opens a case linked to a marked incident and asks bravo, a vendor that runs its
 * own node; bravo's handler sees the question (the case's fields only, nothing of the incident)
 * and answers with a signed vendor.statement; alpha records it as signed and drafts a valid CSAF
 * advisory from it. A statement from a vendor that is not a party to a case is refused and
 * audited. The CLI drives the same path.
 */
fastDelivery();
const alpha = await buildTestNode(t, { key: 'alpha', listen: true, startWorker: true });
const bravo = await buildTestNode(t, { key: 'bravo', listen: true, startWorker: true });
await partnersBoth(alpha, bravo);
const marked = markedIncident('AMBER');

async function received(): Promise<
  Array<{ id: string; caseId: string; askerTeam: string; state: string; question: Record<string, unknown> }>
> {
  return (await api(bravo, 'GET', '/vendor-questions', 'reader')).json().items;
}

t.test('alpha: bravo as a node vendor, a case linked to a marked incident', async (t) => {
  const v = await api(alpha, 'POST', '/vendors', 'handler', { id: 'bravo-soft', name: 'Bravo Software', teamId: 'bravo' });
  t.equal(v.statusCode, 201, v.body);
  t.equal(v.json().channel, 'federation');
  t.equal(
    (await api(alpha, 'POST', '/vendors', 'handler', { id: 'other', name: 'Other', teamId: 'bravo' })).json().code,
    'conflict',
    'one vendor per node',
  );
  const incident = await api(alpha, 'POST', '/incidents', 'handler', marked.incident);
  t.equal(incident.statusCode, 201, 'the marked incident is filed');
  const kase = await api(alpha, 'POST', '/cases', 'handler', {
    id: 'vc-bravo-1',
    title: 'Bravo Router authentication bypass',
    description: 'The admin login accepts an empty password after a crafted cookie.',
    tlp: 'AMBER',
    incidents: [incident.json().ref],
    products: [{ vendor: 'bravo-soft', product: 'Bravo Router', versions: ['4.1', '4.2'] }],
    cveIds: ['CVE-2026-40001'],
    embargoUntil: '2027-01-15T00:00:00.000Z',
  });
  t.equal(kase.statusCode, 201, kase.body);
});

t.test('the question travels signed; bravo sees the case fields and nothing of the incident', async (t) => {
  const asked = await api(alpha, 'POST', '/cases/vc-bravo-1/questions', 'handler', {});
  t.equal(asked.statusCode, 202, asked.body);
  t.match(asked.json().questions, [{ vendor: 'bravo-soft', channel: 'federation', state: 'queued' }]);
  const [question] = await waitFor('bravo has the question', async () => {
    const items = await received();
    return items.length > 0 ? items : null;
  });
  t.equal(question!.caseId, 'vc-bravo-1');
  t.equal(question!.askerTeam, 'alpha');
  t.equal(question!.state, 'received');
  t.same(question!.question, {
    title: 'Bravo Router authentication bypass',
    description: 'The admin login accepts an empty password after a crafted cookie.',
    products: [{ product: 'Bravo Router', versions: ['4.1', '4.2'] }],
    cveIds: ['CVE-2026-40001'],
    embargoUntil: '2027-01-15T00:00:00.000Z',
  });
  // Everything bravo holds (the inbox's stored document included) is free of the incident's markers.
  assertMarkers(t, await everything(bravo), marked.markers, SECTIONS, "bravo's database");
  const delivered = await waitFor('the question is delivered', async () => {
    const q = (await api(alpha, 'GET', '/cases/vc-bravo-1', 'reader')).json().questions[0];
    return q.delivery === 'delivered' ? q : null;
  });
  t.equal(delivered.delivery, 'delivered');
  t.same(
    (await auditKinds(alpha, { kind: 'vendor.question' })).map((e) => e.decision),
    ['allow'],
  );
  t.equal((await auditKinds(bravo, { kind: 'vendor.question-received' })).length, 1);
});

t.test('bravo answers with a signed statement; alpha records it as signed', async (t) => {
  const [question] = await received();
  const wrong = await api(bravo, 'POST', `/vendor-questions/${question!.id}/statement`, 'handler', {
    product: 'Other Product',
    status: 'affected',
  });
  t.equal(wrong.json().code, 'validation-failed', 'only the products asked about');
  const bad = await api(bravo, 'POST', `/vendor-questions/${question!.id}/statement`, 'handler', {
    product: 'Bravo Router',
    status: 'broken',
  });
  t.equal(bad.json().code, 'validation-failed');
  t.equal(
    (
      await api(bravo, 'POST', `/vendor-questions/${randomUUID()}/statement`, 'handler', { product: 'Bravo Router', status: 'affected' })
    ).json().code,
    'not-found',
  );
  const answer = await api(bravo, 'POST', `/vendor-questions/${question!.id}/statement`, 'handler', {
    product: 'Bravo Router',
    status: 'affected',
    fixedVersions: ['4.2.1'],
    text: 'Fixed in 4.2.1.',
  });
  t.equal(answer.statusCode, 202, answer.body);
  t.equal(answer.json().state, 'answered');
  const statements = await waitFor('alpha has the statement', async () => {
    const s = (await api(alpha, 'GET', '/cases/vc-bravo-1', 'reader')).json().statements;
    return s.length > 0 ? s : null;
  });
  t.match(statements, [
    { vendor: 'bravo-soft', product: 'Bravo Router', status: 'affected', fixedVersions: ['4.2.1'], provenance: 'federation', signed: true },
  ]);
  t.equal((await auditKinds(bravo, { kind: 'vendor.statement-sent' })).length, 1);

  // What bravo answered with reads back, for its own handlers (a reader too), with its delivery.
  const sent = await waitFor('the statement delivered', async () => {
    const res = await api(bravo, 'GET', `/vendor-questions/${question!.id}/statements`, 'reader');
    const items = res.json().items as Array<{ delivery: string }>;
    return items[0]?.delivery === 'delivered' ? items : null;
  });
  t.match(sent, [
    { product: 'Bravo Router', status: 'affected', fixedVersions: ['4.2.1'], text: 'Fixed in 4.2.1.', delivery: 'delivered' },
  ]);
  t.match(sent[0], { recordedBy: String, recordedAt: String });
  t.equal((await api(bravo, 'GET', `/vendor-questions/${question!.id}/statements`, null)).statusCode, 401, 'not without a token');
  const malformed = await api(bravo, 'GET', '/vendor-questions/not-a-uuid/statements', 'reader');
  t.equal(malformed.statusCode, 400);
  t.match(malformed.headers['content-type'], /^application\/problem\+json/);
  t.equal(malformed.json().code, 'validation-failed');
  t.equal((await api(bravo, 'GET', `/vendor-questions/${randomUUID()}/statements`, 'reader')).json().code, 'not-found');
  const ours = (await api(alpha, 'GET', '/cases/vc-bravo-1', 'reader')).json().questions[0];
  t.equal(
    (await api(alpha, 'GET', `/vendor-questions/${ours.id}/statements`, 'reader')).json().code,
    'not-found',
    'a question we asked has its answers in the case, not here',
  );

  const draft = await api(alpha, 'POST', '/cases/vc-bravo-1/advisory', 'handler');
  t.equal(draft.statusCode, 201, draft.body);
  const doc = draft.json().document;
  const result = await validateStrict([csaf_2_0_strict, ...Object.values(mandatory)], doc);
  t.ok(result.isValid, `the draft passes the CSAF validator ${JSON.stringify(result.tests.filter((x) => !x.isValid))}`);
  t.equal(doc.vulnerabilities[0].product_status.known_affected.length, 2);
  t.equal(doc.vulnerabilities[0].product_status.fixed.length, 1);
  t.equal(doc.document.distribution.tlp.label, 'AMBER');
  assertMarkers(t, JSON.stringify(doc), marked.markers, SECTIONS, 'the draft advisory');
  const early = await api(alpha, 'POST', '/cases/vc-bravo-1/advisory/publish', 'handler', {});
  t.equal(early.json().code, 'embargo-in-force');
  t.equal(early.json().embargoUntil, '2027-01-15T00:00:00.000Z');
});

t.test('a statement from a vendor that is not a party is refused and audited', async (t) => {
  const other = await api(alpha, 'POST', '/vendors', 'handler', {
    id: 'acme',
    name: 'ACME',
    email: 'psirt@acme.example',
    publicKey: loadFixtureKey('delta').armoredPublicKey,
    fingerprint: loadFixtureKey('delta').fingerprint,
  });
  t.equal(other.statusCode, 201, other.body);
  const kase = await api(alpha, 'POST', '/cases', 'handler', {
    id: 'vc-acme',
    title: 'ACME bug',
    description: 'd',
    tlp: 'GREEN',
    products: [{ vendor: 'acme', product: 'Anvil', versions: ['1'] }],
  });
  t.equal(kase.statusCode, 201, kase.body);
  const body = { case: 'vc-acme', question: randomUUID(), product: 'Anvil', status: 'not affected', fixedVersions: [] };
  const res = await postMessage(alpha, await sign(messageDocument('bravo', 'alpha', 'vendor.statement', body, { tlp: 'GREEN' }), 'bravo'));
  t.equal(res.status, 403, res.text);
  t.equal(res.json.code, 'not-a-case-party');
  const noCase = await postMessage(
    alpha,
    await sign(messageDocument('bravo', 'alpha', 'vendor.statement', { ...body, case: 'vc-none' }, { tlp: 'GREEN' }), 'bravo'),
  );
  t.equal(noCase.json.code, 'not-a-case-party', 'the same answer for a case that does not exist');
  const malformed = await postMessage(
    alpha,
    await sign(messageDocument('bravo', 'alpha', 'vendor.statement', { ...body, status: 'maybe' }, { tlp: 'GREEN' }), 'bravo'),
  );
  t.equal(malformed.json.code, 'validation-failed');
  const rejections = (await auditKinds(alpha, { kind: 'inbox-rejection' })).filter((e) => e.details.type === 'vendor.statement');
  t.same(
    rejections.map((e) => e.details.code),
    ['not-a-case-party', 'not-a-case-party', 'validation-failed'],
  );
  t.equal((await api(alpha, 'GET', '/cases/vc-acme', 'reader')).json().statements.length, 0, 'nothing recorded');
});

t.test('the CLI: vendors, cases, a question and an answer', async (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'hikeshi-vendor-cli-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'case.json');
  writeFileSync(
    file,
    JSON.stringify({
      id: 'vc-cli',
      title: 'CLI case',
      description: 'd',
      tlp: 'GREEN',
      products: [{ vendor: 'bravo-soft', product: 'Bravo Switch', versions: ['1.0'] }],
    }),
  );
  const listed = await runCli(alpha, 'vendor', 'list');
  t.equal(listed.code, 0, listed.stderr);
  t.match(listed.stdout, /bravo-soft\s+federation\s+bravo/);
  const created = await runCli(alpha, 'case', 'create', '--file', file);
  t.equal(created.code, 0, created.stderr);
  t.match(created.stdout, /vc-cli\s+GREEN\s+CLI case/);
  const asked = await runCli(alpha, 'case', 'ask', 'vc-cli');
  t.equal(asked.code, 0, asked.stderr);
  t.match(asked.stdout, /bravo-soft\s+federation\s+queued/);
  const question = await waitFor('bravo has the CLI question', async () => (await received()).find((q) => q.caseId === 'vc-cli'));
  const answered = await runCli(bravo, 'vendor', 'answer', question.id, '--product', 'Bravo Switch', '--status', 'not affected');
  t.equal(answered.code, 0, answered.stderr);
  t.match(answered.stdout, /answered/);
  const shown = await waitFor('alpha has the CLI statement', async () => {
    const run = await runCli(alpha, 'case', 'show', 'vc-cli');
    return run.stdout.includes('not affected') ? run : null;
  });
  t.match(shown.stdout, /bravo-soft Bravo Switch: not affected \[federation\]/);
  const refused = await runCli(alpha, 'case', 'publish', 'vc-nope');
  t.not(refused.code, 0);
});
