import { sql } from 'kysely';
import type { Db, Tx } from './database.js';

/**
 * A logical backup of the node's tables, the same on both engines (issue 13): every row of every
 * table of the node's schema as JSON, in pages, with the migrations the schema is at. A backup of
 * the embedded engine restores onto a server and the other way round, so it is also the way from
 * one engine to the other. Rows are written and read back with PostgreSQL's own JSON conversion
 * (row_to_json, json_populate_recordset), which keeps every value as stored: hashes, signatures,
 * jsonb, inet, timestamps with microseconds; the audit chain and every stored signature verify
 * after a restore.
 */

/** Kysely's own bookkeeping: a restore migrates the target first, which fills these. */
const MIGRATION_TABLES = new Set(['kysely_migration', 'kysely_migration_lock']);
const PAGE = 1000;

export interface BackupHeader {
  format: 'hikeshi-backup';
  version: 1;
  createdAt: string;
  engine: string;
  /** Migrations applied to the schema the backup was made from, in order. */
  migrations: string[];
  tables: string[];
}

export type BackupLine = { table: string; rows: unknown[] };

export class BackupError extends Error {
  override name = 'BackupError';
}

/** Tables of the current schema in an order that satisfies their foreign keys (referenced first). */
async function tablesInOrder(db: Db | Tx): Promise<string[]> {
  const { rows: tables } = await sql<{ name: string }>`
    select table_name as name from information_schema.tables
     where table_schema = current_schema() and table_type = 'BASE TABLE' order by 1`.execute(db);
  const { rows: edges } = await sql<{ child: string; parent: string }>`
    select c.conrelid::regclass::text as child, c.confrelid::regclass::text as parent
      from pg_constraint c join pg_namespace n on n.oid = c.connamespace
     where c.contype = 'f' and n.nspname = current_schema()`.execute(db);
  const names = tables.map((t) => t.name).filter((n) => !MIGRATION_TABLES.has(n));
  const unquote = (n: string) => n.replace(/^"|"$/g, '').replace(/^.*\./, '');
  const parents = new Map(names.map((n) => [n, new Set<string>()]));
  for (const e of edges) if (unquote(e.child) !== unquote(e.parent)) parents.get(unquote(e.child))?.add(unquote(e.parent));
  const ordered: string[] = [];
  const visit = (n: string, seen: Set<string>) => {
    if (ordered.includes(n) || seen.has(n)) return;
    seen.add(n);
    for (const p of parents.get(n) ?? []) visit(p, seen);
    ordered.push(n);
  };
  for (const n of names) visit(n, new Set());
  return ordered;
}

async function appliedMigrations(db: Db | Tx): Promise<string[]> {
  const { rows } = await sql<{ name: string }>`select name from kysely_migration order by name`.execute(db);
  return rows.map((r) => r.name);
}

/**
 * Writes the header and then each table's rows in pages (`write` gets one JSON value per call),
 * all read in one repeatable-read snapshot on a server, so the backup is consistent while nodes
 * keep working.
 */
export async function writeBackup(
  db: Db,
  engine: string,
  write: (value: BackupHeader | BackupLine) => Promise<void>,
): Promise<{ rows: number }> {
  let count = 0;
  await db.transaction().execute(async (tx) => {
    if (engine !== 'pglite') await sql`set transaction isolation level repeatable read, read only`.execute(tx);
    const tables = await tablesInOrder(tx);
    await write({
      format: 'hikeshi-backup',
      version: 1,
      createdAt: new Date().toISOString(),
      engine,
      migrations: await appliedMigrations(tx),
      tables,
    });
    for (const table of tables) {
      // Pages in physical order (ctid): every table has one, whatever its key.
      let after = '(0,0)';
      for (;;) {
        const { rows } = await sql<{ c: string; r: unknown }>`
          select t.ctid::text as c, row_to_json(t) as r from ${sql.table(table)} t
           where t.ctid > ${after}::tid order by t.ctid limit ${PAGE}`.execute(tx);
        if (rows.length === 0) break;
        await write({ table, rows: rows.map((x) => (typeof x.r === 'string' ? JSON.parse(x.r) : x.r)) });
        count += rows.length;
        after = rows[rows.length - 1]!.c;
      }
    }
  });
  return { rows: count };
}

/**
 * Restores a backup into a database migrated to the same migrations and holding no rows. One
 * transaction: a restore that fails leaves the target as it was. Sequences continue after the
 * restored rows.
 */
export async function restoreBackup(db: Db, lines: AsyncIterable<BackupHeader | BackupLine>): Promise<{ rows: number }> {
  let count = 0;
  await db.transaction().execute(async (tx) => {
    let header: BackupHeader | null = null;
    for await (const line of lines) {
      if (!header) {
        header = line as BackupHeader;
        if (header.format !== 'hikeshi-backup' || header.version !== 1) throw new BackupError('not a Hikeshi backup (version 1)');
        const here = await appliedMigrations(tx);
        if (here.join(',') !== header.migrations.join(',')) {
          throw new BackupError(
            `the backup is at migration ${header.migrations.at(-1)}, this node at ${here.at(-1)}: restore with the version that made it, then upgrade`,
          );
        }
        const tables = await tablesInOrder(tx);
        for (const table of tables) {
          const { rows } = await sql<{ any: boolean }>`select exists (select 1 from ${sql.table(table)}) as any`.execute(tx);
          if (rows[0]?.any)
            throw new BackupError(`the target is not empty (table ${table} has rows): restore into a new data directory or schema`);
        }
        continue;
      }
      const { table, rows } = line as BackupLine;
      if (!header.tables.includes(table)) throw new BackupError(`table ${table} is not in the backup's header`);
      await sql`insert into ${sql.table(table)} select * from json_populate_recordset(null::${sql.table(table)}, ${JSON.stringify(rows)}::json)`.execute(
        tx,
      );
      count += rows.length;
    }
    if (!header) throw new BackupError('the backup is empty');
    // Serial columns go on after the highest restored value.
    const { rows: serials } = await sql<{ t: string; c: string; s: string }>`
      select c.table_name as t, c.column_name as c, pg_get_serial_sequence(quote_ident(c.table_name), c.column_name) as s
        from information_schema.columns c
       where c.table_schema = current_schema() and c.column_default like 'nextval(%'`.execute(tx);
    for (const { t, c, s } of serials) {
      if (!s) continue;
      await sql`select setval(${s}::regclass, coalesce((select max(${sql.ref(c)}) from ${sql.table(t)}), 0) + 1, false)`.execute(tx);
    }
  });
  return { rows: count };
}
