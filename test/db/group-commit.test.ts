import { sql } from 'kysely';
import t from 'tap';
import { transactionsAtOnce, type Db, type Tx } from '../../src/db/database.js';
import { atGroupEnd, createGroupCommit } from '../../src/db/group-commit.js';
import { createTestDatabase } from '../helpers/test-database.js';

/**
 * Group commit on a real database (PGlite, or the server with HIKESHI_TEST_DATABASE_URL): items
 * submitted together share one transaction, a failing item fails alone, and nothing hangs when
 * the database cannot start a transaction.
 */
const database = await createTestDatabase();
t.teardown(() => database.drop());
const db = database.handle.db;
await sql`create table gc_item (name text primary key, xid text not null)`.execute(db);

const txid = async (tx: Tx): Promise<string> => (await sql<{ x: string }>`select pg_current_xact_id()::text as x`.execute(tx)).rows[0]!.x;

/** Inserts each item's name; an item named "bad…" violates the table (null xid) after the others. */
function inserter(target: Db, seen: number[]) {
  return createGroupCommit<string, string>(
    target,
    async (tx, names) => {
      seen.push(names.length);
      const xid = await txid(tx);
      for (const name of names)
        await sql`insert into gc_item (name, xid) values (${name}, ${name.startsWith('bad') ? null : xid})`.execute(tx);
      return names.map(() => xid);
    },
    // One transaction at a time: these tests are about how groups form.
    { maxItems: 4, inFlight: 1 },
  );
}

t.test('items submitted together share one transaction, in groups of at most maxItems', async (t) => {
  const seen: number[] = [];
  const group = inserter(db, seen);
  const xids = await Promise.all(['a1', 'a2', 'a3', 'a4', 'a5', 'a6'].map((n) => group.run(n)));
  t.same(seen, [4, 2], 'two transactions: four items, then the two that waited');
  t.equal(new Set(xids.slice(0, 4)).size, 1, 'the first four in one transaction');
  t.not(xids[4], xids[0]);
  const rows = await db
    .selectFrom('gc_item' as never)
    .selectAll()
    .execute();
  t.equal(rows.length, 6, 'all six committed');
});

t.test('a failing item fails alone: the others of its group run again and commit', async (t) => {
  const seen: number[] = [];
  const group = inserter(db, seen);
  const results = await Promise.allSettled(['b1', 'bad-1', 'b2'].map((n) => group.run(n)));
  t.equal(results[0]!.status, 'fulfilled');
  t.equal(results[1]!.status, 'rejected');
  t.match((results[1] as PromiseRejectedResult).reason, { message: /null value/ }, 'the item gets its own error');
  t.equal(results[2]!.status, 'fulfilled');
  t.same(seen, [3, 1, 1, 1], 'one group of three, then each alone');
  const names = (await sql<{ name: string }>`select name from gc_item where name like 'b%' order by name`.execute(db)).rows.map(
    (r) => r.name,
  );
  t.same(names, ['b1', 'b2'], 'nothing of the failing item is stored');
});

t.test('a result count that does not match the items is an error, and nothing commits', async (t) => {
  const group = createGroupCommit<string, string>(
    db,
    async (tx, names) => {
      for (const name of names) await sql`insert into gc_item (name, xid) values (${name}, 'x')`.execute(tx);
      return [];
    },
    { maxItems: 8 },
  );
  await t.rejects(group.run('c1'), /0 results for 1 items/);
  t.equal((await sql`select 1 from gc_item where name = 'c1'`.execute(db)).rows.length, 0);
});

t.test('atGroupEnd hooks run once after the work, in the same transaction, before commit; false outside a group', async (t) => {
  const calls: string[] = [];
  const group = createGroupCommit<string, string>(
    db,
    async (tx, names) => {
      calls.push(`work ${await txid(tx)}`);
      // Registered by the work; the first hook registers another, which must run too.
      t.equal(
        atGroupEnd(tx, async () => {
          calls.push(`end ${await txid(tx)}`);
          atGroupEnd(tx, async () => void calls.push(`end2 ${await txid(tx)}`));
        }),
        true,
      );
      return names.map(() => 'ok');
    },
    { maxItems: 8, inFlight: 1 },
  );
  await Promise.all([group.run('d1'), group.run('d2')]);
  t.equal(calls.length, 3, 'once per transaction, after one call of the work');
  const parts = calls.map((c) => c.split(' '));
  t.same(
    parts.map((p) => p[0]),
    ['work', 'end', 'end2'],
  );
  t.equal(new Set(parts.map((p) => p[1])).size, 1, 'all in the same transaction');
  await db.transaction().execute(async (tx) => {
    t.equal(
      atGroupEnd(tx, async () => {}),
      false,
      'a plain transaction is no group',
    );
  });
  // A hook that fails rolls the group back like its work would.
  const failing = createGroupCommit<string, string>(
    db,
    async (tx, names) => {
      for (const name of names) await sql`insert into gc_item (name, xid) values (${name}, 'x')`.execute(tx);
      atGroupEnd(tx, async () => {
        throw new Error('hook failed');
      });
      return names.map(() => 'ok');
    },
    { maxItems: 8 },
  );
  await t.rejects(failing.run('g1'), /hook failed/);
  t.equal((await sql`select 1 from gc_item where name = 'g1'`.execute(db)).rows.length, 0, 'nothing of it committed');
});

t.test('when no transaction can start, every waiting item fails and none hangs', async (t) => {
  const broken = await createTestDatabase();
  await broken.drop(); // closed: every transaction fails to start
  const group = createGroupCommit<string, string>(broken.handle.db, async (_tx, names) => names, { maxItems: 8 });
  const results = await Promise.allSettled(['e1', 'e2', 'e3'].map((n) => group.run(n)));
  t.same(
    results.map((r) => r.status),
    ['rejected', 'rejected', 'rejected'],
  );
  // And the group keeps working for later items on a good database.
  const later = createGroupCommit<string, string>(db, async (_tx, names) => names, { maxItems: 8 });
  t.equal(await later.run('f1'), 'f1');
});

t.test('several transactions in flight: a second group starts while the first is still open (server)', async (t) => {
  const server = database.handle.engine === 'postgres';
  t.equal(transactionsAtOnce(db), server ? 2 : 1, 'the default: two on a server, one on the embedded engine');
  if (!server) {
    t.comment('the embedded engine has one connection: a second transaction waits for the first');
    return;
  }
  let releaseFirst!: () => void;
  const firstHeld = new Promise<void>((resolve) => (releaseFirst = resolve));
  const started: string[][] = [];
  const group = createGroupCommit<string, string>(
    db,
    async (tx, names) => {
      started.push(names);
      const xid = await txid(tx);
      if (names.includes('g1')) await firstHeld;
      for (const name of names) await sql`insert into gc_item (name, xid) values (${name}, ${xid})`.execute(tx);
      return names.map(() => xid);
    },
    { maxItems: 8, inFlight: 2 },
  );
  const first = group.run('g1');
  while (started.length === 0) await new Promise((r) => setTimeout(r, 5));
  const second = Promise.all([group.run('g2'), group.run('g3')]);
  const [x2, x3] = await second; // commits while g1's transaction is still open
  t.same(started, [['g1'], ['g2', 'g3']], 'the second group formed and ran without waiting for the first');
  t.equal(x2, x3);
  releaseFirst();
  const x1 = await first;
  t.not(x1, x2, 'two transactions');
  const names = (await sql<{ name: string }>`select name from gc_item where name like 'g%' order by name`.execute(db)).rows.map(
    (r) => r.name,
  );
  t.same(names, ['g1', 'g2', 'g3']);
});
