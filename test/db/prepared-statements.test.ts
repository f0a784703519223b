import { sql } from 'kysely';
import t from 'tap';
import { PREPARED_STATEMENTS_PER_CONNECTION } from '../../src/db/prepared-statements.js';
import { openDatabase, type Tx } from '../../src/db/database.js';
import { installedPgliteVersion, PREPARED_DRIVER_PGLITE_VERSION } from '../../src/db/pglite-dialect.js';
import { createTestDatabase } from '../helpers/test-database.js';

/**
 * Data statements run as prepared statements on both engines (ADR 0011): prepared once per
 * connection and then only bound and executed, with the bound on how many are kept, and with
 * errors behaving as they do for any statement. Also the embedded driver's transaction settings.
 */
const database = await createTestDatabase();
t.teardown(() => database.drop());
const db = database.handle.db;
const embedded = database.handle.engine === 'pglite';
await sql`create table ps_item (id int primary key, name text not null)`.execute(db);

/** Prepared statements of this connection whose text is `text`. */
async function preparedAs(tx: Tx, text: string): Promise<string[]> {
  const { rows } = await sql<{
    name: string;
  }>`select name from pg_prepared_statements where statement = ${text}`.execute(tx);
  return rows.map((r) => r.name);
}

t.test('a data statement is prepared once and then reused', async (t) => {
  await db.transaction().execute(async (tx) => {
    const query = sql<{ n: number }>`select count(*)::int as n from ps_item where id > ${0}`;
    const text = query.compile(tx).sql;
    for (let i = 0; i < 3; i++) t.equal((await query.execute(tx)).rows[0]!.n, 0);
    const names = await preparedAs(tx, text);
    t.equal(names.length, 1, 'one prepared statement for the text');
    t.match(names[0], /^hikeshi_\d+$/);
  });
});

t.test('utility statements are not prepared', async (t) => {
  await db.transaction().execute(async (tx) => {
    await sql`set local work_mem = '8MB'`.execute(tx);
    t.same(await preparedAs(tx, "set local work_mem = '8MB'"), []);
  });
});

t.test('no more statements are kept than the bound, and every one still answers', async (t) => {
  const extra = 20;
  await db.transaction().execute(async (tx) => {
    for (let i = 0; i < PREPARED_STATEMENTS_PER_CONNECTION + extra; i++) {
      // A distinct text each time: the constant is part of the statement.
      const { rows } = await sql<{ v: number }>`select ${sql.raw(String(i))}::int + ${1}::int as v`.execute(tx);
      t.equal(rows[0]!.v, i + 1);
    }
    const { rows } = await sql<{
      n: number;
    }>`select count(*)::int as n from pg_prepared_statements where name like 'hikeshi\\_%'`.execute(tx);
    t.ok(rows[0]!.n <= PREPARED_STATEMENTS_PER_CONNECTION, `${rows[0]!.n} kept`);
    // The first ones were evicted (embedded) or never named (server): they run all the same.
    const again = await sql<{ v: number }>`select ${sql.raw('0')}::int + ${1}::int as v`.execute(tx);
    t.equal(again.rows[0]!.v, 1);
  });
});

t.test('a bad parameter fails its statement only; inside a transaction, the transaction', async (t) => {
  const byId = (id: unknown) => sql<{ name: string }>`select name from ps_item where id = ${id}`;
  await t.rejects(byId('not a number').execute(db), { code: '22P02' });
  t.same((await byId(1).execute(db)).rows, [], 'the same prepared statement works next');

  await t.rejects(
    db.transaction().execute(async (tx) => {
      await sql`insert into ps_item (id, name) values (${1}, ${'kept?'})`.execute(tx);
      await byId('x').execute(tx);
    }),
    { code: '22P02' },
  );
  t.same((await byId(1).execute(db)).rows, [], 'nothing of the failed transaction was kept');
  await sql`insert into ps_item (id, name) values (${1}, ${'one'})`.execute(db);
  t.same((await byId(1).execute(db)).rows, [{ name: 'one' }]);
});

