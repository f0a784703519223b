import { BoundedReadError, networkFailure, readBoundedText } from '../../http/bounded-response.js';
import { ProblemError } from '../../http/problem.js';

/**
 * The few MISP REST endpoints the node uses (https://www.misp-project.org/openapi/): view, add
 * and edit an event, and restSearch. Every failure of the server (unreachable, timeout, 5xx, a
 * refused key, an answer that is not JSON or too large) is one clear 502 `misp-unavailable`;
 * the key goes in the Authorization header and nowhere else (no message names it).
 */

export interface MispClientOptions {
  url: string;
  key: string;
  timeoutMs: number;
  maxResponseBytes: number;
  fetch?: typeof fetch;
}

export interface MispClient {
  /** The instance's origin, for audit entries and answers. */
  readonly server: string;
  /** Whether an event with that uuid exists there. */
  exists(uuid: string): Promise<boolean>;
  add(event: unknown): Promise<void>;
  edit(uuid: string, event: unknown): Promise<void>;
  /** One page of events changed at or after `since` (seconds), oldest first as MISP serves them. */
  search(since: number, page: number, limit: number): Promise<unknown[]>;
}

function unavailable(server: string, reason: string): ProblemError {
  return new ProblemError('misp-unavailable', `MISP at ${server}: ${reason}`);
}

export function createMispClient(options: MispClientOptions): MispClient {
  const doFetch = options.fetch ?? globalThis.fetch;
  const server = new URL(options.url).origin;

  async function call(method: 'GET' | 'POST', path: string, body?: unknown): Promise<{ status: number; json: unknown }> {
    const target = new URL(options.url.replace(/\/+$/, '') + path);
    let text: string;
    let status: number;
    try {
      const response = await doFetch(target, {
        method,
        headers: {
          Authorization: options.key,
          Accept: 'application/json',
          ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        redirect: 'error',
        signal: AbortSignal.timeout(options.timeoutMs),
      });
      status = response.status;
      text = await readBoundedText(response, target, options.maxResponseBytes, options.timeoutMs);
    } catch (err) {
      const failure = err instanceof BoundedReadError ? err : networkFailure(err, target, options.timeoutMs);
      throw unavailable(server, failure.message);
    }
    if (status === 401 || status === 403) throw unavailable(server, `the key was refused (${status})`);
    if (status >= 500) throw unavailable(server, `the server failed (${status})`);
    let json: unknown = null;
    try {
      json = text ? JSON.parse(text) : null;
    } catch {
      throw unavailable(server, `the answer to ${method} ${target.pathname} is not JSON (${status})`);
    }
    return { status, json };
  }

  function expectOk(result: { status: number }, what: string): void {
    if (result.status < 200 || result.status >= 300) throw unavailable(server, `${what} answered ${result.status}`);
  }

  return {
    server,
    async exists(uuid) {
      const result = await call('GET', `/events/view/${encodeURIComponent(uuid)}`);
      if (result.status === 404) return false;
      expectOk(result, 'events/view');
      return true;
    },
    async add(event) {
      expectOk(await call('POST', '/events/add', event), 'events/add');
    },
    async edit(uuid, event) {
      expectOk(await call('POST', `/events/edit/${encodeURIComponent(uuid)}`, event), 'events/edit');
    },
    async search(since, page, limit) {
      const result = await call('POST', '/events/restSearch', { returnFormat: 'json', timestamp: since, page, limit });
      expectOk(result, 'events/restSearch');
      const response = (result.json as { response?: unknown } | null)?.response;
      if (!Array.isArray(response)) throw unavailable(server, 'events/restSearch did not answer {"response": [...]}');
      return response;
    },
  };
}
