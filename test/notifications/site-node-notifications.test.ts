import { randomUUID } from 'node:crypto';
import t from 'tap';
import { buildTestNode } from '../helpers/build-test-app.js';
import { runCli } from '../helpers/cli-runner.js';
import {
  api,
  auditKinds,
  createIncident,
  enc,
  fastDelivery,
  journal,
  messageDocument,
  postMessage,
  sign,
  waitFor,
} from '../helpers/federation-harness.js';
import { mailConfig, startMailRelay } from '../helpers/mail-relay.js';
import { assertMarkers, everything, markedIncident, SECTIONS } from '../helpers/marker-scan.js';
import { addSite, notificationOf, peerSiteNode, poc, receivedAt, waitNotificationState, type Notification } from '../helpers/site-nodes.js';

/**
 * Issue 19 part 3, "or to the site's own node if it runs one" (ADR 0026): a coordinator (alpha)
 * tells a site of its constituency that runs its own node (bravo, a peer) through the signed
 * exchange, and a mail-only site by mail in the same run; the site node reads, acknowledges and
 * answers; the states come back to the coordinator. Real nodes on loopback, a real SMTP server.
 */
fastDelivery();
const relay = await startMailRelay();
t.teardown(() => relay.close());
const alpha = await buildTestNode(t, {
  key: 'alpha',
  listen: true,
  startWorker: true,
  config: { teamEmail: 'csirt@alpha.test', mail: mailConfig(relay.url, 'csirt@alpha.test') },
});
const bravo = await buildTestNode(t, { key: 'bravo', listen: true, startWorker: true });
// The site node registers the coordinator as such: only a coordinator notifies it.
await peerSiteNode(alpha, bravo);

const site = (body: Record<string, unknown>) => addSite(alpha, body);
const NODE_SITE = await site({ name: 'Bravo University', networks: ['198.51.100.0/25'], pocs: [poc('soc@bravo.test')] });
const MAIL_SITE = await site({ name: 'Mail-only Corp', networks: ['203.0.113.96/27'], pocs: [poc('noc@mailonly.test')] });

const one = (node: typeof alpha, id: string) => notificationOf(node, id);
const waitState = (id: string, state: string) => waitNotificationState(alpha, id, state);
const received = () => receivedAt(bravo);

// Every field of the incident carries markers; the two sites' own hosts carry their own.
const marked = markedIncident('GREEN');
const tag = marked.tag;
const incident = await createIncident(alpha, {
  ...marked.incident,
  title: `TITLE-${tag} ${marked.incident.title}`,
  hosts: [
    ...marked.incident.hosts,
    { ip: '198.51.100.10', role: 'target', ports: [22], protocol: 'tcp', description: `NODE-HOST-${tag}` },
    { ip: '203.0.113.99', role: 'target', description: `MAIL-HOST-${tag}` },
  ],
});

t.test('a site names its node: a known peer only, cleared with null (API and CLI)', async (t) => {
  const unknown = await api(alpha, 'PATCH', `/sites/${NODE_SITE}`, 'handler', { teamId: 'nobody-here' });
  t.equal(unknown.statusCode, 400, 'a team id that is no peer is refused');
  t.equal(unknown.json().code, 'validation-failed');
  t.match(unknown.json().errors, [{ pointer: '/teamId' }]);
  const wrongType = await api(alpha, 'PATCH', `/sites/${NODE_SITE}`, 'handler', { teamId: 42 });
  t.equal(wrongType.statusCode, 400);
  const badCreate = await api(alpha, 'POST', '/sites', 'handler', { name: 'X', teamId: 'Not A Team' });
  t.equal(badCreate.statusCode, 400);
  const reader = await api(alpha, 'PATCH', `/sites/${NODE_SITE}`, 'reader', { teamId: 'bravo' });
  t.equal(reader.statusCode, 403, 'a reader changes no site');
  t.equal((await api(alpha, 'GET', `/sites/${NODE_SITE}`, 'reader')).json().teamId, null, 'nothing was applied');

  const cli = await runCli(alpha, 'notify', 'site-node', NODE_SITE, 'bravo');
  t.equal(cli.code, 0, cli.stderr);
  t.match(cli.stdout, /told through the node of bravo/);
  t.equal((await api(alpha, 'GET', `/sites/${NODE_SITE}`, 'reader')).json().teamId, 'bravo');
  const cleared = await api(alpha, 'PATCH', `/sites/${NODE_SITE}`, 'handler', { teamId: null });
  t.equal(cleared.json().teamId, null);
  t.equal((await api(alpha, 'PATCH', `/sites/${NODE_SITE}`, 'handler', { teamId: 'bravo' })).json().teamId, 'bravo');
});

let nodeNote: Notification;
let mailNote: Notification;

