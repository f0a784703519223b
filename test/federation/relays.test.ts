import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import t, { type Test } from 'tap';
import { canonicalBytes, signDocument } from '../../src/crypto/index.js';
import { hopStatement, signHop } from '../../src/modules/sharing/relay-hops.js';
import { buildTestNode, type TestNode } from '../helpers/build-test-app.js';
import {
  addPeer,
  api,
  auditKinds,
  createIncident,
  enc,
  fastDelivery,
  findByExternalRef,
  incidentCount,
  journal,
  messageDocument,
  postMessage,
  sign,
  trustPeer,
  waitFor,
} from '../helpers/federation-harness.js';
import { assertMarkers, assertVisible, everything, markedIncident, SECTIONS } from '../helpers/marker-scan.js';

/**
 * Relays (issue 15 parts 2 and 3): five real nodes on loopback. alpha (A) is the originator; cc
 * (C) its coordinator and relay; delta (F) cc's other member, unknown to A; mallory (E, here
 * simply a second coordinating team) is cc's own coordinator; bravo (D) is E's peer, unknown to A
 * and C. Member to member A -> C -> F, one hop A -> C -> E, two hops A -> C -> E -> D, refusals,
 * and forged forwards. Subtests share the nodes, in order.
 */
fastDelivery();
const build = (key: 'alpha' | 'cc' | 'mallory' | 'bravo' | 'delta') => buildTestNode(t, { key, listen: true, startWorker: true });
// One after another: nodes starting at once on a busy two-core machine can miss fastify's plugin start timeout.
const A = await build('alpha');
const C = await build('cc');
const E = await build('mallory');
const D = await build('bravo');
const F = await build('delta');

/** `a` and `b` pin and verify each other; `a` sees `b` as `relationship` (b sees a as the reverse). */
async function link(a: TestNode, b: TestNode, relationship: 'coordinator' | 'peer', trust = 'partner') {
  await addPeer(a, b);
  await addPeer(b, a);
  await trustPeer(a, b, { trustLevel: trust, relationship });
  await trustPeer(b, a, { trustLevel: 'partner', relationship: relationship === 'coordinator' ? 'member' : 'peer' });
}
await link(A, C, 'coordinator');
await link(C, E, 'coordinator');
await link(E, D, 'peer');
await link(F, C, 'coordinator');

const get = async (node: TestNode, ref: string) => (await api(node, 'GET', `/incidents/${enc(ref)}`, 'reader')).json();
const relay = (node: TestNode, ref: string, body: unknown) => api(node, 'POST', `/incidents/${enc(ref)}/relays`, 'handler', body);
const relays = async (node: TestNode, ref: string) => (await api(node, 'GET', `/incidents/${enc(ref)}/relays`, 'reader')).json().items;
const copyOn = (node: TestNode, ref: string) =>
  waitFor(`${ref} on ${node.config.teamId}`, async () => (await findByExternalRef(node, ref))[0]?.ref);

t.test("one hop: A asks C to relay to E; E files it as A's, its reference number comes back to A", async (t) => {
  const incident = await createIncident(A, { tlp: 'AMBER' });
  const res = await relay(A, incident.ref, { via: 'cc', to: 'mallory' });
  t.equal(res.statusCode, 202, res.body);
  t.match(res.json(), {
    role: 'requested',
    state: 'requested',
    via: 'cc',
    target: { team: 'mallory' },
    origin: { team: 'alpha', ref: incident.ref },
  });

  const delivered = await waitFor('relay delivered at A', async () =>
    (await relays(A, incident.ref)).find((r: any) => r.state === 'delivered'),
  );
  const copyRef = await copyOn(E, incident.ref);
  t.equal(delivered.targetTeam, 'mallory');
  t.equal(delivered.targetRef, copyRef, "A learns E's reference number");
  const ext = (await api(A, 'GET', `/incidents/${enc(incident.ref)}`, 'reader')).json().externalRefs;
  t.ok(
    ext.some((r: any) => r.team === 'mallory' && r.ref === copyRef),
    "E's number is an external reference of A's incident",
  );

  const copy = (await api(E, 'GET', `/incidents/${enc(copyRef)}`, 'reader')).json();
  t.equal(copy.title, 'Unauthorised access to web server www.example-univ.ac.jp from a stepping stone');
  const created = (await journal(E, copyRef)).find((j) => j.kind === 'created')!;
  t.equal(created.team, 'alpha', "filed as the originator's report");
  const prov = (await api(E, 'GET', `/incidents/${enc(copyRef)}/provenance`, 'reader')).json();
  t.equal(prov.originator, 'alpha');
  t.match(prov.hops, [
    { team: 'alpha', signed: true, verified: true, keySource: 'introduced', ref: incident.ref, to: 'cc' },
    { team: 'cc', signed: true, verified: true, keySource: 'pinned', to: 'mallory' },
  ]);
  const atC = await relays(C, await copyOn(C, incident.ref));
  t.match(atC, [{ role: 'relayed', state: 'delivered', requestedFrom: 'alpha', via: 'mallory', targetRef: copyRef }]);
  t.ok(
    (await auditKinds(C, { kind: 'disclosure.decision' })).some(
      (e) => e.details?.purpose === 'relay' || e.details?.type === 'relay.forward',
    ),
  );
});

