import { randomUUID } from 'node:crypto';
import { createSigner } from 'fast-jwt';
import type { FastifyBaseLogger, FastifyRequest } from 'fastify';
import { bearerClaims } from '../../http/auth.js';
import type { Clock } from '../../clock.js';
import type { Config } from '../../config.js';
import { verifyDocumentSignature } from '../../crypto/index.js';
import type { Db } from '../../db/database.js';
import { ProblemError, type ProblemCode } from '../../http/problem.js';
import { IJsonError, parseIJson } from '../../util/i-json.js';
import type { AuditLog } from '../audit/audit.module.js';
import { createPeerTokenVerifier, FEDERATION_AUDIENCE, JWT_ALGORITHM } from '../tokens/tokens.module.js';
import type { PeerDirectory, PeerRecord } from '../peers/peers.module.js';
import { useTokenRequest } from './peer-token.repository.js';
import { envelopeShape, MAX_CLOCK_SKEW_MS, TEAM_ID, validateDocument } from '../exchange/exchange.module.js';

/**
 * Pulls: a peer proves who it is with a fresh signed auth.token-request and gets a short-lived
 * JWT for the federation audience; with it, it pages through its feed (feed.service.ts). API tokens carry the API
 * audience and fail here; peer tokens fail on /api/v1 for the same reason.
 */
export interface PeerAccessDeps {
  db: Db;
  clock: Clock;
  config: Pick<Config, 'teamId'>;
  tokenSecret: string;
  peers: PeerDirectory;
  audit: AuditLog;
  log: FastifyBaseLogger;
}

export const PEER_TOKEN_TTL_SECONDS = 10 * 60;

export interface PeerToken {
  token: string;
  tokenType: 'Bearer';
  expiresAt: string;
}

export interface PeerAccess {
  issueToken(raw: string): Promise<PeerToken>;
  /** The peer a verified token names, if it may still pull. */
  activePeer(teamId: string): Promise<PeerRecord>;
  /** A peer token's claims when this node signed it for the federation audience and it has not expired; throws otherwise. */
  verifyToken(token: string): Record<string, unknown>;
}

/**
 * The peer a pull's bearer token names (`Authorization: Bearer <peer token>`), if it may still
 * pull: every GET under /federation/v1 that serves a peer its own view starts here.
 * 401 unauthenticated without a valid peer token of this node; 403/409 for a suspended or
 * flagged peer.
 */
export async function authenticatePeer(
  request: FastifyRequest,
  teamId: string,
  access: Pick<PeerAccess, 'activePeer' | 'verifyToken'>,
): Promise<PeerRecord> {
  if (!request.headers.authorization) throw new ProblemError('unauthenticated', 'missing Authorization: Bearer header with a peer token');
  let claims: Record<string, unknown>;
  try {
    claims = bearerClaims(request.headers.authorization, access.verifyToken);
  } catch {
    throw new ProblemError('unauthenticated', 'the bearer token is not a valid peer token of this node');
  }
  if (claims['iss'] !== teamId || typeof claims['sub'] !== 'string' || claims['kind'] !== 'peer') {
    throw new ProblemError('unauthenticated', 'the bearer token is not a peer token of this node');
  }
  return access.activePeer(claims['sub']);
}

