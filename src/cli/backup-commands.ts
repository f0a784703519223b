import { createReadStream, createWriteStream, existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { once } from 'node:events';
import { parseArgs } from 'node:util';
import { createGunzip, createGzip } from 'node:zlib';
import { restoreBackup, writeBackup, type BackupHeader, type BackupLine } from '../db/logical-backup.js';
import { migrateToLatest } from '../db/migrator.js';
import { KEY_FILE, readRetiredKeys, RETIRED_KEYS_DIR, TOKEN_SECRET_FILE } from '../modules/profile/node-identity.js';
import { openConfiguredDatabase } from '../node-init.js';
import { CONFIG_FLAGS, CONFIG_FLAGS_HELP, UsageError, configFromFlags } from './cli-context.js';

/**
 * `hikeshi backup` and `hikeshi restore` (issue 13): the node's files that are not in the
 * database (its key, its token secret) and every row of every table, as gzip'd JSON lines
 * (src/db/logical-backup.ts), the same on both engines. A backup holds the node's private key
 * (encrypted only if a passphrase protects it): it is written readable by its owner only.
 */
interface Command {
  summary: string;
  help: string;
  run(args: string[], out: (s: string) => void): Promise<void>;
}

interface NodeFiles {
  hikeshi: 'node-files';
  files: Record<string, string>;
}
const NODE_FILES = [KEY_FILE, TOKEN_SECRET_FILE];
const RETIRED_KEY_FILE = new RegExp(`^${RETIRED_KEYS_DIR}/[0-9A-F]{40}\\.asc$`);

function parse(args: string[]): { values: Record<string, unknown>; positionals: string[] } {
  try {
    return parseArgs({ args, options: { ...CONFIG_FLAGS, out: { type: 'string' } }, allowPositionals: true, strict: true });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

async function* readLines(file: string): AsyncGenerator<unknown> {
  const lines = createInterface({ input: createReadStream(file).pipe(createGunzip()), crlfDelay: Infinity });
  for await (const line of lines) if (line.trim()) yield JSON.parse(line) as unknown;
}

export const backupCommands: Record<string, Command> = {
  backup: {
    summary: "write the node's data and key to one file (both engines)",
    help: `Usage: hikeshi backup --out <file>

Writes the node's key, the keys it retired and its token secret (from the data directory) and every row of every table
to <file> as gzip'd JSON lines, readable by its owner only: it holds the node's private key.
On a PostgreSQL server it reads one consistent snapshot while the nodes keep running; with the
embedded database stop the node first (one process may open the data directory).
Restore with \`hikeshi restore\`, on either engine.

${CONFIG_FLAGS_HELP}`,
    async run(args, out) {
      const { values } = parse(args);
      const file = values.out as string | undefined;
      if (!file) throw new UsageError('backup needs --out <file>');
      const config = configFromFlags(values);
      const files: Record<string, string> = {};
      for (const name of NODE_FILES) {
        const p = path.join(config.dataDir, name);
        if (existsSync(p)) files[name] = await readFile(p, 'utf8');
      }
      // Keys a rotation retired: documents they signed verify, messages sealed to them open.
      for (const [name, content] of await readRetiredKeys(config.dataDir)) files[name] = content;
      const database = await openConfiguredDatabase(config);
      const gzip = createGzip();
      const sink = gzip.pipe(createWriteStream(file, { mode: 0o600 }));
      const write = async (value: unknown) => {
        if (!gzip.write(JSON.stringify(value) + '\n')) await once(gzip, 'drain');
      };
      let rows: number;
      try {
        await write({ hikeshi: 'node-files', files } satisfies NodeFiles);
        ({ rows } = await writeBackup(database.db, database.engine, write));
      } finally {
        await database.close();
        gzip.end();
        await once(sink, 'finish');
      }
      out(`backup written to ${file}: ${rows} rows, ${Object.keys(files).length} node files (it holds the node key: keep it safe)`);
    },
  },
  restore: {
    summary: 'restore a backup into a new data directory or schema (either engine)',
    help: `Usage: hikeshi restore <file>

Restores a backup made by \`hikeshi backup\` into the configured database, which must hold no
rows yet (a new data directory, or a new HIKESHI_DATABASE_SCHEMA), and writes the node's key and
token secret into the data directory if it has none (the same ones are accepted; others are
refused). The target is migrated first and must reach the backup's migration. One transaction:
a failed restore leaves the target as it was.

${CONFIG_FLAGS_HELP}`,
    async run(args, out) {
      const { values, positionals } = parse(args);
      const file = positionals[0];
      if (!file) throw new UsageError('restore needs the backup file');
      const config = configFromFlags(values);
      const lines = readLines(file);
      const first = (await lines.next()).value as NodeFiles | undefined;
      if (first?.hikeshi !== 'node-files') throw new Error(`${file} is not a Hikeshi backup`);
      for (const [name, content] of Object.entries(first.files)) {
        if (!NODE_FILES.includes(name) && !RETIRED_KEY_FILE.test(name)) continue;
        const p = path.join(config.dataDir, name);
        if (existsSync(p)) {
          if ((await readFile(p, 'utf8')) !== content)
            throw new Error(`${p} exists and differs from the backup's: restore into a new data directory`);
          continue;
        }
        await mkdir(path.dirname(p), { recursive: true });
        await writeFile(p, content, { mode: 0o600 });
      }
      const database = await openConfiguredDatabase(config);
      try {
        await migrateToLatest(database.db, config.databaseSchema);
        const { rows } = await restoreBackup(database.db, lines as AsyncIterable<BackupHeader | BackupLine>);
        out(`restored ${rows} rows from ${file} (${database.engine})`);
      } finally {
        await database.close();
      }
    },
  },
};
