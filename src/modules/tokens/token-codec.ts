import { randomUUID } from 'node:crypto';
import { createSigner, createVerifier } from 'fast-jwt';

/**
 * API tokens are HS256 JWTs signed with the node's token secret. They are minted from the
 * secret alone (no database), so `hikeshi token create` works while the node holds the
 * embedded database; revocation is a row the node checks on every request.
 */
export const ROLES = ['reader', 'handler', 'admin'] as const;
export type Role = (typeof ROLES)[number];

export const API_AUDIENCE = 'hikeshi:api';
export const FEDERATION_AUDIENCE = 'hikeshi:federation';
export const JWT_ALGORITHM = 'HS256';

const ROLE_RANK: Record<Role, number> = { reader: 0, handler: 1, admin: 2 };

export function roleAllows(held: Role, needed: Role): boolean {
  return ROLE_RANK[held] >= ROLE_RANK[needed];
}

export function isRole(value: unknown): value is Role {
  return typeof value === 'string' && (ROLES as readonly string[]).includes(value);
}

export const DEFAULT_TOKEN_TTL_SECONDS = 30 * 24 * 3600;
export const MAX_TOKEN_TTL_SECONDS = 366 * 24 * 3600;

/** "90d", "12h", "15m", "3600s" or plain seconds. */
export function parseDuration(text: string): number | null {
  const m = /^(\d{1,7})([smhd]?)$/.exec(text.trim());
  if (!m) return null;
  const n = Number(m[1]);
  const unit = { '': 1, s: 1, m: 60, h: 3600, d: 86400 }[m[2] as '' | 's' | 'm' | 'h' | 'd'];
  const seconds = n * unit;
  return seconds > 0 && seconds <= MAX_TOKEN_TTL_SECONDS ? seconds : null;
}

export interface MintedToken {
  token: string;
  id: string;
  role: Role;
  subject: string;
  expiresAt: string;
}

export function mintApiToken(
  secret: string,
  claims: { role: Role; subject: string; issuer: string; ttlSeconds?: number; now?: Date },
): MintedToken {
  const id = randomUUID();
  const ttl = claims.ttlSeconds ?? DEFAULT_TOKEN_TTL_SECONDS;
  const nowMs = (claims.now ?? new Date()).getTime();
  const sign = createSigner({
    key: secret,
    algorithm: JWT_ALGORITHM,
    jti: id,
    aud: API_AUDIENCE,
    iss: claims.issuer,
    sub: claims.subject,
    expiresIn: ttl * 1000,
    clockTimestamp: nowMs,
  });
  const token = sign({ role: claims.role });
  // exp is in whole seconds (floor); expiresAt says the same instant, never later than the token's real end.
  const expSeconds = Math.floor((nowMs + ttl * 1000) / 1000);
  return {
    token,
    id,
    role: claims.role,
    subject: claims.subject,
    expiresAt: new Date(expSeconds * 1000).toISOString(),
  };
}

/**
 * Checks an API token's signature (HS256, the node's secret), audience and expiry; answers its
 * claims or throws. Both `aud` and `exp` are required: allowedAud alone lets a token without an
 * audience through, and one without exp would never expire. Made once per node: preparing the
 * verifier (options, the key) for every request was a measurable part of a request's work.
 */
export function createApiTokenVerifier(secret: string): (token: string) => Record<string, unknown> {
  return verifierFor(secret, API_AUDIENCE);
}

/**
 * Checks a peer token (what POST /federation/v1/token gave a peer for its pulls) as
 * createApiTokenVerifier checks an API token: HS256 with the node's secret, the federation
 * audience and an expiry both required. An API token fails here, a peer token there.
 */
export function createPeerTokenVerifier(secret: string): (token: string) => Record<string, unknown> {
  return verifierFor(secret, FEDERATION_AUDIENCE);
}

function verifierFor(secret: string, audience: string): (token: string) => Record<string, unknown> {
  return createVerifier({ key: secret, algorithms: [JWT_ALGORITHM], allowedAud: audience, requiredClaims: ['aud', 'exp'] }) as (
    token: string,
  ) => Record<string, unknown>;
}
