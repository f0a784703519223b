import { existsSync } from 'node:fs';
import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import t from 'tap';
const tap = t;
import { buildApp } from '../../src/app.js';
import { keyCommands, rotateNodeKey } from '../../src/cli/key-commands.js';
import { readSignatureIssuer } from '../../src/crypto/index.js';
import { verifyAuditChain } from '../../src/modules/audit/audit-chain.js';
import { IdentityError, KEY_FILE, loadNodeKey, NEXT_KEY_FILE, RETIRED_KEYS_DIR } from '../../src/modules/profile/node-identity.js';
import { initNode } from '../../src/node-init.js';
import { loadFixtureKey } from '../fixtures/keys/index.js';
import { buildTestNode, type Teardown, type TestNode } from '../helpers/build-test-app.js';
import {
  api,
  auditKinds,
  createIncident,
  enc,
  fastDelivery,
  partnersBoth,
  waitFor,
  waitForShareState,
} from '../helpers/federation-harness.js';

/**
 * `hikeshi key rotate` (issue 13): alpha changes its own key with a share still waiting in its
 * outbox. Its peers learn the new key from a key.rotation signed by the old key (and by the new
 * one), before anything signed with the new key reaches them; the waiting share is signed again
 * and filed; exchange in both directions goes on; the old key stays for what it signed.
 */
fastDelivery();
const ALPHA = loadFixtureKey('alpha');
const alpha = await buildTestNode(t, { key: 'alpha', listen: true });
const bravo = await buildTestNode(t, { key: 'bravo', listen: true, startWorker: true });
const cc = await buildTestNode(t, { key: 'cc', listen: true, startWorker: true });
await partnersBoth(alpha, bravo);
await partnersBoth(alpha, cc);

type PeerView = { fingerprint: string; status: string; assurance: string };
const peerAlpha = async (node: TestNode): Promise<PeerView> => (await api(node, 'GET', '/peers/alpha', 'reader')).json() as PeerView;
const outbound = (node: TestNode) =>
  node.database.db.selectFrom('outbound_message').select(['id', 'seq', 'type', 'peer_team', 'state', 'signature']).orderBy('seq').execute();

/** Alpha again, on the same database, data directory and port, with whatever key its files hold. */
async function restartAlpha(t: Teardown): Promise<TestNode> {
  const init = await initNode(alpha.config, alpha.database, { migrate: false });
  const app = await buildApp({
    config: alpha.config,
    database: alpha.database,
    signer: init.signer,
    tokenSecret: init.tokenSecret,
    logger: false,
  });
  await app.listen({ port: alpha.config.port, host: '127.0.0.1' });
  app.federation.start();
  t.teardown(() => app.close());
  return { ...alpha, app, signer: init.signer };
}

let rotated: TestNode;
let newFingerprint = '';

t.test('rotate with a share waiting: the rotation goes first, the share follows signed by the new key', async (t) => {
  // Alpha's worker is not running: the share waits in the outbox, signed by the old key.
  const incident = await createIncident(alpha, { tlp: 'AMBER' });
  const queued = await api(alpha, 'POST', `/incidents/${enc(incident.ref)}/shares`, 'handler', { peer: 'bravo' });
  t.equal(queued.statusCode, 202, queued.body);
  await alpha.app.close();

  const lines: string[] = [];
  await rotateNodeKey(alpha.config, alpha.database, (s) => lines.push(s));
  const signer = await loadNodeKey(alpha.config);
  newFingerprint = signer.fingerprint;
  t.not(newFingerprint, ALPHA.fingerprint, 'a new key');
  t.match(lines.join('\n'), new RegExp(`new key: ${newFingerprint}`));
  t.match(lines.join('\n'), /key\.rotation queued for 2 peer\(s\): bravo, cc/);
  t.match(lines.join('\n'), /signed again with the new key: 1/);
  t.same(
    signer.retiredPublicKeys.map((k) => k.fingerprint),
    [ALPHA.fingerprint],
    'the old key is kept',
  );
  t.ok(existsSync(path.join(alpha.config.dataDir, RETIRED_KEYS_DIR, `${ALPHA.fingerprint}.asc`)));
  t.notOk(existsSync(path.join(alpha.config.dataDir, NEXT_KEY_FILE)));

  // In the outbox: one rotation per peer signed by the old key, then the share signed by the new one.
  const rows = await outbound(alpha);
  const issuers = await Promise.all(rows.map(async (r) => (await readSignatureIssuer(r.signature))?.fingerprint));
  t.same(
    rows.map((r, i) => [r.type, r.peer_team, issuers[i]]),
    [
      ['key.rotation', 'bravo', ALPHA.fingerprint],
      ['key.rotation', 'cc', ALPHA.fingerprint],
      ['incident.report', 'bravo', newFingerprint],
    ],
  );
  t.match(await auditKinds(alpha, { kind: 'disclosure.key-rotation' }), [
    { decision: 'allow', details: { oldFingerprint: ALPHA.fingerprint, newFingerprint } },
    { decision: 'allow', details: { oldFingerprint: ALPHA.fingerprint, newFingerprint } },
  ]);
  t.match(await auditKinds(alpha, { kind: 'node.key-rotated' }), [{ details: { notified: ['bravo', 'cc'], resigned: 1 } }]);
  t.match(await verifyAuditChain(alpha.database.db), { ok: true });

  rotated = await restartAlpha(tap);
  await waitForShareState(rotated, incident.ref, 'bravo', 'delivered');
  for (const peer of [bravo, cc]) {
    const seen = await waitFor('the new key pinned', async () => {
      const p = await peerAlpha(peer);
      return p.fingerprint === newFingerprint && p;
    });
    t.match(seen, { status: 'active', assurance: 'verified' }, `${peer.config.teamId}: the old key vouched; assurance kept`);
  }
  t.match(await auditKinds(bravo, { kind: 'peer.key-rotated' }), [{ details: { oldFingerprint: ALPHA.fingerprint, newFingerprint } }]);
  t.same(await auditKinds(bravo, { kind: 'key-change' }), [], 'nothing was held as a claim: the rotation arrived first');
});

