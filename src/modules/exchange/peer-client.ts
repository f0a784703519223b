/**
 * The one HTTP client every outgoing call to another node goes through: message delivery, a
 * peer's signed profile, the team a node at a URL claims to be. Everything about the remote
 * answer is hostile until verified, so every call is bounded in time and in the size of what it
 * reads, follows no redirect (the URL is the one a handler named or pinned), and reports a short
 * reason without internals (it may go back to an API client or into the outbox's last error).
 */

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
      const declared = Number(response.headers.get('content-length'));
      if (Number.isFinite(declared) && declared > maxBytes) {
        await response.body?.cancel().catch(() => {});
        throw new PeerCallError('too-large', `${target.host} answered more than ${maxBytes} bytes`);
      }
      const bytes = await readCapped(response, maxBytes, target, timeoutMs);
      let text: string;
      try {
        text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
      } catch {
        throw new PeerCallError('not-text', `${target.host} answered with something that is not UTF-8 text`);
      }
      return { status: response.status, text };
    },
  };
}

async function readCapped(response: Response, maxBytes: number, target: URL, timeoutMs: number): Promise<Uint8Array> {
  if (!response.body) return new Uint8Array();
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      total += value.byteLength;
      if (total > maxBytes) {
        await reader.cancel().catch(() => {});
        throw new PeerCallError('too-large', `${target.host} answered more than ${maxBytes} bytes`);
      }
      chunks.push(value);
    }
  } catch (err) {
    if (err instanceof PeerCallError) throw err;
    throw callError(err, target, timeoutMs);
  }
  return Buffer.concat(chunks);
}

/** A short reason without internals. */
function callError(err: unknown, target: URL, timeoutMs: number): PeerCallError {
  if (err instanceof Error) {
    if (err.name === 'TimeoutError' || err.name === 'AbortError')
      return new PeerCallError('timeout', `no answer from ${target.host} within ${timeoutMs} ms`);
    const cause = (err as { cause?: { code?: unknown; message?: unknown } }).cause;
    if (cause && typeof cause.message === 'string' && /redirect/i.test(cause.message)) {
      return new PeerCallError('redirect', `${target.host} answered with a redirect, which is not followed`);
    }
    if (cause && typeof cause.code === 'string') return new PeerCallError('unreachable', `cannot reach ${target.host} (${cause.code})`);
  }
  return new PeerCallError('unreachable', `cannot reach ${target.host}`);
}