t.test('member to member: A asks its coordinator to pass a report to delta, which A does not know', async (t) => {
  const incident = await createIncident(A, { tlp: 'AMBER', title: 'For the other member' });
  const direct = await api(A, 'POST', `/incidents/${enc(incident.ref)}/shares`, 'handler', { peer: 'delta' });
  t.equal(direct.statusCode, 404, 'A cannot share with delta: not its peer');
  t.equal((await relay(A, incident.ref, { via: 'cc', to: 'delta' })).statusCode, 202);
  const delivered = await waitFor('delivered to delta', async () =>
    (await relays(A, incident.ref)).find((r: any) => r.state === 'delivered'),
  );
  const copyRef = await copyOn(F, incident.ref);
  t.equal(delivered.targetRef, copyRef, "delta's reference number travels back to A");
  const prov = (await api(F, 'GET', `/incidents/${enc(copyRef)}/provenance`, 'reader')).json();
  t.match(prov.hops, [
    { team: 'alpha', verified: true, keySource: 'introduced', to: 'cc' },
    { team: 'cc', verified: true, keySource: 'pinned', to: 'delta' },
  ]);
  t.equal((await get(F, copyRef)).tlp, 'AMBER');
});

t.test("two hops: A -> C -> E -> D, the target unknown to A and C; D's number travels back to A", async (t) => {
  const incident = await createIncident(A, { tlp: 'AMBER', title: 'Two-hop relay' });
  const res = await relay(A, incident.ref, { via: 'cc', to: 'bravo' });
  t.equal(res.statusCode, 202, res.body);
  const delivered = await waitFor('two-hop relay delivered at A', async () =>
    (await relays(A, incident.ref)).find((r: any) => r.state === 'delivered'),
  );
  const copyRef = await copyOn(D, incident.ref);
  t.equal(delivered.targetTeam, 'bravo');
  t.equal(delivered.targetRef, copyRef);
  const prov = (await api(D, 'GET', `/incidents/${enc(copyRef)}/provenance`, 'reader')).json();
  t.match(prov.hops, [
    { team: 'alpha', verified: true, keySource: 'introduced', to: 'cc' },
    { team: 'cc', verified: true, keySource: 'introduced', to: 'mallory' },
    { team: 'mallory', verified: true, keySource: 'pinned', to: 'bravo' },
  ]);
  const aJournal = await journal(A, incident.ref);
  t.match(aJournal.find((j) => j.kind === 'relay-delivered')?.changes, { target: 'bravo', targetRef: copyRef, path: ['cc', 'mallory'] });

  t.test('every layer verifies with stock GnuPG', { skip: spawnSync('gpg', ['--version']).error ? 'no gpg' : false }, async (t) => {
    const home = mkdtempSync(path.join(tmpdir(), 'hikeshi-relay-gpg-'));
    const env = { ...process.env, GNUPGHOME: home, LC_ALL: 'C' };
    const gpg = (args: string[], input?: string) => spawnSync('gpg', ['--batch', '--no-tty', ...args], { env, input, timeout: 30_000 });
    t.teardown(() => {
      spawnSync('gpgconf', ['--kill', 'all'], { env, stdio: 'ignore' });
      rmSync(home, { recursive: true, force: true });
    });
    for (const node of [A, C, E]) t.equal(gpg(['--import'], node.signer.armoredPublicKey).status, 0, 'import');
    const row = await D.database.db
      .selectFrom('inbound_message')
      .select(['envelope'])
      .where('type', '=', 'relay.forward')
      .orderBy('seq', 'desc')
      .executeTakeFirstOrThrow();
    const forward = JSON.parse((row as any).envelope);
    const write = (name: string, content: string | Uint8Array) => {
      const p = path.join(home, name);
      writeFileSync(p, content);
      return p;
    };
    const check = (what: string, doc: object, signature: string) => {
      const r = gpg(['--verify', write(`${what}.asc`, signature), write(`${what}.json`, canonicalBytes(doc))]);
      t.equal(r.status, 0, `${what}: ${r.stderr.toString()}`);
    };
    check('forward', forward.document, forward.signature);
    check('origin', forward.document.body.origin.document, forward.document.body.origin.signature);
    for (const [i, hop] of forward.document.body.hops.entries()) check(`hop-${i}`, hopStatement(hop)!, hop.signature);
  });
});

