import type { Account, AccountCreate, AccountPatch } from '../../../schemas/account.schema.js';
import type { Clock } from '../../clock.js';
import type { Db, Tx } from '../../db/database.js';
import { ProblemError } from '../../http/problem.js';
import type { AuditLog } from '../audit/audit.module.js';
import type { Role } from '../tokens/tokens.module.js';
import {
  deleteAccount,
  deleteSessionsOf,
  findAccount,
  insertAccount,
  listAccounts,
  lockOtherActiveAdmins,
  updateAccount,
  type AccountChanges,
  type AccountRow,
} from './account.repository.js';
import { CURRENT_PARAMETERS, generatePassword, hashPassword, MIN_PASSWORD_LENGTH, type ScryptParameters } from './password-hash.js';
import { newTotpSecret, otpauthUri } from './totp.js';

/**
 * Handler accounts, managed by admins (issue 20 item 2, ADR 0029). Every change is audited in
 * the transaction that makes it, with what changed but never a password, hash or TOTP secret.
 * A disabled or removed account's sessions end in the same transaction; a new password ends the
 * account's sessions but the one of the person who set it.
 */
export interface AccountService {
  list(): Promise<Account[]>;
  get(name: string): Promise<Account>;
  /** Answers the generated password when none was given: shown once, never stored. */
  create(input: AccountCreate, actor: string): Promise<{ account: Account; password?: string }>;
  patch(name: string, patch: AccountPatch, actor: string, keepSession?: string | null): Promise<Account>;
  remove(name: string, actor: string): Promise<void>;
  /** A new TOTP secret (replacing any): the otpauth:// URI, answered once. */
  enrolTotp(name: string, actor: string): Promise<{ uri: string; secret: string }>;
  removeTotp(name: string, actor: string): Promise<void>;
}

export function toWireAccount(row: AccountRow): Account {
  return {
    name: row.name,
    displayName: row.display_name,
    role: row.role as Role,
    language: row.language as Account['language'],
    disabled: row.disabled,
    totp: row.totp_secret !== null,
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
  };
}

const notFound = (name: string) => new ProblemError('not-found', `no account named ${name}`);

/**
 * Refuses a change that would leave no enabled admin account (ADR 0029): the console would have
 * nobody left to manage accounts, and only the bootstrap token or the CLI could repair it.
 * Checked in the change's transaction, with the other admins' rows locked.
 */
async function keepAnAdmin(tx: Tx, current: AccountRow, after: { role: string; disabled: boolean } | null): Promise<void> {
  const isActiveAdmin = (a: { role: string; disabled: boolean }) => a.role === 'admin' && !a.disabled;
  if (!isActiveAdmin(current) || (after && isActiveAdmin(after))) return;
  if ((await lockOtherActiveAdmins(tx, current.name)).length > 0) return;
  throw new ProblemError('last-active-admin', `${current.name} is the last enabled admin account: make another admin first`);
}

function checkPassword(password: string) {
  // The schema says the same; the CLI's fallback reaches here without it.
  if ([...password].length < MIN_PASSWORD_LENGTH)
    throw new ProblemError('validation-failed', `a password has at least ${MIN_PASSWORD_LENGTH} characters`);
}

export function createAccountService(deps: {
  db: Db;
  clock: Clock;
  audit: AuditLog;
  teamId: string;
  /** New hashes' scrypt cost: CURRENT_PARAMETERS unless a test lowers it. */
  passwordParameters?: ScryptParameters;
}): AccountService {
  const { db, clock, audit } = deps;
  const hash = (password: string) => hashPassword(password, deps.passwordParameters ?? CURRENT_PARAMETERS);

  return {
    list: async () => (await listAccounts(db)).map(toWireAccount),

    async get(name) {
      const row = await findAccount(db, name);
      if (!row) throw notFound(name);
      return toWireAccount(row);
    },

    async create(input, actor) {
      const generated = input.password === undefined ? generatePassword() : null;
      const password = input.password ?? generated!;
      checkPassword(password);
      const passwordHash = await hash(password);
      const at = clock();
      const row = await db.transaction().execute(async (tx) => {
        const fields = {
          name: input.name,
          displayName: input.displayName ?? input.name,
          role: input.role,
          language: input.language ?? 'en',
        };
        if (!(await insertAccount(tx, { ...fields, passwordHash, at })))
          throw new ProblemError('conflict', `an account named ${input.name} exists`);
        await audit.append(tx, { kind: 'account.created', actor, details: { ...fields, passwordGenerated: generated !== null } });
        return (await findAccount(tx, input.name))!;
      });
      return { account: toWireAccount(row), ...(generated ? { password: generated } : {}) };
    },

    async patch(name, patch, actor, keepSession = null) {
      const changes: AccountChanges = {};
      if (patch.displayName !== undefined) changes.display_name = patch.displayName;
      if (patch.role !== undefined) changes.role = patch.role;
      if (patch.language !== undefined) changes.language = patch.language;
      if (patch.disabled !== undefined) changes.disabled = patch.disabled;
      if (patch.password !== undefined) {
        checkPassword(patch.password);
        changes.password_hash = await hash(patch.password);
      }
      const row = await db.transaction().execute(async (tx) => {
        const current = await findAccount(tx, name, true);
        if (!current) throw notFound(name);
        await keepAnAdmin(tx, current, { role: patch.role ?? current.role, disabled: patch.disabled ?? current.disabled });
        const updated = await updateAccount(tx, name, changes, clock());
        if (!updated) throw notFound(name);
        let sessionsEnded = 0;
        if (patch.disabled === true) sessionsEnded = await deleteSessionsOf(tx, name);
        else if (patch.password !== undefined) sessionsEnded = await deleteSessionsOf(tx, name, keepSession);
        const { password: _password, ...audited } = patch;
        await audit.append(tx, {
          kind: 'account.updated',
          actor,
          details: { account: name, ...audited, passwordChanged: patch.password !== undefined, sessionsEnded },
        });
        return updated;
      });
      return toWireAccount(row);
    },

    async remove(name, actor) {
      await db.transaction().execute(async (tx) => {
        const current = await findAccount(tx, name, true);
        if (!current) throw notFound(name);
        await keepAnAdmin(tx, current, null);
        // The sessions go with the account (ON DELETE CASCADE): its cookies sign nobody in from now.
        if (!(await deleteAccount(tx, name))) throw notFound(name);
        await audit.append(tx, { kind: 'account.removed', actor, details: { account: name } });
      });
    },

    async enrolTotp(name, actor) {
      const secret = newTotpSecret();
      await db.transaction().execute(async (tx) => {
        if (!(await updateAccount(tx, name, { totp_secret: secret, totp_last_step: null }, clock()))) throw notFound(name);
        await audit.append(tx, { kind: 'account.totp-enrolled', actor, details: { account: name } });
      });
      return { uri: otpauthUri(`Hikeshi ${deps.teamId}`, name, secret), secret };
    },

    async removeTotp(name, actor) {
      await db.transaction().execute(async (tx) => {
        if (!(await updateAccount(tx, name, { totp_secret: null, totp_last_step: null }, clock()))) throw notFound(name);
        await audit.append(tx, { kind: 'account.totp-removed', actor, details: { account: name } });
      });
    },
  };
}
