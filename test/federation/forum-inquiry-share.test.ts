import t from 'tap';
import { buildTestNode, type TestNode } from '../helpers/build-test-app.js';
import { api, auditKinds, createIncident, fastDelivery, partnersBoth, waitFor } from '../helpers/federation-harness.js';

/**
 * An answer that carries the answering team's incident (issue 14 part 5: "with our reference
 * number and, if the policy allows, a shared incident"). The incident goes first as an ordinary
 * share (the policy decides it, purpose direct, audited), then the answer; the poster sees its
 * copy named in the answer. A share the policy refuses stops the answer: 403, nothing sent.
 */
fastDelivery();
const cc = await buildTestNode(t, { key: 'cc', listen: true, startWorker: true });
const alpha = await buildTestNode(t, { key: 'alpha', listen: true, startWorker: true });
const bravo = await buildTestNode(t, { key: 'bravo', listen: true, startWorker: true });
await partnersBoth(cc, alpha);
await partnersBoth(cc, bravo);
await partnersBoth(alpha, bravo);

const host = '198.51.100.91';
let inquiryAtBravo = '';
let inquiryAtAlpha = '';

const answerOf = async (node: TestNode, id: string, team: string) =>
  (
    (await api(node, 'GET', `/inquiries/${id}`, 'reader')).json().members as Array<{ team: string; answer: Record<string, unknown> | null }>
  ).find((m) => m.team === team)?.answer ?? null;

t.before(async () => {
  await api(cc, 'POST', '/forums', 'admin', { id: 'first', name: 'First', role: 'operator', sponsorsNeeded: 0 });
  for (const team of ['cc', 'alpha', 'bravo']) await api(cc, 'PUT', `/forums/first/draft/${team}`, 'admin', { kind: 'full' });
  for (const member of [alpha, bravo]) await api(member, 'POST', '/forums', 'admin', { id: 'first', role: 'member', operator: 'cc' });
  await api(cc, 'POST', '/forums/first/roster', 'admin');
  for (const member of [alpha, bravo])
    await waitFor('roster v1', async () => (await api(member, 'GET', '/forums/first', 'reader')).json().rosterVersion === 1);
  const posted = await api(alpha, 'POST', '/forums/first/inquiries', 'handler', {
    question: 'Do you see this host scanning?',
    hosts: [{ ip: host }],
    tlp: 'GREEN',
  });
  inquiryAtAlpha = posted.json().id;
  const received = await waitFor('bravo has the inquiry', async () => {
    const items = (await api(bravo, 'GET', '/inquiries?direction=received', 'reader')).json().items as Array<{
      id: string;
      poster: string;
    }>;
    return items.find((i) => i.poster === 'alpha');
  });
  inquiryAtBravo = received.id;
});

t.test('share needs ref; a reader may not answer', async (t) => {
  const noRef = await api(bravo, 'POST', `/inquiries/${inquiryAtBravo}/answer`, 'handler', { answer: 'seen', share: true });
  t.equal(noRef.statusCode, 400, noRef.body);
  t.equal(noRef.json().code, 'validation-failed');
  const wrongType = await api(bravo, 'POST', `/inquiries/${inquiryAtBravo}/answer`, 'handler', { answer: 'seen', share: 'yes' });
  t.equal(wrongType.statusCode, 400);
  t.equal((await api(bravo, 'POST', `/inquiries/${inquiryAtBravo}/answer`, 'reader', { answer: 'seen', share: true })).statusCode, 403);
  t.equal(await answerOf(alpha, inquiryAtAlpha, 'bravo'), null, 'nothing reached alpha');
});

t.test('a RED incident: the policy refuses the share, so no answer goes', async (t) => {
  const red = await createIncident(bravo, { hosts: [{ ip: host, role: 'source' }], indicators: [], tlp: 'RED' });
  const res = await api(bravo, 'POST', `/inquiries/${inquiryAtBravo}/answer`, 'handler', { answer: 'affected', ref: red.ref, share: true });
  t.equal(res.statusCode, 403, res.body);
  t.equal(res.json().code, 'policy-denied');
  const denied = (await auditKinds(bravo, { kind: 'disclosure.decision' })).filter(
    (e) => e.decision === 'deny' && e.details.recipient?.id === 'alpha',
  );
  t.ok(denied.length >= 1, 'the refused share is audited');
  t.same((await api(bravo, 'GET', `/inquiries/${inquiryAtBravo}`, 'reader')).json().answers, [], 'no answer recorded');
  t.same((await api(bravo, 'GET', `/incidents/${encodeURIComponent(red.ref)}/shares`, 'reader')).json().items, [], 'nothing shared');
});

t.test("a GREEN incident: shared first, then the answer names alpha's copy", async (t) => {
  const green = await createIncident(bravo, { hosts: [{ ip: host, role: 'source' }], indicators: [], tlp: 'GREEN' });
  const res = await api(bravo, 'POST', `/inquiries/${inquiryAtBravo}/answer`, 'handler', {
    answer: 'affected',
    ref: green.ref,
    share: true,
  });
  t.equal(res.statusCode, 200, res.body);
  const shares = (await api(bravo, 'GET', `/incidents/${encodeURIComponent(green.ref)}/shares`, 'reader')).json();
  t.match(shares.items, [{ peer: 'alpha', direction: 'outgoing' }], 'an ordinary share to the poster');
  const answer = await waitFor('alpha has the answer and the copy', async () => {
    const a = await answerOf(alpha, inquiryAtAlpha, 'bravo');
    return a?.incident ? a : null;
  });
  t.match(answer, { answer: 'affected', ref: green.ref });
  const copy = (await api(alpha, 'GET', `/incidents/${encodeURIComponent(answer.incident as string)}`, 'reader')).json();
  t.match(copy.hosts, [{ ip: host }], "alpha's copy is bravo's incident");
  t.match(copy.externalRefs, [{ team: 'bravo', ref: green.ref }]);

  // Answering again with the same incident: already shared is fine, no second report.
  const again = await api(bravo, 'POST', `/inquiries/${inquiryAtBravo}/answer`, 'handler', { answer: 'seen', ref: green.ref, share: true });
  t.equal(again.statusCode, 200, again.body);
  const reports = (await auditKinds(bravo, { kind: 'disclosure.decision' })).filter(
    (e) => e.decision === 'allow' && e.details.type === 'incident.report' && e.details.recipient?.id === 'alpha',
  );
  t.equal(reports.length, 1, 'one report, one decision');
});
