import createClient, { type Client } from 'openapi-fetch';
import type { components, operations, paths } from './api-types.js';

/**
 * A typed client for a Hikeshi node's HTTP API, for integrators' tools and the CLI: paths,
 * parameters, bodies and answers are checked against src/client/api-types.ts, generated from
 * the node's own OpenAPI document (`npm run client:generate`). A thin layer over openapi-fetch:
 * the base URL, the bearer token, and every refusal thrown as a HikeshiProblemError carrying
 * the RFC 9457 problem (docs/errors.md lists the codes).
 *
 *   const node = createHikeshiClient({ baseUrl: 'https://csirt.example', token });
 *   const incident = await unwrap(node.GET('/api/v1/incidents/{ref}', { params: { path: { ref } } }));
 *
 * Without a token the client is in cookie mode, for a page the node serves (the console): the
 * browser sends the session cookie (`credentials: 'same-origin'`) and the client adds the
 * session's CSRF token as X-CSRF-Token on POST, PUT, PATCH and DELETE.
 *
 *   let csrf: string | undefined;
 *   const node = createHikeshiClient({ baseUrl: location.origin, csrfToken: () => csrf });
 *   csrf = (await unwrap(node.POST('/api/v1/session', { body: { account, password } }))).csrfToken;
 */
export type { components, operations, paths };
export type Schemas = components['schemas'];
export type Problem = Schemas['Problem'];
export type HikeshiClient = Client<paths>;

export interface HikeshiClientOptions {
  /** The node's URL, e.g. https://csirt.example (paths start at /api/v1, /federation/v1...). */
  baseUrl: string;
  /** An API token (`hikeshi token create`, POST /api/v1/tokens): sent as `Authorization: Bearer`. */
  token?: string;
  /**
   * Cookie mode (no token): the session's CSRF token (POST/GET /api/v1/session answer it), sent as
   * X-CSRF-Token on unsafe methods. A function is asked on every request, so a sign-in later
   * than the client's creation is picked up.
   */
  csrfToken?: string | (() => string | null | undefined);
  /** Abort a request that takes longer (default 20 s; 0 waits forever). */
  timeoutMs?: number;
  fetch?: (request: Request) => Promise<Response>;
}

/** The node refused: the HTTP status and, when it sent one (it always does), the problem details. */
export class HikeshiProblemError extends Error {
  override name = 'HikeshiProblemError';
  constructor(
    readonly status: number,
    readonly problem: Problem | null,
    readonly response: Response,
  ) {
    super(`${status} ${problem?.code ?? `http-${status}`}: ${problem?.detail ?? problem?.title ?? response.statusText}`);
  }

  /** The stable problem code (docs/errors.md), or http-<status> when the answer was not problem+json. */
  get code(): string {
    return this.problem?.code ?? `http-${this.status}`;
  }
}

const UNSAFE_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

export function createHikeshiClient(options: HikeshiClientOptions): HikeshiClient {
  const timeoutMs = options.timeoutMs ?? 20_000;
  const client = createClient<paths>({
    baseUrl: options.baseUrl.replace(/\/+$/, ''),
    headers: { accept: 'application/json', ...(options.token ? { authorization: `Bearer ${options.token}` } : {}) },
    // Cookie mode: the browser sends the session cookie to the page's own origin, never elsewhere.
    ...(options.token ? {} : { credentials: 'same-origin' as const }),
    ...(options.fetch ? { fetch: options.fetch } : {}),
  });
  const csrfToken = () => (typeof options.csrfToken === 'function' ? options.csrfToken() : options.csrfToken);
  client.use({
    onRequest: ({ request }) => {
      const csrf = options.token ? null : csrfToken();
      if (csrf && UNSAFE_METHODS.has(request.method)) request.headers.set('x-csrf-token', csrf);
      return timeoutMs > 0 ? new Request(request, { signal: AbortSignal.timeout(timeoutMs) }) : request;
    },
    // Thrown here, so a caller's `data` is always the success body: no error branch to forget.
    onResponse: async ({ response }) => {
      if (response.ok) return undefined;
      throw new HikeshiProblemError(response.status, await readProblem(response), response);
    },
  });
  return client;
}

async function readProblem(response: Response): Promise<Problem | null> {
  if (!/^application\/problem\+json\b/i.test(response.headers.get('content-type') ?? '')) return null;
  try {
    const body = (await response.clone().json()) as Partial<Problem> | null;
    return body && typeof body.code === 'string' && typeof body.status === 'number' ? (body as Problem) : null;
  } catch {
    return null;
  }
}

/**
 * The success body of a call, typed by its operation: `await unwrap(node.GET(...))`. Refusals
 * were thrown already (HikeshiProblemError); a 204 answers undefined.
 */
export async function unwrap<T extends { data?: unknown }>(call: Promise<T>): Promise<Exclude<T['data'], undefined>> {
  const { data } = await call;
  return data as Exclude<T['data'], undefined>;
}
