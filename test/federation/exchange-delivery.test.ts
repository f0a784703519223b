import t from 'tap';
import { buildApp } from '../../src/app.js';
import { loadFixtureSigner } from '../fixtures/keys/index.js';
import { buildTestNode, type TestNode } from '../helpers/build-test-app.js';
import {
  api,
  createIncident,
  enc,
  fastDelivery,
  findByExternalRef,
  journal,
  partnersBoth,
  shares,
  sign,
  waitFor,
  waitForShareState,
} from '../helpers/federation-harness.js';

/**
 * Durable delivery between real nodes: a receiver that goes away and comes back, a peer that
 * never comes back (the message fails after the configured age), answers that can never
 * succeed, receipts that do not verify.
 */
fastDelivery();

/** Starts a second app on a stopped node's database and port: the same node, restarted. */
async function restart(t: { teardown(fn: () => unknown): void }, node: TestNode): Promise<TestNode> {
  const app = await buildApp({
    config: node.config,
    database: node.database,
    signer: node.signer,
    tokenSecret: node.tokenSecret,
    logger: false,
  });
  await app.listen({ port: node.config.port, host: '127.0.0.1' });
  app.federation.start();
  t.teardown(() => app.close());
  return { ...node, app };
}

t.test('a receiver down for a while: messages wait (retrying), then arrive once and in order', async (t) => {
  const alpha = await buildTestNode(t, { key: 'alpha', listen: true, startWorker: true });
  const bravo = await buildTestNode(t, { key: 'bravo', listen: true, startWorker: true });
  await partnersBoth(alpha, bravo);
  await bravo.app.close(); // stops listening; its database stays

  const incident = await createIncident(alpha);
  t.equal((await api(alpha, 'POST', `/incidents/${enc(incident.ref)}/shares`, 'handler', { peer: 'bravo' })).statusCode, 202);
  for (const note of ['first', 'second', 'third']) {
    t.equal((await api(alpha, 'POST', `/incidents/${enc(incident.ref)}/journal`, 'handler', { note })).statusCode, 201);
  }
  const retrying = await waitFor('two failed attempts', async () => {
    const s = (await shares(alpha, incident.ref))[0]!;
    return s.state === 'retrying' && s.attempts >= 2 ? s : null;
  });
  t.match(retrying.lastError, /cannot reach 127\.0\.0\.1:\d+/);
  t.notMatch(retrying.lastError, /Unauthorised access/, 'no incident content in errors');
  t.ok(retrying.nextAttemptAt);
  t.equal(retrying.pendingUpdates, 3, 'the updates wait behind the report');

  const restarted = await restart(t, bravo);
  const delivered = await waitFor('report and updates delivered', async () => {
    const s = (await shares(alpha, incident.ref))[0]!;
    return s.state === 'delivered' && s.pendingUpdates === 0 ? s : null;
  });
  t.match(delivered.peerRef, /^BRAVO#/);
  const copies = await findByExternalRef(restarted, incident.ref);
  t.equal(copies.length, 1, 'filed once');
  const notes = await waitFor('three notes', async () => {
    const entries = (await journal(restarted, copies[0]!.ref)).filter((e) => e.kind === 'peer-note');
    return entries.length === 3 ? entries : null;
  });
  t.same(
    notes.map((n) => n.note),
    ['first', 'second', 'third'],
    'in the order they were written',
  );
});

t.test('a peer that never comes back: failed after the configured age, visible, and can be shared again', async (t) => {
  const previous = process.env['HIKESHI_DELIVERY_MAX_AGE_SECONDS'];
  process.env['HIKESHI_DELIVERY_MAX_AGE_SECONDS'] = '1';
  const cc = await buildTestNode(t, { key: 'cc', listen: true, startWorker: true });
  if (previous === undefined) delete process.env['HIKESHI_DELIVERY_MAX_AGE_SECONDS'];
  else process.env['HIKESHI_DELIVERY_MAX_AGE_SECONDS'] = previous;
  const mallory = await buildTestNode(t, { key: 'mallory', listen: true });
  await partnersBoth(cc, mallory);
  await mallory.app.close();

  const incident = await createIncident(cc);
  t.equal((await api(cc, 'POST', `/incidents/${enc(incident.ref)}/shares`, 'handler', { peer: 'mallory' })).statusCode, 202);
  const failed = await waitForShareState(cc, incident.ref, 'mallory', 'failed');
  t.match(failed.lastError, /^gave up after 1 s: cannot reach/);
  t.equal(failed.nextAttemptAt, null);
  const again = await api(cc, 'POST', `/incidents/${enc(incident.ref)}/shares`, 'handler', { peer: 'mallory' });
  t.equal(again.statusCode, 202, 'a failed share can be queued again');
  t.match(again.json(), { state: 'queued', attempts: 0 });
  const audit = await cc.database.db.selectFrom('audit_entry').select(['kind', 'details']).where('kind', '=', 'delivery-failed').execute();
  t.equal(audit.length, 1);
});

t.test('an answer that can never succeed fails at once; a receipt that does not verify is not proof', async (t) => {
  const mallorySigner = await loadFixtureSigner('mallory');
  let mode: 'reject' | 'forged' = 'reject';
  const fakeFetch: typeof fetch = async (input, init) => {
    if (!String(input).endsWith('/federation/v1/messages')) return fetch(input, init);
    if (mode === 'reject') {
      return new Response(
        JSON.stringify({
          type: 'urn:hikeshi:problem:validation-failed',
          code: 'validation-failed',
          status: 400,
          title: 'x',
        }),
        {
          status: 400,
          headers: { 'content-type': 'application/problem+json' },
        },
      );
    }
    const sent = JSON.parse(String(init?.body)) as { document: { id: string } };
    const receipt = await sign(
      {
        v: 1,
        id: crypto.randomUUID(),
        type: 'receipt',
        from: 'bravo',
        to: 'alpha',
        created: new Date().toISOString(),
        inReplyTo: sent.document.id,
        tlp: 'AMBER',
        body: { status: 'filed', ref: 'BRAVO#2026-999999' },
      },
      mallorySigner,
    );
    return new Response(JSON.stringify(receipt), { status: 200, headers: { 'content-type': 'application/json' } });
  };
  const alpha = await buildTestNode(t, { key: 'alpha', listen: true, startWorker: true, fetch: fakeFetch });
  const bravo = await buildTestNode(t, { key: 'bravo', listen: true });
  await partnersBoth(alpha, bravo);

  const rejected = await createIncident(alpha);
  await api(alpha, 'POST', `/incidents/${enc(rejected.ref)}/shares`, 'handler', { peer: 'bravo' });
  const failed = await waitForShareState(alpha, rejected.ref, 'bravo', 'failed');
  t.equal(failed.lastError, 'peer answered 400 validation-failed');
  t.equal(failed.attempts, 1);

  mode = 'forged';
  const forged = await createIncident(alpha);
  await api(alpha, 'POST', `/incidents/${enc(forged.ref)}/shares`, 'handler', { peer: 'bravo' });
  const retrying = await waitForShareState(alpha, forged.ref, 'bravo', 'retrying');
  t.match(retrying.lastError, /receipt signature does not verify/);
  t.equal(retrying.peerRef, null);
  t.same(
    (await api(alpha, 'GET', `/incidents/${enc(forged.ref)}`, 'reader')).json().externalRefs,
    [],
    'no reference number taken from a forged receipt',
  );
});