t.test('a report with markers in every field, relayed two hops: no team stores what a policy on the way hid', async (t) => {
  // A sees its coordinator C at partner: internal hosts are hidden from C, so from every team after it.
  const { incident, markers } = markedIncident('AMBER');
  const created = await createIncident(A, incident);
  const res = await relay(A, created.ref, { via: 'cc', to: 'bravo' });
  t.equal(res.statusCode, 202, res.body);
  const settled = await waitFor('relay settled', async () =>
    (await relays(A, created.ref)).find((r: any) => r.state === 'delivered' || r.state === 'refused'),
  );
  t.equal(settled.state, 'delivered', JSON.stringify(settled));
  const dRef = await copyOn(D, created.ref);
  for (const [node, name] of [
    [C, 'cc (the relay)'],
    [E, 'mallory (the second relay)'],
    [D, 'bravo (the target)'],
  ] as const) {
    const stored = await everything(node);
    assertMarkers(t, stored, markers, ['internalHosts'], name);
    assertVisible(t, stored, markers, ['victims', 'reporter', 'poc', 'evidence'], name);
  }
  t.ok(dRef);
});

t.test('refusals: RED, AMBER+STRICT and an untrusted target get a signed relay.refused with the reasons', async (t) => {
  const red = await createIncident(A, { tlp: 'RED', title: 'red one' });
  const put = await api(A, 'PUT', `/incidents/${enc(red.ref)}/policy`, 'handler', { redRecipients: ['cc'], sectionMinimums: {} });
  t.equal(put.statusCode, 200, put.body);
  t.equal((await relay(A, red.ref, { via: 'cc', to: 'mallory' })).statusCode, 202);
  const strict = await createIncident(A, { tlp: 'AMBER+STRICT', title: 'strict one' });
  t.equal((await relay(A, strict.ref, { via: 'cc', to: 'mallory' })).statusCode, 202);

  // bravo becomes cc's peer, unverified: cc's policy does not trust it with AMBER.
  await addPeer(C, D);
  const amber = await createIncident(A, { tlp: 'AMBER', title: 'amber to an untrusted team' });
  t.equal((await relay(A, amber.ref, { via: 'cc', to: 'bravo' })).statusCode, 202);

  const refused = async (ref: string) =>
    waitFor(`refusal of ${ref}`, async () => (await relays(A, ref)).find((r: any) => r.state === 'refused'));
  const r1 = await refused(red.ref);
  t.equal(r1.refusedBy, 'cc');
  t.ok(r1.deniedBy.includes('red-channel'), `RED: ${r1.deniedBy}`);
  t.ok(r1.reasons.some((r: string) => /TLP:RED never goes by relay/.test(r)));
  const r2 = await refused(strict.ref);
  t.ok(r2.deniedBy.includes('provenance-no-further'), `AMBER+STRICT: ${r2.deniedBy}`);
  const r3 = await refused(amber.ref);
  t.ok(r3.deniedBy.includes('tlp-trust'), `untrusted: ${r3.deniedBy}`);
  const refusal = await A.database.db
    .selectFrom('inbound_message')
    .select(['envelope'])
    .where('type', '=', 'relay.refused')
    .executeTakeFirstOrThrow();
  t.match(
    JSON.parse((refusal as any).envelope),
    { document: { from: 'cc', type: 'relay.refused' }, signature: /BEGIN PGP SIGNATURE/ },
    'the refusal is signed by the relay',
  );
  t.ok((await auditKinds(A, { kind: 'relay-refused' })).length >= 3, 'audited at A');
  t.ok((await auditKinds(C, { kind: 'disclosure.decision' })).some((e) => e.decision === 'deny' && e.details?.purpose === 'relay'));

  // A relay whose policy would remove sections for the next team cannot remove them: the
  // originator signed the report. cc verifies bravo at community (victims, reporter, evidence
  // hidden from it): a GREEN report may go to bravo, but not whole, so cc refuses.
  await trustPeer(C, D, { trustLevel: 'community' });
  const green = markedIncident('GREEN');
  const report = await createIncident(A, green.incident);
  t.equal((await relay(A, report.ref, { via: 'cc', to: 'bravo' })).statusCode, 202);
  const r4 = await refused(report.ref);
  t.ok(r4.deniedBy.includes('relay-cannot-redact'), `would redact: ${r4.deniedBy}`);
  assertMarkers(t, await everything(D), green.markers, SECTIONS, 'bravo after the refusal');
  assertMarkers(t, await everything(E), green.markers, SECTIONS, 'mallory after the refusal');
});

