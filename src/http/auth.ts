import type { FastifyReply, FastifyRequest, preHandlerAsyncHookHandler } from 'fastify';
import { ProblemError } from './problem.js';
import { isRole, roleAllows, type Role } from '../modules/tokens/token-codec.js';

/** Who is calling /api/v1: set by the scope's authentication hook. */
export interface ApiPrincipal {
  /** A token's subject, or `account:<name>` for a person signed in with a session. */
  subject: string;
  role: Role;
  /** The bearer token's id; absent for a session. */
  tokenId?: string;
  /** The session the cookie named (sign-in for people, ADR 0029); absent for a bearer token. */
  session?: unknown;
}

declare module 'fastify' {
  interface FastifyRequest {
    principal?: ApiPrincipal;
  }
}

/** How the API's bearer tokens are checked: this node's signature, audience and expiry, then revocation. */
export interface ApiTokenCheck {
  /** The token's claims, or throws when it is not a valid API token of this node. */
  verify(token: string): Record<string, unknown>;
  isRevoked(tokenId: string): Promise<boolean>;
}

/**
 * The claims of an `Authorization: Bearer <token>` header's token, as `verify` (a verifier of one
 * audience, token-codec.ts) reads them: the scheme in any case, one space, exactly one token.
 * Throws for any other form and for a token `verify` refuses; API and peer tokens are read alike.
 */
export function bearerClaims(header: string, verify: (token: string) => Record<string, unknown>): Record<string, unknown> {
  const parts = header.split(' ');
  if (parts.length !== 2 || !/^Bearer$/i.test(parts[0]!) || parts[1]! === '') throw new Error('not a bearer token');
  return verify(parts[1]!);
}

/** The sessions of people signed in (the accounts module), as the scope's hook needs them. */
export interface SessionCheck<S extends { role: Role; subject: string }> {
  /** The cookie's session when live: the role and subject of its account, read now. */
  authenticate(sessionId: string): Promise<S | null>;
  csrfMatches(session: S, header: string | undefined): boolean;
}

export const SESSION_COOKIE = 'hikeshi_session';
const UNSAFE_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** One cookie's value from the Cookie header (RFC 6265 syntax), or undefined. */
export function cookieValue(request: FastifyRequest, name: string): string | undefined {
  const header = request.headers.cookie;
  if (typeof header !== 'string') return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/**
 * The /api/v1 scope's onRequest hook: a bearer JWT for this node's API audience, not revoked;
 * or, without an Authorization header, the session cookie of a person signed in, whose unsafe
 * requests must carry the session's X-CSRF-Token (a synchronizer token: another site can make
 * the browser send the cookie, never read the token). Peer tokens carry the federation
 * audience and fail here, by construction.
 */
export function authenticateApi<S extends { role: Role; subject: string }>(tokens: ApiTokenCheck, sessions?: SessionCheck<S>) {
  return async function authenticate(request: FastifyRequest): Promise<void> {
    if (!request.headers.authorization && sessions) {
      const sessionId = cookieValue(request, SESSION_COOKIE);
      if (sessionId !== undefined) return authenticateSession(request, sessions, sessionId);
    }
    if (!request.headers.authorization) throw new ProblemError('unauthenticated', 'missing Authorization: Bearer header or session cookie');
    let claims: Record<string, unknown>;
    try {
      claims = bearerClaims(request.headers.authorization, tokens.verify);
    } catch {
      throw new ProblemError('unauthenticated', 'the bearer token is invalid or expired');
    }
    const { sub, role, jti } = claims;
    if (typeof sub !== 'string' || typeof jti !== 'string' || !isRole(role)) {
      throw new ProblemError('unauthenticated', 'the bearer token lacks subject, role or id');
    }
    if (await tokens.isRevoked(jti)) throw new ProblemError('token-revoked');
    request.principal = { subject: sub, role, tokenId: jti };
  };
}

/** For routes about the session itself (GET/PATCH/DELETE /api/v1/session): the cookie alone, no bearer token. */
export function authenticateSessionOnly<S extends { role: Role; subject: string }>(sessions: SessionCheck<S>) {
  return async function authenticate(request: FastifyRequest): Promise<void> {
    const sessionId = cookieValue(request, SESSION_COOKIE);
    if (sessionId === undefined) throw new ProblemError('unauthenticated', 'no session cookie: sign in first');
    await authenticateSession(request, sessions, sessionId);
  };
}

async function authenticateSession<S extends { role: Role; subject: string }>(
  request: FastifyRequest,
  sessions: SessionCheck<S>,
  sessionId: string,
): Promise<void> {
  const session = await sessions.authenticate(sessionId);
  if (!session) throw new ProblemError('unauthenticated', 'the session has ended or does not exist: sign in again');
  if (UNSAFE_METHODS.has(request.method)) {
    const header = request.headers['x-csrf-token'];
    if (!sessions.csrfMatches(session, typeof header === 'string' ? header : undefined)) {
      throw new ProblemError('csrf-token-invalid');
    }
  }
  request.principal = { subject: session.subject, role: session.role, session };
}

/** Route-level guard: `preHandler: requireRole('handler')`. */
export function requireRole(needed: Role): preHandlerAsyncHookHandler {
  return async function checkRole(request: FastifyRequest, _reply: FastifyReply) {
    const principal = request.principal;
    if (!principal) throw new ProblemError('unauthenticated');
    if (!roleAllows(principal.role, needed)) {
      throw new ProblemError('forbidden', `this action needs the ${needed} role; the caller has ${principal.role}`);
    }
  };
}

export function principalOf(request: FastifyRequest): ApiPrincipal {
  if (!request.principal) throw new ProblemError('unauthenticated');
  return request.principal;
}
