import t from 'tap';
import { buildTestNode } from '../helpers/build-test-app.js';
import { api, auditKinds, fastDelivery, journal } from '../helpers/federation-harness.js';
import { mailConfig, startMailRelay } from '../helpers/mail-relay.js';
import { addSite, peerSiteNode, poc, receivedAt, waitNotificationState, type Notification } from '../helpers/site-nodes.js';

/**
 * Issue 19 parts 3 and 4 together (ADR 0026, 0027): a campaign's grouped notification for a site
 * that runs its own node travels over the exchange as a site.notification, and the site node
 * files it; a site node that refuses us (it does not take us as its coordinator: 403) ends, once
 * the exchange gives up, with the notification `bounced` and the node listed as a failing
 * contact, the way a bounced mail flags the POC address. Real nodes on loopback, a real SMTP
 * server for the mail-only site.
 */
// The exchange gives up after 5 s instead of a day, so a refusal that never ends is seen ending.
fastDelivery({ HIKESHI_DELIVERY_MAX_AGE_SECONDS: '5' });
const relay = await startMailRelay();
t.teardown(() => relay.close());
const alpha = await buildTestNode(t, {
  key: 'alpha',
  listen: true,
  startWorker: true,
  config: { teamEmail: 'csirt@alpha.test', mail: mailConfig(relay.url, 'csirt@alpha.test') },
});
const bravo = await buildTestNode(t, { key: 'bravo', listen: true, startWorker: true });
const delta = await buildTestNode(t, { key: 'delta', listen: true, startWorker: true });
await peerSiteNode(alpha, bravo);
// delta knows alpha as a peer but not as its coordinator: it refuses every site.notification (403).
await peerSiteNode(alpha, delta, 'peer');

const BRAVO_SITE = await addSite(alpha, {
  name: 'Bravo University',
  networks: ['198.51.100.0/25'],
  pocs: [poc('soc@bravo.test')],
  teamId: 'bravo',
});
const DELTA_SITE = await addSite(alpha, {
  name: 'Delta Hospital',
  networks: ['198.51.100.128/25'],
  pocs: [poc('soc@delta.test')],
  teamId: 'delta',
});
const MAIL_SITE = await addSite(alpha, { name: 'Mail-only Corp', networks: ['203.0.113.0/24'], pocs: [poc('noc@mailonly.test')] });

function campaign(name: string, csv: string, query: Record<string, string> = {}) {
  const qs = new URLSearchParams({ category: 'vulnerable', type: 'ddos-amplifier', approve: 'true', ...query }).toString();
  return alpha.app.inject({
    method: 'POST',
    url: `/api/v1/campaigns/${name}/events?${qs}`,
    headers: { ...alpha.auth.handler, 'content-type': 'text/csv' },
    payload: csv,
  });
}

type SitePlan = { siteId: string; incidents: string[]; notifications: Array<{ id: string | null; state: string; reason: string | null }> };
const planOf = (report: { sites: SitePlan[] }, siteId: string) => report.sites.find((s) => s.siteId === siteId)!;
const failingNodes = async () =>
  (await api(alpha, 'GET', '/site-node-contacts?failing=true', 'reader')).json().items as Array<Record<string, any>>;

const CSV = [
  'time.source,source.ip,source.port,protocol.transport,malware.name',
  '2026-12-01T10:00:00Z,198.51.100.10,53,udp,open-resolver',
  '2026-12-01T10:05:00Z,198.51.100.11,53,udp,open-resolver',
  '2026-12-01T10:10:00Z,198.51.100.10,53,udp,open-resolver', // a duplicate of the first
  '2026-12-01T11:00:00Z,198.51.100.200,53,udp,open-resolver', // delta's
  '2026-12-01T12:00:00Z,203.0.113.7,53,udp,open-resolver', // the mail-only site's
  '2026-12-01T12:00:00Z,999.1.1.1,53,udp,open-resolver', // malformed
].join('\n');

let bravoNote: Notification;
let deltaNote: Notification;

