import { randomBytes } from 'node:crypto';
import t from 'tap';
import {
  api,
  createIncident,
  enc,
  findByExternalRef,
  journal,
  messageDocument,
  postMessage,
  sign,
  waitFor,
  waitForShareState,
} from '../helpers/federation-harness.js';
import { buildForumNodes, FORUM_TEAMS, foundForum, receivedInquiries, showInquiry, type ForumTeam } from '../helpers/forum-harness.js';

/**
 * Logs never carry content (docs/conventions.md): every node here logs with pino at trace level
 * into a captured stream. Unique markers are planted in every field of an inquiry (question,
 * hosts, indicators, domains, networks), of an answer's note, of an incident shared to a peer,
 * and of hostile input that is refused; the whole flow runs (post, fan-out, match, automatic
 * and handler answers, share, refusals) and no log line of any node may name a marker. A
 * control line proves the capture works, so the scan can fail.
 */
// Four nodes and many round trips; other test files share the two cores: more than the 120 s of .taprc.
t.setTimeout(300_000);
const RUN = randomBytes(4).toString('hex');
const marker = (field: string) => `zqlog${RUN}${field}`;
// Addresses and networks cannot carry a marker string: distinctive values stand in for them.
const HOST_IP = '198.51.100.173';
const NETWORK = '100.64.173.0/24';
const INCIDENT_IP = '203.0.113.219';

const logs = Object.fromEntries(FORUM_TEAMS.map((team) => [team, [] as string[]])) as Record<ForumTeam, string[]>;
const logged = (team: ForumTeam) => ({
  config: { logLevel: 'trace' as const },
  logStream: { write: (line: string) => void logs[team].push(line) },
});
const { cc, alpha, bravo } = await buildForumNodes(t, {
  nodes: {
    cc: { ...logged('cc'), config: { logLevel: 'trace', inquiryAutoNotSeen: true } },
    alpha: logged('alpha'),
    bravo: logged('bravo'),
    mallory: logged('mallory'),
  },
  partners: [
    ['cc', 'alpha'],
    ['cc', 'bravo'],
    ['alpha', 'bravo'],
  ],
  pins: [
    ['mallory', 'bravo'],
    ['bravo', 'mallory'],
  ],
});

const planted: string[] = [HOST_IP, NETWORK, INCIDENT_IP];
const plant = (field: string) => {
  const m = marker(field);
  planted.push(m);
  return m;
};

t.test('the forum, and bravo’s incident that the inquiry will match', async (t) => {
  await foundForum(t, { operator: cc, members: [cc, alpha, bravo] });
  await createIncident(bravo, {
    title: `Bravo’s own ${plant('bravo-title')}`,
    hosts: [{ ip: HOST_IP, role: 'source', hostname: `${plant('bravo-hostname')}.example.com` }],
    indicators: [],
    tlp: 'AMBER',
  });
});

t.test('post, fan-out, match, answers: content crosses three nodes', async (t) => {
  const posted = await api(alpha, 'POST', '/forums/first/inquiries', 'handler', {
    question: `Do you see this? ${plant('question')}`,
    hosts: [{ ip: HOST_IP, hostname: `${plant('host')}.example.net` }],
    indicators: [{ kind: 'other', value: plant('indicator'), description: plant('indicator-description') }],
    domains: [`${plant('domain')}.example.org`],
    networks: [NETWORK],
    tlp: 'AMBER',
  });
  t.equal(posted.statusCode, 202, posted.body);
  t.same(posted.json().sentTo, ['bravo', 'cc']);
  const id = posted.json().id as string;
  const atBravo = await waitFor('bravo matched it', async () => (await receivedInquiries(bravo)).find((i) => i.matchCount > 0));
  const answered = await api(bravo, 'POST', `/inquiries/${atBravo.id}/answer`, 'handler', {
    answer: 'affected',
    note: `Our host is in it. ${plant('note')}`,
  });
  t.equal(answered.statusCode, 200, answered.body);
  const view = await waitFor('alpha has both answers', async () => {
    const v = await showInquiry(alpha, id);
    return v.members.every((m: { answer: unknown }) => m.answer) ? v : null;
  });
  t.match(view.members, [
    { team: 'bravo', answer: { answer: 'affected' } },
    { team: 'cc', answer: { answer: 'not-seen', automatic: true } },
  ]);
  t.ok(
    view.answers.some((a: { note: string | null }) => a.note?.includes(marker('note'))),
    'the note arrived, so it crossed the wire',
  );
});

