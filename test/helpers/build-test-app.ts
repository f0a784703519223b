import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/app.js';
import type { Clock } from '../../src/clock.js';
export { freePort } from '../../src/util/free-port.js';
import { freePort } from '../../src/util/free-port.js';
import { deliveryEnv, loadConfig, type Config } from '../../src/config.js';
import type { NodeSigner } from '../../src/crypto/index.js';
import type { DatabaseHandle } from '../../src/db/database.js';
import { initNode } from '../../src/node-init.js';
import { KEY_FILE } from '../../src/modules/profile/node-identity.js';
import { mintApiToken, type Role } from '../../src/modules/tokens/token-codec.js';
import { loadFixtureKey, type FixtureKeyName } from '../fixtures/keys/index.js';
import { createTestDatabase } from './test-database.js';

/** The parts of tap's Test these helpers use, so helpers do not depend on tap's types. */
export interface Teardown {
  teardown(fn: () => unknown): void;
}

export interface TestNode {
  app: FastifyInstance;
  /** http://127.0.0.1:<port> when listening. */
  url: string;
  config: Config;
  database: DatabaseHandle;
  signer: NodeSigner;
  tokenSecret: string;
  /** Bearer headers for each role, minted for this node. */
  auth: Record<Role, { authorization: string }>;
  mint(role: Role, subject?: string): string;
}

export interface TestNodeOptions {
  /** Fixture key (and team id) of this node: 'alpha' by default. */
  key?: FixtureKeyName;
  config?: Partial<Config>;
  clock?: Clock;
  /** Listen on a free loopback port (publicUrl points there), for tests that cross real HTTP. */
  listen?: boolean;
  /** Start the federation worker (outbox delivery) after listening. */
  startWorker?: boolean;
  fetch?: typeof fetch;
  /** Log with pino into this stream (at config.logLevel) instead of not at all: tests that read the logs. */
  logStream?: { write(line: string): void };
}

/** A node built on a fresh database, torn down with the test. */
export async function buildTestNode(t: Teardown, options: TestNodeOptions = {}): Promise<TestNode> {
  // A port picked free can still be taken before listen by another file's pick; build again on one.
  for (let attempt = 1; ; attempt++) {
    try {
      return await buildOnce(t, options);
    } catch (error) {
      if (!options.listen || attempt >= 3 || (error as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw error;
    }
  }
}

async function buildOnce(t: Teardown, options: TestNodeOptions): Promise<TestNode> {
  const keyName = options.key ?? 'alpha';
  const fixture = loadFixtureKey(keyName);
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'hikeshi-test-'));
  // The fixture key goes where init looks for it, so no test pays for key generation.
  await writeFile(path.join(dataDir, KEY_FILE), fixture.armoredPrivateKey, { mode: 0o600 });
  const teamId = fixture.teamId;
  const port = options.listen ? await freePort() : 0;
  const config = loadConfig(deliveryEnv(), {
    dataDir,
    teamId,
    teamName: `Team ${teamId}`,
    referencePrefix: teamId.toUpperCase().replace(/[^A-Z0-9]/g, ''),
    keyPassphrase: fixture.passphrase ?? null,
    logLevel: 'silent',
    // Test files send bursts from one loopback address; the limit has tests of its own.
    rateLimitPerMinute: 0,
    peerRateLimitPerMinute: 0,
    ...(options.listen ? { port, host: '127.0.0.1', publicUrl: `http://127.0.0.1:${port}` } : {}),
    ...options.config,
  });
  const testDb = await createTestDatabase();
  const init = await initNode(config, testDb.handle, { migrate: false });
  const app = await buildApp({
    config,
    database: testDb.handle,
    signer: init.signer,
    tokenSecret: init.tokenSecret,
    ...(options.logStream ? { logStream: options.logStream } : { logger: false }),
    ...(options.clock ? { clock: options.clock } : {}),
    ...(options.fetch ? { fetch: options.fetch } : {}),
    // Real scrypt at 1 MiB: a test signs in dozens of times (test/accounts/password-hash.test.ts checks the real cost).
    passwordParameters: { ln: 10, r: 8, p: 1 },
  });
  const teardown = async () => {
    await app.close();
    await testDb.drop();
    await rm(dataDir, { recursive: true, force: true });
  };
  if (options.listen) {
    try {
      await app.listen({ port, host: '127.0.0.1' });
    } catch (error) {
      await teardown();
      throw error;
    }
  }
  if (options.startWorker) app.federation.start();
  t.teardown(teardown);
  const mint = (role: Role, subject = `${role}-user`) => mintApiToken(init.tokenSecret, { role, subject, issuer: teamId }).token;
  const bearer = (role: Role) => ({ authorization: `Bearer ${mint(role)}` });
  return {
    app,
    url: config.publicUrl,
    config,
    database: testDb.handle,
    signer: init.signer,
    tokenSecret: init.tokenSecret,
    auth: { reader: bearer('reader'), handler: bearer('handler'), admin: bearer('admin') },
    mint,
  };
}
