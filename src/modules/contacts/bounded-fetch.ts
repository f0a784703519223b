/**
 * The contacts module's outgoing HTTP (security.txt, RDAP and its bootstrap files), built the way
 * the exchange's peer client is: every call is bounded in time (connection to last byte, over all
 * redirects) and in the size of what it reads, and fails with a short reason that is safe to show
 * in a route plan. Unlike a peer call it follows a few redirects: RDAP servers send clients on to
 * the registry that holds the data (RFC 7480 §5.2), and a legacy /security.txt may redirect to
 * the well-known one. A redirect from https to plain http is refused (a downgrade anyone on the
 * path could forge).
 */

import { networkFailure, readBoundedText } from '../../http/bounded-response.js';

export interface FetchLimits {
  timeoutMs: number;
  maxResponseBytes: number;
}

export interface FetchedText {
  status: number;
  text: string;
  /** The URL that answered, after redirects. */
  url: string;
  contentType: string;
}

/** A lookup that produced no answer to look at; `message` is safe to show. */
export class LookupFailure extends Error {
  override name = 'LookupFailure';
}

const MAX_REDIRECTS = 3;

export async function boundedGet(fetchImpl: typeof fetch, url: string, limits: FetchLimits, accept: string): Promise<FetchedText> {
  const signal = AbortSignal.timeout(limits.timeoutMs);
  let target = new URL(url);
  for (let hop = 0; ; hop++) {
    let response: Response;
    try {
      response = await fetchImpl(target, { method: 'GET', headers: { accept }, signal, redirect: 'manual' });
    } catch (err) {
      throw failureOf(err, target, limits.timeoutMs);
    }
    const location = response.headers.get('location');
    if (response.status >= 300 && response.status < 400 && location !== null) {
      await response.body?.cancel().catch(() => {});
      if (hop >= MAX_REDIRECTS) throw new LookupFailure(`${target.host} redirected more than ${MAX_REDIRECTS} times`);
      let next: URL;
      try {
        next = new URL(location, target);
      } catch {
        throw new LookupFailure(`${target.host} redirected to something that is not a URL`);
      }
      if (next.protocol !== 'https:' && next.protocol !== 'http:') throw new LookupFailure(`${target.host} redirected to a non-HTTP URL`);
      if (target.protocol === 'https:' && next.protocol === 'http:')
        throw new LookupFailure(`${target.host} redirected from https to http`);
      target = next;
      continue;
    }
    let text: string;
    try {
      text = await readBoundedText(response, target, limits.maxResponseBytes, limits.timeoutMs);
    } catch (err) {
      throw failureOf(err, target, limits.timeoutMs);
    }
    return { status: response.status, text, url: target.href, contentType: response.headers.get('content-type') ?? '' };
  }
}

/** A short reason without internals. */
function failureOf(err: unknown, target: URL, timeoutMs: number): LookupFailure {
  return new LookupFailure(networkFailure(err, target, timeoutMs).message);
}
