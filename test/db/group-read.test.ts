import { sql } from 'kysely';
import t from 'tap';
import { createGroupRead } from '../../src/db/group-read.js';
import { jsonbParameter } from '../../src/db/jsonb-parameter.js';
import { createTestDatabase } from '../helpers/test-database.js';

/**
 * Group read on a real database (PGlite, or the server with HIKESHI_TEST_DATABASE_URL): look-ups
 * that arrive together are one statement, each gets its own answer in order, one that fails
 * fails alone, and a look-up sees what was committed before it asked.
 */
const database = await createTestDatabase();
t.teardown(() => database.drop());
const db = database.handle.db;
await sql`create table gr_item (name text primary key, n int not null)`.execute(db);
await sql`insert into gr_item (name, n) values ('a', 1), ('b', 2), ('c', 3)`.execute(db);

/** Reads each name's number (null when absent) in one statement; a name "bad…" makes the statement fail. */
function reader(groups: string[][], maxItems = 4) {
  return createGroupRead<string, number | null>(
    db,
    async (names) => {
      groups.push([...names]);
      // Each name's row; a name "bad…" divides by zero (at run time: 1 / 0 alone would be folded
      // while planning), which fails the whole statement.
      const { rows } = await sql<{ name: string; n: number | null }>`
        select q.value as name, g.n, case when q.value like 'bad%' then 1 / (length(q.value) * 0) end as boom
        from jsonb_array_elements_text(${jsonbParameter(JSON.stringify(names))}::jsonb) as q(value)
        left join gr_item g on g.name = q.value`.execute(db);
      const found = new Map(rows.map((r) => [r.name, r.n]));
      return names.map((name) => found.get(name) ?? null);
    },
    { maxItems },
  );
}

t.test('look-ups that arrive together are one statement, each answered in order', async (t) => {
  const groups: string[][] = [];
  const read = reader(groups);
  const answers = await Promise.all(['c', 'a', 'zz', 'b', 'a', 'c'].map((n) => read.read(n)));
  t.same(answers, [3, 1, null, 2, 1, 3], 'each look-up its own answer, the absent one null');
  t.ok(groups.length < 6, `fewer statements than look-ups (${groups.length} for 6)`);
  t.ok(
    groups.every((g) => g.length <= 4),
    'no group above maxItems',
  );
  t.same(groups.flat(), ['c', 'a', 'zz', 'b', 'a', 'c'], 'every look-up read once, in arrival order');
});

t.test('a look-up that fails fails alone: the others of its group are read again', async (t) => {
  const groups: string[][] = [];
  const read = reader(groups);
  const results = await Promise.allSettled(['a', 'bad-1', 'b'].map((n) => read.read(n)));
  t.same(
    results.map((r) => r.status),
    ['fulfilled', 'rejected', 'fulfilled'],
  );
  t.equal((results[0] as PromiseFulfilledResult<number>).value, 1);
  t.equal((results[2] as PromiseFulfilledResult<number>).value, 2);
  t.match((results[1] as PromiseRejectedResult).reason, { message: /division by zero/ }, 'the failing item gets the error');
  t.same(groups, [['a', 'bad-1', 'b'], ['a'], ['bad-1'], ['b']], 'the group, then each alone');
});

t.test('a look-up sees what was committed before it was asked', async (t) => {
  const read = reader([]);
  t.equal(await read.read('d'), null);
  await sql`insert into gr_item (name, n) values ('d', 4)`.execute(db);
  t.equal(await read.read('d'), 4, 'the row committed before the look-up is found');
  await sql`delete from gr_item where name = 'd'`.execute(db);
  t.equal(await read.read('d'), null, 'and its removal too');
});