export function createPeerAccess(deps: PeerAccessDeps): PeerAccess {
  const { db, clock, config, peers, audit, log } = deps;
  // One verifier per node, as for API tokens (token-codec.ts): made once, not per pull.
  const verifyToken = createPeerTokenVerifier(deps.tokenSecret);

  async function refuse(from: string | null, code: ProblemCode, detail: string, extensions: Record<string, unknown> = {}): Promise<never> {
    try {
      await audit.append(db, {
        kind: 'peer-token',
        actor: from ?? 'unknown',
        peer: from,
        decision: 'deny',
        details: { code, detail },
      });
    } catch (err) {
      log.error({ err, code }, 'could not audit a refused token request');
    }
    throw new ProblemError(code, detail, extensions);
  }

  return {
    verifyToken,
    async issueToken(raw) {
      let value: unknown;
      try {
        value = parseIJson(raw);
      } catch (err) {
        if (err instanceof IJsonError && err.reason !== 'syntax') return refuse(null, 'not-i-json', err.message);
        return refuse(null, 'malformed-json', 'the body is not valid JSON');
      }
      const shape = envelopeShape(value);
      if (shape.kind !== 'signed')
        return refuse(
          null,
          'envelope-invalid',
          shape.kind === 'invalid' ? shape.reason : 'a token request is a signed envelope, never sealed',
        );
      const from = shape.document['from'];
      if (typeof from !== 'string' || !TEAM_ID.test(from)) return refuse(null, 'envelope-invalid', 'document.from must be a team id');
      const peer = await peers.find(db, from);
      if (!peer) return refuse(from, 'unknown-sender', `"${from}" is not a peer of this node`);
      if (peer.status === 'suspended') return refuse(from, 'peer-suspended', `peer "${from}" is suspended on this node`);
      const now = clock();
      const verified = await verifyDocumentSignature(value, await peers.keyOf(peer), {
        now,
        maxClockSkewMs: MAX_CLOCK_SKEW_MS,
      });
      if (!verified.ok) {
        // A token request does not flag a key change: only messages do (the inbox); a token is refused either way.
        return refuse(
          from,
          verified.reason === 'wrong-key' ? 'key-changed' : 'signature-invalid',
          `the signature does not verify against the key pinned for "${from}"`,
        );
      }
      if (peer.status === 'key-changed') return refuse(from, 'key-changed', `"${from}" awaits re-verification on this node`);
      let document;
      try {
        document = validateDocument(shape.document);
      } catch (err) {
        if (err instanceof ProblemError) return refuse(from, err.code, err.detail ?? err.message, err.extensions);
        throw err;
      }
      if (document.type !== 'auth.token-request') return refuse(from, 'validation-failed', 'expected an auth.token-request document');
      if (document.to !== config.teamId) return refuse(from, 'wrong-recipient', `the request is addressed to "${document.to}"`);
      const created = Date.parse(document.created);
      if (Math.abs(created - now.getTime()) > MAX_CLOCK_SKEW_MS) {
        return refuse(from, 'stale-or-future', "a token request must be created within 5 minutes of the receiving node's clock");
      }
      // Remembered until it could no longer pass the freshness check above.
      if (!(await useTokenRequest(db, from, document.id, new Date(created + MAX_CLOCK_SKEW_MS + 60_000), now))) {
        return refuse(from, 'replayed', `token request ${document.id} was used already`);
      }
      const expiresAt = new Date(now.getTime() + PEER_TOKEN_TTL_SECONDS * 1000);
      const sign = createSigner({
        key: deps.tokenSecret,
        algorithm: JWT_ALGORITHM,
        jti: randomUUID(),
        aud: FEDERATION_AUDIENCE,
        iss: config.teamId,
        sub: from,
        expiresIn: PEER_TOKEN_TTL_SECONDS * 1000,
        clockTimestamp: now.getTime(),
      });
      const token = sign({ kind: 'peer' });
      await audit.append(db, {
        kind: 'peer-token',
        actor: from,
        peer: from,
        decision: 'allow',
        details: { requestId: document.id, expiresAt: expiresAt.toISOString() },
      });
      return { token, tokenType: 'Bearer', expiresAt: expiresAt.toISOString() };
    },

    async activePeer(teamId) {
      const peer = await peers.find(db, teamId);
      if (!peer) throw new ProblemError('unauthenticated', 'the token names a team that is not a peer of this node');
      if (peer.status === 'suspended') throw new ProblemError('peer-suspended', `peer "${teamId}" is suspended on this node`);
      if (peer.status === 'key-changed') throw new ProblemError('key-changed', `"${teamId}" awaits re-verification on this node`);
      return peer;
    },
  };
}
