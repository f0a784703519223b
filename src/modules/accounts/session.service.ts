import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Language, OwnTotpEnrol, PasswordChange, Session, SessionCreate } from '../../../schemas/account.schema.js';
import type { Clock } from '../../clock.js';
import type { Db } from '../../db/database.js';
import { ProblemError } from '../../http/problem.js';
import type { AuditLog } from '../audit/audit.module.js';
import type { Role } from '../tokens/tokens.module.js';
import {
  claimTotpStep,
  deleteDeadSessions,
  deleteSession,
  deleteSessionsOf,
  findAccount,
  insertSession,
  touchLiveSession,
  updateAccount,
  type AccountRow,
  type LiveSession,
} from './account.repository.js';
import { CURRENT_PARAMETERS, hashPassword, needsRehash, verifyPassword, type ScryptParameters } from './password-hash.js';
import { createSignInLimits } from './sign-in-limits.js';
import { matchTotp, newTotpSecret, otpauthUri } from './totp.js';

/**
 * Sessions for people (ADR 0029). The session id is 256 random bits in an HttpOnly cookie; the
 * CSRF token is an HMAC of that id, so the page can read it again (GET /session) while the
 * database keeps only SHA-256 digests of both: a copy of the table signs nobody in.
 */
export { SESSION_COOKIE } from '../../http/auth.js';

/**
 * An scrypt hash of nobody's password, with the current parameters: an unknown account's sign-in
 * compares against it, so it takes as long as a known one's (no user enumeration by timing).
 */
const DUMMY_HASH = '$scrypt$ln=17,r=8,p=1$dCg1rg2NeYyPh63JFpOESA==$taWF7wNbZ5EX5j6uROespSLSSe6Vta2mwFFvDvswoEE=';

export const digest = (value: string) => createHash('sha256').update(value).digest('hex');
const csrfTokenOf = (sessionId: string) => createHmac('sha256', sessionId).update('hikeshi csrf v1').digest('base64url');

/** A session the cookie names, live, with the account read fresh. */
export interface AuthenticatedSession {
  sessionId: string;
  live: LiveSession;
  role: Role;
  subject: string;
}

export interface SessionService {
  /** Answers the cookie's value and the wire body; throws sign-in-failed (401) or rate-limited (429). */
  signIn(input: SessionCreate, address: string): Promise<{ sessionId: string; session: Session }>;
  /** The live session the cookie names, touched as seen, or null (expired, idle, unknown, account disabled). */
  authenticate(sessionId: string): Promise<AuthenticatedSession | null>;
  csrfMatches(session: AuthenticatedSession, header: string | undefined): boolean;
  view(session: AuthenticatedSession): Session;
  setLanguage(session: AuthenticatedSession, language: Language): Promise<Session>;
  signOut(session: AuthenticatedSession, address: string): Promise<void>;
  /** Self-service: a new password, the current one required; the person's other sessions end. */
  changePassword(session: AuthenticatedSession, input: PasswordChange, address: string): Promise<{ sessionsEnded: number }>;
  /** A fresh TOTP secret for the person to set up; nothing is stored until enrolOwnTotp confirms it. */
  proposeTotp(session: AuthenticatedSession): { uri: string; secret: string };
  enrolOwnTotp(session: AuthenticatedSession, input: OwnTotpEnrol, address: string): Promise<void>;
  removeOwnTotp(session: AuthenticatedSession, currentPassword: string, address: string): Promise<void>;
}

export interface SessionServiceDeps {
  db: Db;
  clock: Clock;
  audit: AuditLog;
  sessions: { maxAgeSeconds: number; idleSeconds: number; failuresPerAccount: number; attemptsPerAddressPerMinute: number };
  passwordParameters: ScryptParameters;
  /** The TOTP issuer's name in authenticator apps: "Hikeshi <team id>". */
  teamId: string;
}

const subjectOf = (name: string) => `account:${name}`;

