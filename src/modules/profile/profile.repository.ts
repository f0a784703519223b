import type { DbOrTx } from '../../db/database.js';
import type { TeamProfileInput } from '../../../schemas/profile.schema.js';

export interface ProfileRow {
  teamId: string;
  profile: TeamProfileInput;
  publicKey: string;
  fingerprint: string;
  updatedAt: Date;
}

export async function findProfile(db: DbOrTx): Promise<ProfileRow | null> {
  const row = await db.selectFrom('team_profile').selectAll().executeTakeFirst();
  if (!row) return null;
  return {
    teamId: row.team_id,
    profile: row.profile as TeamProfileInput,
    publicKey: row.public_key,
    fingerprint: row.fingerprint,
    updatedAt: new Date(row.updated_at),
  };
}

/** Inserts the first profile; does nothing when one exists (so init stays idempotent). */
export async function insertProfileIfMissing(db: DbOrTx, row: Omit<ProfileRow, 'updatedAt'> & { updatedAt: Date }): Promise<boolean> {
  const result = await db
    .insertInto('team_profile')
    .values({
      team_id: row.teamId,
      profile: JSON.stringify(row.profile),
      public_key: row.publicKey,
      fingerprint: row.fingerprint,
      updated_at: row.updatedAt,
    })
    .onConflict((oc) => oc.column('singleton').doNothing())
    .executeTakeFirst();
  return Number(result.numInsertedOrUpdatedRows ?? 0) > 0;
}

export async function updateProfile(db: DbOrTx, profile: TeamProfileInput, updatedAt: Date): Promise<void> {
  await db
    .updateTable('team_profile')
    .set({ profile: JSON.stringify(profile), updated_at: updatedAt })
    .execute();
}

/** Puts the node's current key in the profile when it differs (after `hikeshi key rotate`, or a restore); true when it changed. */
export async function syncProfileKey(db: DbOrTx, key: { publicKey: string; fingerprint: string }, at: Date): Promise<boolean> {
  const result = await db
    .updateTable('team_profile')
    .set({ public_key: key.publicKey, fingerprint: key.fingerprint, updated_at: at })
    .where('fingerprint', '<>', key.fingerprint)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) > 0;
}
