import t from 'tap';
import { buildTestNode } from '../helpers/build-test-app.js';
import {
  addPeer,
  api,
  createIncident,
  enc,
  fastDelivery,
  findByExternalRef,
  trustPeer,
  waitForShareState,
} from '../helpers/federation-harness.js';

/**
 * GET /api/v1/incidents?team=: the incidents another team is part of, found by the node (not by
 * the console on one loaded page). Two real nodes on loopback share a report: on the sender the
 * incident is linked with the receiver and carries its reference number; on the receiver the copy
 * was recorded by the sender.
 */
fastDelivery();
const alpha = await buildTestNode(t, { key: 'alpha', listen: true, startWorker: true });
const bravo = await buildTestNode(t, { key: 'bravo', listen: true, startWorker: true });
await addPeer(alpha, bravo);
await addPeer(bravo, alpha);
await trustPeer(alpha, bravo);
await trustPeer(bravo, alpha);

const refs = async (node: typeof alpha, query: string) => {
  const res = await api(node, 'GET', `/incidents?${query}`, 'reader');
  if (res.statusCode !== 200) throw new Error(`${query}: ${res.statusCode} ${res.body}`);
  return (res.json().items as Array<{ ref: string }>).map((i) => i.ref);
};

t.test('team= finds what was shared with, received from and referenced by a team', async (t) => {
  const shared = await createIncident(alpha, { title: 'Shared with bravo', tlp: 'GREEN' });
  const kept = await createIncident(alpha, { title: 'Kept at home', tlp: 'GREEN' });
  t.strictSame(await refs(alpha, 'team=bravo'), [], 'nothing involves bravo yet');

  const res = await api(alpha, 'POST', `/incidents/${enc(shared.ref)}/shares`, 'handler', { peer: 'bravo' });
  t.equal(res.statusCode, 202, res.body);
  // Linked at once (outgoing), before any receipt: the filter does not wait for bravo.
  t.strictSame(await refs(alpha, 'team=bravo'), [shared.ref], 'shared: linked with bravo');
  const delivered = await waitForShareState(alpha, shared.ref, 'bravo', 'delivered');
  t.ok(delivered.peerRef, "the receipt carries bravo's reference number");
  t.strictSame(await refs(alpha, 'team=bravo'), [shared.ref], 'once delivered, still once (link and reference number)');
  t.strictSame(await refs(alpha, 'team=bravo&tlp=RED'), [], 'combined with the other filters');
  t.strictSame(await refs(alpha, 'team=charlie'), [], 'another team: nothing');
  t.ok((await refs(alpha, '')).includes(kept.ref), 'the unshared incident is listed without the filter');

  const [copy] = await findByExternalRef(bravo, shared.ref);
  t.ok(copy, 'bravo holds a copy');
  t.strictSame(await refs(bravo, 'team=alpha'), [copy!.ref], 'on the receiver: the copy alpha sent');
  t.strictSame(await refs(bravo, 'team=bravo'), [], 'a node is not another team of itself');
});

t.test('a malformed team is a 400 problem, not an empty page', async (t) => {
  for (const team of ['Bravo', 'b', '-bravo', 'bravo team', 'x'.repeat(64), "bravo'--"]) {
    const res = await api(alpha, 'GET', `/incidents?team=${enc(team)}`, 'reader');
    t.equal(res.statusCode, 400, `${team}: 400`);
    t.equal(res.json().code, 'validation-failed');
  }
  const res = await api(alpha, 'GET', '/incidents?team=bravo', null);
  t.equal(res.statusCode, 401, 'no token: 401');
});
