import { randomUUID } from 'node:crypto';
import t from 'tap';
import {
  api,
  auditKinds,
  createIncident,
  messageDocument,
  partnersBoth,
  postMessage,
  sign,
  waitFor,
} from '../helpers/federation-harness.js';
import { buildForumNodes, foundForum, receivedInquiries, showInquiry } from '../helpers/forum-harness.js';

/**
 * Inquiries to all members of a forum (issue 14 part 5). cc operates "first" and is a member;
 * alpha and bravo are members; mallory is an outsider (a peer of alpha and of bravo). An inquiry
 * from alpha reaches cc and bravo only, each through one policy decision (purpose broadcast),
 * audited; bravo's incident matches it, cc has nothing and answers `not-seen` on its own; bravo
 * answers `affected` with its reference number and alpha sees the answers per member. A member
 * that is down gets it when it is back (outbox retry).
 */
const MARK = 'zq-inquiry-marker';
// alpha's outgoing HTTP to this URL fails while set: a member that is down.
let downUrl: string | null = null;
const { cc, alpha, bravo, mallory } = await buildForumNodes(t, {
  nodes: {
    cc: { config: { inquiryAutoNotSeen: true } },
    alpha: {
      fetch: (input, init) =>
        downUrl && String(input instanceof Request ? input.url : input).startsWith(downUrl)
          ? Promise.reject(new TypeError('fetch failed'))
          : fetch(input, init),
    },
  },
  partners: [
    ['cc', 'alpha'],
    ['cc', 'bravo'],
    ['alpha', 'mallory'],
  ],
  pins: [['bravo', 'mallory']],
});

const host = '198.51.100.77';
let bravoRef = '';
let firstInquiry = '';

const received = receivedInquiries;
const show = showInquiry;
const inquiryInput = (extra: Record<string, unknown> = {}) => ({
  question: `Do you see SSH scans from this host? ${MARK}-question`,
  hosts: [{ ip: host, hostname: `${MARK}-host.example.net` }],
  indicators: [{ kind: 'other', value: `${MARK}-indicator`, description: `${MARK}-description` }],
  domains: [`${MARK}-domain.example.org`],
  networks: ['203.0.113.0/24'],
  tlp: 'AMBER',
  ...extra,
});

t.test('the forum: cc operates it, cc, alpha and bravo are members', async (t) => {
  await foundForum(t, { operator: cc, members: [cc, alpha, bravo] });
  const incident = await createIncident(bravo, { hosts: [{ ip: host, role: 'source' }], indicators: [], tlp: 'AMBER' });
  bravoRef = incident.ref;
});

t.test('before alpha knows bravo: bravo is skipped as not-a-peer, cc gets it', async (t) => {
  const res = await api(alpha, 'POST', '/forums/first/inquiries', 'handler', inquiryInput({ tlp: 'GREEN' }));
  t.equal(res.statusCode, 202, res.body);
  t.same(res.json().sentTo, ['cc']);
  t.same(res.json().skipped, [{ team: 'bravo', reason: 'not-a-peer' }]);
  await partnersBoth(alpha, bravo);
});

t.test('an inquiry from alpha: one policy decision per member, matched at bravo, auto not-seen at cc', async (t) => {
  const res = await api(alpha, 'POST', '/forums/first/inquiries', 'handler', inquiryInput());
  t.equal(res.statusCode, 202, res.body);
  firstInquiry = res.json().id;
  t.same(res.json().sentTo, ['bravo', 'cc']);
  t.same(res.json().skipped, []);
  const decisions = (await auditKinds(alpha, { kind: 'disclosure.decision' })).filter((e) => e.details.inquiry === firstInquiry);
  t.same(
    decisions.map((e) => [e.decision, e.details.purpose, e.details.recipient.id]),
    [
      ['allow', 'broadcast', 'bravo'],
      ['allow', 'broadcast', 'cc'],
    ],
  );

  const atBravo = await waitFor('bravo has it', async () => (await received(bravo)).find((i) => i.poster === 'alpha' && i.matchCount > 0));
  const bravoView = await show(bravo, atBravo.id);
  t.equal(bravoView.question, inquiryInput().question);
  t.same(
    bravoView.matches.filter((m: { kind: string }) => m.kind === 'incident'),
    [{ kind: 'incident', id: bravoRef, label: bravoRef, matchedOn: 'ip', value: host }],
  );
  t.same(bravoView.answers, [], 'bravo does not answer on its own');

  const atCc = await waitFor('cc has it', async () => (await received(cc)).find((i) => i.poster === 'alpha' && i.matchCount === 0 && i));
  t.ok(atCc);
  const answered = await waitFor('alpha sees cc not-seen', async () => {
    const view = await show(alpha, firstInquiry);
    return view.members.find((m: { team: string; answer: unknown }) => m.team === 'cc' && m.answer) ? view : null;
  });
  t.match(answered.members, [
    { team: 'bravo', outcome: 'sent', answer: null },
    { team: 'cc', outcome: 'sent', answer: { answer: 'not-seen', automatic: true } },
  ]);
  t.same(await received(mallory), [], 'the outsider receives nothing');
  t.equal(
    (await mallory.database.db.selectFrom('inbound_message').select('message_id').where('type', 'like', 'forum.%').execute()).length,
    0,
  );
});

