import { randomBytes } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { sql } from 'kysely';
import t from 'tap';
import { openDatabase, type DatabaseHandle } from '../../src/db/database.js';
import { MigrationError, migrateToLatest, splitSqlStatements } from '../../src/db/migrator.js';
import { projectRoot } from '../../src/project-root.js';
import { dropServerSchema, TEST_DATABASE_URL } from '../helpers/test-database.js';

/** The migration runner: how files are split into statements, and that applying twice is a no-op. */

const squeeze = (s: string) => s.replace(/\s+/g, ' ');

t.test('splitSqlStatements', async (t) => {
  t.strictSame(splitSqlStatements('SELECT 1; SELECT 2;'), ['SELECT 1', 'SELECT 2'], 'plain statements');
  t.strictSame(splitSqlStatements('SELECT 1'), ['SELECT 1'], 'no final semicolon');
  t.strictSame(splitSqlStatements(' ;\n;  ; '), [], 'empty statements dropped');
  t.strictSame(splitSqlStatements(''), []);

  const fn = `CREATE FUNCTION f() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'no; never';
  RETURN NULL;
END;
$$`;
  t.strictSame(splitSqlStatements(`${fn};\nCREATE TABLE t (a int);`), [fn, 'CREATE TABLE t (a int)'], '$$ body kept whole');

  const tagged = `DO $body$ BEGIN PERFORM 1; PERFORM '$$'; END $body$`;
  t.strictSame(splitSqlStatements(`${tagged}; SELECT 3`), [tagged, 'SELECT 3'], 'tagged dollar quote, with $$ inside');
  const digits = `DO $fn1$ BEGIN PERFORM 1; END $fn1$`;
  t.strictSame(splitSqlStatements(`${digits}; SELECT 4`), [digits, 'SELECT 4'], 'a tag with digits');

  t.strictSame(
    splitSqlStatements(`INSERT INTO t VALUES ('a;b'); SELECT 'c'`),
    [`INSERT INTO t VALUES ('a;b')`, `SELECT 'c'`],
    'semicolon in a string',
  );
  t.strictSame(splitSqlStatements(`SELECT 'it''s; fine'; SELECT ''`), [`SELECT 'it''s; fine'`, `SELECT ''`], 'doubled quotes');
  t.strictSame(splitSqlStatements(`SELECT '--not a comment'; SELECT 5`), [`SELECT '--not a comment'`, 'SELECT 5'], 'dashes in a string');
  t.strictSame(splitSqlStatements(`SELECT '$$'; SELECT 6`), [`SELECT '$$'`, 'SELECT 6'], 'dollars in a string');

  t.strictSame(
    splitSqlStatements('-- header; with a semicolon\nSELECT 1; -- trailing; comment\nSELECT 2'),
    ['SELECT 1', 'SELECT 2'],
    'line comments',
  );
  t.strictSame(splitSqlStatements('SELECT 1 -- no newline at the end;'), ['SELECT 1'], 'a final comment without a newline');
  t.strictSame(splitSqlStatements('/* a; block */ SELECT 1; SELECT /* ; */ 2').map(squeeze), ['SELECT 1', 'SELECT 2'], 'block comments');
  t.strictSame(
    splitSqlStatements('/* outer /* nested; */ still comment; */ SELECT 7'),
    ['SELECT 7'],
    'nested block comments (PostgreSQL nests them)',
  );
  t.strictSame(
    splitSqlStatements('CREATE TABLE "odd;name" (a int); SELECT 8'),
    ['CREATE TABLE "odd;name" (a int)', 'SELECT 8'],
    'quoted identifier',
  );
  t.strictSame(splitSqlStatements(`SELECT $1::int; SELECT 9`), ['SELECT $1::int', 'SELECT 9'], 'a parameter is not a dollar quote');

  t.throws(() => splitSqlStatements('DO $$ BEGIN'), MigrationError, 'unterminated dollar quote');
});

t.test('migration files: NNNN_name.sql, one file per number, each splits into statements', async (t) => {
  const dir = `${projectRoot()}/migrations`;
  const files = readdirSync(dir).filter((f) => f.endsWith('.sql'));
  t.ok(files.length > 0);
  t.equal(new Set(files.map((f) => f.slice(0, 4))).size, files.length, 'no two files share a number');
  for (const f of files) {
    t.match(f, /^\d{4}_[a-z0-9_]+\.sql$/, `${f}: NNNN_name.sql`);
    const statements = splitSqlStatements(readFileSync(`${dir}/${f}`, 'utf8'));
    t.ok(statements.length > 0 && statements.every((s) => s.length > 0), `${f}: ${statements.length} statements`);
  }
});

async function freshDatabase(t: Tap): Promise<DatabaseHandle> {
  if (!TEST_DATABASE_URL) {
    const handle = await openDatabase({});
    t.teardown(() => handle.close());
    return handle;
  }
  const schema = `t_mig_${randomBytes(5).toString('hex')}`;
  const handle = await openDatabase({ url: TEST_DATABASE_URL, schema, poolSize: 2 });
  t.teardown(async () => {
    await handle.close();
    await dropServerSchema(schema);
  });
  return handle;
}
type Tap = { teardown(fn: () => unknown): void };

t.test('migrations applied twice: the second run is a no-op', async (t) => {
  const handle = await freshDatabase(t);
  const names = readdirSync(`${projectRoot()}/migrations`)
    .filter((f) => f.endsWith('.sql'))
    .sort()
    .map((f) => f.replace(/\.sql$/, ''));
  const first = await migrateToLatest(handle.db, handle.schema);
  t.strictSame(first.applied, names, 'the first run applies every file, in name order');
  const tables = async () =>
    (
      await sql<{
        name: string;
      }>`select table_name as name from information_schema.tables where table_schema = current_schema() order by 1`.execute(handle.db)
    ).rows.map((r) => r.name);
  const before = await tables();
  t.ok(before.includes('incident') && before.includes('journal_entry'), 'tables exist');
  const second = await migrateToLatest(handle.db, handle.schema);
  t.strictSame(second.applied, [], 'the second run applies nothing');
  t.strictSame(await tables(), before, 'and changes no table');
  const recorded = await sql<{ name: string }>`select name from kysely_migration order by name`.execute(handle.db);
  t.strictSame(
    recorded.rows.map((r) => r.name),
    names,
    'each migration recorded once',
  );
});