t.test('approved: the node site over the exchange, the mail-only site by mail, in one run', async (t) => {
  const res = await api(alpha, 'POST', `/incidents/${enc(incident.ref)}/notifications/propose`, 'handler');
  t.equal(res.statusCode, 200, res.body);
  const items: Notification[] = res.json().items;
  nodeNote = items.find((n) => n.site.id === NODE_SITE)!;
  mailNote = items.find((n) => n.site.id === MAIL_SITE)!;
  t.match(nodeNote, { state: 'drafted' });
  t.match(mailNote, { state: 'drafted' });

  const approved = await api(alpha, 'POST', `/notifications/${nodeNote.id}/approve`, 'handler');
  t.equal(approved.statusCode, 200, approved.body);
  t.match(approved.json(), { state: 'approved', channel: 'node', peerTeam: 'bravo' });
  const mailed = await api(alpha, 'POST', `/notifications/${mailNote.id}/approve`, 'handler');
  t.equal(mailed.statusCode, 200, mailed.body);
  t.match(mailed.json(), { state: 'approved', channel: 'email', peerTeam: null });

  const delivered = await waitState(nodeNote.id, 'delivered');
  t.ok(delivered.sentAt, 'sent on the way');
  t.match(delivered.outcomeDetail, /^receipt /);
  t.ok(delivered.delivery?.attempts >= 1, "the exchange's attempts are shown");
  const kinds = (await journal(alpha, incident.ref)).map((e) => e.kind);
  t.ok(kinds.includes('notification-sent') && kinds.includes('notification-delivered'), 'sent and delivered are journaled');
  const decisions = (await auditKinds(alpha, { kind: 'disclosure.decision' })).filter(
    (e) => e.details.notificationId === nodeNote.id && e.details.state === 'approved',
  );
  t.match(decisions, [{ decision: 'allow', details: { channel: 'node', peer: 'bravo', type: 'site.notification' } }]);

  const [got] = await received();
  t.match(got, { from: 'alpha', senderRef: incident.ref, state: 'received', notification: nodeNote.id, tlp: 'GREEN' });
  t.same(
    got.content.hosts.map((h: { ip: string }) => h.ip),
    ['198.51.100.10'],
    'the site node gets its own host only',
  );
  const full = (await api(bravo, 'GET', `/received-site-notifications/${got.id}`, 'reader')).json();
  t.equal(full.text, (await one(alpha, nodeNote.id)).text, 'the same text the mail would carry');
  t.equal((await auditKinds(bravo, { kind: 'site-notification.received' })).length, 1, 'receipt audited at the site node');

  // The mail-only site of the same incident gets its signed mail.
  await waitFor(`mail ${mailNote.id} sent`, async () => {
    const n = await one(alpha, mailNote.id);
    return n.state === 'sent' ? n : null;
  });
  t.ok(
    relay.messages.some((m) => m.to.includes('noc@mailonly.test')),
    'the mail-only site got mail',
  );
});

t.test('AMBER: the site node needs no POC key (the exchange seals); a mail-only site does', async (t) => {
  const amber = await createIncident(alpha, {
    title: 'amber',
    category: 'intrusions',
    type: 'system-compromise',
    severity: 'high',
    tlp: 'AMBER',
    hosts: [
      { ip: '198.51.100.30', role: 'target' },
      { ip: '203.0.113.101', role: 'target' },
    ],
  });
  const items: Notification[] = (await api(alpha, 'POST', `/incidents/${enc(amber.ref)}/notifications/propose`, 'handler')).json().items;
  const node = items.find((n) => n.site.id === NODE_SITE)!;
  t.match(node, { state: 'drafted' });
  t.match(
    items.find((n) => n.site.id === MAIL_SITE),
    { state: 'unreachable', reason: 'poc-key-required' },
  );
  t.equal((await api(alpha, 'POST', `/notifications/${node.id}/approve`, 'handler')).statusCode, 200);
  await waitState(node.id, 'delivered');
  const got = (await received()).find((r) => r.notification === node.id);
  t.match(got, { tlp: 'AMBER', senderRef: amber.ref });
});

t.test('markers: nothing about other sites, the reporter or the evidence reaches the site node', async (t) => {
  const text = await everything(bravo);
  // Victims in no site's scope reach a site only as the indicators the policy's payload carries
  // (ADR 0026, the same in the mail); their hosts, and every other section, never do.
  assertMarkers(
    t,
    text,
    marked.markers,
    SECTIONS.filter((s) => s !== 'victims'),
    'site node',
  );
  const got = (await received()).find((r) => r.notification === nodeNote.id);
  t.same(got.content, (await one(alpha, nodeNote.id)).content, 'exactly the content the mail would carry');
  for (const needle of [`title-${tag}`, `mail-host-${tag}`, '203.0.113.99', '192.0.2.', `www.${marked.markers.victims[0]}`])
    t.notOk(text.includes(needle), `${needle} is not at the site node`);
  t.ok(text.includes(`node-host-${tag}`), "the site's own host is");
});

