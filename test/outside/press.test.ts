import t from 'tap';
import { buildTestNode, type TestNode } from '../helpers/build-test-app.js';
import { runCli } from '../helpers/cli-runner.js';
import { api, auditKinds, createIncident, enc } from '../helpers/federation-harness.js';
import { assertMarkers, markedIncident } from '../helpers/marker-scan.js';

/**
 * Press statements (issue 17 part 4, ADR 0023) on one node: drafted only from TLP:CLEAR content,
 * approved by a second handler, published at the public /press, withdrawn; every step audited.
 */
const node: TestNode = await buildTestNode(t, { key: 'alpha', listen: true });
const second = { authorization: `Bearer ${node.mint('handler', 'handler-2')}` };

const clear = markedIncident('CLEAR');
const green = markedIncident('GREEN');
const amber = markedIncident('AMBER');
const clearIncident = await createIncident(node, clear.incident);
const greenIncident = await createIncident(node, green.incident);
const amberIncident = await createIncident(node, amber.incident);

const draft = (body: Record<string, unknown>, role: 'handler' | 'reader' = 'handler') => api(node, 'POST', '/press/statements', role, body);
const approve = (id: string, headers: { authorization: string } = second) =>
  node.app.inject({ method: 'POST', url: `/api/v1/press/statements/${id}/approve`, headers });
const publicGet = (url: string) => node.app.inject({ method: 'GET', url });
const GOOD_TEXT = `A botnet controlled from evil-${clear.tag}.example attacked web servers in our constituency; it is contained.`;

t.test('a statement naming an incident that is not CLEAR is refused, and audited', async (t) => {
  for (const incident of [greenIncident, amberIncident]) {
    const res = await draft({ title: 'Botnet contained', text: 'It is contained.', incidents: [clearIncident.ref, incident.ref] });
    t.equal(res.statusCode, 422, res.body);
    t.equal(res.json().code, 'press-not-clear');
    t.same(
      res.json().denied.map((d: { ref: string }) => d.ref),
      [incident.ref],
    );
    t.ok(res.json().denied[0].deniedBy.includes('press-not-clear'));
  }
  const refused = await auditKinds(node, { kind: 'press.statement-refused' });
  t.equal(refused.length, 2);
  t.equal(refused[0]!.decision, 'deny');
  t.equal((await api(node, 'GET', '/press/statements', 'reader')).json().items.length, 0, 'nothing drafted');
});

t.test('a statement whose words carry what is not CLEAR is refused', async (t) => {
  const cases: Array<[string, string, string]> = [
    [`Servers at www.${clear.markers.victims[0]} were hit.`, clearIncident.ref, 'victims'],
    [`Thanks to ${clear.incident.reporter.name} for the report.`, clearIncident.ref, 'reporter'],
    [`Hosts such as ${clear.markers.victims[1]} were hit.`, clearIncident.ref, 'victims'],
    [`Related to ${green.markers.victims[0]!.toUpperCase()}.`, greenIncident.ref, 'victims'],
    [`See also ${greenIncident.ref}.`, greenIncident.ref, 'reference'],
    [`Also seen: evil-${amber.tag}.example`, amberIncident.ref, 'evidence'],
    [`Their POC ${amber.incident.poc.email} was told.`, amberIncident.ref, 'poc'],
  ];
  for (const [text, ref, found] of cases) {
    const res = await draft({ title: 'Botnet contained', text, incidents: [clearIncident.ref] });
    t.equal(res.statusCode, 422, text);
    t.equal(res.json().code, 'press-not-clear');
    const finding = res.json().findings.find((f: { ref: string }) => f.ref === ref);
    t.ok(finding && finding.found.includes(found), `${text}: finds ${found} of ${ref}: ${JSON.stringify(res.json().findings)}`);
    t.notOk(JSON.stringify(res.json().findings).includes(text), 'the refusal names sections, not the words');
  }
  const inTitle = await draft({ title: `Incident at ${clear.markers.victims[0]}`, text: 'x', incidents: [clearIncident.ref] });
  t.equal(inTitle.json().code, 'press-not-clear', 'the title is checked too');
  const auditText = JSON.stringify(await auditKinds(node, { kind: 'press.statement-refused' })).toLowerCase();
  assertMarkers(t, auditText, clear.markers, ['victims', 'reporter', 'poc', 'internalHosts', 'evidence'], 'refusal audit');
});

