import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { Kysely, PGliteDialect, PostgresDialect, type Transaction } from 'kysely';
import type pg from 'pg';
import type { DatabaseSchema } from './tables.js';
import { installedPgliteVersion, PreparedPGliteDialect, PREPARED_DRIVER_PGLITE_VERSION } from './pglite-dialect.js';
import { lockDataDir } from './data-dir-lock.js';
import { JsonbParameter } from './jsonb-parameter.js';
import { planChangedUnderStatement, PREPARED_STATEMENTS_PER_CONNECTION, worthPreparing } from './prepared-statements.js';

export type Engine = 'pglite' | 'postgres';
export type Db = Kysely<DatabaseSchema>;
export type Tx = Transaction<DatabaseSchema>;
/** Repository functions take either; a function that needs a transaction asks for `Tx`. */
export type DbOrTx = Db | Tx;

export interface DatabaseHandle {
  readonly db: Db;
  readonly engine: Engine;
  /** Schema the tables live in on a server (null: the connection's default). */
  readonly schema: string | null;
  close(): Promise<void>;
  /** Embedded engine only: the database as a tarball, so tests can start from a migrated template. */
  dumpTemplate?: () => Promise<Blob>;
}

export interface OpenDatabaseOptions {
  /** A PostgreSQL URL: use a `pg` pool against that server. */
  url?: string | null;
  /** Tables go into this schema (created if missing); tests use one schema per test file. */
  schema?: string | null;
  /** Embedded engine: where PGlite persists. Null means in memory. */
  dataDir?: string | null;
  /**
   * Embedded engine: start from a dump made by `dumpTemplate` (a migrated template). Bytes are
   * read in place and never changed, so one copy in memory serves every database a process
   * opens from it (a Blob is read into memory again at each open: about 0.2 to 0.8 s of CPU for
   * the ~44 MB template on Node.js 20).
   */
  template?: Blob | Uint8Array | null;
  poolSize?: number;
  /**
   * Embedded engine: 'prepared' (our driver, ADR 0011, the default where the installed PGlite is
   * the version it was written against) or 'kysely' (Kysely's own PGliteDialect).
   */
  embeddedDriver?: EmbeddedDriver;
  /**
   * Embedded engine: PostgreSQL's buffer pool in MB; its default (128) when absent. PGlite
   * zeroes the whole pool inside WebAssembly as it starts: opening a data directory took about
   * 0.8 s of CPU with 128 MB and 0.3 s with 16 MB (ADR 0033). A serving node keeps the default,
   * which saves reading hot pages through the file system again; one-shot commands and test
   * databases, which touch a few MB, ask for less.
   */
  sharedBuffersMb?: number;
}

/** The buffer pool for processes that open the database briefly (one command, one test database). */
export const SMALL_SHARED_BUFFERS_MB = 16;

export type EmbeddedDriver = 'prepared' | 'kysely';

/**
 * The one switch for the embedded driver. The prepared driver speaks PGlite's wire protocol
 * through two of its internal methods, so it runs only on the PGlite version it was measured on;
 * any other version gets Kysely's driver (correct, slower: ADR 0001, 0011).
 */
function embeddedDriverFor(requested: EmbeddedDriver | undefined, pgliteVersion: string | undefined): EmbeddedDriver {
  if (requested) return requested;
  return pgliteVersion === PREPARED_DRIVER_PGLITE_VERSION ? 'prepared' : 'kysely';
}

let serverDriver: Promise<typeof pg> | undefined;

/** The server driver, loaded when a server database is opened: an embedded node never loads it (issue 18: cold start). */
function loadServerDriver(): Promise<typeof pg> {
  return (serverDriver ??= import('pg').then(({ default: driver }) => {
    // int8 (bigserial sequences, counts) as JS numbers: our sequences stay far below 2^53, and
    // both engines then hand repositories the same types.
    driver.types.setTypeParser(20, (v: string) => Number(v));
    return driver;
  }));
}

/**
 * Transactions worth running at once for throughput (group commit): the embedded engine has one
 * connection, so one; a server overlaps one transaction's round trips with the next one's work.
 */
const parallelTransactions = new WeakMap<Db, number>(); // servers only
const SERVER_PARALLEL_TRANSACTIONS = 2;

export function transactionsAtOnce(db: Db): number {
  return parallelTransactions.get(db) ?? 1;
}

/**
 * Whether two transactions can ever run at once: on a server, always (other node processes may
 * share it too). The embedded engine has one connection, which a transaction holds from begin to
 * commit (pglite-dialect.ts), and its data directory is locked to one process: a lock taken
 * inside a transaction there can never be contended, and callers skip advisory locks, each a
 * statement of its own, that would only cost time.
 */
export function transactionsOverlap(db: Db): boolean {
  return parallelTransactions.has(db);
}

export async function openDatabase(options: OpenDatabaseOptions): Promise<DatabaseHandle> {
  if (options.url) return openServer(options.url, options.schema ?? null, options.poolSize ?? 10);
  return openEmbedded(options.dataDir ?? null, options.template ?? null, options.embeddedDriver, options.sharedBuffersMb);
}

/**
 * Data statements are prepared under a name on each server connection (ADR 0011): the server
 * then plans a statement once per connection instead of on every call, and a group commit's
 * statements, each a round trip while the reference-number counter is locked, take less of that
 * time. The first PREPARED_STATEMENTS_PER_CONNECTION distinct texts get names (a bound on each
 * connection's memory); any others run unnamed, as before.
 */