export function createSessionService(deps: SessionServiceDeps): SessionService {
  const { db, clock, audit } = deps;
  const idleMs = deps.sessions.idleSeconds * 1000;
  const limits = createSignInLimits(clock, deps.sessions);
  let lastSweep = 0;
  const params = deps.passwordParameters;
  // The dummy costs what a real hash costs: with other parameters (tests), one made at start.
  const sameAsCurrent = params.ln === CURRENT_PARAMETERS.ln && params.r === CURRENT_PARAMETERS.r && params.p === CURRENT_PARAMETERS.p;
  const dummyHash = sameAsCurrent ? Promise.resolve(DUMMY_HASH) : hashPassword(randomBytes(16).toString('hex'), params);

  const view = (account: AccountRow, sessionId: string, expiresAt: Date): Session => ({
    account: {
      name: account.name,
      displayName: account.display_name,
      role: account.role as Role,
      language: account.language as Language,
      totp: account.totp_secret !== null,
    },
    csrfToken: csrfTokenOf(sessionId),
    expiresAt: expiresAt.toISOString(),
  });

  async function refuse(account: AccountRow | undefined, input: SessionCreate, address: string, reason: string): Promise<never> {
    limits.failed(input.account);
    // The name is recorded only when it is an account's: a password typed into the name field
    // must not land in the append-only log.
    await audit.append(db, {
      kind: 'account.sign-in-refused',
      actor: account ? subjectOf(account.name) : 'anonymous',
      decision: 'deny',
      details: { reason: account ? reason : 'unknown-account', address },
    });
    throw new ProblemError('sign-in-failed');
  }

  /** Password, enabled, then the TOTP code when the account has one: the reason a refusal is audited with, or null. */
  async function check(account: AccountRow | undefined, input: SessionCreate, now: Date): Promise<string | null> {
    const passwordOk = await verifyPassword(input.password, account?.password_hash ?? (await dummyHash));
    if (!account || !passwordOk) return 'password';
    if (account.disabled) return 'disabled';
    if (account.totp_secret) {
      const step = input.totp === undefined ? null : matchTotp(account.totp_secret, input.totp.trim(), now);
      if (step === null) return 'totp';
      if (!(await claimTotpStep(db, account.name, step))) return 'totp-replayed';
    }
    return null;
  }

  /**
   * Self-service changes need the current password: a session left open on a desk must not
   * replace the account's factors. Wrong guesses count against the same per-account limit as
   * sign-ins, so the session is no side door for guessing.
   */
  async function confirmPassword(session: AuthenticatedSession, currentPassword: string, address: string, what: string) {
    const name = session.live.account.name;
    limits.admit(address, name);
    if (await verifyPassword(currentPassword, session.live.account.password_hash)) return;
    limits.failed(name);
    await audit.append(db, {
      kind: 'account.self-service-refused',
      actor: session.subject,
      decision: 'deny',
      details: { account: name, change: what, reason: 'current-password', address },
    });
    throw new ProblemError('current-password-wrong');
  }

  async function sweep(now: Date) {
    // Dead sessions refuse themselves; this only keeps the table small, at most once an hour.
    if (now.getTime() - lastSweep < 3_600_000) return;
    lastSweep = now.getTime();
    await deleteDeadSessions(db, now, idleMs);
  }

  return {
    async signIn(input, address) {
      limits.admit(address, input.account);
      const now = clock();
      const account = await findAccount(db, input.account);
      const reason = await check(account, input, now);
      if (reason !== null || !account) return refuse(account, input, address, reason ?? 'password');
      limits.succeeded(input.account);
      if (needsRehash(account.password_hash, params)) {
        await updateAccount(db, account.name, { password_hash: await hashPassword(input.password, params) }, now);
      }
      const sessionId = randomBytes(32).toString('base64url');
      const expiresAt = new Date(now.getTime() + deps.sessions.maxAgeSeconds * 1000);
      const idHash = digest(sessionId);
      await db.transaction().execute(async (tx) => {
        await insertSession(tx, { idHash, account: account.name, csrfHash: digest(csrfTokenOf(sessionId)), at: now, expiresAt });
        await audit.append(tx, {
          kind: 'account.signed-in',
          actor: subjectOf(account.name),
          decision: 'allow',
          details: { address, session: idHash.slice(0, 16), totp: account.totp_secret !== null },
        });
      });
      await sweep(now);
      return { sessionId, session: view(account, sessionId, expiresAt) };
    },

    async authenticate(sessionId) {
      if (!/^[A-Za-z0-9_-]{43}$/.test(sessionId)) return null;
      const live = await touchLiveSession(db, digest(sessionId), clock(), idleMs);
      if (!live) return null;
      return { sessionId, live, role: live.account.role as Role, subject: subjectOf(live.account.name) };
    },

    csrfMatches(session, header) {
      if (typeof header !== 'string' || header.length === 0 || header.length > 200) return false;
      return timingSafeEqual(Buffer.from(digest(header), 'hex'), Buffer.from(session.live.csrfHash, 'hex'));
    },

    view: (session) => view(session.live.account, session.sessionId, session.live.expiresAt),

    async setLanguage(session, language) {
      const account = await updateAccount(db, session.live.account.name, { language }, clock());
      if (!account) throw new ProblemError('unauthenticated', 'the account no longer exists');
      return view(account, session.sessionId, session.live.expiresAt);
    },

    async changePassword(session, input, address) {
      await confirmPassword(session, input.currentPassword, address, 'password');
      const name = session.live.account.name;
      const passwordHash = await hashPassword(input.newPassword, params);
      return db.transaction().execute(async (tx) => {
        await updateAccount(tx, name, { password_hash: passwordHash }, clock());
        // Whoever else holds a session of this account (a stolen cookie, a forgotten browser) is out.
        const sessionsEnded = await deleteSessionsOf(tx, name, session.live.idHash);
        await audit.append(tx, {
          kind: 'account.password-changed',
          actor: session.subject,
          details: { account: name, self: true, sessionsEnded, address },
        });
        return { sessionsEnded };
      });
    },

    proposeTotp(session) {
      const secret = newTotpSecret();
      return { uri: otpauthUri(`Hikeshi ${deps.teamId}`, session.live.account.name, secret), secret };
    },

    async enrolOwnTotp(session, input, address) {
      await confirmPassword(session, input.currentPassword, address, 'totp-enrol');
      // The confirming code's step is taken as used: it cannot sign anyone in afterwards.
      const step = matchTotp(input.secret, input.code, clock());
      if (step === null) throw new ProblemError('totp-code-wrong');
      const name = session.live.account.name;
      await db.transaction().execute(async (tx) => {
        await updateAccount(tx, name, { totp_secret: input.secret, totp_last_step: step }, clock());
        await audit.append(tx, { kind: 'account.totp-enrolled', actor: session.subject, details: { account: name, self: true } });
      });
    },

    async removeOwnTotp(session, currentPassword, address) {
      await confirmPassword(session, currentPassword, address, 'totp-remove');
      const name = session.live.account.name;
      await db.transaction().execute(async (tx) => {
        await updateAccount(tx, name, { totp_secret: null, totp_last_step: null }, clock());
        await audit.append(tx, { kind: 'account.totp-removed', actor: session.subject, details: { account: name, self: true } });
      });
    },

    async signOut(session, address) {
      await db.transaction().execute(async (tx) => {
        await deleteSession(tx, session.live.idHash);
        await audit.append(tx, {
          kind: 'account.signed-out',
          actor: session.subject,
          details: { address, session: session.live.idHash.slice(0, 16) },
        });
      });
    },
  };
}
