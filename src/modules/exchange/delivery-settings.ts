import type { Config } from '../../config.js';

/** Delivery tuning, from Config (HIKESHI_DELIVERY_*, src/config.ts). */
export type DeliverySettings = Config['delivery'];

/** Exponential backoff with "equal jitter": half the delay fixed, half random, so retries of many messages spread out. */
export function retryDelayMs(
  settings: Pick<DeliverySettings, 'retryBaseMs' | 'retryMaxMs'>,
  attempts: number,
  random: () => number = Math.random,
): number {
  const exponent = Math.min(Math.max(attempts - 1, 0), 30);
  const ceiling = Math.min(settings.retryMaxMs, settings.retryBaseMs * 2 ** exponent);
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}
