import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import t from 'tap';
import { canonicalize, signDocument } from '../../src/crypto/index.js';
import { loadFixtureKey } from '../fixtures/keys/index.js';
import { buildTestNode, type TestNode } from '../helpers/build-test-app.js';
import {
  api,
  auditKinds,
  createIncident,
  enc,
  fastDelivery,
  findByExternalRef,
  messageDocument,
  partnersBoth,
  postMessage,
  reportBody,
  sign,
  waitFor,
  waitForShareState,
} from '../helpers/federation-harness.js';
import { assertMarkers, everything, markedIncident, SECTIONS } from '../helpers/marker-scan.js';
import { outbound } from '../helpers/policy-nodes.js';

/**
 * Corrections that follow the copies (issue 15 part 4, ADR 0018): cc (the originator) shares
 * with alpha, alpha re-shares with bravo; cc's relabel and retraction reach bravo through alpha,
 * and bravo's acknowledgement comes back to cc through alpha. bravo never pinned cc's key: it
 * verifies the originator's signature with the key alpha carried.
 */
fastDelivery();

let cc: TestNode;
let alpha: TestNode;
let bravo: TestNode;

const get = async (node: TestNode, ref: string) => (await api(node, 'GET', `/incidents/${enc(ref)}`, 'reader')).json();
const explain = async (node: TestNode, incident: string, peer: string, purpose: string, extra: Record<string, unknown> = {}) =>
  (await api(node, 'POST', '/policy/explain', 'reader', { incident, peer, purpose, ...extra })).json();
const corrections = async (node: TestNode, ref: string) =>
  (await api(node, 'GET', `/incidents/${enc(ref)}/corrections`, 'reader')).json().items;
const copyOn = async (node: TestNode, upstreamRef: string): Promise<string> =>
  waitFor(`a copy of ${upstreamRef} on ${node.config.teamId}`, async () => (await findByExternalRef(node, upstreamRef))[0]?.ref);

t.before(async () => {
  cc = await buildTestNode(t, { key: 'cc', listen: true, startWorker: true });
  alpha = await buildTestNode(t, { key: 'alpha', listen: true, startWorker: true });
  bravo = await buildTestNode(t, { key: 'bravo', listen: true, startWorker: true });
  await partnersBoth(cc, alpha);
  await partnersBoth(alpha, bravo);
});

/** A GREEN report of cc's, shared with alpha and re-shared by alpha with bravo: the refs on each node. */
async function twoHops(title: string, fields: Record<string, unknown> = {}): Promise<{ a: string; b: string; d: string }> {
  const report = await createIncident(cc, { tlp: 'GREEN', title, ...fields });
  t.equal((await api(cc, 'POST', `/incidents/${enc(report.ref)}/shares`, 'handler', { peer: 'alpha' })).statusCode, 202);
  const b = await copyOn(alpha, report.ref);
  const onward = await api(alpha, 'POST', `/incidents/${enc(b)}/shares`, 'handler', { peer: 'bravo' });
  t.equal(onward.statusCode, 202, onward.body);
  const d = await copyOn(bravo, b);
  await waitForShareState(cc, report.ref, 'alpha', 'delivered');
  await waitForShareState(alpha, b, 'bravo', 'delivered');
  return { a: report.ref, b, d };
}

t.test('a tightening relabel reaches the copy two hops away, and the acknowledgements come back per copy', async (t) => {
  const { a, b, d } = await twoHops('Relabelled later');
  const site = (await api(bravo, 'POST', '/sites', 'handler', { name: 'Bravo University', networks: ['198.51.100.0/24'] })).json();
  t.match(await explain(bravo, d, site.id, 'direct', { kind: 'site' }), { allow: true }, 'bravo may pass the GREEN copy to its site');

  const issued = await api(cc, 'POST', `/incidents/${enc(a)}/corrections`, 'handler', { kind: 'relabel', tlp: 'AMBER+STRICT' });
  t.equal(issued.statusCode, 202, issued.body);
  t.match(issued.json(), { kind: 'relabel', tlp: 'AMBER+STRICT', state: 'issued', originator: 'cc', originatorRef: a });
  t.equal((await get(cc, a)).tlp, 'AMBER+STRICT', "the originator's own label changes at once");

  await waitFor('bravo relabelled', async () => (await get(bravo, d)).tlp === 'AMBER+STRICT');
  t.equal((await get(alpha, b)).tlp, 'AMBER+STRICT');
  t.match(
    await explain(bravo, d, site.id, 'direct', { kind: 'site' }),
    { allow: false, deniedBy: ['provenance-no-further'] },
    "bravo's policy now refuses what the new label forbids",
  );
  const applied = await waitFor('bravo recorded the correction', async () => (await corrections(bravo, d))[0]);
  t.match(applied, { kind: 'relabel', state: 'applied', receivedFrom: 'alpha', originator: 'cc' });
  t.match(applied.outcome, /carried key/, "bravo verified cc's signature with the key alpha carried");

  const holders = await waitFor('both copies acknowledged at cc', async () => {
    const [c] = await corrections(cc, a);
    return c.holders.length === 2 && c.holders.every((h: { status: string }) => h.status === 'acknowledged') ? c.holders : null;
  });
  t.match(
    holders.sort((x: { team: string }, y: { team: string }) => x.team.localeCompare(y.team)),
    [
      { team: 'alpha', via: 'alpha', holderRef: b },
      { team: 'bravo', via: 'alpha', holderRef: d },
    ],
  );
  t.ok((await auditKinds(alpha, { kind: 'disclosure.correction', peer: 'bravo' })).length >= 1, 'the forwarding is audited');
  const ccIncident = (await get(cc, a)).id as string;
  const labelUpdates = (await outbound(cc, 'alpha', { type: 'incident.update', incidentId: ccIncident })).filter((m) =>
    m.document.includes('"field":"tlp"'),
  );
  t.same(labelUpdates, [], 'the direct holder gets the new label once, as the correction, not also as an incident.update');
  t.ok((await auditKinds(bravo, { kind: 'correction.applied' })).length >= 1, 'the application is audited');
});

