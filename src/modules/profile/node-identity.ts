import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Config } from '../../config.js';
import { generateNodeKey, loadNodeSigner, type NodeSigner } from '../../crypto/index.js';

/**
 * The node's secrets live in its data directory, readable by the node's user only:
 *   node-key.asc   the team's OpenPGP private key (encrypted when HIKESHI_KEY_PASSPHRASE is set)
 *   token-secret   the HS256 secret API tokens are signed with (unless HIKESHI_TOKEN_SECRET is set)
 *   retired-keys/  the keys `hikeshi key rotate` replaced, one `<fingerprint>.asc` each: the node
 *                  still opens messages sealed to them by peers that had not yet applied the
 *                  rotation, and documents they signed still verify
 *   node-key.next.asc  only while `hikeshi key rotate` runs (key-commands.ts)
 * They are files, not rows, so that the CLI can mint tokens while a running node holds the
 * embedded database, and so a database backup alone does not carry the private key.
 */
export const KEY_FILE = 'node-key.asc';
export const TOKEN_SECRET_FILE = 'token-secret';
export const RETIRED_KEYS_DIR = 'retired-keys';
export const NEXT_KEY_FILE = 'node-key.next.asc';

/** The armored retired private keys, oldest file name first (the order does not matter to the signer). */
export async function readRetiredKeys(dataDir: string): Promise<Map<string, string>> {
  const dir = path.join(dataDir, RETIRED_KEYS_DIR);
  const keys = new Map<string, string>();
  if (!existsSync(dir)) return keys;
  for (const name of (await readdir(dir)).filter((n) => n.endsWith('.asc')).sort()) {
    keys.set(path.join(RETIRED_KEYS_DIR, name), await readFile(path.join(dir, name), 'utf8'));
  }
  return keys;
}

/** Unlocks the node key in the data directory with its retired keys; the key file must exist. */
export async function loadNodeKey(config: Pick<Config, 'dataDir' | 'keyPassphrase'>): Promise<NodeSigner> {
  if (existsSync(path.join(config.dataDir, NEXT_KEY_FILE))) {
    throw new IdentityError(
      `a key rotation was interrupted (${NEXT_KEY_FILE} is in the data directory): run "hikeshi key rotate" again to finish it`,
    );
  }
  const retired = [...(await readRetiredKeys(config.dataDir)).values()];
  return loadNodeSigner(await readFile(path.join(config.dataDir, KEY_FILE), 'utf8'), config.keyPassphrase ?? undefined, retired);
}

export interface NodeSecrets {
  signer: NodeSigner;
  tokenSecret: string;
  /** True when this call created the key: the node's first start. */
  createdKey: boolean;
}

export class IdentityError extends Error {
  override name = 'IdentityError';
}

export async function writeSecret(file: string, content: string): Promise<void> {
  // 'wx' never overwrites: two processes racing on a first start cannot replace each other's key.
  await writeFile(file, content, { mode: 0o600, flag: 'wx' });
  await chmod(file, 0o600);
}

export async function loadTokenSecret(config: Pick<Config, 'dataDir' | 'tokenSecret'>, create: boolean): Promise<string> {
  if (config.tokenSecret) return config.tokenSecret;
  const file = path.join(config.dataDir, TOKEN_SECRET_FILE);
  if (!existsSync(file)) {
    if (!create) throw new IdentityError(`no token secret at ${file}: run "hikeshi init" first, or set HIKESHI_TOKEN_SECRET`);
    await mkdir(config.dataDir, { recursive: true });
    await writeSecret(file, randomBytes(32).toString('hex') + '\n');
  }
  return (await readFile(file, 'utf8')).trim();
}

/** Creates the key and token secret if missing (never overwrites), then unlocks the key. Idempotent. */
export async function ensureNodeSecrets(config: Config): Promise<NodeSecrets> {
  await mkdir(config.dataDir, { recursive: true });
  const keyFile = path.join(config.dataDir, KEY_FILE);
  let createdKey = false;
  if (!existsSync(keyFile)) {
    const key = await generateNodeKey({
      teamId: config.teamId,
      name: config.teamName,
      email: config.teamEmail,
      ...(config.keyPassphrase ? { passphrase: config.keyPassphrase } : {}),
    });
    try {
      await writeSecret(keyFile, key.armoredPrivateKey);
      createdKey = true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }
  const signer = await loadNodeKey(config);
  const tokenSecret = await loadTokenSecret(config, true);
  return { signer, tokenSecret, createdKey };
}
