import t from 'tap';
import { incidentCommands } from '../../src/cli/incident-commands.js';
import { signHop } from '../../src/modules/sharing/relay-hops.js';
import { loadFixtureSigner } from '../fixtures/keys/index.js';
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
  reportBody,
  sign,
  trustPeer,
  waitFor,
} from '../helpers/federation-harness.js';
import { foundForum } from '../helpers/forum-harness.js';

/**
 * Relays, part 2 (issue 15): what travels back besides the receipt, routing by address, forum
 * rosters as a key source, and the CLI. The topology of relays.test.ts: alpha (A) the
 * originator, cc (C) its coordinator, mallory (E) cc's coordinator, bravo (D) E's peer only.
 * E's signed profile declares 198.51.100.0/24; cc has a site in 203.0.113.0/24.
 */
fastDelivery();
const build = (key: 'alpha' | 'cc' | 'mallory' | 'bravo') => buildTestNode(t, { key, listen: true, startWorker: true });
// One after another: nodes starting at once on a busy two-core machine can miss fastify's plugin start timeout.
const A = await build('alpha');
const C = await build('cc');
const E = await build('mallory');
const D = await build('bravo');

// E declares its constituency before anyone pins its signed profile.
const profile = (await api(E, 'GET', '/profile', 'reader')).json();
const { teamId: _t, referencePrefix: _r, publicKey: _k, fingerprint: _f, publicUrl: _u, updatedAt: _d, ...editable } = profile;
const put = await api(E, 'PUT', '/profile', 'admin', {
  ...editable,
  constituency: { ...editable.constituency, networks: ['198.51.100.0/24'] },
});
if (put.statusCode !== 200) throw new Error(`profile: ${put.body}`);
const site = await api(C, 'POST', '/sites', 'handler', { name: 'CC campus', networks: ['203.0.113.0/24'] });
if (site.statusCode !== 201) throw new Error(`site: ${site.body}`);

async function link(a: TestNode, b: TestNode, relationship: 'coordinator' | 'peer') {
  await addPeer(a, b);
  await addPeer(b, a);
  await trustPeer(a, b, { trustLevel: 'partner', relationship });
  await trustPeer(b, a, { trustLevel: 'partner', relationship: relationship === 'coordinator' ? 'member' : 'peer' });
}
await link(A, C, 'coordinator');
await link(C, E, 'coordinator');
await link(E, D, 'peer');

const relay = (node: TestNode, ref: string, body: unknown) => api(node, 'POST', `/incidents/${enc(ref)}/relays`, 'handler', body);
const relays = async (node: TestNode, ref: string) => (await api(node, 'GET', `/incidents/${enc(ref)}/relays`, 'reader')).json().items;
const copyOn = (node: TestNode, ref: string) =>
  waitFor(`${ref} on ${node.config.teamId}`, async () => (await findByExternalRef(node, ref))[0]?.ref as string | undefined);
const settled = (node: TestNode, ref: string, state: 'delivered' | 'refused') =>
  waitFor(`relay ${state} at ${node.config.teamId}`, async () => (await relays(node, ref)).find((r: any) => r.state === state));
const note = async (node: TestNode, ref: string, text: string) => {
  const res = await api(node, 'POST', `/incidents/${enc(ref)}/journal`, 'handler', { note: text });
  if (res.statusCode !== 201) throw new Error(`note: ${res.statusCode} ${res.body}`);
};
const noteAt = (node: TestNode, ref: string, text: string) =>
  waitFor(`"${text}" at ${node.config.teamId}`, async () =>
    (await journal(node, ref)).find((j) => j.kind === 'peer-note' && j.note === text),
  );

