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
   * Cookie mode (the console, a person's session): without a token the browser's session cookie
   * goes along (`credentials: 'same-origin'`), and this session's CSRF token is sent as
   * `X-CSRF-Token` on unsafe methods (POST, PUT, PATCH, DELETE), which the node requires then.
   */
  csrfToken?: string;
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

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

export function createHikeshiClient(options: HikeshiClientOptions): HikeshiClient {
  const timeoutMs = options.timeoutMs ?? 20_000;
  const client = createClient<paths>({
    baseUrl: options.baseUrl.replace(/\/+$/, ''),
    headers: { accept: 'application/json', ...(options.token ? { authorization: `Bearer ${options.token}` } : {}) },
    ...(options.token ? {} : { credentials: 'same-origin' as const }),
    ...(options.fetch ? { fetch: options.fetch } : {}),
  });
  const csrfToken = options.token ? undefined : options.csrfToken;
  client.use({
    onRequest: ({ request }) => {
      if (csrfToken && !SAFE_METHODS.has(request.method)) request.headers.set('x-csrf-token', csrfToken);
      return timeoutMs > 0 ? new Request(request, { signal: AbortSignal.timeout(timeoutMs) }) : undefined;
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
