import { PGliteDialect, type DatabaseConnection, type Driver, type PGliteDialectConfig } from 'kysely';

/**
 * PGlite is one connection. Kysely 0.29's PGlite driver hands that one connection to every
 * caller, so a plain query issued while another request holds a transaction would run inside
 * that transaction. We serialise access: a caller holds the connection from acquire to release
 * (a whole transaction, or one query), which gives the same isolation a pool gives on a server.
 */
class Mutex {
  #tail: Promise<void> = Promise.resolve();
  lock(): Promise<() => void> {
    let release!: () => void;
    const next = new Promise<void>((resolve) => (release = resolve));
    const ready = this.#tail.then(() => release);
    this.#tail = this.#tail.then(() => next);
    return ready;
  }
}

function serialise(driver: Driver): Driver {
  const mutex = new Mutex();
  const releases = new WeakMap<DatabaseConnection, Array<() => void>>();
  const acquire = driver.acquireConnection.bind(driver);
  const release = driver.releaseConnection.bind(driver);
  driver.acquireConnection = async (...args: Parameters<Driver['acquireConnection']>) => {
    const unlock = await mutex.lock();
    const connection = await acquire(...args);
    const stack = releases.get(connection) ?? [];
    stack.push(unlock);
    releases.set(connection, stack);
    return connection;
  };
  driver.releaseConnection = async (connection: DatabaseConnection) => {
    await release(connection);
    releases.get(connection)?.shift()?.();
  };
  return driver;
}

export class SerialPGliteDialect extends PGliteDialect {
  constructor(config: PGliteDialectConfig) {
    super(config);
  }
  override createDriver(): Driver {
    return serialise(super.createDriver());
  }
}