t.test("one hop: the target's note on its copy reaches the originator through the relay", async (t) => {
  const incident = await createIncident(A, { tlp: 'AMBER', title: 'Notes back, one hop' });
  t.equal((await relay(A, incident.ref, { via: 'cc', to: 'mallory' })).statusCode, 202);
  const delivered = await settled(A, incident.ref, 'delivered');
  const eRef = await copyOn(E, incident.ref);
  await note(E, eRef, 'Blocked the stepping stone at our border.');

  const cRef = await copyOn(C, incident.ref);
  const atC = await noteAt(C, cRef, 'Blocked the stepping stone at our border.');
  t.equal(atC.team, 'mallory', "at the relay: the target's note on its link");
  const atA = await noteAt(A, incident.ref, 'Blocked the stepping stone at our border.');
  t.equal(atA.team, 'mallory', "recorded at A as the target's note");
  t.match(atA.changes, { via: 'cc', relayedFrom: { team: 'mallory', ref: delivered.targetRef }, peerRef: delivered.targetRef });
  const passed = (await auditKinds(C, { kind: 'disclosure.decision', peer: 'alpha' })).filter(
    (e) => e.details?.type === 'incident.update' && e.details?.relayedFrom === 'mallory',
  );
  t.equal(passed.length, 1, 'the relay decided and audited passing it back');
  t.equal(passed[0]!.decision, 'allow');
  // The originator's own note still goes the ordinary way (to its link, cc), and is not echoed back.
  await note(A, incident.ref, 'Thanks, closing on our side.');
  await noteAt(C, cRef, 'Thanks, closing on our side.');
  t.notOk((await journal(A, incident.ref)).some((j) => j.kind === 'peer-note' && j.note === 'Thanks, closing on our side.'));
});

t.test("two hops: the target's note passes both relays back to the originator", async (t) => {
  const incident = await createIncident(A, { tlp: 'AMBER', title: 'Notes back, two hops' });
  t.equal((await relay(A, incident.ref, { via: 'cc', to: 'bravo' })).statusCode, 202);
  const delivered = await settled(A, incident.ref, 'delivered');
  const dRef = await copyOn(D, incident.ref);
  t.equal(delivered.targetRef, dRef);
  await note(D, dRef, 'The host at our site is cleaned up.');
  const eRef = await copyOn(E, incident.ref);
  t.equal((await noteAt(E, eRef, 'The host at our site is cleaned up.')).team, 'bravo');
  const cRef = await copyOn(C, incident.ref);
  const atC = await noteAt(C, cRef, 'The host at our site is cleaned up.');
  t.match(atC, { team: 'bravo', changes: { via: 'mallory', relayedFrom: { team: 'bravo', ref: dRef } } });
  const atA = await noteAt(A, incident.ref, 'The host at our site is cleaned up.');
  t.match(atA, { team: 'bravo', changes: { via: 'cc', relayedFrom: { team: 'bravo', ref: dRef } } });
  t.ok(
    (await auditKinds(E, { kind: 'disclosure.decision', peer: 'cc' })).some((e) => e.details?.relayedFrom === 'bravo'),
    'audited at the second relay too',
  );

  t.test('a change naming a team no relay of ours went to is refused', async (t) => {
    const forged = messageDocument('cc', 'alpha', 'incident.update', {
      ref: cRef,
      peerRef: incident.ref,
      change: { kind: 'note', at: new Date().toISOString(), actor: 'x', note: 'made up' },
      relayedFrom: { team: 'mallory', ref: 'MALLORY#1' },
    });
    const res = await postMessage(A, await sign(forged, C.signer));
    t.equal(res.status, 409, res.text);
    t.equal(res.json.code, 'unknown-relay');
    t.notOk((await journal(A, incident.ref)).some((j) => j.note === 'made up'));
  });
});

t.test('address routing: a peer that declares the network, our own constituency, nobody', async (t) => {
  const inPeer = await createIncident(A, { tlp: 'AMBER', title: 'to whoever serves 198.51.100.9' });
  t.equal((await relay(A, inPeer.ref, { via: 'cc', address: '198.51.100.9' })).statusCode, 202);
  const toPeer = await settled(A, inPeer.ref, 'delivered');
  const eRef = await copyOn(E, inPeer.ref);
  t.match(toPeer, { target: { address: '198.51.100.9' }, targetTeam: 'mallory', targetRef: eRef }, "E's signed profile declares it");
  t.match(await relays(C, await copyOn(C, inPeer.ref)), [{ via: 'mallory', targetTeam: 'mallory', state: 'delivered' }]);

  const ours = await createIncident(A, { tlp: 'AMBER', title: 'to whoever serves 203.0.113.5' });
  t.equal((await relay(A, ours.ref, { via: 'cc', address: '203.0.113.5' })).statusCode, 202);
  const toC = await settled(A, ours.ref, 'delivered');
  t.match(toC, { targetTeam: 'cc', targetRef: await copyOn(C, ours.ref) }, "the relay's own site: it is the target");
  t.equal((await findByExternalRef(E, ours.ref)).length, 0, 'and it goes no further');

  const nobody = await createIncident(A, { tlp: 'AMBER', title: 'to whoever serves 192.0.2.77' });
  t.equal((await relay(A, nobody.ref, { via: 'cc', address: '192.0.2.77' })).statusCode, 202);
  const refused = await settled(A, nobody.ref, 'refused');
  t.equal(refused.refusedBy, 'mallory', 'cc asked its coordinator, which has no route and no coordinator');
  t.same(refused.deniedBy, ['relay-no-route']);
  t.match(await relays(C, await copyOn(C, nobody.ref)), [{ via: 'mallory', targetTeam: null, state: 'refused' }]);
});