t.test('a retraction reaches the copy two hops away: marked, kept, no longer shared, out of the pull feed', async (t) => {
  const { a, b, d } = await twoHops('A hoax');
  t.match(await explain(bravo, d, 'alpha', 'pull-feed'), { allow: true }, 'before: in the feed alpha pulls from bravo');
  const issued = await api(cc, 'POST', `/incidents/${enc(a)}/corrections`, 'handler', {
    kind: 'retract',
    reason: 'hoax',
    note: 'The sender made it up.',
  });
  t.equal(issued.statusCode, 202, issued.body);
  const copy = await waitFor('bravo retracted', async () => {
    const incident = await get(bravo, d);
    return incident.retracted ? incident : null;
  });
  t.match(copy.retracted, { originator: 'cc', reason: 'hoax', note: 'The sender made it up.' }, 'marked and kept');
  t.ok((await get(alpha, b)).retracted);
  t.ok((await get(cc, a)).retracted, "the originator's own incident is marked too");
  const denied = await explain(bravo, d, 'alpha', 'pull-feed');
  t.match(denied, { allow: false }, 'out of the pull feed');
  t.ok(denied.deniedBy.includes('retracted'), 'with a clear policy reason');
  const site = (await api(bravo, 'POST', '/sites', 'handler', { name: 'Another site', networks: ['203.0.113.0/24'] })).json();
  t.ok((await explain(bravo, d, site.id, 'direct', { kind: 'site' })).deniedBy.includes('retracted'));
  t.ok(
    (await explain(alpha, b, 'bravo', 'direct', { explicitlyChosen: true })).deniedBy.includes('retracted'),
    'alpha may not send it on either',
  );
  const retraction = await waitFor('the retraction acknowledged by both copies', async () => {
    const [c] = await corrections(cc, a);
    return c.holders.filter((h: { status: string }) => h.status === 'acknowledged').length === 2 ? c : null;
  });
  t.same(retraction.holders.map((h: { team: string }) => h.team).sort(), ['alpha', 'bravo']);
});

t.test('markers in every field and in the note: the note goes scrubbed to every holder, no copy gains a hidden marker', async (t) => {
  const { incident, markers } = markedIncident('GREEN');
  const { a, b, d } = await twoHops(incident.title, incident);
  // Partners both ways: internal hosts were hidden from alpha, so from bravo.
  for (const [node, name] of [
    [alpha, 'alpha'],
    [bravo, 'bravo'],
  ] as const)
    assertMarkers(t, await everything(node), markers, ['internalHosts'], `${name} before`);
  const named = SECTIONS.filter((s) => s !== 'evidence').flatMap((s) => markers[s].slice(0, 2));
  const issued = await api(cc, 'POST', `/incidents/${enc(a)}/corrections`, 'handler', {
    kind: 'retract',
    reason: 'mistaken',
    note: `Mistaken: ${named.join(', ')} were never involved.`,
  });
  t.equal(issued.statusCode, 202, issued.body);
  t.same([...issued.json().noteRedacted].sort(), ['internalHosts', 'poc', 'reporter', 'victims'], 'the answer says what was scrubbed');
  const noteOn = async (node: TestNode, ref: string) =>
    waitFor(`${ref} retracted on ${node.config.teamId}`, async () => (await get(node, ref)).retracted?.note);
  for (const [node, ref] of [
    [cc, a],
    [alpha, b],
    [bravo, d],
  ] as const) {
    const note = (await noteOn(node, ref)).toLowerCase();
    t.match(note, /^mistaken: \[redacted\]/, `${node.config.teamId} holds the scrubbed note`);
    for (const marker of named) t.notOk(note.includes(marker.toLowerCase()), `${node.config.teamId}: the note does not name ${marker}`);
  }
  for (const [node, name] of [
    [alpha, 'alpha'],
    [bravo, 'bravo'],
  ] as const)
    assertMarkers(t, await everything(node), markers, ['internalHosts'], `${name} after the retraction`);
  const audited = await auditKinds(cc, { kind: 'correction.issued' });
  t.ok(
    audited.some((e) => e.details.ref === a && e.details.noteRedacted?.length === 4),
    'the scrubbing is audited',
  );
});