t.test('bravo answers affected with its reference number; a second answer replaces it', async (t) => {
  const [atBravo] = (await received(bravo)).filter((i) => i.poster === 'alpha' && i.matchCount > 0);
  const res = await api(bravo, 'POST', `/inquiries/${atBravo!.id}/answer`, 'handler', {
    answer: 'affected',
    ref: bravoRef,
    note: `${MARK}-note`,
  });
  t.equal(res.statusCode, 200, res.body);
  t.match(res.json().answers, [{ team: 'bravo', answer: 'affected', ref: bravoRef }]);
  t.match(await auditKinds(bravo, { kind: 'disclosure.decision', peer: 'alpha' }), [{ decision: 'allow', details: { purpose: 'direct' } }]);
  const view = await waitFor('alpha sees bravo', async () => {
    const v = await show(alpha, firstInquiry);
    return v.members.find((m: { team: string; answer: unknown }) => m.team === 'bravo' && m.answer) ? v : null;
  });
  t.match(view.members, [{ team: 'bravo', answer: { answer: 'affected', ref: bravoRef, automatic: false } }, { team: 'cc' }]);
  t.equal((await api(bravo, 'POST', `/inquiries/${atBravo!.id}/answer`, 'handler', { answer: 'seen' })).statusCode, 200);
  const replaced = await waitFor('latest wins', async () => {
    const v = await show(alpha, firstInquiry);
    return v.members.find((m: { team: string; answer?: { answer: string } }) => m.team === 'bravo' && m.answer?.answer === 'seen')
      ? v
      : null;
  });
  t.same(
    replaced.answers.filter((a: { team: string }) => a.team === 'bravo').map((a: { answer: string }) => a.answer),
    ['affected', 'seen'],
    'both kept',
  );
  t.equal(
    (await api(alpha, 'POST', `/inquiries/${firstInquiry}/answer`, 'handler', { answer: 'seen' })).statusCode,
    409,
    'the poster does not answer',
  );
  t.equal((await api(bravo, 'POST', `/inquiries/${randomUUID()}/answer`, 'handler', { answer: 'seen' })).statusCode, 404);
  t.equal((await api(bravo, 'POST', `/inquiries/${atBravo!.id}/answer`, 'reader', { answer: 'seen' })).statusCode, 403);
});

t.test('refused on the wire: a non-member, an unknown inquiry, a hostile body', async (t) => {
  const inquiryBody = { forum: 'first', inquiry: randomUUID(), question: 'q' };
  const fromMallory = await postMessage(bravo, await sign(messageDocument('mallory', 'bravo', 'forum.inquiry', inquiryBody), 'mallory'));
  t.equal(fromMallory.status, 403, fromMallory.text);
  t.equal(fromMallory.json.code, 'not-a-forum-member');
  t.match(await auditKinds(bravo, { kind: 'inbox-rejection', peer: 'mallory' }), [
    { decision: 'deny', details: { code: 'not-a-forum-member' } },
  ]);
  const otherForum = await postMessage(
    bravo,
    await sign(messageDocument('alpha', 'bravo', 'forum.inquiry', { ...inquiryBody, forum: 'other' }), 'alpha'),
  );
  t.equal(otherForum.json.code, 'not-a-forum-member');

  const answer = { forum: 'first', inquiry: randomUUID(), answer: 'seen' };
  const unknown = await postMessage(alpha, await sign(messageDocument('bravo', 'alpha', 'forum.inquiry-answer', answer), 'bravo'));
  t.equal(unknown.status, 409, unknown.text);
  t.equal(unknown.json.code, 'unknown-inquiry');
  const notAsked = await postMessage(
    alpha,
    await sign(messageDocument('mallory', 'alpha', 'forum.inquiry-answer', { ...answer, inquiry: firstInquiry }), 'mallory'),
  );
  t.equal(notAsked.json.code, 'unknown-inquiry', 'mallory was not asked');

  const hostile = [
    { ...inquiryBody, extra: 1 },
    { ...inquiryBody, question: 'x'.repeat(4001) },
    { ...inquiryBody, hosts: [{ ip: host, role: 'source' }] },
    { ...inquiryBody, inquiry: 'not-a-uuid' },
  ];
  for (const body of hostile) {
    const res = await postMessage(bravo, await sign(messageDocument('alpha', 'bravo', 'forum.inquiry', body), 'alpha'));
    t.equal(res.status, 400, res.text);
  }
  const badAnswer = await postMessage(
    alpha,
    await sign(messageDocument('bravo', 'alpha', 'forum.inquiry-answer', { ...answer, answer: 'maybe' }), 'bravo'),
  );
  t.equal(badAnswer.status, 400);
});

