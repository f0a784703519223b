import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { buildApp } from '../app.js';
import type { Config } from '../config.js';
import { generateNodeKey, loadNodeSigner, type NodeSigner } from '../crypto/index.js';
import type { DatabaseHandle } from '../db/database.js';
import { migrateToLatest } from '../db/migrator.js';
import {
  KEY_FILE,
  loadNodeKey,
  loadTokenSecret,
  NEXT_KEY_FILE,
  readRetiredKeys,
  RETIRED_KEYS_DIR,
  writeSecret,
} from '../modules/profile/node-identity.js';
import { openConfiguredDatabase } from '../node-init.js';
import { CONFIG_FLAGS, CONFIG_FLAGS_HELP, UsageError, configFromFlags } from './cli-context.js';

/**
 * `hikeshi key rotate` and `hikeshi key list` (issue 13): the node changes its own OpenPGP key.
 *
 * The rotation runs with the node stopped (every process, on a server), because a running node
 * holds the old key in memory and would go on signing with it. Crash-safe in three steps:
 * 1. the new key is written to node-key.next.asc (a start refuses while it is there);
 * 2. one database transaction queues a key.rotation for every peer (signed by the old key, with
 *    the new key's own signature inside), signs every other pending message again with the new
 *    key, and audits it (src/modules/peers/own-key-rotation.ts);
 * 3. the old key moves to retired-keys/<fingerprint>.asc and node-key.next.asc becomes
 *    node-key.asc (a rename, atomic).
 * Run again after a crash, it finishes step 3 if step 2 committed, and otherwise starts over.
 */
interface Command {
  summary: string;
  help: string;
  run(args: string[], out: (s: string) => void): Promise<void>;
}

function parse(args: string[]): { values: Record<string, unknown>; positionals: string[] } {
  try {
    return parseArgs({ args, options: CONFIG_FLAGS, allowPositionals: true, strict: true });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

/** True when the transaction of step 2 committed for this new key. */
async function rotationCommitted(database: DatabaseHandle, newFingerprint: string): Promise<boolean> {
  const rows = await database.db.selectFrom('audit_entry').select('details').where('kind', '=', 'node.key-rotated').execute();
  return rows.some((r) => (r.details as { newFingerprint?: unknown }).newFingerprint === newFingerprint);
}

/** Step 3: the old key into retired-keys/, the new one into place. */
async function switchKeyFiles(config: Config, oldArmored: string, oldFingerprint: string): Promise<void> {
  const dir = path.join(config.dataDir, RETIRED_KEYS_DIR);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const retired = path.join(dir, `${oldFingerprint}.asc`);
  if (!existsSync(retired)) await writeSecret(retired, oldArmored);
  await rename(path.join(config.dataDir, NEXT_KEY_FILE), path.join(config.dataDir, KEY_FILE));
}

/** `hikeshi key rotate` on an open database (the command opens it; tests hand theirs in). */
export async function rotateNodeKey(config: Config, database: DatabaseHandle, out: (s: string) => void): Promise<void> {
  const keyFile = path.join(config.dataDir, KEY_FILE);
  const nextFile = path.join(config.dataDir, NEXT_KEY_FILE);
  if (!existsSync(keyFile)) throw new Error(`no node key at ${keyFile}: run "hikeshi init" first`);
  const passphrase = config.keyPassphrase ?? undefined;
  const oldArmored = await readFile(keyFile, 'utf8');
  const retired = [...(await readRetiredKeys(config.dataDir)).values()];

  if (existsSync(nextFile)) {
    const next = await loadNodeSigner(await readFile(nextFile, 'utf8'), passphrase);
    const old = await loadNodeSigner(oldArmored, passphrase);
    if (await rotationCommitted(database, next.fingerprint)) {
      await switchKeyFiles(config, oldArmored, old.fingerprint);
      out(`finished the interrupted rotation: ${old.fingerprint} -> ${next.fingerprint}`);
      return;
    }
    // The transaction did not commit: nothing used the new key; start over with a fresh one.
    await rm(nextFile);
  }

  const oldSigner = await loadNodeKey(config);
  const generated = await generateNodeKey({
    teamId: config.teamId,
    name: config.teamName,
    email: config.teamEmail,
    ...(passphrase ? { passphrase } : {}),
  });
  await writeSecret(nextFile, generated.armoredPrivateKey);
  const newSigner: NodeSigner = await loadNodeSigner(generated.armoredPrivateKey, passphrase, [oldArmored, ...retired]);

  // The node's own services do step 2, with the old key as the node's signer; nothing listens.
  const app = await buildApp({ config, database, signer: oldSigner, tokenSecret: await loadTokenSecret(config, false), logger: false });
  let result;
  try {
    await app.ready();
    result = await app.federation.rotateOwnKey(newSigner, 'cli');
  } finally {
    await app.close();
  }
  await switchKeyFiles(config, oldArmored, oldSigner.fingerprint);
  out(`old key: ${result.oldFingerprint} (kept in ${path.join(config.dataDir, RETIRED_KEYS_DIR)})`);
  out(`new key: ${result.newFingerprint}`);
  out(
    result.notified.length
      ? `key.rotation queued for ${result.notified.length} peer(s): ${result.notified.join(', ')}`
      : 'no peers: nobody to tell',
  );
  out(`pending messages signed again with the new key: ${result.resigned}`);
  out('Start the node: it delivers each key.rotation before anything signed with the new key.');
  out('Tell teams that pinned the key by hand the new fingerprint through another channel.');
}

async function list(config: Config, out: (s: string) => void): Promise<void> {
  const signer = await loadNodeKey(config);
  out(`current: ${signer.fingerprint}`);
  for (const key of signer.retiredPublicKeys) out(`retired: ${key.fingerprint}`);
}

export const keyCommands: Record<string, Command> = {
  key: {
    summary: "rotate or list the node's own OpenPGP key",
    help: `Usage: hikeshi key rotate [options]
       hikeshi key list [options]

rotate  Stop the node first (every process of it, on a PostgreSQL server). Makes a new key
        (encrypted with HIKESHI_KEY_PASSPHRASE when set), queues a key.rotation for every peer,
        signed by the old key and carrying the new key's signature, signs every message still
        waiting in the outbox again with the new key, and keeps the old key in
        <data dir>/${RETIRED_KEYS_DIR}/: messages peers sealed to it still open and documents it
        signed still verify. At the next start the node publishes the new key in its profile,
        security.txt and /pgp-key.asc, and delivers each key.rotation before anything else to
        that peer. Interrupted, run it again: it finishes or starts over.
list    The current key's fingerprint and those of the keys it replaced.

${CONFIG_FLAGS_HELP}`,
    async run(args, out) {
      const [sub, ...rest] = args;
      const { values } = parse(rest);
      const config = configFromFlags(values);
      if (sub === 'list') return list(config, out);
      if (sub !== 'rotate') throw new UsageError('key needs a subcommand: rotate or list');
      const database = await openConfiguredDatabase(config);
      try {
        await migrateToLatest(database.db, config.databaseSchema);
        await rotateNodeKey(config, database, out);
      } finally {
        await database.close();
      }
    },
  },
};