t.test("a campaign's notification for a site with its own node goes over the exchange and is filed there", async (t) => {
  const res = await campaign('resolvers', CSV);
  t.equal(res.statusCode, 200, res.body);
  const report = res.json();
  t.match(report.counts, { events: 5, rejected: 1, duplicates: 1, sites: 3, incidents: 3, notifications: 3 });
  t.same(
    report.rejected.map((r: { row: number }) => r.row),
    [6],
    'the malformed row is reported (rows counted after the header)',
  );
  const bravoPlan = planOf(report, BRAVO_SITE);
  t.match(bravoPlan.notifications, [{ state: 'approved' }], 'approved at once (approve=true)');
  const bravoId = bravoPlan.notifications[0]!.id!;
  bravoNote = await waitNotificationState(alpha, bravoId, 'delivered');
  t.match(bravoNote, { channel: 'node', peerTeam: 'bravo' });
  t.match(bravoNote.outcomeDetail, /^receipt /, "delivered on the site node's signed receipt");

  const got = (await receivedAt(bravo)).find((r) => r.notification === bravoId);
  t.ok(got, 'the site node filed the notification');
  t.match(got, { from: 'alpha', senderRef: bravoPlan.incidents[0], state: 'received', tlp: bravoNote.tlp });
  t.same(
    got.content.hosts.map((h: { ip: string }) => h.ip).sort(),
    ['198.51.100.10', '198.51.100.11'],
    "the site node gets its own two hosts, once each, and no other site's",
  );
  const full = (await api(bravo, 'GET', `/received-site-notifications/${got.id}`, 'reader')).json();
  t.equal(full.text, bravoNote.text, 'the same text the mail would carry');
  t.notOk(JSON.stringify(full).includes('198.51.100.200'), "delta's host is not at bravo");
  t.notOk(JSON.stringify(full).includes('203.0.113.7'), "the mail site's host is not at bravo");

  const decisions = (await auditKinds(alpha, { kind: 'disclosure.decision' })).filter((e) => e.details.notificationId === bravoId);
  t.match(
    decisions.map((e) => e.details.state),
    ['drafted', 'approved'],
    'the proposal and the approval each have their audited decision',
  );
  t.match(decisions[1], { decision: 'allow', details: { channel: 'node', peer: 'bravo', type: 'site.notification' } });

  // The mail-only site of the same campaign is told by signed mail.
  const mailId = planOf(report, MAIL_SITE).notifications[0]!.id!;
  await waitNotificationState(alpha, mailId, 'sent');
  t.ok(
    relay.messages.some((m) => m.to.includes('noc@mailonly.test')),
    'the mail-only site got mail',
  );
  t.notOk(
    relay.messages.some((m) => m.to.includes('soc@bravo.test')),
    'the node site is not mailed as well',
  );

  // Fed again: nothing new (the four distinct events were filed; the repeat is a duplicate again), nothing told twice.
  const again = await campaign('resolvers', CSV);
  t.match(again.json().counts, { alreadyFiled: 4, duplicates: 1, incidents: 0, notifications: 0 });
  t.equal((await receivedAt(bravo)).filter((r) => r.notification === bravoId).length, 1, 'kept once at the site node');
});

t.test('a site node that refuses us for good: the notification bounces, the node contact is failing', async (t) => {
  const res = await campaign('resolvers-2', 'time.source,source.ip\n2026-12-02T10:00:00Z,198.51.100.201');
  t.equal(res.statusCode, 200, res.body);
  const plan = planOf(res.json(), DELTA_SITE);
  t.match(plan.notifications, [{ state: 'approved' }]);
  const id = plan.notifications[0]!.id!;
  // Still approved while the exchange retries (a 403 can be fixed at the site node by a handler).
  const waiting = (await api(alpha, 'GET', `/notifications/${id}`, 'reader')).json();
  t.equal(waiting.state, 'approved');
  deltaNote = await waitNotificationState(alpha, id, 'bounced', 60_000);
  t.match(deltaNote, { channel: 'node', peerTeam: 'delta', outcomeBy: 'exchange' });
  t.match(deltaNote.outcomeDetail, /exchange gave up: .*403 not-our-coordinator/, 'the reason: the refusal, with its problem code');
  t.equal((await receivedAt(delta)).length, 0, 'the refusing node kept nothing');

  const failing = await failingNodes();
  t.match(failing, [{ teamId: 'delta', failing: true, lastFailureReason: /403 not-our-coordinator/ }], 'delta is listed to be fixed');
  t.ok(failing[0]!.lastFailureAt);
  t.notOk(
    failing.some((c) => c.teamId === 'bravo'),
    'the node that took its notification is not',
  );
  const all = (await api(alpha, 'GET', '/site-node-contacts', 'reader')).json().items;
  t.same(
    all.map((c: { teamId: string }) => c.teamId),
    ['delta'],
  );
  t.equal((await api(alpha, 'GET', '/site-node-contacts?failing=maybe', 'reader')).statusCode, 400, 'a bad filter is refused');
  t.equal((await api(alpha, 'GET', '/site-node-contacts', null)).statusCode, 401, 'not without a token');

  const kinds = (await journal(alpha, deltaNote.incident.ref)).map((e) => e.kind);
  t.ok(kinds.includes('notification-bounced'), 'the bounce is journaled on the incident');
  const bounced = (await auditKinds(alpha, { kind: 'notification.bounced' })).filter((e) => e.details.notificationId === id);
  t.match(bounced, [{ details: { channel: 'node', peer: 'delta', error: /403/ } }], 'and audited');
  t.equal(
    (await auditKinds(alpha, { kind: 'delivery-failed' })).filter((e) => e.details.messageId === deltaNote.messageId).length,
    1,
    "the exchange's failure is audited once",
  );
  t.equal(
    (await api(alpha, 'POST', `/notifications/${id}/acknowledge`, 'handler', { via: 'phone' })).statusCode,
    200,
    'a handler may still record that the site was reached another way',
  );
});

t.test('the site node fixed: the next notification is delivered and the contact no longer fails', async (t) => {
  const fixed = await api(delta, 'PATCH', '/peers/alpha', 'admin', { relationship: 'coordinator' });
  t.equal(fixed.statusCode, 200, fixed.body);
  const res = await campaign('resolvers-3', 'time.source,source.ip\n2026-12-03T10:00:00Z,198.51.100.202');
  const id = planOf(res.json(), DELTA_SITE).notifications[0]!.id!;
  await waitNotificationState(alpha, id, 'delivered');
  t.same(await failingNodes(), [], 'no node is failing');
  const delta_ = (await api(alpha, 'GET', '/site-node-contacts', 'reader')).json().items[0];
  t.match(delta_, { teamId: 'delta', failing: false, lastFailureReason: /403/ }, 'the last failure stays on record');
  t.equal(
    (await api(alpha, 'GET', `/notifications/${deltaNote.id}`, 'reader')).json().state,
    'acknowledged',
    'the earlier one is unchanged',
  );
});
