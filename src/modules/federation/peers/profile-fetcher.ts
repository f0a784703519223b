import { ProblemError } from '../../../http/problem.js';

/**
 * Outgoing fetch of a peer's signed profile. Everything about the remote answer is hostile
 * until verified: bounded in time and size, no redirects (the handler named this URL, and a
 * redirect would silently move the identity check somewhere else).
 */

export const PROFILE_PATH = '/federation/v1/profile';
export const DEFAULT_PROFILE_TIMEOUT_MS = 5000;
/** A profile is a few KiB, but its constituency may list many networks. */
export const DEFAULT_PROFILE_MAX_BYTES = 1024 * 1024;

export interface FetchedProfile {
  /** Base URL it was fetched from (normalised). */
  url: string;
  /** The response body exactly as received. */
  raw: string;
  parsed: unknown;
}

/**
 * The base URL of a node as we store it: scheme, host, port and path, without credentials,
 * query, fragment or trailing slash.
 */
export function normalizePeerUrl(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw badUrl('is not a URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw badUrl('must use http or https');
  if (url.username || url.password) throw badUrl('must not carry credentials');
  if (url.search || url.hash) throw badUrl('must not have a query or fragment');
  return `${url.origin}${url.pathname.replace(/\/+$/, '')}`;
}

function badUrl(why: string): ProblemError {
  return new ProblemError('validation-failed', `url ${why}`, { errors: [{ location: 'body', pointer: '/url', message: why }] });
}

export interface FetchProfileOptions {
  timeoutMs?: number;
  maxBytes?: number;
}

export async function fetchSignedProfile(fetchImpl: typeof fetch, baseUrl: string, options: FetchProfileOptions = {}): Promise<FetchedProfile> {
  const url = normalizePeerUrl(baseUrl);
  const target = url + PROFILE_PATH;
  const maxBytes = options.maxBytes ?? DEFAULT_PROFILE_MAX_BYTES;
  const signal = AbortSignal.timeout(options.timeoutMs ?? DEFAULT_PROFILE_TIMEOUT_MS);
  let response: Response;
  try {
    response = await fetchImpl(target, { method: 'GET', headers: { accept: 'application/json' }, redirect: 'error', signal });
  } catch (err) {
    throw new ProblemError('peer-unreachable', `could not fetch ${target}: ${networkReason(err)}`);
  }
  if (response.status !== 200) {
    await response.body?.cancel().catch(() => {});
    throw new ProblemError('peer-unreachable', `${target} answered HTTP ${response.status}`);
  }
  const declared = Number(response.headers.get('content-length'));
  if (Number.isFinite(declared) && declared > maxBytes) {
    await response.body?.cancel().catch(() => {});
    throw new ProblemError('peer-profile-invalid', `the profile is larger than ${maxBytes} bytes`);
  }
  const bytes = await readCapped(response, maxBytes, target);
  let raw: string;
  try {
    raw = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new ProblemError('peer-profile-invalid', 'the profile is not UTF-8 text');
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw new ProblemError('peer-profile-invalid', 'the profile is not JSON');
  }
  return { url, raw, parsed };
}

async function readCapped(response: Response, maxBytes: number, target: string): Promise<Uint8Array> {
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
        throw new ProblemError('peer-profile-invalid', `the profile is larger than ${maxBytes} bytes`);
      }
      chunks.push(value);
    }
  } catch (err) {
    if (err instanceof ProblemError) throw err;
    throw new ProblemError('peer-unreachable', `reading ${target} failed: ${networkReason(err)}`);
  }
  return Buffer.concat(chunks);
}

/** A short reason without internals: the message goes back to the API client. */
function networkReason(err: unknown): string {
  if (err instanceof Error) {
    if (err.name === 'TimeoutError' || err.name === 'AbortError') return 'timed out';
    const cause = (err as { cause?: { code?: unknown; message?: unknown } }).cause;
    if (cause && typeof cause.message === 'string' && /redirect/i.test(cause.message)) return 'it answered with a redirect, which is not followed';
    if (cause && typeof cause.code === 'string') return cause.code;
  }
  return 'connection failed';
}
