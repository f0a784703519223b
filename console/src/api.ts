import {
  createHikeshiClient,
  HikeshiProblemError,
  unwrap,
  type HikeshiClient,
  type Schemas,
  type operations,
} from '../../src/client/hikeshi-client';

/**
 * The console's one way to the node: the project's typed client (src/client/hikeshi-client.ts)
 * in cookie mode, on the page's own origin. No second API layer: pages call `api().GET(...)` with
 * the generated paths and types, and `unwrap` them.
 */
export { HikeshiProblemError, unwrap };
export type { Schemas, operations };

let current: HikeshiClient = createHikeshiClient({ baseUrl: location.origin });
/**
 * For the few calls the node may take long to answer: the first CSAF publication after a start
 * loads the validator (about 10 s of CPU), more than the client's usual 20 s on a busy node.
 */
let patient: HikeshiClient = createHikeshiClient({ baseUrl: location.origin, timeoutMs: 120_000 });

export function api(): HikeshiClient {
  return current;
}

export function slowApi(): HikeshiClient {
  return patient;
}

/** After sign-in (or a session read): unsafe methods carry this session's CSRF token. */
export function useCsrfToken(csrfToken: string | null): void {
  const session = csrfToken ? { csrfToken } : {};
  current = createHikeshiClient({ baseUrl: location.origin, ...session });
  patient = createHikeshiClient({ baseUrl: location.origin, timeoutMs: 120_000, ...session });
}

/** A refusal's stable code and detail, for the page to show (never HTML). */
export function problemText(error: unknown): string {
  if (error instanceof HikeshiProblemError) {
    const text = error.problem?.detail ? `${error.code}: ${error.problem.detail}` : error.code;
    // A refused form names the fields: the node's pointers (/contacts/email) with its reasons.
    const fields = (error.problem?.errors ?? []).slice(0, 5).map((e) => `${e.pointer || '/'} ${e.message}`);
    return fields.length > 0 ? `${text} (${fields.join('; ')})` : text;
  }
  return error instanceof Error ? error.message : String(error);
}

/** A refusal's stable code (docs/errors.md), for a page that explains a known one in words. */
export function problemCode(error: unknown): string | null {
  return error instanceof HikeshiProblemError ? error.code : null;
}
