import { PeerCallError, type PeerClient, type PeerResponse } from '../exchange/exchange.module.js';
import { ProblemError } from '../../http/problem.js';

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
  return new ProblemError('validation-failed', `url ${why}`, {
    errors: [{ location: 'body', pointer: '/url', message: why }],
  });
}

export interface FetchProfileOptions {
  timeoutMs?: number;
  maxBytes?: number;
}

/** Fetches a node's signed profile through the one peer client (bounded in time and size, no redirects). */
export async function fetchSignedProfile(client: PeerClient, baseUrl: string, options: FetchProfileOptions = {}): Promise<FetchedProfile> {
  const url = normalizePeerUrl(baseUrl);
  const target = url + PROFILE_PATH;
  const maxBytes = options.maxBytes ?? DEFAULT_PROFILE_MAX_BYTES;
  let response: PeerResponse;
  try {
    response = await client.call(url, PROFILE_PATH.slice(1), {
      method: 'GET',
      timeoutMs: options.timeoutMs ?? DEFAULT_PROFILE_TIMEOUT_MS,
      maxResponseBytes: maxBytes,
    });
  } catch (err) {
    if (err instanceof PeerCallError && err.failure === 'too-large')
      throw new ProblemError('peer-profile-invalid', `the profile is larger than ${maxBytes} bytes`);
    if (err instanceof PeerCallError && err.failure === 'not-text')
      throw new ProblemError('peer-profile-invalid', 'the profile is not UTF-8 text');
    throw new ProblemError(
      'peer-unreachable',
      `could not fetch ${target}: ${err instanceof PeerCallError ? err.message : 'connection failed'}`,
    );
  }
  if (response.status !== 200) throw new ProblemError('peer-unreachable', `${target} answered HTTP ${response.status}`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(response.text);
  } catch {
    throw new ProblemError('peer-profile-invalid', 'the profile is not JSON');
  }
  return { url, raw: response.text, parsed };
}