t.test('the site node acknowledges, then answers: the states and the journal at the coordinator', async (t) => {
  const got = (await received()).find((r) => r.notification === nodeNote.id);
  const ack = await api(bravo, 'POST', `/received-site-notifications/${got.id}/acknowledge`, 'handler');
  t.equal(ack.statusCode, 200, ack.body);
  t.equal(ack.json().state, 'acknowledged');
  await waitState(nodeNote.id, 'acknowledged');
  const again = await api(bravo, 'POST', `/received-site-notifications/${got.id}/acknowledge`, 'handler');
  t.equal(again.statusCode, 409, 'acknowledged once');
  t.equal((await api(bravo, 'POST', `/received-site-notifications/${got.id}/acknowledge`, 'reader')).statusCode, 403);
  t.equal((await api(bravo, 'POST', `/received-site-notifications/${got.id}/answer`, 'handler', { text: '' })).statusCode, 400);
  t.equal((await api(bravo, 'POST', `/received-site-notifications/${randomUUID()}/answer`, 'handler', { text: 'x' })).statusCode, 404);

  const cli = await runCli(bravo, 'notify', 'received-answer', got.id, '--text', `ANSWER-${tag}: patched the host`);
  t.equal(cli.code, 0, cli.stderr);
  t.match(cli.stdout, /answered/);
  const answered = await waitState(nodeNote.id, 'answered');
  t.equal(answered.outcomeBy, 'bravo');
  const entry = (await journal(alpha, incident.ref)).find((e) => e.kind === 'notification-answered');
  t.match(entry?.note, `ANSWER-${tag}`, "the answer lands in the sender incident's journal");
  const audited = await auditKinds(bravo, { kind: 'site-notification.answered' });
  t.equal(audited.length, 1);
  t.notOk(JSON.stringify(audited).includes(`ANSWER-${tag}`), 'the audit keeps a digest, not the text');
  const listed = await runCli(bravo, 'notify', 'received');
  t.match(listed.stdout, incident.ref);
  t.match(listed.stdout, /answered/);
});

t.test('bad input at the site node: refused or quarantined, audited, nothing kept', async (t) => {
  const rows = async () => (await received()).length;
  const before = await rows();
  const body = (overrides: Record<string, unknown> = {}) => ({
    notification: randomUUID(),
    ref: 'ALPHA-FAKE-1',
    language: 'en',
    content: {
      ref: 'ALPHA-FAKE-1',
      category: 'intrusions',
      type: null,
      severity: 'low',
      tlp: 'GREEN',
      firstSeen: null,
      lastSeen: null,
      hosts: [],
      indicators: [],
      cves: [],
      callBack: { teamId: 'alpha', teamName: 'Alpha', email: 'csirt@alpha.test' },
    },
    text: 'hello',
    follows: null,
    ...overrides,
  });
  const doc = (b: unknown, from = 'alpha') => messageDocument(from, 'bravo', 'site.notification', b, { tlp: 'GREEN' });

  const malformed = await postMessage(bravo, await sign(doc(body({ text: 42 })), 'alpha'));
  t.equal(malformed.status, 400, malformed.text);
  const extra = await postMessage(bravo, await sign(doc(body({ reporter: 'x' })), 'alpha'));
  t.equal(extra.status, 400, 'a closed body: an extra field is refused');

  const signed = await sign(doc(body()), 'alpha');
  const tampered = { ...signed, document: { ...signed.document, body: body({ text: 'changed' }) } };
  const bad = await postMessage(bravo, tampered);
  t.equal(bad.status, 401, bad.text);
  t.equal(bad.json.code, 'signature-invalid');

  const unknown = await postMessage(bravo, await sign(doc(body(), 'mallory'), 'mallory'));
  t.equal(unknown.status, 202, 'an unknown sender waits in the quarantine');

  // A peer that is not our coordinator: refused, audited.
  await api(bravo, 'PATCH', '/peers/alpha', 'admin', { relationship: 'peer' });
  const lateral = await postMessage(bravo, await sign(doc(body()), 'alpha'));
  await api(bravo, 'PATCH', '/peers/alpha', 'admin', { relationship: 'coordinator' });
  t.equal(lateral.status, 403, lateral.text);
  t.equal(lateral.json.code, 'not-our-coordinator');
  const rejections = await auditKinds(bravo, { kind: 'inbox-rejection' });
  t.ok(
    rejections.some((e) => e.details.code === 'not-our-coordinator' || JSON.stringify(e.details).includes('not-our-coordinator')),
    'the refusal is audited',
  );
  t.equal(await rows(), before, 'none of these was kept');

  // A replay is answered with the stored receipt and kept once.
  const good = await sign(doc(body()), 'alpha');
  t.equal((await postMessage(bravo, good)).status, 200);
  const replay = await postMessage(bravo, good);
  t.equal(replay.status, 200);
  t.equal(await rows(), before + 1, 'kept once');
});