/** A genuine origin (A's report to C) and C's hop, taken from what C received and sent. */
async function genuineForward(t: Test) {
  const incident = await createIncident(A, { tlp: 'AMBER', title: 'for forging' });
  t.equal((await relay(A, incident.ref, { via: 'cc', to: 'bravo' })).statusCode, 202);
  // bravo is cc's peer at community now: cc refuses AMBER; the report it received is what we need.
  await waitFor('C refused', async () => (await relays(A, incident.ref)).find((r: any) => r.state === 'refused'));
  const row = await C.database.db
    .selectFrom('inbound_message')
    .select(['envelope'])
    .where('type', '=', 'incident.report')
    .orderBy('seq', 'desc')
    .executeTakeFirstOrThrow();
  const origin = JSON.parse((row as any).envelope) as { document: any; signature: string };
  const cRef = await copyOn(C, incident.ref);
  const originHop = origin.document.body.provenance.at(-1);
  const cHop = await signHop(C.signer, { team: 'cc', ref: cRef, tlp: 'AMBER', at: new Date(), to: 'mallory' }, originHop);
  return { origin, originHop, cHop, incident };
}

t.test('a forward whose inner signature fails is refused and audited at D, nothing filed', async (t) => {
  const { origin, originHop, cHop } = await genuineForward(t);
  const eHop = await signHop(E.signer, { team: 'mallory', ref: 'MALLORY#X', tlp: 'AMBER', at: new Date(), to: 'bravo' }, cHop);
  const tampered = {
    document: { ...origin.document, body: { ...origin.document.body, incident: { ...origin.document.body.incident, title: 'forged' } } },
    signature: origin.signature,
  };
  const before = await incidentCount(D);
  const keys = { alpha: A.signer.armoredPublicKey, cc: C.signer.armoredPublicKey };
  const doc = messageDocument('mallory', 'bravo', 'relay.forward', { origin: tampered, hops: [originHop, cHop, eHop], keys });
  const res = await postMessage(D, await sign(doc, E.signer));
  t.equal(res.status, 400, res.text);
  t.equal(res.json.code, 'relay-invalid');
  t.equal(await incidentCount(D), before, 'nothing filed');
  t.ok(
    (await auditKinds(D, { peer: 'mallory' })).some((e) => JSON.stringify(e.details ?? {}).includes('relay-invalid')),
    'audited',
  );

  t.test('a hop list that does not chain is refused', async (t) => {
    const skipped = await signHop(E.signer, { team: 'mallory', ref: 'MALLORY#X', tlp: 'AMBER', at: new Date(), to: 'bravo' }, originHop);
    const broken = messageDocument('mallory', 'bravo', 'relay.forward', { origin, hops: [originHop, cHop, skipped], keys });
    const r = await postMessage(D, await sign(broken, E.signer));
    t.equal(r.status, 400, r.text);
    t.equal(r.json.code, 'provenance-invalid');
    const loosened = messageDocument('mallory', 'bravo', 'relay.forward', {
      origin,
      hops: [originHop, { ...cHop, tlp: 'GREEN' }, eHop],
      keys,
    });
    const r2 = await postMessage(D, await sign(loosened, E.signer));
    t.equal(r2.json?.code, 'provenance-invalid', 'a hop whose label was changed after signing fails its signature');
    t.equal(await incidentCount(D), before, 'nothing filed');
  });

  t.test('the genuine forward, the same hops, is filed', async (t) => {
    const good = messageDocument('mallory', 'bravo', 'relay.forward', { origin, hops: [originHop, cHop, eHop], keys });
    const r = await postMessage(D, await sign(good, E.signer));
    t.equal(r.status, 200, r.text);
    t.equal(await incidentCount(D), before + 1);
  });
});