t.test('a table changed under a prepared statement', async (t) => {
  await sql`create table ps_shape (a int)`.execute(db);
  await sql`insert into ps_shape (a) values (${1})`.execute(db);
  const all = () => db.transaction().execute(async (tx) => (await sql<Record<string, unknown>>`select * from ps_shape`.execute(tx)).rows);
  t.same(await all(), [{ a: 1 }]);
  await sql`alter table ps_shape add column b text default 'x'`.execute(db);
  if (embedded) {
    // Inside a transaction the statement fails once, as on any connection that prepared it; the
    // next call prepares it again.
    await t.rejects(all(), { code: '0A000' });
  } else {
    await all().catch((err: { code?: string }) => t.equal(err.code, '0A000', 'at most one failure'));
  }
  t.same(await all(), [{ a: 1, b: 'x' }], 'the new shape next time');

  // Outside a transaction the embedded engine prepares it again at once.
  const plain = () => sql<Record<string, unknown>>`select * from ps_shape where a = ${1}`.execute(db);
  t.same((await plain()).rows, [{ a: 1, b: 'x' }]);
  await sql`alter table ps_shape drop column b`.execute(db);
  if (embedded) t.same((await plain()).rows, [{ a: 1 }]);
  else await plain().catch((err: { code?: string }) => t.equal(err.code, '0A000'));
  t.same((await plain()).rows, [{ a: 1 }]);
});

t.test('transaction settings: a server takes them; the embedded engine refuses rather than ignore them', async (t) => {
  const run = db
    .transaction()
    .setIsolationLevel('serializable')
    .execute(
      async (tx) => (await sql<{ level: string }>`select current_setting('transaction_isolation') as level`.execute(tx)).rows[0]!.level,
    );
  if (embedded) await t.rejects(run, /takes no transaction settings/);
  else t.equal(await run, 'serializable');
  // The connection is not left in a transaction: a plain statement runs and commits.
  await sql`insert into ps_item (id, name) values (${2}, ${'two'})`.execute(db);
  t.same((await sql<{ name: string }>`select name from ps_item where id = ${2}`.execute(db)).rows, [{ name: 'two' }]);
});

t.test('the embedded driver switch: prepared on the pinned PGlite, Kysely’s driver on request, both isolate callers', async (t) => {
  t.equal(
    installedPgliteVersion(),
    PREPARED_DRIVER_PGLITE_VERSION,
    'the installed PGlite is the one the prepared driver was measured on (re-measure before moving the pin: ADR 0015)',
  );
  for (const embeddedDriver of ['prepared', 'kysely'] as const) {
    const handle = await openDatabase({ embeddedDriver });
    try {
      const db2 = handle.db;
      await sql`create table sw_item (id int primary key)`.execute(db2);
      // A query from another caller while a transaction is open must not run inside it.
      let release!: () => void;
      const held = new Promise<void>((resolve) => (release = resolve));
      const inTx = db2.transaction().execute(async (tx) => {
        await sql`insert into sw_item values (1)`.execute(tx);
        await held;
        throw new Error('roll back');
      });
      await new Promise((resolve) => setImmediate(resolve));
      const outside = sql<{ n: number }>`select count(*)::int as n from sw_item`.execute(db2);
      release();
      await t.rejects(inTx, /roll back/);
      t.equal((await outside).rows[0]!.n, 0, `${embeddedDriver}: the other caller never saw the rolled-back row`);
      const prepared = await sql<{ n: number }>`select count(*)::int as n from pg_prepared_statements`.execute(db2);
      if (embeddedDriver === 'prepared') t.ok(prepared.rows[0]!.n > 0, 'prepared: statements are kept');
      else t.equal(prepared.rows[0]!.n, 0, 'kysely: nothing prepared');
    } finally {
      await handle.close();
    }
  }
});