t.test("bad answers at the coordinator: unknown or not that node's notification, nothing applied", async (t) => {
  const answer = (notification: string, extra: Record<string, unknown> = {}) =>
    messageDocument(
      'bravo',
      'alpha',
      'site.notification-answer',
      { notification, kind: 'answered', text: 'x', ...extra },
      { tlp: 'GREEN' },
    );
  const unknown = await postMessage(alpha, await sign(answer(randomUUID()), 'bravo'));
  t.equal(unknown.status, 404, unknown.text);
  const notBravos = await postMessage(alpha, await sign(answer(mailNote.id), 'bravo'));
  t.equal(notBravos.status, 404, "a notification that did not go to bravo's node");
  const badKind = await postMessage(alpha, await sign(answer(nodeNote.id, { kind: 'deleted' }), 'bravo'));
  t.equal(badKind.status, 400);
  const ackWithText = await postMessage(alpha, await sign(answer(nodeNote.id, { kind: 'acknowledged' }), 'bravo'));
  t.equal(ackWithText.status, 400);
  t.equal((await one(alpha, mailNote.id)).state, 'sent', 'nothing applied');
  t.equal((await one(alpha, nodeNote.id)).state, 'answered');
  const refused = await auditKinds(alpha, { kind: 'inbox-rejection' });
  t.ok(refused.length >= 4, 'every refusal is audited');
});

t.test('a suspended site node: the notification falls back to the POC mail, and says why', async (t) => {
  t.equal((await api(alpha, 'POST', '/peers/bravo/suspend', 'admin')).statusCode, 200);
  t.teardown(async () => {
    await api(alpha, 'POST', '/peers/bravo/resume', 'admin');
  });
  const green = await createIncident(alpha, {
    title: 'brute force',
    category: 'intrusion-attempts',
    type: 'brute-force',
    severity: 'medium',
    tlp: 'GREEN',
    hosts: [{ ip: '198.51.100.20', role: 'source' }],
  });
  const note = (
    (await api(alpha, 'POST', `/incidents/${enc(green.ref)}/notifications/propose`, 'handler')).json().items as Notification[]
  ).find((n) => n.site.id === NODE_SITE);
  t.equal(note!.state, 'drafted');
  const approved = await api(alpha, 'POST', `/notifications/${note!.id}/approve`, 'handler');
  t.equal(approved.statusCode, 200, approved.body);
  t.match(approved.json(), { channel: 'email', peerTeam: null });
  await waitState(note!.id, 'sent');
  t.ok(relay.messages.some((m) => m.to.includes('soc@bravo.test')));
  const decision = (await auditKinds(alpha, { kind: 'disclosure.decision' })).find(
    (e) => e.details.notificationId === note!.id && e.details.state === 'approved',
  );
  t.match(decision?.details, { channel: 'email', fallback: 'peer-suspended' });

  // No POC mail either: 409, nothing sent.
  const noMail = await site({ name: 'Node only', networks: ['198.51.100.128/25'], teamId: 'bravo' });
  const other = await createIncident(alpha, {
    title: 'x',
    category: 'intrusion-attempts',
    type: 'brute-force',
    severity: 'low',
    tlp: 'GREEN',
    hosts: [{ ip: '198.51.100.200', role: 'source' }],
  });
  const proposed = (await api(alpha, 'POST', `/incidents/${enc(other.ref)}/notifications/propose`, 'handler')).json()
    .items as Notification[];
  t.match(
    proposed.find((n) => n.site.id === noMail),
    { state: 'unreachable', reason: 'no-poc-email' },
    'while the node is suspended, a site with no POC mail is unreachable',
  );
  // Suspended after the proposal: approval refuses rather than sending nowhere.
  t.equal((await api(alpha, 'POST', '/peers/bravo/resume', 'admin')).statusCode, 200);
  const drafted = (await api(alpha, 'POST', `/incidents/${enc(other.ref)}/notifications/propose`, 'handler')).json()
    .items as Notification[];
  const draft = drafted.find((n) => n.site.id === noMail)!;
  t.equal(draft.state, 'drafted', 'the node is usable again');
  t.equal((await api(alpha, 'POST', '/peers/bravo/suspend', 'admin')).statusCode, 200);
  const refused = await api(alpha, 'POST', `/notifications/${draft.id}/approve`, 'handler');
  t.equal(refused.statusCode, 409, refused.body);
  t.match(refused.json().detail, /peer-suspended/);
  t.equal((await one(alpha, draft.id)).state, 'drafted', 'nothing sent');
});
