import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import pg from 'pg';
import { openDatabase, SMALL_SHARED_BUFFERS_MB, type DatabaseHandle } from '../../src/db/database.js';
import { migrateToLatest } from '../../src/db/migrator.js';
import { projectRoot } from '../../src/project-root.js';

/**
 * A fresh, migrated database for one test (or one node of a multi-node test).
 * - With HIKESHI_TEST_DATABASE_URL: a new schema on that PostgreSQL server, dropped afterwards,
 *   so test files run in parallel against one server.
 * - Otherwise: an in-memory PGlite loaded from a migrated template tarball that the first test
 *   process makes and caches (keyed by the migrations' content), because opening a template
 *   takes a fraction of migrating a fresh PGlite.
 */
export const TEST_DATABASE_URL = process.env.HIKESHI_TEST_DATABASE_URL || null;

export interface TestDatabase {
  handle: DatabaseHandle;
  /** Set for server databases: what HIKESHI_DATABASE_SCHEMA a child process must use. */
  schema: string | null;
  drop(): Promise<void>;
}

function migrationsDigest(): string {
  const dir = path.join(projectRoot(), 'migrations');
  const hash = createHash('sha256');
  for (const f of readdirSync(dir).sort()) hash.update(f).update(readFileSync(path.join(dir, f)));
  return hash.digest('hex').slice(0, 16);
}

const SCHEMA_LOCK_KEY = 0x48494b45534348; // "HIKESCH"

async function withSchemaLock<T>(mode: 'shared' | 'exclusive', fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: TEST_DATABASE_URL! });
  await client.connect();
  const suffix = mode === 'shared' ? '_shared' : '';
  try {
    await client.query(`SELECT pg_advisory_lock${suffix}($1)`, [SCHEMA_LOCK_KEY]);
    try {
      return await fn(client);
    } finally {
      await client.query(`SELECT pg_advisory_unlock${suffix}($1)`, [SCHEMA_LOCK_KEY]);
    }
  } finally {
    await client.end();
  }
}

let templatePromise: Promise<Uint8Array> | undefined;

async function embeddedTemplate(): Promise<Uint8Array> {
  const cacheDir = path.join(projectRoot(), '.hikeshi-test-cache');
  const file = path.join(cacheDir, `template-${migrationsDigest()}.tar`);
  // One copy per process, read in place by every open (openDatabase's `template`).
  if (existsSync(file)) return new Uint8Array(await readFile(file));
  const fresh = await openDatabase({ sharedBuffersMb: SMALL_SHARED_BUFFERS_MB });
  try {
    await migrateToLatest(fresh.db, null);
    const bytes = new Uint8Array(await (await fresh.dumpTemplate!()).arrayBuffer());
    await mkdir(cacheDir, { recursive: true });
    // Parallel test processes may race here; rename is atomic, so readers never see half a file.
    const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}`;
    await writeFile(tmp, bytes);
    await rename(tmp, file);
    return bytes;
  } finally {
    await fresh.close();
  }
}

/**
 * Drops a schema a test made on the server (for a child process, say), under the same lock as
 * every other drop: a drop while another file's migrator lists schemas would fail that migrator.
 */
export async function dropServerSchema(schema: string): Promise<void> {
  await withSchemaLock('exclusive', async (client) => {
    await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  });
}

export async function createTestDatabase(): Promise<TestDatabase> {
  if (TEST_DATABASE_URL) {
    const schema = `t_${randomBytes(6).toString('hex')}`;
    const handle = await openDatabase({ url: TEST_DATABASE_URL, schema, poolSize: 5 });
    // Kysely's migrator lists the tables of every schema; a schema dropped by another test
    // process meanwhile makes that listing fail. Migrations share a lock that drops take alone.
    await withSchemaLock('shared', () => migrateToLatest(handle.db, schema));
    return {
      handle,
      schema,
      async drop() {
        await handle.close();
        await dropServerSchema(schema);
      },
    };
  }
  templatePromise ??= embeddedTemplate();
  // A test database holds a few MB: a small buffer pool opens in about half the CPU (ADR 0033).
  const handle = await openDatabase({ template: await templatePromise, sharedBuffersMb: SMALL_SHARED_BUFFERS_MB });
  return { handle, schema: null, drop: () => handle.close() };
}
