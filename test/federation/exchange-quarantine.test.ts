import t from 'tap';
import { buildTestNode } from '../helpers/build-test-app.js';
import {
  addPeer,
  api,
  auditKinds,
  createIncident,
  enc,
  fastDelivery,
  findByExternalRef,
  incidentCount,
  messageDocument,
  postMessage,
  reportBody,
  sign,
  trustPeer,
  waitFor,
  waitForShareState,
} from '../helpers/federation-harness.js';

/**
 * Unknown senders: their messages are kept, never processed, until a handler accepts (pinning the
 * sender's key from its node's profile) or rejects them. Nodes are shared by the subtests.
 */
fastDelivery();
const alpha = await buildTestNode(t, { key: 'alpha', listen: true, startWorker: true });
const bravo = await buildTestNode(t, { key: 'bravo', listen: true, startWorker: true });
const mallory = await buildTestNode(t, { key: 'mallory', listen: true });

t.test('a share to a node that does not know us waits in its quarantine until a handler accepts it', async (t) => {
  // alpha knows (and trusts) bravo; bravo does not know alpha yet.
  await addPeer(alpha, bravo);
  await trustPeer(alpha, bravo);
  const incident = await createIncident(alpha);
  t.equal((await api(alpha, 'POST', `/incidents/${enc(incident.ref)}/shares`, 'handler', { peer: 'bravo' })).statusCode, 202);
  const waiting = await waitForShareState(alpha, incident.ref, 'bravo', 'retrying');
  t.match(waiting.lastError, /quarantined/);
  t.equal(await incidentCount(bravo), 0, 'nothing processed');

  // Roles: reading the quarantine is for handlers, deciding for admins.
  t.equal((await api(bravo, 'GET', '/quarantine', 'reader')).statusCode, 403);
  t.equal((await api(bravo, 'GET', '/quarantine', null)).statusCode, 401);
  const list = await api(bravo, 'GET', '/quarantine?state=quarantined', 'handler');
  t.equal(list.statusCode, 200);
  const [item] = list.json().items;
  t.match(item, { claimedFrom: 'alpha', type: 'incident.report', state: 'quarantined', sealed: false });
  t.notOk('envelope' in item, 'the list does not carry message content');
  const one = await api(bravo, 'GET', `/quarantine/${item.id}`, 'handler');
  t.equal(one.statusCode, 200);
  t.equal(typeof one.json().envelope, 'string');
  t.match(JSON.parse(one.json().envelope), { document: { from: 'alpha', to: 'bravo', type: 'incident.report' } });

  t.equal(
    (await api(bravo, 'POST', `/quarantine/${item.id}/accept`, 'handler', { url: alpha.url })).statusCode,
    403,
    'accepting pins a key: admin only',
  );
  const noUrl = await api(bravo, 'POST', `/quarantine/${item.id}/accept`, 'admin', {});
  t.equal(noUrl.statusCode, 404);
  t.equal(noUrl.json().code, 'unknown-peer');
  const wrongNode = await api(bravo, 'POST', `/quarantine/${item.id}/accept`, 'admin', { url: mallory.url });
  t.equal(wrongNode.statusCode, 409, wrongNode.body);
  t.equal(wrongNode.json().code, 'quarantine-mismatch');
  t.equal((await api(bravo, 'GET', '/peers/mallory', 'reader')).statusCode, 404, 'the wrong node was not pinned as a peer');
  const badBody = await api(bravo, 'POST', `/quarantine/${item.id}/accept`, 'admin', { url: 'ftp://x' });
  t.equal(badBody.statusCode, 400);

  const accepted = await api(bravo, 'POST', `/quarantine/${item.id}/accept`, 'admin', { url: alpha.url });
  t.equal(accepted.statusCode, 200, accepted.body);
  t.match(accepted.json(), {
    message: { state: 'accepted', decidedBy: 'admin-user' },
    receipt: { document: { type: 'receipt', from: 'bravo', to: 'alpha', body: { status: 'filed' } } },
  });
  t.equal(await incidentCount(bravo), 1);
  const again = await api(bravo, 'POST', `/quarantine/${item.id}/accept`, 'admin', { url: alpha.url });
  t.equal(again.statusCode, 409, 'decided once');

  // alpha's worker retries and now gets the receipt the accepted message got.
  const delivered = await waitForShareState(alpha, incident.ref, 'bravo', 'delivered');
  t.equal(delivered.peerRef, accepted.json().receipt.document.body.ref);
  t.equal((await findByExternalRef(bravo, incident.ref)).length, 1, 'still one incident');
  const kinds = (await auditKinds(bravo, { kind: 'quarantine' })).map((e) => e.details.action);
  t.same(kinds, ['quarantined', 'accepted']);
});

t.test('a rejected message is never processed, and its repeat is refused', async (t) => {
  const stranger = await sign(messageDocument('mallory', 'bravo', 'incident.report', reportBody('MALLORY#2026-000001')), 'mallory');
  const first = await postMessage(bravo, stranger);
  t.equal(first.status, 202);
  t.match(first.json, { status: 'quarantined' });
  const repeat = await postMessage(bravo, stranger);
  t.equal(repeat.status, 202);
  t.equal(repeat.json.quarantineId, first.json.quarantineId, 'kept once');
  const id = first.json.quarantineId as string;
  t.equal((await api(bravo, 'POST', `/quarantine/${id}/reject`, 'handler', {})).statusCode, 403);
  const rejected = await api(bravo, 'POST', `/quarantine/${id}/reject`, 'admin', { reason: 'not a team we know' });
  t.equal(rejected.statusCode, 200);
  t.match(rejected.json(), { message: { state: 'rejected', reason: 'not a team we know' }, receipt: null });
  const count = await incidentCount(bravo);
  const after = await postMessage(bravo, stranger);
  t.equal(after.status, 403);
  t.equal(after.json.code, 'unknown-sender');
  t.equal(await incidentCount(bravo), count);
  t.equal(
    (await api(bravo, 'POST', `/quarantine/${id}/accept`, 'admin', { url: mallory.url })).statusCode,
    409,
    'a rejected message cannot be accepted',
  );
  const rejectedList = await api(bravo, 'GET', '/quarantine?state=rejected', 'handler');
  t.same(
    rejectedList.json().items.map((i: any) => i.id),
    [id],
  );
  t.equal((await api(bravo, 'GET', '/quarantine/00000000-0000-4000-8000-000000000000', 'handler')).statusCode, 404);
  t.equal((await api(bravo, 'GET', '/quarantine/not-a-uuid', 'handler')).statusCode, 400);
});

t.test('a sender that became a peer meanwhile: its repeat is processed and closes the quarantine', async (t) => {
  const carol = await buildTestNode(t, { key: 'cc', listen: true });
  const message = await sign(messageDocument('alpha', 'cc', 'incident.report', reportBody('ALPHA#2026-000777')), 'alpha');
  const first = await postMessage(carol, message);
  t.equal(first.status, 202);
  await addPeer(carol, alpha);
  const second = await postMessage(carol, message);
  t.equal(second.status, 200, second.text);
  const row = await api(carol, 'GET', `/quarantine/${first.json.quarantineId}`, 'handler');
  t.match(row.json(), { state: 'accepted', decidedBy: 'federation' });
  await waitFor('filed', async () => (await incidentCount(carol)) === 1);
});
