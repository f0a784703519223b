import type { DbOrTx } from '../../db/database.js';

export type CacheSource = 'security-txt' | 'rdap' | 'rdap-bootstrap' | 'soa';

/** What a source said (or why it said nothing), as kept. */
export interface CachedLookup<T> {
  outcome: { ok: true; value: T } | { ok: false; reason: string };
  fetchedAt: Date;
  expiresAt: Date;
}

const date = (v: Date | string): Date => (v instanceof Date ? v : new Date(v));

/** The entry if it has not expired at `now`. */
export async function findCached<T>(db: DbOrTx, source: CacheSource, key: string, now: Date): Promise<CachedLookup<T> | null> {
  const row = await db
    .selectFrom('contact_cache')
    .select(['result', 'fetched_at', 'expires_at'])
    .where('source', '=', source)
    .where('lookup_key', '=', key)
    .where('expires_at', '>', now)
    .executeTakeFirst();
  if (!row) return null;
  return { outcome: row.result as CachedLookup<T>['outcome'], fetchedAt: date(row.fetched_at), expiresAt: date(row.expires_at) };
}

/** Keeps (or replaces) the entry, and drops entries that expired more than a day before `now`. */
export async function storeCached<T>(db: DbOrTx, source: CacheSource, key: string, entry: CachedLookup<T>): Promise<void> {
  const result = JSON.stringify(entry.outcome);
  await db
    .insertInto('contact_cache')
    .values({ source, lookup_key: key, result, fetched_at: entry.fetchedAt, expires_at: entry.expiresAt })
    .onConflict((oc) =>
      oc.columns(['source', 'lookup_key']).doUpdateSet({ result, fetched_at: entry.fetchedAt, expires_at: entry.expiresAt }),
    )
    .execute();
  await db
    .deleteFrom('contact_cache')
    .where('expires_at', '<', new Date(entry.fetchedAt.getTime() - 86_400_000))
    .execute();
}
