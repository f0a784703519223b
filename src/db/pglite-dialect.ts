import { Mutex, parse, protocol, type PGlite } from '@electric-sql/pglite';
import {
  PGliteDialect,
  type CompiledQuery,
  type DatabaseConnection,
  type Driver,
  type QueryResult,
  type TransactionSettings,
} from 'kysely';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { planChangedUnderStatement, PREPARED_STATEMENTS_PER_CONNECTION, worthPreparing } from './prepared-statements.js';

/**
 * Kysely's driver for the embedded engine, with prepared statements (ADR 0011, ADR 0015).
 *
 * 1. **One caller at a time**, as with Kysely's own driver (its runtime holds a mutex for an
 *    adapter with one connection). Here the caller also holds PGlite's own transaction lock
 *    from acquire to release, so direct users of the instance (a template dump) never
 *    interleave with a transaction.
 * 2. **Prepared statements** (ADR 0011). PGlite's `query` parses and plans every statement anew,
 *    in six calls into the engine. Planning in WebAssembly is most of the time a small
 *    statement takes (the planner measures each table and index it considers, a file-system
 *    call each), about half of what storing a group of received reports costs. Data statements
 *    are therefore parsed once under a name, described once, and then only bound and executed,
 *    in one call; PostgreSQL's plan cache keeps a generic plan after five custom ones when it
 *    costs no more, and keeps planning per call where a parameter's value matters (an address
 *    range, say). A bounded number of statements is kept; the least recently used is closed.
 */

/** The PGlite release this driver was written and measured against (package.json pins it exactly). */
export const PREPARED_DRIVER_PGLITE_VERSION = '0.5.16';

let installedVersion: { value: string | undefined } | null = null;

/** The installed PGlite's version, read once from its package.json (the package exports no version). */
export function installedPgliteVersion(): string | undefined {
  installedVersion ??= { value: readInstalledPgliteVersion() };
  return installedVersion.value;
}

function readInstalledPgliteVersion(): string | undefined {
  try {
    let dir = path.dirname(fileURLToPath(import.meta.resolve('@electric-sql/pglite')));
    for (let up = 0; up < 4; up++, dir = path.dirname(dir)) {
      try {
        const pkg = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as { name?: string; version?: string };
        if (pkg.name === '@electric-sql/pglite') return pkg.version;
      } catch {
        // not this directory
      }
    }
  } catch {
    // unresolvable: treated as unknown
  }
  return undefined;
}

type BackendMessage = Parameters<typeof parse.parseResults>[0][number];

interface Prepared {
  /** '' for the unnamed statement. */
  name: string;
  paramTypes: number[];
  /** The statement's row description, or null when it returns no rows. */
  rowDescription: BackendMessage | null;
}

function concat(parts: Uint8Array[]): Uint8Array {
  return parts.length === 1 ? parts[0]! : Buffer.concat(parts);
}

class PreparedConnection implements DatabaseConnection {
  readonly #pglite: PGlite;
  readonly #statements = new Map<string, Prepared>();
  /** Names of evicted statements, closed with the next message sent. */
  #toClose: string[] = [];
  #nextName = 1;
  /** Set while a transaction holds PGlite's transaction lock: resolves it to commit or roll back. */
  #transaction: { end: (commit: boolean) => void; closed: Promise<void> } | null = null;

  constructor(pglite: PGlite) {
    this.#pglite = pglite;
  }