t.test('a forum roster is a key source: a carried key with the listed fingerprint is "roster", another is refused', async (t) => {
  await foundForum(t, { operator: C, members: [C, A, E], joiners: [A, E] });
  const incident = await createIncident(A, { tlp: 'AMBER', title: 'key from the roster' });
  t.equal((await relay(A, incident.ref, { via: 'cc', to: 'mallory' })).statusCode, 202);
  await settled(A, incident.ref, 'delivered');
  const eRef = await copyOn(E, incident.ref);
  const prov = (await api(E, 'GET', `/incidents/${enc(eRef)}/provenance`, 'reader')).json();
  t.match(prov.hops, [
    { team: 'alpha', verified: true, keySource: 'roster', fingerprint: A.signer.fingerprint },
    { team: 'cc', verified: true, keySource: 'pinned' },
  ]);
  t.match((await journal(E, eRef)).find((j) => j.kind === 'relay-received')?.changes, { originKey: 'roster' });

  // cc introduces another key as alpha's: the roster E holds lists alpha's real fingerprint.
  const impostor = await loadFixtureSigner('alpha-2');
  const originHop = await signHop(impostor, { team: 'alpha', ref: 'ALPHA#2026-424242', tlp: 'AMBER', at: new Date(), to: 'cc' }, undefined);
  const origin = await sign(
    messageDocument('alpha', 'cc', 'incident.report', {
      ...reportBody('ALPHA#2026-424242', { title: 'not from alpha' }),
      provenance: [originHop],
      relayTo: { team: 'mallory' },
    }),
    impostor,
  );
  const cHop = await signHop(C.signer, { team: 'cc', ref: 'CC#2026-424242', tlp: 'AMBER', at: new Date(), to: 'mallory' }, originHop);
  const forward = messageDocument('cc', 'mallory', 'relay.forward', {
    origin,
    hops: [originHop, cHop],
    keys: { alpha: impostor.armoredPublicKey },
  });
  const before = await incidentCount(E);
  const res = await postMessage(E, await sign(forward, C.signer));
  t.equal(res.status, 400, res.text);
  t.equal(res.json.code, 'relay-invalid');
  t.match(res.json.detail, /fingerprint the forum rosters/);
  t.equal(await incidentCount(E), before, 'nothing filed');
});

t.test('the CLI asks for a relay and lists the relays of an incident', async (t) => {
  const incident = await createIncident(A, { tlp: 'AMBER', title: 'relayed from the command line' });
  const cli = async (...args: string[]) => {
    const lines: string[] = [];
    await incidentCommands.incident!.run([...args, '--url', A.url, '--data-dir', A.config.dataDir, '--team-id', 'alpha'], (s) =>
      lines.push(s),
    );
    return lines.join('\n');
  };
  t.match(await cli('relay', incident.ref, '--via', 'cc', '--to', 'mallory'), /requested\s+alpha's .* via cc to mallory\s+requested/);
  await settled(A, incident.ref, 'delivered');
  const eRef = await copyOn(E, incident.ref);
  t.match(await cli('relays', incident.ref), new RegExp(`via cc to mallory\\s+mallory filed it as ${eRef.replace(/[#]/g, '\\$&')}`));
  await t.rejects(cli('relay', incident.ref, '--via', 'cc'), /--to <team> or --address <ip>/, 'needs a target');
  await t.rejects(cli('relay', incident.ref, '--to', 'mallory'), /needs --via/);
  const other = await createIncident(A, { tlp: 'AMBER' });
  t.equal(await cli('relays', other.ref), 'no relays');
});