/** The incident.correction body alpha would send bravo for its copy `ref`, with a statement signed by `signer`. */
async function craftedCorrection(statement: Record<string, unknown>, signer: TestNode['signer'], ref: string, carriedKey?: string) {
  const correction = await signDocument(statement, signer);
  return { ref, correction, ...(carriedKey ? { originatorKey: carriedKey } : {}) };
}

const statementFor = (originatorRef: string, extra: Record<string, unknown>) => ({
  v: 1,
  type: 'incident.correction',
  id: crypto.randomUUID(),
  originator: 'cc',
  originatorRef,
  issued: new Date().toISOString(),
  ...extra,
});

t.test('a correction not signed by the originator, and a loosening from a relay, are refused and audited', async (t) => {
  const { a, b, d } = await twoHops('Not for alpha to loosen');
  // alpha signs a retraction "of cc's" with its own key, and carries its own key as cc's.
  const forged = await craftedCorrection(
    statementFor(a, { kind: 'retract', reason: 'hoax' }),
    alpha.signer,
    b,
    loadFixtureKey('alpha').armoredPublicKey,
  );
  const refused = await postMessage(
    bravo,
    await sign(messageDocument('alpha', 'bravo', 'incident.correction', forged, { tlp: 'GREEN' }), 'alpha'),
  );
  t.equal(refused.status, 403, refused.text);
  t.equal(refused.json.code, 'correction-refused');
  t.notOk((await get(bravo, d)).retracted, 'nothing applied');

  // A loosening by alpha with no originator signature bravo could verify: refused.
  await api(cc, 'POST', `/incidents/${enc(a)}/corrections`, 'handler', { kind: 'relabel', tlp: 'AMBER' });
  await waitFor('bravo relabelled to AMBER', async () => (await get(bravo, d)).tlp === 'AMBER');
  const loosen = await craftedCorrection(statementFor(a, { kind: 'relabel', tlp: 'CLEAR' }), alpha.signer, b);
  const refusedLoosening = await postMessage(
    bravo,
    await sign(messageDocument('alpha', 'bravo', 'incident.correction', loosen, { tlp: 'GREEN' }), 'alpha'),
  );
  t.equal(refusedLoosening.status, 403, refusedLoosening.text);
  t.equal((await get(bravo, d)).tlp, 'AMBER', 'the label stays');
  // Even with cc's own signature: bravo has no key of cc's pinned, and a carried key does not loosen.
  const genuine = await craftedCorrection(
    statementFor(a, { kind: 'relabel', tlp: 'CLEAR' }),
    cc.signer,
    b,
    loadFixtureKey('cc').armoredPublicKey,
  );
  const carried = await postMessage(
    bravo,
    await sign(messageDocument('alpha', 'bravo', 'incident.correction', genuine, { tlp: 'GREEN' }), 'alpha'),
  );
  t.equal(carried.status, 403, carried.text);
  t.match(carried.json.detail, /pinned here/);
  const rejections = await auditKinds(bravo, { kind: 'inbox-rejection', peer: 'alpha' });
  t.ok(rejections.filter((r) => r.details.code === 'correction-refused').length >= 3, 'each refusal is audited');
});

t.test('a correction that arrives before its report is kept, then applied when the report arrives', async (t) => {
  const senderRef = 'ALPHA#EARLY-1';
  const statement = statementFor('CC#EARLY-1', { kind: 'retract', reason: 'false-positive' });
  const body = await craftedCorrection(statement, cc.signer, senderRef, loadFixtureKey('cc').armoredPublicKey);
  const kept = await postMessage(
    bravo,
    await sign(messageDocument('alpha', 'bravo', 'incident.correction', body, { tlp: 'GREEN' }), 'alpha'),
  );
  t.equal(kept.status, 200, kept.text);
  t.equal(kept.json.document.body.status, 'noted', 'kept: the report is not here yet');
  t.equal((await auditKinds(bravo, { kind: 'correction.kept' })).length, 1);

  const report = {
    ...reportBody(senderRef, { tlp: 'GREEN', title: 'Arrives late' }),
    provenance: [
      { team: 'cc', tlp: 'GREEN' },
      { team: 'alpha', tlp: 'GREEN' },
    ],
  };
  const filed = await postMessage(
    bravo,
    await sign(messageDocument('alpha', 'bravo', 'incident.report', report, { tlp: 'GREEN' }), 'alpha'),
  );
  t.equal(filed.status, 200, filed.text);
  const ref = filed.json.document.body.ref;
  const incident = await get(bravo, ref);
  t.match(incident.retracted, { originator: 'cc', reason: 'false-positive' }, 'applied on arrival');
  t.match((await corrections(bravo, ref))[0], { state: 'applied', receivedFrom: 'alpha' });
});