t.test('hostile API input is refused with 4xx', async (t) => {
  const cases: Array<[unknown, number, string]> = [
    [{ ...inquiryInput(), extra: true }, 400, 'validation-failed'],
    [{ ...inquiryInput(), question: 'x'.repeat(4001) }, 400, 'validation-failed'],
    [{ ...inquiryInput(), question: '' }, 400, 'validation-failed'],
    [{ ...inquiryInput(), tlp: 'PURPLE' }, 400, 'validation-failed'],
    [{ ...inquiryInput(), hosts: [{}] }, 400, 'validation-failed'],
    [{ ...inquiryInput(), hosts: [{ ip: 'not-an-ip' }] }, 400, 'validation-failed'],
    [{ ...inquiryInput(), networks: ['10.0.0.1/8'] }, 400, 'validation-failed'],
    [{ ...inquiryInput(), indicators: [{ kind: 'ipv4', value: 5 }] }, 400, 'validation-failed'],
    [{ ...inquiryInput(), incident: 'NOPE-1' }, 404, 'not-found'],
  ];
  for (const [body, status, code] of cases) {
    const res = await api(alpha, 'POST', '/forums/first/inquiries', 'handler', body);
    t.equal(res.statusCode, status, res.body);
    t.equal(res.json().code, code);
  }
  t.equal((await api(alpha, 'POST', '/forums/first/inquiries', 'reader', inquiryInput())).statusCode, 403);
  t.equal((await api(alpha, 'POST', '/forums/nope/inquiries', 'handler', inquiryInput())).statusCode, 409, 'no roster of it');
  t.equal((await api(mallory, 'POST', '/forums/first/inquiries', 'handler', inquiryInput())).statusCode, 409, 'not a member');
  t.equal((await api(alpha, 'GET', '/inquiries/not-a-uuid', 'reader')).statusCode, 400);
  t.equal((await api(alpha, 'GET', '/inquiries?direction=sideways', 'reader')).statusCode, 400);
  t.equal((await api(bravo, 'POST', `/inquiries/${randomUUID()}/answer`, 'handler', { answer: 'maybe' })).statusCode, 400);
  const bad = await alpha.app.inject({
    method: 'POST',
    url: '/api/v1/forums/first/inquiries',
    headers: { ...alpha.auth.handler, 'content-type': 'application/json' },
    payload: '{"question":',
  });
  t.equal(bad.statusCode, 400);
});

t.test('TLP:RED is never broadcast: refused for every member, each refusal audited', async (t) => {
  const res = await api(alpha, 'POST', '/forums/first/inquiries', 'handler', inquiryInput({ tlp: 'RED' }));
  t.equal(res.statusCode, 202, res.body);
  t.same(res.json().sentTo, []);
  t.same(
    res.json().skipped.map((s: { team: string }) => s.team),
    ['bravo', 'cc'],
  );
  const denies = (await auditKinds(alpha, { kind: 'disclosure.decision' })).filter((e) => e.details.inquiry === res.json().id);
  t.same(
    denies.map((e) => e.decision),
    ['deny', 'deny'],
  );
  t.equal(
    (await alpha.database.db.selectFrom('outbound_message').select('id').where('tlp', '=', 'RED').execute()).length,
    0,
    'nothing queued',
  );
});

t.test('a member that is down gets the inquiry when it is back (outbox retry)', async (t) => {
  downUrl = bravo.url;
  const res = await api(alpha, 'POST', '/forums/first/inquiries', 'handler', inquiryInput({ question: 'later' }));
  t.same(res.json().sentTo, ['bravo', 'cc']);
  const id = res.json().id;
  await waitFor('cc got it', async () =>
    (await show(alpha, id)).members.find((m: { team: string; delivery: string }) => m.team === 'cc' && m.delivery === 'delivered'),
  );
  await waitFor('a failed attempt to bravo', async () => {
    const rows = await alpha.database.db
      .selectFrom('outbound_message')
      .select(['state', 'attempts'])
      .where('peer_team', '=', 'bravo')
      .where('type', '=', 'forum.inquiry')
      .execute();
    return rows.some((r) => r.state === 'pending' && Number(r.attempts) > 0);
  });
  t.match((await show(alpha, id)).members, [{ team: 'bravo', delivery: 'pending' }, { team: 'cc' }]);
  downUrl = null;
  await waitFor('bravo got it', async () =>
    (await show(alpha, id)).members.find((m: { team: string; delivery: string }) => m.team === 'bravo' && m.delivery === 'delivered'),
  );
  t.equal((await received(bravo)).length, 2, 'once, not twice');
});

t.test('the planted marker is in no audit entry', async (t) => {
  for (const node of [alpha, bravo, cc, mallory]) {
    const rows = await node.database.db.selectFrom('audit_entry').selectAll().execute();
    t.notOk(JSON.stringify(rows).includes(MARK), `${node.config.teamId}: audit entries name no inquiry content`);
  }
});
