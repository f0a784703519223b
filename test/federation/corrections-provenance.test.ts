import t from 'tap';
import { signDocument } from '../../src/crypto/index.js';
import { signHop } from '../../src/modules/sharing/relay-hops.js';
import { loadFixtureKey } from '../fixtures/keys/index.js';
import { buildTestNode, type TestNode } from '../helpers/build-test-app.js';
import {
  addPeer,
  api,
  auditKinds,
  createIncident,
  enc,
  fastDelivery,
  findByExternalRef,
  messageDocument,
  postMessage,
  reportBody,
  sign,
  trustPeer,
  waitFor,
  waitForShareState,
} from '../helpers/federation-harness.js';

/**
 * Corrections bound to copies by the originator's signed origin hop (ADR 0018 with ADR 0020):
 * alpha (A) originates, cc (C) is its coordinator, which re-shares and relays to bravo (D), a
 * team alpha never met. A correction reaches D's copy two hops away whichever way it went (a
 * re-share or a relay), and cc cannot replay alpha's statement about one report onto another.
 * Subtests share the nodes, in order.
 */
fastDelivery();
const build = (key: 'alpha' | 'cc' | 'bravo') => buildTestNode(t, { key, listen: true, startWorker: true });
// One after another: nodes starting at once on a busy two-core machine can miss fastify's plugin start timeout.
const A = await build('alpha');
const C = await build('cc');
const D = await build('bravo');

/** `a` and `b` pin and verify each other; `a` sees `b` as `relationship` (b sees a as the reverse). */
async function link(a: TestNode, b: TestNode, relationship: 'coordinator' | 'peer') {
  await addPeer(a, b);
  await addPeer(b, a);
  await trustPeer(a, b, { trustLevel: 'partner', relationship });
  await trustPeer(b, a, { trustLevel: 'partner', relationship: relationship === 'coordinator' ? 'member' : 'peer' });
}
await link(A, C, 'coordinator');
await link(C, D, 'peer');

const get = async (node: TestNode, ref: string) => (await api(node, 'GET', `/incidents/${enc(ref)}`, 'reader')).json();
const corrections = async (node: TestNode, ref: string) =>
  (await api(node, 'GET', `/incidents/${enc(ref)}/corrections`, 'reader')).json().items;
const copyOn = (node: TestNode, upstreamRef: string): Promise<string> =>
  waitFor(`a copy of ${upstreamRef} on ${node.config.teamId}`, async () => (await findByExternalRef(node, upstreamRef))[0]?.ref);
const retracted = (node: TestNode, ref: string) =>
  waitFor(`${ref} retracted on ${node.config.teamId}`, async () => ((await get(node, ref)).retracted ? true : null));

/** A GREEN report of alpha's, shared with cc and re-shared by cc with bravo: the refs on each node. */
async function reShared(title: string): Promise<{ a: string; c: string; d: string }> {
  const report = await createIncident(A, { tlp: 'GREEN', title });
  t.equal((await api(A, 'POST', `/incidents/${enc(report.ref)}/shares`, 'handler', { peer: 'cc' })).statusCode, 202);
  const c = await copyOn(C, report.ref);
  const onward = await api(C, 'POST', `/incidents/${enc(c)}/shares`, 'handler', { peer: 'bravo' });
  t.equal(onward.statusCode, 202, onward.body);
  const d = await copyOn(D, c);
  await waitForShareState(C, c, 'bravo', 'delivered');
  return { a: report.ref, c, d };
}

let x: { a: string; c: string; d: string };
let y: { a: string; c: string; d: string };