t.test('drafted, approved by a second handler, published at /press, withdrawn', async (t) => {
  const byReader = await draft({ title: 'x', text: 'y', incidents: [] }, 'reader');
  t.equal(byReader.json().code, 'forbidden');

  const drafted = await draft({ title: 'Botnet contained', text: GOOD_TEXT, incidents: [clearIncident.ref] });
  t.equal(drafted.statusCode, 201, drafted.body);
  const statement = drafted.json();
  t.equal(statement.state, 'draft');
  t.equal(statement.draftedBy, 'handler-user');
  t.same(statement.incidents, [{ id: clearIncident.id, ref: clearIncident.ref }]);
  t.same((await publicGet('/press')).json().items, [], 'a draft is not public');
  t.equal((await publicGet(`/press/${statement.id}`)).statusCode, 404);

  const self = await approve(statement.id, node.auth.handler);
  t.equal(self.statusCode, 403);
  t.equal(self.json().code, 'press-same-handler');
  t.equal((await approve(statement.id, node.auth.reader)).json().code, 'forbidden');

  const approved = await approve(statement.id);
  t.equal(approved.statusCode, 200, approved.body);
  t.equal(approved.json().state, 'published');
  t.equal(approved.json().approvedBy, 'handler-2');
  t.equal((await approve(statement.id)).json().code, 'press-statement-state', 'published once');

  const list = await publicGet('/press');
  t.equal(list.statusCode, 200);
  t.equal(list.json().team, 'alpha');
  t.same(
    list.json().items.map((s: { id: string }) => s.id),
    [statement.id],
  );
  const one = await publicGet(`/press/${statement.id}`);
  t.equal(one.json().text, GOOD_TEXT);
  t.same(one.json().incidents, [clearIncident.ref]);
  const text = await publicGet(`/press/${statement.id}/text`);
  t.match(text.headers['content-type'], /^text\/plain/);
  t.match(text.body, /^Botnet contained\n/);
  // A browser gets the same statements as a page: escaped, loading nothing.
  const browser = { accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8' };
  const page = await node.app.inject({ method: 'GET', url: '/press', headers: browser });
  t.equal(page.statusCode, 200);
  t.match(page.headers['content-type'], /^text\/html; charset=utf-8/);
  t.match(page.headers['content-security-policy'], /default-src 'none'/);
  t.match(page.body, `<a href="/press/${statement.id}">Botnet contained</a>`);
  t.match(page.body, clearIncident.ref);
  t.notMatch(page.body, /<script/i);
  const onePage = await node.app.inject({ method: 'GET', url: `/press/${statement.id}`, headers: browser });
  t.match(onePage.headers['content-type'], /^text\/html/);
  t.match(onePage.body, '<a href="/press">All statements</a>');
  t.equal((await node.app.inject({ method: 'GET', url: '/press', headers: { accept: '*/*' } })).json().team, 'alpha', '*/* is JSON');
  for (const [where, body] of [
    ['/press', list.body],
    ['/press/{id}', one.body],
    ['/press/{id}/text', text.body],
    ['/press (page)', page.body],
    ['/press/{id} (page)', onePage.body],
  ] as const) {
    assertMarkers(t, body.toLowerCase(), clear.markers, ['victims', 'reporter', 'poc', 'internalHosts', 'evidence'], where);
    assertMarkers(t, body.toLowerCase(), green.markers, ['victims', 'reporter', 'poc', 'internalHosts', 'evidence'], where);
  }

  const decisions = (await auditKinds(node, { kind: 'disclosure.decision' })).filter((e) => e.details.purpose === 'press');
  t.equal(decisions.length, 1, 'one disclosure decision per incident the statement speaks about');
  t.equal(decisions[0]!.details.statementId, statement.id);
  t.equal(decisions[0]!.decision, 'allow');

  const noReason = await api(node, 'POST', `/press/statements/${statement.id}/withdraw`, 'handler', {});
  t.equal(noReason.json().code, 'validation-failed');
  const withdrawn = await api(node, 'POST', `/press/statements/${statement.id}/withdraw`, 'handler', { reason: 'superseded' });
  t.equal(withdrawn.statusCode, 200, withdrawn.body);
  t.equal(withdrawn.json().state, 'withdrawn');
  t.equal(withdrawn.json().withdrawalReason, 'superseded');
  t.same((await publicGet('/press')).json().items, []);
  t.equal((await publicGet(`/press/${statement.id}`)).json().code, 'not-found');
  const again = await api(node, 'POST', `/press/statements/${statement.id}/withdraw`, 'handler', { reason: 'again' });
  t.equal(again.json().code, 'press-statement-state');

  const kinds = (await auditKinds(node)).map((e) => e.kind);
  for (const kind of [
    'press.statement-refused',
    'press.statement-drafted',
    'press.statement-approval-refused',
    'press.statement-published',
    'press.statement-withdrawn',
  ])
    t.ok(kinds.includes(kind), `audited: ${kind}`);
});

t.test('approval checks again: an incident relabelled since the draft stops it', async (t) => {
  const other = await createIncident(node, { tlp: 'CLEAR' });
  const statement = (await draft({ title: 'Phishing wave', text: 'A phishing wave is over.', incidents: [other.ref] })).json();
  const patched = await api(node, 'PATCH', `/incidents/${enc(other.ref)}`, 'handler', { tlp: 'GREEN' });
  t.equal(patched.statusCode, 200, patched.body);
  const res = await approve(statement.id);
  t.equal(res.statusCode, 422);
  t.equal(res.json().code, 'press-not-clear');
  t.equal((await api(node, 'GET', `/press/statements/${statement.id}`, 'reader')).json().state, 'draft');
});

t.test('bad input: unknown ids, malformed bodies', async (t) => {
  const missing = '00000000-0000-4000-8000-000000000000';
  const unknownIncident = await draft({ title: 't', text: 'x', incidents: ['ALPHA#1999-000404'] });
  t.equal(unknownIncident.statusCode, 404);
  t.equal(unknownIncident.json().code, 'not-found');
  t.equal((await approve(missing)).json().code, 'not-found');
  t.equal((await api(node, 'GET', `/press/statements/${missing}`, 'reader')).json().code, 'not-found');
  t.equal((await api(node, 'POST', `/press/statements/${missing}/withdraw`, 'handler', { reason: 'x' })).json().code, 'not-found');
  t.equal((await publicGet(`/press/${missing}/text`)).json().code, 'not-found');
  t.equal((await publicGet('/press/not-a-uuid')).json().code, 'validation-failed');
  for (const body of [
    { title: 't', text: 'x', incidents: [], extra: true },
    { title: '', text: 'x', incidents: [] },
    { title: 't', text: 42, incidents: [] },
    { title: 't', text: 'x' },
    { title: 't', text: 'x', incidents: 'ALPHA#2026-000001' },
  ]) {
    const res = await draft(body);
    t.equal(res.statusCode, 400, JSON.stringify(body));
    t.equal(res.json().code, 'validation-failed');
  }
  const malformed = await node.app.inject({
    method: 'POST',
    url: '/api/v1/press/statements',
    headers: { ...node.auth.handler, 'content-type': 'application/json' },
    payload: '{"title": "t",',
  });
  t.equal(malformed.json().code, 'malformed-json');
  t.equal((await api(node, 'GET', '/press/statements', null)).statusCode, 401);
});

t.test('the CLI drafts, lists and approves; a refusal exits non-zero', async (t) => {
  const other = await createIncident(node, { tlp: 'CLEAR' });
  const drafted = await runCli(node, 'press', 'draft', '--title', 'Advisory', '--text', 'Patch your routers.', '--incident', other.ref);
  t.equal(drafted.code, 0, drafted.stderr);
  const id = /^([0-9a-f-]{36}) {2}draft/m.exec(drafted.stdout)?.[1];
  t.ok(id, drafted.stdout);
  const approved = await approve(id!);
  t.equal(approved.statusCode, 200, 'a handler other than the one behind the CLI token approves');
  const listed = await runCli(node, 'press', 'list');
  t.match(listed.stdout, new RegExp(`${id}  published`));
  const refused = await runCli(node, 'press', 'draft', '--title', 'x', '--text', `See ${greenIncident.ref}`);
  t.not(refused.code, 0);
  t.match(refused.stderr, /press-not-clear/);
});

t.test('every incident that is not CLEAR is checked, however many newer ones there are', async (t) => {
  // 100 newer GREEN incidents push the first one past the first page of the check (100).
  for (let from = 0; from < 100; from += 25)
    await Promise.all(Array.from({ length: 25 }, (_, i) => createIncident(node, { tlp: 'GREEN', title: `Scan ${from + i}` })));
  const res = await draft({ title: 'Botnet contained', text: `Related to ${green.markers.victims[0]}.`, incidents: [clearIncident.ref] });
  t.equal(res.statusCode, 422);
  t.ok(
    res.json().findings.some((f: { ref: string; found: string[] }) => f.ref === greenIncident.ref && f.found.includes('victims')),
    'the oldest GREEN incident is still found',
  );
});
