import t from 'tap';
import { buildTestNode } from '../helpers/build-test-app.js';
import { api, fastDelivery, waitFor } from '../helpers/federation-harness.js';
import { mailConfig, readableMail, startMailRelay } from '../helpers/mail-relay.js';

/**
 * A campaign approved at once, sent through a real SMTP server on loopback (issue 19 part 4,
 * ADR 0027): one mail per site with only its own hosts, and at most
 * HIKESHI_MAIL_PER_DOMAIN_PER_HOUR mails to one receiving domain an hour; the rest wait their turn.
 */
fastDelivery();
const relay = await startMailRelay();
t.teardown(() => relay.close());
const node = await buildTestNode(t, {
  key: 'alpha',
  startWorker: true,
  config: { teamEmail: 'csirt@alpha.test', mail: mailConfig(relay.url, 'csirt@alpha.test', { perDomainPerHour: 2 }) },
});

const sites: Record<string, string> = {};
for (const [name, network, email] of [
  ['One', '192.0.2.0/26', 'noc@isp.example'],
  ['Two', '192.0.2.64/26', 'abuse@isp.example'],
  ['Three', '192.0.2.128/26', 'security@isp.example'],
  ['Four', '192.0.2.192/26', 'cert@elsewhere.example'],
] as const) {
  const res = await api(node, 'POST', '/sites', 'admin', {
    name,
    networks: [network],
    pocs: [{ name: 'NOC', channels: [{ kind: 'email', value: email }], languages: ['en'] }],
  });
  sites[name] = res.json().id;
}

t.test('approved at once: one mail per site with its own hosts; three to one domain wait for the hourly limit', async (t) => {
  // The three that may go are in the mail server's hands together (HIKESHI_MAIL_CONCURRENCY 4):
  // the relay answers none of them until it holds all three.
  let together = false;
  void relay.holdUntil(3).then(() => (together = true));
  const csv = 'ip,port,protocol\n192.0.2.10,53,udp\n192.0.2.70,53,udp\n192.0.2.140,53,udp\n192.0.2.200,53,udp\n';
  const res = await node.app.inject({
    method: 'POST',
    url: '/api/v1/campaigns/resolvers/events?category=vulnerable&type=ddos-amplifier&approve=true&period=once',
    headers: { ...node.auth.handler, 'content-type': 'text/csv' },
    payload: csv,
  });
  t.equal(res.statusCode, 200, res.body);
  t.match(res.json().counts, { incidents: 4, notifications: 4 });
  t.ok(
    res.json().sites.every((s: { notifications: Array<{ state: string }> }) => s.notifications[0]!.state === 'approved'),
    'each approved',
  );

  await waitFor('three hand-overs in flight together', async () => together);
  t.ok(relay.connections() <= 4, 'over at most HIKESHI_MAIL_CONCURRENCY pooled connections');
  const waiting = await waitFor('the third to isp.example waiting', async () => {
    const rows = await node.database.db
      .selectFrom('notification_outbox')
      .select(['state', 'next_attempt_at', 'last_error', 'envelope_to'])
      .where('state', '=', 'queued')
      .execute();
    return rows.length === 1 && rows[0]!.last_error?.startsWith('waiting') && relay.messages.length === 3 ? rows : null;
  });
  const to = relay.messages.flatMap((m) => m.to);
  t.equal(to.filter((a) => a.endsWith('@isp.example')).length, 2);
  t.same(
    to.filter((a) => a.endsWith('@elsewhere.example')),
    ['cert@elsewhere.example'],
  );
  const hosts = ['192.0.2.10', '192.0.2.70', '192.0.2.140', '192.0.2.200'];
  for (const message of relay.messages) {
    const raw = readableMail(message.raw);
    t.equal(hosts.filter((h) => raw.includes(h)).length, 1, `the mail to ${message.to.join(',')} names one site's host only`);
  }
  t.match(waiting[0], { last_error: 'waiting: 2 an hour to this domain' });
  t.ok(new Date(waiting[0]!.next_attempt_at).getTime() > Date.now() + 3_500_000, 'its turn comes an hour after the first');
});
