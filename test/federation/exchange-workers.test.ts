import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import t from 'tap';
import { buildApp } from '../../src/app.js';
import { deliveryEnv, loadConfig } from '../../src/config.js';
import { openDatabase } from '../../src/db/database.js';
import { initNode } from '../../src/node-init.js';
import { KEY_FILE } from '../../src/modules/profile/node-identity.js';
import { mintApiToken } from '../../src/modules/tokens/token-codec.js';
import { loadFixtureKey } from '../fixtures/keys/index.js';
import { buildTestNode, freePort } from '../helpers/build-test-app.js';
import { createTestDatabase, TEST_DATABASE_URL } from '../helpers/test-database.js';
import { EXAMPLE_INCIDENT, enc, fastDelivery, findByExternalRef, waitFor } from '../helpers/federation-harness.js';

/**
 * Two sending processes on one PostgreSQL: two app instances of one node (alpha) on the same
 * schema, each with its own connection pool and its own delivery worker, claim from one outbox.
 * Every message must be posted exactly once. Needs a server: PGlite is one process by design.
 */
const skip = TEST_DATABASE_URL
  ? false
  : 'needs HIKESHI_TEST_DATABASE_URL (two processes share one PostgreSQL server; PGlite is single-process)';

t.test('two delivery workers on one database never send a message twice', { skip, timeout: 300_000 }, async (t) => {
  fastDelivery();
  const bravo = await buildTestNode(t, { key: 'bravo', listen: true });

  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'hikeshi-workers-'));
  t.teardown(() => rm(dataDir, { recursive: true, force: true }));
  await writeFile(path.join(dataDir, KEY_FILE), loadFixtureKey('alpha').armoredPrivateKey, { mode: 0o600 });
  const port = await freePort();
  const config = loadConfig(deliveryEnv(), {
    dataDir,
    teamId: 'alpha',
    teamName: 'Team alpha',
    referencePrefix: 'ALPHA',
    logLevel: 'silent',
    host: '127.0.0.1',
    port,
    publicUrl: `http://127.0.0.1:${port}`,
  });
  const first = await createTestDatabase();
  t.teardown(() => first.drop());
  const second = await openDatabase({ url: TEST_DATABASE_URL!, schema: first.schema!, poolSize: 5 });
  const init = await initNode(config, first.handle);

  const sent: Array<{ worker: number; id: string }> = [];
  const counting =
    (worker: number): typeof fetch =>
    async (input, init) => {
      if (String(input).endsWith('/federation/v1/messages')) {
        const body = JSON.parse(String(init?.body)) as { document: { id: string } };
        sent.push({ worker, id: body.document.id });
      }
      return fetch(input, init);
    };
  const apps: FastifyInstance[] = [];
  for (const [i, database] of [first.handle, second].entries()) {
    const app = await buildApp({
      config,
      database,
      signer: init.signer,
      tokenSecret: init.tokenSecret,
      logger: false,
      fetch: counting(i),
    });
    apps.push(app);
  }
  t.teardown(async () => {
    for (const app of apps) await app.close();
    await second.close();
  });
  await apps[0]!.listen({ port, host: '127.0.0.1' });
  const admin = {
    authorization: `Bearer ${mintApiToken(init.tokenSecret, { role: 'admin', subject: 'workers-test', issuer: 'alpha' }).token}`,
  };

  t.equal((await apps[0]!.inject({ method: 'POST', url: '/api/v1/peers', headers: admin, payload: { url: bravo.url } })).statusCode, 201);
  // The sharing policy: TLP:AMBER needs a partner whose key was confirmed.
  t.equal(
    (
      await apps[0]!.inject({
        method: 'PATCH',
        url: '/api/v1/peers/bravo',
        headers: admin,
        payload: { trustLevel: 'partner' },
      })
    ).statusCode,
    200,
  );
  t.equal(
    (
      await apps[0]!.inject({
        method: 'POST',
        url: '/api/v1/peers/bravo/verify',
        headers: admin,
        payload: { fingerprint: bravo.signer.fingerprint },
      })
    ).statusCode,
    200,
  );
  t.equal(
    (
      await bravo.app.inject({
        method: 'POST',
        url: '/api/v1/peers',
        headers: bravo.auth.admin,
        payload: { url: config.publicUrl },
      })
    ).statusCode,
    201,
  );
  for (const app of apps) app.federation.start();

  // Many shares and updates, written through both instances while both workers run.
  const refs: string[] = [];
  const write = async (app: FastifyInstance, i: number) => {
    const created = await app.inject({
      method: 'POST',
      url: '/api/v1/incidents',
      headers: admin,
      payload: { ...EXAMPLE_INCIDENT, title: `parallel ${i}` },
    });
    const ref = created.json().ref as string;
    refs.push(ref);
    t.equal(
      (
        await app.inject({
          method: 'POST',
          url: `/api/v1/incidents/${enc(ref)}/shares`,
          headers: admin,
          payload: { peer: 'bravo' },
        })
      ).statusCode,
      202,
    );
    t.equal(
      (
        await app.inject({
          method: 'POST',
          url: `/api/v1/incidents/${enc(ref)}/journal`,
          headers: admin,
          payload: { note: `note ${i}` },
        })
      ).statusCode,
      201,
    );
  };
  await Promise.all(Array.from({ length: 30 }, (_, i) => write(apps[i % 2]!, i)));

  await waitFor(
    'all delivered',
    async () => {
      const row = await first.handle.db
        .selectFrom('outbound_message')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('state', '<>', 'delivered')
        .executeTakeFirstOrThrow();
      return Number(row.n) === 0;
    },
    120_000,
    100,
  );
  const total = await first.handle.db
    .selectFrom('outbound_message')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .executeTakeFirstOrThrow();
  t.equal(Number(total.n), 60, '30 reports and 30 updates');
  const perId = new Map<string, number>();
  for (const s of sent) perId.set(s.id, (perId.get(s.id) ?? 0) + 1);
  t.equal(perId.size, 60, 'every message was posted');
  t.same(
    [...perId.values()].filter((n) => n !== 1),
    [],
    'and each exactly once',
  );
  t.ok(
    sent.some((s) => s.worker === 0) && sent.some((s) => s.worker === 1),
    `both workers delivered (${sent.filter((s) => s.worker === 0).length} / ${sent.filter((s) => s.worker === 1).length})`,
  );
  for (const ref of refs) t.equal((await findByExternalRef(bravo, ref)).length, 1);
});
