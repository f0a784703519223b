import type { Clock } from '../../clock.js';
import { ProblemError } from '../../http/problem.js';

/**
 * Limits on guessing passwords, kept in the node's memory (one process serves the node): every
 * attempt from one address counts against a per-minute budget, and failed attempts against one
 * account name (whether or not it exists, so the refusal says nothing about which names do)
 * against a budget per 15 minutes. Beyond either: 429 rate-limited with Retry-After.
 */
const ACCOUNT_WINDOW_MS = 15 * 60_000;
const ADDRESS_WINDOW_MS = 60_000;
/** Beyond this many keys, expired ones are dropped: random names cannot grow the maps for ever. */
const PRUNE_AT = 10_000;

export interface SignInLimits {
  /** Counts the attempt; throws rate-limited when the address or the account is over budget. */
  admit(address: string, account: string): void;
  failed(account: string): void;
  succeeded(account: string): void;
}

export function createSignInLimits(
  clock: Clock,
  limits: { failuresPerAccount: number; attemptsPerAddressPerMinute: number },
): SignInLimits {
  const byAddress = new Map<string, { start: number; count: number }>();
  const failuresByAccount = new Map<string, number[]>();
  const key = (account: string) => account.toLowerCase();

  function prune(now: number) {
    if (byAddress.size > PRUNE_AT) for (const [k, v] of byAddress) if (now - v.start >= ADDRESS_WINDOW_MS) byAddress.delete(k);
    if (failuresByAccount.size > PRUNE_AT)
      for (const [k, v] of failuresByAccount) if (v.every((at) => now - at >= ACCOUNT_WINDOW_MS)) failuresByAccount.delete(k);
  }

  return {
    admit(address, account) {
      const now = clock().getTime();
      prune(now);
      let window = byAddress.get(address);
      if (!window || now - window.start >= ADDRESS_WINDOW_MS) {
        window = { start: now, count: 0 };
        byAddress.set(address, window);
      }
      window.count += 1;
      if (window.count > limits.attemptsPerAddressPerMinute) {
        const retryAfterSeconds = Math.max(1, Math.ceil((window.start + ADDRESS_WINDOW_MS - now) / 1000));
        throw new ProblemError('rate-limited', 'too many sign-in attempts from this address', { retryAfterSeconds });
      }
      const failures = (failuresByAccount.get(key(account)) ?? []).filter((at) => now - at < ACCOUNT_WINDOW_MS);
      if (failures.length >= limits.failuresPerAccount) {
        const retryAfterSeconds = Math.max(1, Math.ceil((failures[0]! + ACCOUNT_WINDOW_MS - now) / 1000));
        throw new ProblemError('rate-limited', 'too many failed sign-ins to this account', { retryAfterSeconds });
      }
    },
    failed(account) {
      const now = clock().getTime();
      const failures = (failuresByAccount.get(key(account)) ?? []).filter((at) => now - at < ACCOUNT_WINDOW_MS);
      failures.push(now);
      failuresByAccount.set(key(account), failures);
    },
    succeeded(account) {
      failuresByAccount.delete(key(account));
    },
  };
}