t.test('an incident shared to a peer', async (t) => {
  const incident = await createIncident(alpha, {
    title: `Shared ${plant('incident-title')}`,
    summary: `Summary ${plant('incident-summary')}`,
    hosts: [{ ip: INCIDENT_IP, role: 'target', hostname: `${plant('incident-hostname')}.example.org` }],
    indicators: [{ kind: 'other', value: plant('incident-indicator'), description: plant('incident-indicator-description') }],
    tlp: 'AMBER',
  });
  const shared = await api(alpha, 'POST', `/incidents/${enc(incident.ref)}/shares`, 'handler', { peer: 'bravo' });
  t.equal(shared.statusCode, 202, shared.body);
  await waitForShareState(alpha, incident.ref, 'bravo', 'delivered');
  const noted = await api(alpha, 'POST', `/incidents/${enc(incident.ref)}/journal`, 'handler', { note: `Update ${plant('journal-note')}` });
  t.equal(noted.statusCode, 201, noted.body);
  await waitFor('the update arrived', async () => {
    const [copy] = await findByExternalRef(bravo, incident.ref);
    return copy && (await journal(bravo, copy.ref)).some((e) => e.note?.includes(marker('journal-note')));
  });
});

t.test('hostile input carrying markers is refused (and the refusals are logged)', async (t) => {
  const bad = await api(alpha, 'POST', '/forums/first/inquiries', 'handler', {
    question: plant('refused-question'),
    hosts: [{ ip: plant('refused-ip') }],
    tlp: 'AMBER',
  });
  t.equal(bad.statusCode, 400, bad.body);
  const query = await api(alpha, 'GET', `/incidents?indicator=${plant('query-indicator')}`, 'reader');
  t.ok(query.statusCode < 500, query.body);
  // A member's inquiry to bravo from an outsider: refused, audited and logged by code and ids.
  const outsider = await postMessage(
    bravo,
    await sign(
      messageDocument('mallory', 'bravo', 'forum.inquiry', {
        forum: 'first',
        inquiry: '6f1c1e8e-4a43-4b7e-9a51-0e2b4f1f6a01',
        question: plant('outsider-question'),
      }),
      'mallory',
    ),
  );
  t.equal(outsider.status, 403, outsider.text);
  const invalid = await postMessage(
    bravo,
    await sign(
      messageDocument('alpha', 'bravo', 'forum.inquiry', {
        forum: 'first',
        inquiry: '6f1c1e8e-4a43-4b7e-9a51-0e2b4f1f6a02',
        question: 'q',
        [plant('extra-field')]: plant('extra-value'),
      }),
      'alpha',
    ),
  );
  t.equal(invalid.status, 400, invalid.text);
});

t.test('no log line of any node names a marker; logs were written', async (t) => {
  const CONTROL = marker('control');
  alpha.app.log.info({ probe: CONTROL }, 'control line');
  t.ok(
    logs.alpha.some((line) => line.includes(CONTROL)),
    'the capture sees what a node logs: the scan below can fail',
  );
  for (const team of FORUM_TEAMS) {
    const lines = logs[team];
    // mallory, the outsider, only pins bravo: a few lines; the others log every request and message.
    t.ok(lines.length > (team === 'mallory' ? 0 : 20), `${team} logged ${lines.length} lines`);
    const levels = new Set(lines.map((line) => (JSON.parse(line) as { level: number }).level));
    t.ok(levels.has(30), `${team} logged at info`);
    const leaks = lines.filter((line) => !line.includes(CONTROL) && planted.some((m) => line.includes(m)));
    t.same(leaks, [], `${team}: no log line names planted content`);
  }
  const messages = (team: ForumTeam) => logs[team].map((line) => (JSON.parse(line) as { msg?: string }).msg);
  t.ok(messages('alpha').includes('message delivered'), 'alpha logged its deliveries');
  t.ok(messages('bravo').includes('message received'), 'bravo logged what it received');
  t.ok(messages('bravo').includes('message refused'), 'bravo logged the refusals');
  t.ok(messages('mallory').length > 0);
});