const statementNames = new Map<string, string | null>(); // null: run unnamed from now on
let statementsNamed = 0;

function statementName(text: string): string | null {
  let name = statementNames.get(text);
  if (name === undefined) {
    name = statementsNamed < PREPARED_STATEMENTS_PER_CONNECTION && worthPreparing(text) ? `hikeshi_${++statementsNamed}` : null;
    if (name) statementNames.set(text, name);
  }
  return name;
}

function prepareStatementsOn(client: pg.PoolClient): void {
  const query = client.query.bind(client) as (config: string | pg.QueryConfig, values?: unknown[]) => Promise<pg.QueryResult>;
  (client as { query: unknown }).query = (text: unknown, values?: unknown[]) => {
    const name = typeof text === 'string' ? statementName(text) : null;
    if (!name) return query(text as string | pg.QueryConfig, values);
    return query({ text: text as string, values: values ?? [], name }).catch((err: unknown) => {
      // A table changed under the statement: it fails this once and runs unnamed from then on
      // (telling every connection to prepare it again is not worth it for DDL at run time).
      if (planChangedUnderStatement(err)) statementNames.set(text as string, null);
      throw err;
    });
  };
}

async function openServer(url: string, schema: string | null, poolSize: number): Promise<DatabaseHandle> {
  const driver = await loadServerDriver();
  if (schema) {
    const admin = new driver.Client({ connectionString: url });
    await admin.connect();
    try {
      await admin.query(`CREATE SCHEMA IF NOT EXISTS "${schema}"`);
    } finally {
      await admin.end();
    }
  }
  // JIT off: the node's statements are short look-ups and writes, and PostgreSQL compiles any
  // statement whose estimate passes jit_above_cost. A group's look-up over addresses it cannot
  // count (a JSON array) is estimated at a hundred of them and spent 245 ms compiling to run in
  // 3 ms (ADR 0031, "Look-ups read in groups"). The embedded engine has no JIT either.
  const options = ['-c jit=off', ...(schema ? [`-c search_path="${schema}"`] : [])].join(' ');
  const pool = new driver.Pool({ connectionString: url, max: poolSize, options });
  pool.on('connect', prepareStatementsOn);
  const db = new Kysely<DatabaseSchema>({ dialect: new PostgresDialect({ pool }) });
  parallelTransactions.set(db, Math.max(1, Math.min(SERVER_PARALLEL_TRANSACTIONS, poolSize - 1)));
  return { db, engine: 'postgres', schema, close: () => db.destroy() };
}

const JSONB_OID = 3802;

/**
 * PGlite's jsonb serializer, except that a JsonbParameter goes in jsonb's binary form: PGlite
 * passes a byte array through as it is, and a binary parameter skips its text encoder
 * (jsonb-parameter.ts).
 */
function serializeJsonb(value: unknown): string | Uint8Array {
  if (value instanceof JsonbParameter) return value.binary();
  if (typeof value === 'string') return value;
  return JSON.stringify(value, (_key, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
}

/**
 * A tarball in memory as PGlite's loader reads it: it asks only for the type and the bytes, and
 * untars from views of them into its own file system (copying), so the same bytes serve again.
 */
function tarballOf(bytes: Uint8Array): Blob {
  const whole = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength ? bytes : bytes.slice();
  const buffer = whole.buffer as ArrayBuffer;
  return { type: 'application/x-tar', size: buffer.byteLength, arrayBuffer: () => Promise.resolve(buffer) } as unknown as Blob;
}

async function openEmbedded(
  dataDir: string | null,
  template: Blob | Uint8Array | null,
  driver?: EmbeddedDriver,
  sharedBuffersMb?: number,
): Promise<DatabaseHandle> {
  let pgDir: string | undefined;
  let unlock = () => {};
  if (dataDir) {
    pgDir = path.join(dataDir, 'pgdata');
    mkdirSync(pgDir, { recursive: true });
    unlock = lockDataDir(dataDir);
  }
  let pglite: PGlite;
  try {
    pglite = await PGlite.create(pgDir, {
      ...(template ? { loadDataDir: template instanceof Uint8Array ? tarballOf(template) : template } : {}),
      ...(sharedBuffersMb !== undefined
        ? { startParams: [...PGlite.defaultStartParams, '-c', `shared_buffers=${sharedBuffersMb}MB`] }
        : {}),
      parsers: { 20: (v: string) => Number(v) },
      serializers: { [JSONB_OID]: serializeJsonb as (value: unknown) => string },
    });
  } catch (err) {
    unlock();
    throw err;
  }
  // A new WAL segment is otherwise written full of zeros first (16 MB, every thousand or so
  // received reports), which buys nothing here: PGlite runs without fsync (README), and a
  // segment created by size alone reads back the same.
  await pglite.exec('SET wal_init_zero = off');
  const dialect =
    embeddedDriverFor(driver, installedPgliteVersion()) === 'prepared'
      ? new PreparedPGliteDialect({ pglite })
      : new PGliteDialect({ pglite });
  const db = new Kysely<DatabaseSchema>({ dialect });
  return {
    db,
    engine: 'pglite',
    schema: null,
    close: async () => {
      try {
        await db.destroy();
        // Kysely closes PGlite only if a query ever ran; make sure it is closed before unlocking.
        if (!pglite.closed) await pglite.close();
      } finally {
        unlock();
      }
    },
    dumpTemplate: async () => {
      await pglite.query('CHECKPOINT');
      return pglite.dumpDataDir('none');
    },
  };
}
