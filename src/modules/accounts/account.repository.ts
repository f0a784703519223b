import type { Selectable } from 'kysely';
import type { HandlerAccountTable } from '../../db/account-tables.js';
import type { DbOrTx, Tx } from '../../db/database.js';

export type AccountRow = Selectable<HandlerAccountTable>;

export interface AccountInsert {
  name: string;
  displayName: string;
  role: string;
  passwordHash: string;
  language: string;
  at: Date;
}

export async function insertAccount(db: DbOrTx, a: AccountInsert): Promise<boolean> {
  const result = await db
    .insertInto('handler_account')
    .values({
      name: a.name,
      display_name: a.displayName,
      role: a.role,
      password_hash: a.passwordHash,
      language: a.language,
      disabled: false,
      created_at: a.at,
      updated_at: a.at,
    })
    .onConflict((oc) => oc.column('name').doNothing())
    .executeTakeFirst();
  return Number(result.numInsertedOrUpdatedRows ?? 0) > 0;
}

/** `forUpdate` locks the row for the caller's transaction. */
export async function findAccount(db: DbOrTx, name: string, forUpdate = false): Promise<AccountRow | undefined> {
  let query = db.selectFrom('handler_account').selectAll().where('name', '=', name);
  if (forUpdate) query = query.forUpdate();
  return query.executeTakeFirst();
}

export async function listAccounts(db: DbOrTx): Promise<AccountRow[]> {
  return db.selectFrom('handler_account').selectAll().orderBy('name').execute();
}

export interface AccountChanges {
  display_name?: string;
  role?: string;
  language?: string;
  disabled?: boolean;
  password_hash?: string;
  totp_secret?: string | null;
  totp_last_step?: number | null;
}

export async function updateAccount(db: DbOrTx, name: string, changes: AccountChanges, at: Date): Promise<AccountRow | undefined> {
  return db
    .updateTable('handler_account')
    .set({ ...changes, updated_at: at })
    .where('name', '=', name)
    .returningAll()
    .executeTakeFirst();
}

/**
 * The enabled admin accounts other than `name`, their rows locked for the caller's transaction:
 * two admins demoting each other at once wait for one another, so the second sees the first's
 * change and one admin always remains.
 */
export async function lockOtherActiveAdmins(tx: Tx, name: string): Promise<string[]> {
  const rows = await tx
    .selectFrom('handler_account')
    .select('name')
    .where('role', '=', 'admin')
    .where('disabled', '=', false)
    .where('name', '!=', name)
    .orderBy('name')
    .forUpdate()
    .execute();
  return rows.map((r) => r.name);
}

export async function deleteAccount(db: DbOrTx, name: string): Promise<boolean> {
  const result = await db.deleteFrom('handler_account').where('name', '=', name).executeTakeFirst();
  return Number(result.numDeletedRows) > 0;
}

/**
 * Takes a TOTP step for the account when it is newer than the last one taken: the one statement
 * that makes a code single-use, also against two sign-ins racing with the same code.
 */
export async function claimTotpStep(db: DbOrTx, name: string, step: number): Promise<boolean> {
  const result = await db
    .updateTable('handler_account')
    .set({ totp_last_step: step })
    .where('name', '=', name)
    .where((eb) => eb.or([eb('totp_last_step', 'is', null), eb('totp_last_step', '<', step)]))
    .executeTakeFirst();
  return Number(result.numUpdatedRows) > 0;
}

export async function insertSession(
  db: DbOrTx,
  s: { idHash: string; account: string; csrfHash: string; at: Date; expiresAt: Date },
): Promise<void> {
  await db
    .insertInto('handler_session')
    .values({
      id_hash: s.idHash,
      account_name: s.account,
      csrf_hash: s.csrfHash,
      created_at: s.at,
      last_seen_at: s.at,
      expires_at: s.expiresAt,
    })
    .execute();
}

export interface LiveSession {
  idHash: string;
  csrfHash: string;
  expiresAt: Date;
  account: AccountRow;
}

/**
 * The session when it is live (before its absolute end, seen within the idle timeout, its account
 * enabled), touched as seen now: one statement on every request that carries the cookie.
 */
export async function touchLiveSession(db: DbOrTx, idHash: string, now: Date, idleMs: number): Promise<LiveSession | null> {
  const row = await db
    .updateTable('handler_session')
    .from('handler_account')
    .set({ last_seen_at: now })
    .whereRef('handler_account.name', '=', 'handler_session.account_name')
    .where('handler_session.id_hash', '=', idHash)
    .where('handler_session.expires_at', '>', now)
    .where('handler_session.last_seen_at', '>', new Date(now.getTime() - idleMs))
    .where('handler_account.disabled', '=', false)
    .returning([
      'handler_session.id_hash as session_id_hash',
      'handler_session.csrf_hash as session_csrf_hash',
      'handler_session.expires_at as session_expires_at',
      'handler_account.name',
      'handler_account.display_name',
      'handler_account.role',
      'handler_account.password_hash',
      'handler_account.totp_secret',
      'handler_account.totp_last_step',
      'handler_account.language',
      'handler_account.disabled',
      'handler_account.created_at',
      'handler_account.updated_at',
    ])
    .executeTakeFirst();
  if (!row) return null;
  const { session_id_hash, session_csrf_hash, session_expires_at, ...account } = row;
  return { idHash: session_id_hash, csrfHash: session_csrf_hash, expiresAt: session_expires_at, account };
}

export async function deleteSession(db: DbOrTx, idHash: string): Promise<void> {
  await db.deleteFrom('handler_session').where('id_hash', '=', idHash).execute();
}

/** Ends an account's sessions, all of them or all but one (a password change keeps the changer's own). */
export async function deleteSessionsOf(db: DbOrTx, account: string, except: string | null = null): Promise<number> {
  let query = db.deleteFrom('handler_session').where('account_name', '=', account);
  if (except) query = query.where('id_hash', '!=', except);
  const result = await query.executeTakeFirst();
  return Number(result.numDeletedRows);
}

/** Sessions past their absolute end or idle too long: cleared now and then, they refuse themselves anyway. */
export async function deleteDeadSessions(db: DbOrTx, now: Date, idleMs: number): Promise<number> {
  const result = await db
    .deleteFrom('handler_session')
    .where((eb) => eb.or([eb('expires_at', '<=', now), eb('last_seen_at', '<=', new Date(now.getTime() - idleMs))]))
    .executeTakeFirst();
  return Number(result.numDeletedRows);
}