t.test("the honest path two hops away: bravo matches alpha's retraction by alpha's signed origin hop", async (t) => {
  x = await reShared('Report X');
  y = await reShared('Report Y');
  const issued = await api(A, 'POST', `/incidents/${enc(x.a)}/corrections`, 'handler', { kind: 'retract', reason: 'hoax' });
  t.equal(issued.statusCode, 202, issued.body);
  await retracted(D, x.d);
  const [applied] = await corrections(D, x.d);
  t.match(applied, { state: 'applied', receivedFrom: 'cc', originator: 'alpha', originatorRef: x.a });
  t.match(applied.outcome, new RegExp(`matched by the originator's signed origin hop \\(${x.a.replace('#', '\\#')}, verified\\)`));
  const audit = (await auditKinds(D, { kind: 'correction.applied' })).find((e) => e.details.correctionId === applied.id);
  t.equal(audit?.details.matchedBy, 'signed-origin-hop', 'the audit says how the copy was matched');
  t.notOk((await get(D, y.d)).retracted, 'the other report of the same originator is untouched');
});

t.test("a relay replaying alpha's statement about X onto Y is refused, audited, and nothing is applied", async (t) => {
  // cc holds alpha's genuine signed statement about X: it sends it to bravo as a correction of Y.
  const row = await C.database.db.selectFrom('incident_correction').selectAll().where('originator_ref', '=', x.a).executeTakeFirstOrThrow();
  const statement = typeof row.statement === 'string' ? JSON.parse(row.statement) : row.statement;
  const replay = { ref: y.c, correction: statement, originatorKey: loadFixtureKey('alpha').armoredPublicKey };
  const before = (await auditKinds(D, { kind: 'inbox-rejection', peer: 'cc' })).length;
  const refused = await postMessage(D, await sign(messageDocument('cc', 'bravo', 'incident.correction', replay, { tlp: 'GREEN' }), 'cc'));
  t.equal(refused.status, 403, refused.text);
  t.equal(refused.json.code, 'correction-refused');
  t.match(refused.json.detail, new RegExp(`our copy's signed origin hop names ${y.a.replace('#', '\\#')}`));
  t.notOk((await get(D, y.d)).retracted, 'Y is not retracted');
  t.same(await corrections(D, y.d), [], 'nothing recorded on Y');
  const rejections = (await auditKinds(D, { kind: 'inbox-rejection', peer: 'cc' })).slice(before);
  t.equal(rejections.filter((r) => r.details.code === 'correction-refused').length, 1, 'the refusal is audited');

  // The same replay as a tightening: before signed hops, a relay's tightening was accepted on its link.
  const tighten = await signDocument(
    {
      v: 1,
      type: 'incident.correction',
      id: crypto.randomUUID(),
      originator: 'alpha',
      originatorRef: x.a,
      issued: new Date().toISOString(),
      kind: 'relabel',
      tlp: 'RED',
    },
    A.signer,
  );
  const refusedTighten = await postMessage(
    D,
    await sign(messageDocument('cc', 'bravo', 'incident.correction', { ref: y.c, correction: tighten }, { tlp: 'GREEN' }), 'cc'),
  );
  t.equal(refusedTighten.status, 403, refusedTighten.text);
  t.equal((await get(D, y.d)).tlp, 'GREEN', "Y's label stays");
});