  async executeQuery<R>(compiledQuery: CompiledQuery): Promise<QueryResult<R>> {
    const run = () => this.#pglite.runExclusive(() => this.#run(compiledQuery.sql, compiledQuery.parameters));
    try {
      // Outside a transaction, hold PGlite's transaction lock as its own `query` does, so that
      // direct users of the instance (a template dump, say) never interleave with us.
      const messages = this.#transaction ? await run() : await this.#pglite._runExclusiveTransaction(run);
      if (!this.#transaction) await this.#pglite.syncToFs();
      const [result] = parse.parseResults(messages, this.#pglite.parsers, { rowMode: 'object' });
      return {
        numAffectedRows: result?.affectedRows != null ? BigInt(result.affectedRows) : undefined,
        rows: (result?.rows ?? []) as R[],
      };
    } catch (error) {
      if (error instanceof Error) Error.captureStackTrace(error);
      throw error;
    }
  }

  // eslint-disable-next-line require-yield
  async *streamQuery<R>(): AsyncIterableIterator<QueryResult<R>> {
    throw new Error('streaming is not supported by the embedded engine');
  }

  /** The backend messages of one statement, its row description first when it has one. */
  async #run(sql: string, parameters: readonly unknown[], retry = true): Promise<BackendMessage[]> {
    const prepared = await this.#prepare(sql);
    try {
      return await this.#execute(prepared, parameters);
    } catch (error) {
      if (!prepared.name || !planChangedUnderStatement(error)) throw error;
      // A table changed under the statement (DDL at run time): prepare it again. Inside a
      // transaction the error has aborted it, and the caller sees it as with any failed statement.
      this.#evict(sql);
      if (retry && !this.#transaction) return this.#run(sql, parameters, false);
      throw error;
    }
  }

  async #execute(prepared: Prepared, parameters: readonly unknown[]): Promise<BackendMessage[]> {
    const values = parameters.map((value, i) => {
      if (value === null || value === undefined) return null;
      const serialize = this.#pglite.serializers[prepared.paramTypes[i]!];
      return serialize ? (serialize(value) as string | Uint8Array) : String(value);
    });
    const messages = await this.#send([
      protocol.serialize.bind({ statement: prepared.name, values: values as string[] }),
      protocol.serialize.execute({}),
      protocol.serialize.sync(),
    ]);
    return prepared.rowDescription ? [prepared.rowDescription, ...messages] : messages;
  }

  async #prepare(sql: string): Promise<Prepared> {
    const known = this.#statements.get(sql);
    if (known) {
      // Most recently used last: the map's first entry is the one to evict.
      this.#statements.delete(sql);
      this.#statements.set(sql, known);
      return known;
    }
    const name = worthPreparing(sql) ? `hikeshi_${this.#nextName++}` : '';
    const described = await this.#send([
      protocol.serialize.parse({ name, text: sql }),
      protocol.serialize.describe({ type: 'S', name }),
      protocol.serialize.sync(),
    ]);
    const prepared: Prepared = {
      name,
      paramTypes: parse.parseDescribeStatementResults(described),
      rowDescription: described.find((m) => m.name === 'rowDescription') ?? null,
    };
    if (name) {
      this.#statements.set(sql, prepared);
      if (this.#statements.size > PREPARED_STATEMENTS_PER_CONNECTION) this.#evict(this.#statements.keys().next().value as string);
    }
    return prepared;
  }

  #evict(sql: string): void {
    const prepared = this.#statements.get(sql);
    if (!prepared) return;
    this.#statements.delete(sql);
    this.#toClose.push(prepared.name);
  }

  /** Sends messages in one call into the engine (closing evicted statements first). */
  async #send(messages: Uint8Array[]): Promise<BackendMessage[]> {
    const closing = this.#toClose.map((name) => protocol.serialize.close({ type: 'S', name }));
    this.#toClose = [];
    return this.#pglite.execProtocolStream(concat([...closing, ...messages]), { syncToFs: false });
  }

  async beginTransaction(settings: TransactionSettings): Promise<void> {
    // One connection, transactions one at a time: every transaction is serializable in effect,
    // and a setting asked for would otherwise be ignored without a word.
    if (settings.isolationLevel || settings.accessMode) throw new Error('the embedded engine takes no transaction settings');
    let end!: (commit: boolean) => void;
    const decided = new Promise<boolean>((resolve) => (end = resolve));
    let begun!: () => void;
    const started = new Promise<void>((resolve) => (begun = resolve));
    // PGlite's own transaction: it holds the instance's transaction lock, and its COMMIT throws
    // for a transaction that had failed.
    const closed = this.#pglite.transaction(async (tx) => {
      begun();
      if (!(await decided)) await tx.rollback();
    });
    this.#transaction = { end, closed };
    try {
      await Promise.race([started, closed]);
    } catch (error) {
      // BEGIN itself failed: no transaction holds the connection.
      this.#transaction = null;
      throw error;
    }
  }

  async endTransaction(commit: boolean): Promise<void> {
    const transaction = this.#transaction;
    if (!transaction) return;
    transaction.end(commit);
    try {
      await transaction.closed;
    } catch (error) {
      if (commit) throw error;
    } finally {
      this.#transaction = null;
    }
  }
}

class PreparedPGliteDriver implements Driver {
  readonly #pglite: PGlite;
  readonly #mutex = new Mutex();
  readonly #connection: PreparedConnection;
  #unlock: (() => void) | null = null;

  constructor(pglite: PGlite) {
    this.#pglite = pglite;
    this.#connection = new PreparedConnection(pglite);
  }

  async init(): Promise<void> {
    if (this.#pglite.closed) throw new Error('the embedded database is closed');
    await this.#pglite.waitReady;
  }

  async acquireConnection(): Promise<DatabaseConnection> {
    this.#unlock = await this.#mutex.acquire();
    return this.#connection;
  }

  async releaseConnection(): Promise<void> {
    const unlock = this.#unlock;
    this.#unlock = null;
    unlock?.();
  }

  beginTransaction(connection: DatabaseConnection, settings: TransactionSettings): Promise<void> {
    return (connection as PreparedConnection).beginTransaction(settings);
  }

  commitTransaction(connection: DatabaseConnection): Promise<void> {
    return (connection as PreparedConnection).endTransaction(true);
  }

  rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    return (connection as PreparedConnection).endTransaction(false);
  }

  async destroy(): Promise<void> {
    if (!this.#pglite.closed) await this.#pglite.close();
  }
}

export class PreparedPGliteDialect extends PGliteDialect {
  readonly #pglite: PGlite;
  constructor(config: { pglite: PGlite }) {
    super(config);
    this.#pglite = config.pglite;
  }
  override createDriver(): Driver {
    return new PreparedPGliteDriver(this.#pglite);
  }
}
