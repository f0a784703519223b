import type { FastifyPluginAsync } from 'fastify';
import type { Clock } from '../../clock.js';
import type { Config } from '../../config.js';
import type { Db } from '../../db/database.js';
import type { AuditLog } from '../audit/audit.module.js';
import { accountRoutes } from './account.routes.js';
import { createAccountService, type AccountService } from './account.service.js';
import { sessionRoutes } from './session.routes.js';
import { createSessionService, type SessionService } from './session.service.js';
import { CURRENT_PARAMETERS, type ScryptParameters } from './password-hash.js';

export interface AccountsModule {
  accounts: AccountService;
  /** What the /api/v1 scope's hook checks a session cookie with. */
  sessions: SessionService;
  /** Mounted under /api/v1 beside the token-authenticated scope: POST /session is open, the rest take the cookie. */
  sessionRoutes: FastifyPluginAsync;
  /** Mounted inside the /api/v1 scope: /accounts (admins). */
  apiRoutes: FastifyPluginAsync;
}

/** Sign-in for people (issue 20 item 2, ADR 0029): handler accounts and their sessions. */
export function createAccountsModule(deps: {
  db: Db;
  clock: Clock;
  audit: AuditLog;
  config: Config;
  /** New hashes' scrypt cost; the default is CURRENT_PARAMETERS (tests lower it). */
  passwordParameters?: ScryptParameters | undefined;
}): AccountsModule {
  const passwordParameters = deps.passwordParameters ?? CURRENT_PARAMETERS;
  const { config } = deps;
  const accounts = createAccountService({ ...deps, teamId: config.teamId, passwordParameters });
  const sessions = createSessionService({ ...deps, sessions: config.sessions, passwordParameters, teamId: config.teamId });
  return {
    accounts,
    sessions,
    sessionRoutes: async (scope) => {
      await scope.register(sessionRoutes, { sessions, maxAgeSeconds: config.sessions.maxAgeSeconds });
    },
    apiRoutes: async (api) => {
      await api.register(accountRoutes, { accounts });
    },
  };
}

export { createAccountService, type AccountService } from './account.service.js';
export { MIN_PASSWORD_LENGTH, type ScryptParameters } from './password-hash.js';
