import t from 'tap';
import { QUARANTINE_BOUNDS } from '../../src/modules/exchange/quarantine.service.js';
import { buildTestNode, type TestNode } from '../helpers/build-test-app.js';
import { addPeer, auditKinds, messageDocument, reportBody, sign } from '../helpers/federation-harness.js';

/**
 * Abuse of the open endpoints (issue 13): a per-address request limit on /federation/v1 and the
 * public documents, with Retry-After; and a quarantine bounded in all, in bytes, per claimed
 * sender and per source address, so that a flood from one address or in one name cannot keep a
 * new team's first message out. Source addresses are set per request (inject's remoteAddress),
 * as they would come from different hosts.
 */
const bravo = await buildTestNode(t, { key: 'bravo', config: { rateLimitPerMinute: 5 } });

async function fromAddress(node: TestNode, address: string, method: 'GET' | 'POST', url: string, payload?: unknown) {
  const res = await node.app.inject({
    method,
    url,
    remoteAddress: address,
    ...(payload === undefined ? {} : { headers: { 'content-type': 'application/json' }, payload: JSON.stringify(payload) }),
  });
  return res;
}

t.test('per source address: the limit answers 429 rate-limited with Retry-After; other addresses and the API go on', async (t) => {
  for (let i = 0; i < 5; i++) t.equal((await fromAddress(bravo, '192.0.2.1', 'GET', '/federation/v1/profile')).statusCode, 200);
  const limited = await fromAddress(bravo, '192.0.2.1', 'GET', '/federation/v1/profile');
  t.equal(limited.statusCode, 429);
  t.match(limited.headers['content-type'], /^application\/problem\+json/);
  t.equal(limited.json().code, 'rate-limited');
  t.ok(Number(limited.headers['retry-after']) > 0, `Retry-After: ${limited.headers['retry-after']}`);
  t.equal(limited.json().retryAfterSeconds, Number(limited.headers['retry-after']), 'and in the body');
  // The same address is limited on every open route, the messages inbox included.
  t.equal((await fromAddress(bravo, '192.0.2.1', 'POST', '/federation/v1/messages', {})).statusCode, 429);
  // Another address is not.
  t.equal((await fromAddress(bravo, '198.51.100.2', 'GET', '/federation/v1/profile')).statusCode, 200);
  // Probing unknown paths counts against the same limit.
  for (let i = 0; i < 5; i++) t.equal((await fromAddress(bravo, '192.0.2.50', 'GET', '/no/such/route')).statusCode, 404);
  const probe = await fromAddress(bravo, '192.0.2.50', 'GET', '/no/such/route');
  t.equal(probe.statusCode, 429, 'the sixth probe is limited');
  t.equal(probe.json().code, 'rate-limited');
  // The team's own API (tokens) is not an open surface.
  for (let i = 0; i < 8; i++) {
    const res = await bravo.app.inject({ method: 'GET', url: '/api/v1/incidents', headers: bravo.auth.reader, remoteAddress: '192.0.2.1' });
    t.equal(res.statusCode, 200);
  }
});

