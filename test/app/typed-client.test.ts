import t from 'tap';
import { NodeRefusedError, NodeUnreachableError, withClient } from '../../src/cli/cli-context.js';
import { peerList, peerVerify } from '../../src/cli/peer-commands.js';
import { createHikeshiClient, HikeshiProblemError, unwrap, type Schemas } from '../../src/client/hikeshi-client.js';
import { buildTestNode, freePort } from '../helpers/build-test-app.js';
import { EXAMPLE_INCIDENT } from '../helpers/federation-harness.js';

/**
 * The typed client (src/client) against a real node on loopback: a handler files an incident,
 * reads it, lists and annotates it; every refusal arrives as a HikeshiProblemError with the
 * node's problem code; the CLI's peer commands go through it too.
 */
const node = await buildTestNode(t, { listen: true });
const handler = createHikeshiClient({ baseUrl: `${node.url}/`, token: node.mint('handler') });
const example = EXAMPLE_INCIDENT as unknown as Schemas['IncidentCreate'];

async function refusal(call: Promise<unknown>): Promise<HikeshiProblemError> {
  try {
    await call;
  } catch (err) {
    if (err instanceof HikeshiProblemError) return err;
    throw err;
  }
  throw new Error('the node did not refuse');
}

t.test('a handler files, reads, lists and annotates an incident', async (t) => {
  const created = await unwrap(handler.POST('/api/v1/incidents', { body: { ...example, title: 'Client-filed incident' } }));
  t.match(created.ref, /^ALPHA#\d{4}-\d+$/, 'the node assigned a reference number');
  t.equal(created.title, 'Client-filed incident');
  const read = await unwrap(handler.GET('/api/v1/incidents/{ref}', { params: { path: { ref: created.ref } } }));
  t.equal(read.id, created.id, 'read back by its reference number (the client encodes the #)');
  const page = await unwrap(handler.GET('/api/v1/incidents', { params: { query: { limit: 1 } } }));
  t.equal(page.items.length, 1);
  t.equal(page.items[0]?.ref, created.ref);
  const params = { path: { ref: created.ref } };
  await unwrap(handler.POST('/api/v1/incidents/{ref}/journal', { params, body: { note: 'called the site POC' } }));
  const journal = await unwrap(handler.GET('/api/v1/incidents/{ref}/journal', { params }));
  t.ok(
    journal.items.some((e) => JSON.stringify(e).includes('called the site POC')),
    'the note is in the journal',
  );
});

t.test('refusals are HikeshiProblemErrors with the problem code', async (t) => {
  const anonymous = createHikeshiClient({ baseUrl: node.url });
  const unauthenticated = await refusal(anonymous.GET('/api/v1/incidents'));
  t.equal(unauthenticated.status, 401);
  t.equal(unauthenticated.code, 'unauthenticated');
  t.equal(unauthenticated.problem?.type, 'urn:hikeshi:problem:unauthenticated');

  const reader = createHikeshiClient({ baseUrl: node.url, token: node.mint('reader') });
  const forbidden = await refusal(reader.POST('/api/v1/incidents', { body: example }));
  t.equal(forbidden.code, 'forbidden');
  t.equal(forbidden.status, 403);

  const missing = await refusal(handler.GET('/api/v1/incidents/{ref}', { params: { path: { ref: 'ALPHA#1999-404' } } }));
  t.equal(missing.code, 'not-found');
  t.match(missing.message, /^404 not-found: /);

  // A body the types would refuse, sent anyway: the node's validation answers, with a pointer.
  const invalid = await refusal(
    handler.POST('/api/v1/incidents', { body: { ...example, title: 42 } as unknown as Schemas['IncidentCreate'] }),
  );
  t.equal(invalid.status, 400);
  t.equal(invalid.code, 'validation-failed');
  t.ok(
    invalid.problem?.errors?.some((e) => e.pointer === '/title'),
    'the failing field is named',
  );
});

t.test('the CLI: peer commands through the client, refusals and silence as before', async (t) => {
  const admin = node.mint('admin');
  t.equal(await peerList(node.url, admin), 'No peers yet. Add one with: hikeshi peer add <url>');
  const unknownPeer = await peerVerify(node.url, admin, 'nobody').catch((err: unknown) => err);
  t.ok(unknownPeer instanceof NodeRefusedError, 'peer verify of an unknown team: refused');
  t.equal((unknownPeer as NodeRefusedError).code, 'not-found');
  const refused = await withClient(node.url, 'not-a-token', (c) => unwrap(c.GET('/api/v1/peers'))).catch((err: unknown) => err);
  t.ok(refused instanceof NodeRefusedError, 'a refusal');
  t.equal((refused as NodeRefusedError).status, 401);
  t.match((refused as NodeRefusedError).message, /^unauthenticated: /);
  const closed = await freePort();
  await t.rejects(
    withClient(`http://127.0.0.1:${closed}`, admin, (c) => unwrap(c.GET('/api/v1/peers'))),
    NodeUnreachableError,
    'nobody listening',
  );
});
