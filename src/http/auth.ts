import type { FastifyReply, FastifyRequest, preHandlerAsyncHookHandler } from 'fastify';
import { ProblemError } from './problem.js';
import { API_AUDIENCE, isRole, roleAllows, type Role } from '../modules/tokens/token-codec.js';

/** Who is calling /api/v1: set by the scope's authentication hook. */
export interface ApiPrincipal {
  subject: string;
  role: Role;
  tokenId: string;
}

declare module 'fastify' {
  interface FastifyRequest {
    principal?: ApiPrincipal;
  }
}

export interface RevocationCheck {
  isRevoked(tokenId: string): Promise<boolean>;
}

/**
 * The /api/v1 scope's onRequest hook: a bearer JWT for this node's API audience, not revoked.
 * Peer tokens carry the federation audience and fail here, by construction.
 */
export function authenticateApi(revocations: RevocationCheck) {
  return async function authenticate(request: FastifyRequest): Promise<void> {
    if (!request.headers.authorization) throw new ProblemError('unauthenticated', 'missing Authorization: Bearer header');
    let claims: Record<string, unknown>;
    try {
      // allowedAud alone lets a token without an audience through, and one without exp never
      // expires: both claims are required, so only tokens minted for this API pass.
      claims = await request.jwtVerify<Record<string, unknown>>({
        allowedAud: API_AUDIENCE,
        requiredClaims: ['aud', 'exp'],
      });
    } catch {
      throw new ProblemError('unauthenticated', 'the bearer token is invalid or expired');
    }
    const { sub, role, jti } = claims;
    if (typeof sub !== 'string' || typeof jti !== 'string' || !isRole(role)) {
      throw new ProblemError('unauthenticated', 'the bearer token lacks subject, role or id');
    }
    if (await revocations.isRevoked(jti)) throw new ProblemError('token-revoked');
    request.principal = { subject: sub, role, tokenId: jti };
  };
}

/** Route-level guard: `preHandler: requireRole('handler')`. */
export function requireRole(needed: Role): preHandlerAsyncHookHandler {
  return async function checkRole(request: FastifyRequest, _reply: FastifyReply) {
    const principal = request.principal;
    if (!principal) throw new ProblemError('unauthenticated');
    if (!roleAllows(principal.role, needed)) {
      throw new ProblemError('forbidden', `this action needs the ${needed} role; the token has ${principal.role}`);
    }
  };
}

export function principalOf(request: FastifyRequest): ApiPrincipal {
  if (!request.principal) throw new ProblemError('unauthenticated');
  return request.principal;
}