t.test('a correction kept early is refused when its report arrives with a signed origin hop naming another report', async (t) => {
  const senderRef = 'CC#LATE-1';
  const statement = await signDocument(
    {
      v: 1,
      type: 'incident.correction',
      id: crypto.randomUUID(),
      originator: 'alpha',
      originatorRef: x.a,
      issued: new Date().toISOString(),
      kind: 'retract',
      reason: 'hoax',
    },
    A.signer,
  );
  const early = { ref: senderRef, correction: statement, originatorKey: loadFixtureKey('alpha').armoredPublicKey };
  const kept = await postMessage(D, await sign(messageDocument('cc', 'bravo', 'incident.correction', early, { tlp: 'GREEN' }), 'cc'));
  t.equal(kept.status, 200, kept.text);
  t.equal(kept.json.document.body.status, 'noted');
  // The report it claimed to correct arrives: alpha's signed hop names another of its reports.
  const at = new Date();
  const origin = await signHop(A.signer, { team: 'alpha', ref: 'ALPHA#OTHER-1', tlp: 'GREEN', at, to: 'cc' }, undefined);
  const ours = await signHop(C.signer, { team: 'cc', ref: senderRef, tlp: 'GREEN', at, to: 'bravo' }, origin);
  const report = { ...reportBody(senderRef, { tlp: 'GREEN', title: 'Another report' }), provenance: [origin, ours] };
  const filed = await postMessage(D, await sign(messageDocument('cc', 'bravo', 'incident.report', report, { tlp: 'GREEN' }), 'cc'));
  t.equal(filed.status, 200, filed.text);
  const ref = filed.json.document.body.ref;
  t.notOk((await get(D, ref)).retracted, 'not applied');
  t.match(await corrections(D, ref), [{ state: 'refused', outcome: /signed origin hop names ALPHA#OTHER-1/ }]);
  t.ok(
    (await auditKinds(D, { kind: 'correction.refused' })).some((e) => e.details.correctionId === statement.document.id),
    'the refusal is audited',
  );
});

t.test("a copy without signed hops (older data) is matched by the forwarder's link, and the outcome says so", async (t) => {
  const senderRef = 'CC#OLD-1';
  const report = {
    ...reportBody(senderRef, { tlp: 'GREEN', title: 'Filed before signed hops' }),
    provenance: [
      { team: 'alpha', tlp: 'GREEN' },
      { team: 'cc', tlp: 'GREEN' },
    ],
  };
  const filed = await postMessage(D, await sign(messageDocument('cc', 'bravo', 'incident.report', report, { tlp: 'GREEN' }), 'cc'));
  t.equal(filed.status, 200, filed.text);
  const ref = filed.json.document.body.ref;
  const statement = await signDocument(
    {
      v: 1,
      type: 'incident.correction',
      id: crypto.randomUUID(),
      originator: 'alpha',
      originatorRef: 'ALPHA#OLD-1',
      issued: new Date().toISOString(),
      kind: 'retract',
      reason: 'mistaken',
    },
    A.signer,
  );
  const body = { ref: senderRef, correction: statement, originatorKey: loadFixtureKey('alpha').armoredPublicKey };
  const res = await postMessage(D, await sign(messageDocument('cc', 'bravo', 'incident.correction', body, { tlp: 'GREEN' }), 'cc'));
  t.equal(res.status, 200, res.text);
  t.ok((await get(D, ref)).retracted);
  const [applied] = await corrections(D, ref);
  t.match(applied.outcome, /matched by the forwarder's link only: our copy carries no signed origin hop/);
});

t.test("a relayed copy: alpha -> cc -> bravo by relay; alpha's correction reaches bravo's copy and bravo's ack comes back", async (t) => {
  const report = await createIncident(A, { tlp: 'AMBER', title: 'Relayed, then retracted' });
  const res = await api(A, 'POST', `/incidents/${enc(report.ref)}/relays`, 'handler', { via: 'cc', to: 'bravo' });
  t.equal(res.statusCode, 202, res.body);
  const d = await copyOn(D, report.ref);
  await waitFor('the relay delivered at alpha', async () =>
    (await api(A, 'GET', `/incidents/${enc(report.ref)}/relays`, 'reader'))
      .json()
      .items.find((r: { state: string }) => r.state === 'delivered'),
  );
  const issued = await api(A, 'POST', `/incidents/${enc(report.ref)}/corrections`, 'handler', {
    kind: 'retract',
    reason: 'false-positive',
  });
  t.equal(issued.statusCode, 202, issued.body);
  await retracted(D, d);
  const [applied] = await corrections(D, d);
  t.match(applied, { state: 'applied', receivedFrom: 'cc', originator: 'alpha' });
  t.match(applied.outcome, /carried key/, "bravo verified alpha's signature with the key cc carried");
  t.match(applied.outcome, /matched by the originator's signed origin hop/);
  const holders = await waitFor('both copies acknowledged at alpha', async () => {
    const [c] = await corrections(A, report.ref);
    return c.holders.filter((h: { status: string }) => h.status === 'acknowledged').length === 2 ? c.holders : null;
  });
  t.match(
    holders.sort((p: { team: string }, q: { team: string }) => p.team.localeCompare(q.team)),
    [
      { team: 'bravo', via: 'cc', holderRef: d },
      { team: 'cc', via: 'cc' },
    ],
  );
});
