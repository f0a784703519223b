import type { Config } from './config.js';
import { openDatabase, SMALL_SHARED_BUFFERS_MB, type DatabaseHandle } from './db/database.js';
import { migrateToLatest } from './db/migrator.js';
import { ensureNodeSecrets, type NodeSecrets } from './modules/profile/node-identity.js';
import { insertProfileIfMissing, syncProfileKey } from './modules/profile/profile.repository.js';
import { defaultProfile } from './modules/profile/profile.service.js';
import { mintApiToken, type MintedToken } from './modules/tokens/token-codec.js';

export interface InitResult extends NodeSecrets {
  database: DatabaseHandle;
  appliedMigrations: string[];
  /** Set on the node's very first initialisation only: shown once, never stored. */
  bootstrapToken: MintedToken | null;
}

/**
 * The configured database, for `use`: a serving node, or a command that opens it briefly (the
 * embedded engine then starts with a small buffer pool, which opens in well under half the time).
 */
export function openConfiguredDatabase(config: Config, use: 'command' | 'serve' = 'command'): Promise<DatabaseHandle> {
  return openDatabase({
    url: config.databaseUrl,
    schema: config.databaseSchema,
    dataDir: config.dataDir,
    ...(use === 'command' ? { sharedBuffersMb: SMALL_SHARED_BUFFERS_MB } : {}),
  });
}

/**
 * `hikeshi init`, also run by every start: database, migrations, key, token secret, profile.
 * Idempotent; it never replaces an existing key or profile. The first initialisation mints a
 * bootstrap admin token so that a newcomer needs nothing else to start working.
 */
export async function initNode(
  config: Config,
  database?: DatabaseHandle,
  options: { migrate?: boolean; use?: 'command' | 'serve' } = {},
): Promise<InitResult> {
  const db = database ?? (await openConfiguredDatabase(config, options.use));
  try {
    // Tests hand in a database migrated from a template and skip this step.
    const { applied } = options.migrate === false ? { applied: [] } : await migrateToLatest(db.db, db.schema);
    const secrets = await ensureNodeSecrets(config);
    const createdProfile = await insertProfileIfMissing(db.db, {
      teamId: config.teamId,
      profile: defaultProfile(config),
      publicKey: secrets.signer.armoredPublicKey,
      fingerprint: secrets.signer.fingerprint,
      updatedAt: new Date(),
    });
    // The key files are the truth: a rotation (or a restore) may have changed them since.
    if (!createdProfile) {
      await syncProfileKey(db.db, { publicKey: secrets.signer.armoredPublicKey, fingerprint: secrets.signer.fingerprint }, new Date());
    }
    const bootstrapToken = createdProfile
      ? mintApiToken(secrets.tokenSecret, { role: 'admin', subject: 'bootstrap-admin', issuer: config.teamId })
      : null;
    return { ...secrets, database: db, appliedMigrations: applied, bootstrapToken };
  } catch (err) {
    if (!database) await db.close();
    throw err;
  }
}
