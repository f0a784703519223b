import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { sql } from 'kysely';
import { Migrator, type Migration, type MigrationProvider } from 'kysely/migration';
import { projectRoot } from '../project-root.js';
import type { Db } from './database.js';

/**
 * Plain SQL files in migrations/, applied in name order by Kysely's Migrator (which takes a
 * lock, so several node processes starting on one server do not race). The same files run on
 * PGlite and on a PostgreSQL server: PostgreSQL 15 features only.
 */
class SqlFileMigrationProvider implements MigrationProvider {
  constructor(private readonly dir: string) {}
  async getMigrations(): Promise<Record<string, Migration>> {
    const files = (await readdir(this.dir)).filter((f) => f.endsWith('.sql')).sort();
    const migrations: Record<string, Migration> = {};
    for (const file of files) {
      const text = await readFile(path.join(this.dir, file), 'utf8');
      migrations[file.replace(/\.sql$/, '')] = {
        up: async (db) => {
          // PGlite's query path takes one statement at a time, so files are split here.
          for (const statement of splitSqlStatements(text)) await sql.raw(statement).execute(db);
        },
      };
    }
    return migrations;
  }
}

/**
 * Splits a migration file on top-level semicolons, keeping dollar-quoted bodies, quoted
 * strings and identifiers intact and dropping comments (`--` and nested block comments).
 * Enough for our own migration files; not a general SQL parser.
 */
export function splitSqlStatements(text: string): string[] {
  const statements: string[] = [];
  let current = '';
  let i = 0;
  while (i < text.length) {
    const rest = text.slice(i);
    // $$ or $tag$; a tag starts with a letter or underscore, so $1 (a parameter) is not one.
    const dollar = /^\$(?:[A-Za-z_][A-Za-z0-9_]*)?\$/.exec(rest);
    if (rest.startsWith('--')) {
      const end = text.indexOf('\n', i);
      i = end === -1 ? text.length : end + 1;
      current += '\n';
    } else if (rest.startsWith('/*')) {
      // Block comments nest in PostgreSQL.
      let depth = 0;
      let j = i;
      do {
        if (text.startsWith('/*', j)) {
          depth++;
          j += 2;
        } else if (text.startsWith('*/', j)) {
          depth--;
          j += 2;
        } else j++;
      } while (depth > 0 && j < text.length);
      if (depth > 0) throw new MigrationError('unterminated /* comment');
      current += ' ';
      i = j;
    } else if (dollar) {
      const tag = dollar[0];
      const end = text.indexOf(tag, i + tag.length);
      if (end === -1) throw new MigrationError(`unterminated ${tag} quote`);
      current += text.slice(i, end + tag.length);
      i = end + tag.length;
    } else if (text[i] === "'" || text[i] === '"') {
      // A string or a quoted identifier; the quote is escaped by doubling it.
      const q = text[i];
      let j = i + 1;
      while (j < text.length && !(text[j] === q && text[j + 1] !== q)) j += text[j] === q ? 2 : 1;
      current += text.slice(i, j + 1);
      i = j + 1;
    } else if (text[i] === ';') {
      if (current.trim()) statements.push(current.trim());
      current = '';
      i++;
    } else {
      current += text[i];
      i++;
    }
  }
  if (current.trim()) statements.push(current.trim());
  return statements;
}

export class MigrationError extends Error {
  override name = 'MigrationError';
  /** The migration that failed; null when the run failed before any of ours ran (or a file is malformed). */
  constructor(
    message: string,
    readonly migration: string | null = null,
  ) {
    super(message);
  }
}

export interface MigrationReport {
  applied: string[];
}

/**
 * Kysely's migrator looks for its own tables by listing the tables (and their columns) of every
 * schema on the server; another client dropping a schema or changing a table at that moment can
 * make the listing fail ("schema ... does not exist", a column that vanished mid-listing). That
 * says nothing about ours: a run that failed before any migration of ours ran (nothing applied,
 * the transaction rolled back) is tried again, a few times, briefly.
 */
const OTHER_SCHEMA_VANISHED = /schema "([^"]+)" does not exist/;

export async function migrateToLatest(db: Db, schema: string | null): Promise<MigrationReport> {
  if (await upToDate(db, schema)) return { applied: [] };
  for (let attempt = 1; ; attempt++) {
    try {
      return await migrateOnce(db, schema);
    } catch (err) {
      if (!(err instanceof MigrationError) || attempt >= 5) throw err;
      const vanished = OTHER_SCHEMA_VANISHED.exec(err.message)?.[1];
      const beforeOurs = err.migration === null && schema !== null;
      if (vanished === schema || (vanished === undefined && !beforeOurs)) throw err;
      await new Promise((resolve) => setTimeout(resolve, 100 * attempt));
    }
  }
}

/**
 * True when every migration file is recorded as applied (and nothing else is): then the node
 * starts without Kysely's migrator, whose lock and listing of every schema's tables cost most of
 * a restart on the embedded engine (issue 18: cold start). One read of the migration table; a
 * missing table, a pending file or an applied name without its file (the migrator's own error)
 * all go the full way.
 */
async function upToDate(db: Db, schema: string | null): Promise<boolean> {
  const files = (await readdir(path.join(projectRoot(), 'migrations')))
    .filter((f) => f.endsWith('.sql'))
    .map((f) => f.replace(/\.sql$/, ''));
  const table = schema ? sql`${sql.id(schema)}.kysely_migration` : sql`kysely_migration`;
  let applied: string[];
  try {
    applied = (await sql<{ name: string }>`select name from ${table}`.execute(db)).rows.map((r) => r.name);
  } catch {
    return false;
  }
  const known = new Set(applied);
  return applied.length === files.length && files.every((f) => known.has(f));
}

async function migrateOnce(db: Db, schema: string | null): Promise<MigrationReport> {
  const migrator = new Migrator({
    db,
    provider: new SqlFileMigrationProvider(path.join(projectRoot(), 'migrations')),
    ...(schema ? { migrationTableSchema: schema } : {}),
  });
  const { error, results } = await migrator.migrateToLatest();
  if (error) {
    const failed = results?.find((r) => r.status === 'Error')?.migrationName ?? null;
    throw new MigrationError(`migration ${failed ?? 'unknown'} failed: ${error instanceof Error ? error.message : String(error)}`, failed);
  }
  return { applied: (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName) };
}