t.test('the quarantine: a flood fills only its own share, and a new team still gets in', async (t) => {
  // A node with no request limit, to reach the quarantine's own bounds.
  const node = await buildTestNode(t, { key: 'bravo' });
  const unknownReport = async (claimed: string) =>
    sign(messageDocument(claimed, 'bravo', 'incident.report', reportBody(`X#2026-${Math.floor(Math.random() * 1e6)}`)), 'mallory');
  const rejections = async () =>
    (await auditKinds(node, { kind: 'inbox-rejection' })).filter((e) => e.details.code === 'rate-limited').length;

  // One address, many claimed names: held up to the per-address bound, then refused.
  const envelope = await unknownReport('flood-0');
  const statuses: number[] = [];
  for (let i = 0; i < QUARANTINE_BOUNDS.perSourceAddress + 3; i++) {
    const copy = structuredClone(envelope) as { document: Record<string, unknown> };
    copy.document['from'] = `flood-${i}`; // the signature no longer matches: held all the same, never processed
    copy.document['id'] = crypto.randomUUID();
    statuses.push((await fromAddress(node, '203.0.113.66', 'POST', '/federation/v1/messages', copy)).statusCode);
  }
  t.equal(statuses.filter((s) => s === 202).length, QUARANTINE_BOUNDS.perSourceAddress, 'held up to the bound');
  t.same(statuses.slice(QUARANTINE_BOUNDS.perSourceAddress), [429, 429, 429], 'refused beyond it');
  const refused = await fromAddress(node, '203.0.113.66', 'POST', '/federation/v1/messages', await unknownReport('another'));
  t.equal(refused.statusCode, 429);
  t.equal(refused.json().code, 'rate-limited');
  t.ok(Number(refused.headers['retry-after']) > 0, 'with Retry-After');
  t.match(refused.json().detail, /from this address/);

  // One claimed name from many addresses: held up to the per-sender bound.
  const spoofed: number[] = [];
  for (let i = 0; i < QUARANTINE_BOUNDS.perClaimedSender + 2; i++) {
    spoofed.push(
      (await fromAddress(node, `198.51.100.${i + 1}`, 'POST', '/federation/v1/messages', await unknownReport('spoofed'))).statusCode,
    );
  }
  t.equal(spoofed.filter((s) => s === 202).length, QUARANTINE_BOUNDS.perClaimedSender);
  t.same(spoofed.slice(QUARANTINE_BOUNDS.perClaimedSender), [429, 429]);

  // A new team, from its own address, still gets its first message held for a handler.
  const legit = await fromAddress(node, '192.0.2.200', 'POST', '/federation/v1/messages', await unknownReport('charlie'));
  t.equal(legit.statusCode, 202, legit.body);
  t.equal(legit.json().status, 'quarantined');
  t.equal(await rejections(), 3 + 1 + 2, 'every refusal is audited');
  const list = await node.app.inject({ method: 'GET', url: '/api/v1/quarantine?limit=200', headers: node.auth.admin });
  t.equal(list.statusCode, 200);
  t.equal(
    list.json().items.length,
    QUARANTINE_BOUNDS.perSourceAddress + QUARANTINE_BOUNDS.perClaimedSender + 1,
    'what the quarantine holds is exactly what was admitted',
  );
});

t.test('per verified peer: a flood from one team is refused with Retry-After, audited once; other teams go on', async (t) => {
  const node = await buildTestNode(t, { key: 'bravo', config: { peerRateLimitPerMinute: 3 } });
  const alpha = await buildTestNode(t, { key: 'alpha', listen: true });
  const cc = await buildTestNode(t, { key: 'cc', listen: true });
  await addPeer(node, alpha);
  await addPeer(node, cc);
  let n = 0;
  const report = async (from: 'alpha' | 'cc') =>
    sign(messageDocument(from, 'bravo', 'incident.report', reportBody(`${from.toUpperCase()}#2026-${String(++n).padStart(6, '0')}`)), from);
  const post = async (from: 'alpha' | 'cc') => fromAddress(node, '192.0.2.9', 'POST', '/federation/v1/messages', await report(from));
  const statuses: number[] = [];
  for (let i = 0; i < 5; i++) statuses.push((await post('alpha')).statusCode);
  t.same(statuses, [200, 200, 200, 429, 429], 'three a minute, then refused');
  const limited = await post('alpha');
  t.equal(limited.json().code, 'rate-limited');
  t.ok(
    Number(limited.headers['retry-after']) >= 1 && Number(limited.headers['retry-after']) <= 60,
    `Retry-After ${limited.headers['retry-after']}`,
  );
  const audited = (await auditKinds(node, { kind: 'inbox-rejection' })).filter((e) => e.details.code === 'rate-limited');
  t.equal(audited.length, 1, 'the flood is audited once, not once per message');
  t.equal((await post('cc')).statusCode, 200, 'another team still gets through');
});