t.test('after the rotation: the node publishes the new key, and exchange goes on both ways', async (t) => {
  const profile = await fetch(`${rotated.url}/federation/v1/profile`).then(
    (r) => r.json() as Promise<{ document: { profile: { fingerprint: string } } }>,
  );
  t.equal(profile.document.profile.fingerprint, newFingerprint, 'the signed profile carries the new key');
  const published = await fetch(`${rotated.url}/pgp-key.asc`).then((r) => r.text());
  t.equal(published, rotated.signer.armoredPublicKey);

  const later = await createIncident(rotated, { tlp: 'AMBER' });
  t.equal((await api(rotated, 'POST', `/incidents/${enc(later.ref)}/shares`, 'handler', { peer: 'cc' })).statusCode, 202);
  await waitForShareState(rotated, later.ref, 'cc', 'delivered');

  // Bravo's report to alpha: alpha's receipt, signed by the new key, verifies at bravo.
  const fromBravo = await createIncident(bravo, { tlp: 'AMBER' });
  t.equal((await api(bravo, 'POST', `/incidents/${enc(fromBravo.ref)}/shares`, 'handler', { peer: 'alpha' })).statusCode, 202);
  await waitForShareState(bravo, fromBravo.ref, 'alpha', 'delivered');
});

t.test('key list shows the current key and the one it replaced', async (t) => {
  const lines: string[] = [];
  await keyCommands.key!.run(['list', '--data-dir', alpha.config.dataDir], (s) => lines.push(s));
  t.same(lines, [`current: ${newFingerprint}`, `retired: ${ALPHA.fingerprint}`]);
});

t.test('an interrupted rotation: a start refuses; running it again finishes or starts over', async (t) => {
  const dir = alpha.config.dataDir;
  const keyFile = path.join(dir, KEY_FILE);
  const nextFile = path.join(dir, NEXT_KEY_FILE);
  // Crashed after step 1 (the new key written, nothing committed): a start refuses...
  await writeFile(nextFile, ALPHA.armoredPrivateKey, { mode: 0o600 });
  await t.rejects(loadNodeKey(alpha.config), IdentityError);
  await t.rejects(loadNodeKey(alpha.config), /interrupted/);
  // ...and running it again drops the stray key and rotates afresh.
  const before = (await outbound(alpha)).length;
  const lines: string[] = [];
  await rotated.app.close();
  await rotateNodeKey(alpha.config, alpha.database, (s) => lines.push(s));
  const third = await loadNodeKey(alpha.config);
  t.not(third.fingerprint, newFingerprint);
  t.not(third.fingerprint, ALPHA.fingerprint, 'not the stray key');
  t.equal((await outbound(alpha)).length, before + 2, 'one rotation per peer');

  // Crashed after step 2 (committed, files not switched): put the files back as they were then.
  await rename(keyFile, nextFile);
  const retiredSecond = path.join(dir, RETIRED_KEYS_DIR, `${newFingerprint}.asc`);
  await writeFile(keyFile, await readFile(retiredSecond, 'utf8'), { mode: 0o600 });
  await rm(retiredSecond);
  const again: string[] = [];
  await rotateNodeKey(alpha.config, alpha.database, (s) => again.push(s));
  t.match(again.join('\n'), /finished the interrupted rotation/);
  t.equal((await loadNodeKey(alpha.config)).fingerprint, third.fingerprint);
  t.equal((await outbound(alpha)).length, before + 2, 'nothing queued twice');
  t.ok(existsSync(retiredSecond));
});
