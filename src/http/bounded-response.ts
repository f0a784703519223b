/**
 * Reading what another server answered, bounded: the body as UTF-8 text, never more than a set
 * number of bytes (a declared Content-Length over the cap is refused before reading; the bytes
 * are counted while reading, as the header may lie), and network failures turned into a short
 * reason that is safe to show. Shared by every outgoing call (the exchange's peer client, the
 * contacts module's lookups), which wrap the failure in their own error.
 */

export type BoundedReadFailure = 'timeout' | 'unreachable' | 'too-large' | 'not-text';

export class BoundedReadError extends Error {
  override name = 'BoundedReadError';
  constructor(
    readonly kind: BoundedReadFailure,
    message: string,
  ) {
    super(message);
  }
}

/** A failed fetch or read: timed out (the call's AbortSignal), or unreachable with the system's code. */
export function networkFailure(err: unknown, target: URL, timeoutMs: number): BoundedReadError {
  if (err instanceof BoundedReadError) return err;
  if (err instanceof Error) {
    if (err.name === 'TimeoutError' || err.name === 'AbortError')
      return new BoundedReadError('timeout', `no answer from ${target.host} within ${timeoutMs} ms`);
    const cause = (err as { cause?: { code?: unknown } }).cause;
    if (cause && typeof cause.code === 'string') return new BoundedReadError('unreachable', `cannot reach ${target.host} (${cause.code})`);
  }
  return new BoundedReadError('unreachable', `cannot reach ${target.host}`);
}

const tooLarge = (target: URL, maxBytes: number) =>
  new BoundedReadError('too-large', `${target.host} answered more than ${maxBytes} bytes`);

export async function readBoundedText(response: Response, target: URL, maxBytes: number, timeoutMs: number): Promise<string> {
  const declared = Number(response.headers.get('content-length'));
  if (Number.isFinite(declared) && declared > maxBytes) {
    await response.body?.cancel().catch(() => {});
    throw tooLarge(target, maxBytes);
  }
  const chunks: Uint8Array[] = [];
  if (response.body) {
    const reader = response.body.getReader();
    let total = 0;
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        total += value.byteLength;
        if (total > maxBytes) {
          await reader.cancel().catch(() => {});
          throw tooLarge(target, maxBytes);
        }
        chunks.push(value);
      }
    } catch (err) {
      throw networkFailure(err, target, timeoutMs);
    }
  }
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(Buffer.concat(chunks));
  } catch {
    throw new BoundedReadError('not-text', `${target.host} answered with something that is not UTF-8 text`);
  }
}