t.test('a correction that reaches D before the relayed copy is kept, then applied when the forward is filed', async (t) => {
  const { origin, originHop, cHop, incident } = await genuineForward(t);
  const eRef = 'MALLORY#EARLY-1';
  const eHop = await signHop(E.signer, { team: 'mallory', ref: eRef, tlp: 'AMBER', at: new Date(), to: 'bravo' }, cHop);
  // alpha's retraction, sent on by mallory (the team that passes the copy to bravo) before the copy.
  const statement = await signDocument(
    {
      v: 1,
      type: 'incident.correction',
      id: crypto.randomUUID(),
      originator: 'alpha',
      originatorRef: incident.ref,
      issued: new Date().toISOString(),
      kind: 'retract',
      reason: 'hoax',
    },
    A.signer,
  );
  const early = { ref: eRef, correction: statement, originatorKey: A.signer.armoredPublicKey };
  const kept = await postMessage(
    D,
    await sign(messageDocument('mallory', 'bravo', 'incident.correction', early, { tlp: 'GREEN' }), E.signer),
  );
  t.equal(kept.status, 200, kept.text);
  t.equal(kept.json.document.body.status, 'noted', 'kept: no copy yet');

  const keys = { alpha: A.signer.armoredPublicKey, cc: C.signer.armoredPublicKey };
  const forward = messageDocument('mallory', 'bravo', 'relay.forward', { origin, hops: [originHop, cHop, eHop], keys });
  const filed = await postMessage(D, await sign(forward, E.signer));
  t.equal(filed.status, 200, filed.text);
  const copy = (await api(D, 'GET', `/incidents/${enc(filed.json.document.body.ref)}`, 'reader')).json();
  t.match(copy.retracted, { reason: 'hoax' }, 'the kept retraction applied to the relayed copy');
  t.ok(
    (await auditKinds(D, { kind: 'correction.applied' })).some((e) => e.details.correctionId === statement.document.id),
    'audited',
  );
});

t.test('bad input to the relay API is a 4xx', async (t) => {
  const incident = await createIncident(A);
  const cases: Array<[unknown, number, string]> = [
    [{ via: 'cc' }, 400, 'validation-failed'],
    [{ via: 'cc', to: 'mallory', extra: 1 }, 400, 'validation-failed'],
    [{ via: 'cc', to: 'cc' }, 400, 'validation-failed'],
    [{ via: 'cc', address: 'not-an-ip' }, 400, 'validation-failed'],
    [{ via: 'nobody', to: 'mallory' }, 404, 'unknown-peer'],
  ];
  for (const [body, status, code] of cases) {
    const res = await relay(A, incident.ref, body);
    t.equal(res.statusCode, status, `${JSON.stringify(body)}: ${res.body}`);
    t.equal(res.json().code, code);
  }
  const reader = await api(A, 'POST', `/incidents/${enc(incident.ref)}/relays`, 'reader', { via: 'cc', to: 'mallory' });
  t.equal(reader.statusCode, 403);
  t.equal((await relay(A, 'ALPHA%232099-999999', { via: 'cc', to: 'mallory' })).statusCode, 404);
  const stray = messageDocument('mallory', 'bravo', 'relay.delivered', {
    origin: { team: 'alpha', id: '00000000-0000-4000-8000-000000000000', ref: 'X' },
    target: 'bravo',
    targetRef: 'B',
    path: ['mallory'],
  });
  const r = await postMessage(D, await sign(stray, E.signer));
  t.equal(r.status, 409, r.text);
  t.equal(r.json.code, 'unknown-relay');
});