t.test('malformed corrections get a 4xx', async (t) => {
  const mine = await createIncident(cc, { tlp: 'GREEN', title: 'Malformed' });
  const post = (node: TestNode, ref: string, payload: unknown, role: 'reader' | 'handler' = 'handler') =>
    api(node, 'POST', `/incidents/${enc(ref)}/corrections`, role, payload);
  t.equal((await post(cc, mine.ref, { kind: 'relabel' })).statusCode, 422, 'a relabel without a label');
  t.equal((await post(cc, mine.ref, { kind: 'retract' })).statusCode, 422, 'a retraction without a reason');
  t.equal((await post(cc, mine.ref, { kind: 'retract', reason: 'boredom' })).statusCode, 400);
  t.equal((await post(cc, mine.ref, { kind: 'relabel', tlp: 'GREEN' })).statusCode, 409, 'the label it has already');
  t.equal((await post(cc, mine.ref, { kind: 'relabel', tlp: 'RED', extra: 1 })).statusCode, 400);
  t.equal((await post(cc, mine.ref, { kind: 'relabel', tlp: 'RED' }, 'reader')).statusCode, 403);
  t.equal((await post(cc, 'CC#1999-404', { kind: 'relabel', tlp: 'RED' })).statusCode, 404);
  const { b } = await twoHops('Not alpha to correct');
  const onCopy = await post(alpha, b, { kind: 'retract', reason: 'mistaken' });
  t.equal(onCopy.statusCode, 409);
  t.equal(onCopy.json().code, 'correction-not-originator');

  const noSignature = { ref: b, correction: { document: statementFor('CC#X', { kind: 'retract', reason: 'hoax' }) } };
  const res = await postMessage(
    bravo,
    await sign(messageDocument('alpha', 'bravo', 'incident.correction', noSignature, { tlp: 'GREEN' }), 'alpha'),
  );
  t.equal(res.status, 400, res.text);
  const inconsistent = await craftedCorrection(statementFor('CC#X', { kind: 'retract' }), cc.signer, b);
  const res2 = await postMessage(
    bravo,
    await sign(messageDocument('alpha', 'bravo', 'incident.correction', inconsistent, { tlp: 'GREEN' }), 'alpha'),
  );
  t.equal(res2.status, 422, res2.text);
});

const gpgAvailable = spawnSync('gpg', ['--version'], { stdio: 'ignore' }).error === undefined;

t.test(
  "a holder's kept statement verifies with stock GnuPG against the originator's key",
  { skip: gpgAvailable ? false : 'gpg is not on PATH' },
  async (t) => {
    const row = await bravo.database.db
      .selectFrom('incident_correction')
      .selectAll()
      .where('state', '=', 'applied')
      .where('originator_key', 'is not', null)
      .executeTakeFirstOrThrow();
    const statement = (typeof row.statement === 'string' ? JSON.parse(row.statement) : row.statement) as {
      document: Record<string, unknown>;
      signature: string;
    };
    const home = mkdtempSync(path.join(tmpdir(), 'hikeshi-gpg-'));
    const env = { ...process.env, GNUPGHOME: home, LC_ALL: 'C' };
    t.teardown(() => {
      spawnSync('gpgconf', ['--kill', 'all'], { env, stdio: 'ignore' });
      rmSync(home, { recursive: true, force: true });
    });
    const gpg = (args: string[], input?: string) =>
      spawnSync('gpg', ['--batch', '--no-tty', '--no-auto-key-locate', ...args], { env, input, timeout: 30_000 });
    t.equal(gpg(['--import'], row.originator_key!).status, 0, "import the key alpha carried as cc's");
    const doc = path.join(home, 'statement.json');
    const sig = path.join(home, 'statement.json.asc');
    writeFileSync(doc, canonicalize(statement.document));
    writeFileSync(sig, statement.signature);
    const verified = gpg(['--status-fd', '1', '--verify', sig, doc]);
    t.equal(verified.status, 0, verified.stderr.toString());
    t.match(verified.stdout.toString(), new RegExp(`^\\[GNUPG:\\] VALIDSIG ${loadFixtureKey('cc').fingerprint} `, 'm'));
  },
);
