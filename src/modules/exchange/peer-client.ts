/**
 * The one HTTP client every outgoing call to another node goes through: message delivery, a
 * peer's signed profile, the team a node at a URL claims to be. Everything about the remote
 * answer is hostile until verified, so every call is bounded in time and in the size of what it
 * reads, follows no redirect (the URL is the one a handler named or pinned), and reports a short
 * reason without internals (it may go back to an API client or into the outbox's last error).
 */

import { networkFailure, readBoundedText } from '../../http/bounded-response.js';

export interface PeerClientSettings {
  /** How long one call may take, connection to last byte. */
  timeoutMs: number;
  /** The largest answer read; a larger one is cut off and refused. */
  maxResponseBytes: number;
}

export interface PeerResponse {
  status: number;
  /** The answer's body as text; empty when the status alone says enough (read with `read: false`). */
  text: string;
}

export type PeerCallFailure = 'timeout' | 'unreachable' | 'redirect' | 'too-large' | 'not-text';

/** A call that did not produce an answer to look at. `reason` is safe to show. */
export class PeerCallError extends Error {
  override name = 'PeerCallError';
  constructor(
    readonly failure: PeerCallFailure,
    message: string,
  ) {
    super(message);
  }
}

export interface PeerRequest {
  method: 'GET' | 'POST';
  /** JSON text to send (POST). */
  body?: string;
  /** Override the client's timeout for this call. */
  timeoutMs?: number;
  /** Override the client's size cap for this call. */
  maxResponseBytes?: number;
  /** An Authorization header value (a peer token for a pull: `Bearer ...`); never logged. */
  authorization?: string;
}

export interface PeerClient {
  /** Calls `path` (relative, e.g. "federation/v1/messages") on the node at `baseUrl`. */
  call(baseUrl: string, path: string, request: PeerRequest): Promise<PeerResponse>;
}

export const DEFAULT_PEER_CLIENT_SETTINGS: PeerClientSettings = { timeoutMs: 15_000, maxResponseBytes: 1024 * 1024 };

export function createPeerClient(fetchImpl: typeof fetch, settings: PeerClientSettings = DEFAULT_PEER_CLIENT_SETTINGS): PeerClient {
  return {
    async call(baseUrl, path, request) {
      const target = new URL(path, baseUrl.endsWith('/') ? baseUrl : `${baseUrl}/`);
      const timeoutMs = request.timeoutMs ?? settings.timeoutMs;
      const maxBytes = request.maxResponseBytes ?? settings.maxResponseBytes;
      let response: Response;
      try {
        response = await fetchImpl(target, {
          method: request.method,
          headers: {
            accept: 'application/json',
            ...(request.body === undefined ? {} : { 'content-type': 'application/json' }),
            ...(request.authorization === undefined ? {} : { authorization: request.authorization }),
          },
          ...(request.body === undefined ? {} : { body: request.body }),
          signal: AbortSignal.timeout(timeoutMs),
          redirect: 'error',
        });
      } catch (err) {
        throw callError(err, target, timeoutMs);
      }
      try {
        return { status: response.status, text: await readBoundedText(response, target, maxBytes, timeoutMs) };
      } catch (err) {
        throw callError(err, target, timeoutMs);
      }
    },
  };
}

/** A short reason without internals. */
function callError(err: unknown, target: URL, timeoutMs: number): PeerCallError {
  const cause = err instanceof Error ? (err as { cause?: { message?: unknown } }).cause : undefined;
  if (cause && typeof cause.message === 'string' && /redirect/i.test(cause.message)) {
    return new PeerCallError('redirect', `${target.host} answered with a redirect, which is not followed`);
  }
  const failure = networkFailure(err, target, timeoutMs);
  return new PeerCallError(failure.kind, failure.message);
}
