import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { KEY_FILE } from '../../src/modules/profile/node-identity.js';
import { projectRoot } from '../../src/project-root.js';
import { loadFixtureKey } from '../fixtures/keys/index.js';
import { waitFor } from './federation-harness.js';
import { createTestDatabase, dropServerSchema, TEST_DATABASE_URL } from './test-database.js';

/**
 * Where alpha's child process keeps its data: a new data directory holding alpha's fixture key
 * and, on the server engine, a migrated schema of its own; both removed at `t`'s teardown.
 */
export async function alphaProcessStorage(
  t: { teardown(fn: () => unknown): void },
  prefix: string,
): Promise<{ dataDir: string; schema: string | null }> {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), prefix));
  await writeFile(path.join(dataDir, KEY_FILE), loadFixtureKey('alpha').armoredPrivateKey, { mode: 0o600 });
  t.teardown(() => rm(dataDir, { recursive: true, force: true }));
  if (!TEST_DATABASE_URL) return { dataDir, schema: null };
  const database = await createTestDatabase();
  const schema = database.schema!;
  await database.handle.close();
  t.teardown(() => dropServerSchema(schema));
  return { dataDir, schema };
}

/**
 * Team alpha's node as a child process (`hikeshi serve`), for the tests that kill processes:
 * quick delivery retries and a short lease, its database in `schema` on the test server (or the
 * embedded one in `dataDir`). Resolves once /readyz answers; rejects with the end of its stderr
 * if it exits first.
 */
export async function startNodeProcess(options: {
  name: string;
  dataDir: string;
  port: number;
  publicUrl: string;
  tokenSecret: string;
  schema: string | null;
  /** How long the first start may take (a loaded machine migrates slowly); 60 s by default. */
  readyTimeoutMs?: number;
  /** The CLI to run (default: src/cli/run.ts through tsx); a built one runs with node alone. */
  script?: string;
  /** More environment (after the defaults). */
  env?: Record<string, string>;
}): Promise<ChildProcess> {
  const url = `http://127.0.0.1:${options.port}`;
  const cli = options.script ? [options.script] : ['--import', 'tsx', path.join(projectRoot(), 'src/cli/run.ts')];
  const child = spawn(process.execPath, [...cli, 'serve'], {
    cwd: projectRoot(),
    env: {
      ...process.env,
      HIKESHI_DATA_DIR: options.dataDir,
      HIKESHI_TEAM_ID: 'alpha',
      HIKESHI_TEAM_NAME: 'Team alpha',
      HIKESHI_HOST: '127.0.0.1',
      HIKESHI_PORT: String(options.port),
      HIKESHI_PUBLIC_URL: options.publicUrl,
      HIKESHI_TOKEN_SECRET: options.tokenSecret,
      HIKESHI_LOG_LEVEL: 'silent',
      HIKESHI_DELIVERY_POLL_MS: '50',
      HIKESHI_DELIVERY_RETRY_BASE_MS: '100',
      HIKESHI_DELIVERY_RETRY_MAX_MS: '400',
      HIKESHI_DELIVERY_TIMEOUT_MS: '1000',
      HIKESHI_DELIVERY_LEASE_SECONDS: '2',
      ...(TEST_DATABASE_URL && options.schema ? { HIKESHI_DATABASE_URL: TEST_DATABASE_URL, HIKESHI_DATABASE_SCHEMA: options.schema } : {}),
      ...options.env,
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (c: Buffer) => (stderr += c.toString()));
  const exited = new Promise<never>((_, reject) =>
    child.once('exit', (code, signal) => reject(new Error(`${options.name} exited (${code ?? signal}): ${stderr.slice(-2000)}`))),
  );
  exited.catch(() => {});
  await Promise.race([
    exited,
    waitFor(`${options.name} ready`, async () => (await fetch(`${url}/readyz`)).ok, options.readyTimeoutMs ?? 60_000, 100),
  ]);
  return child;
}
