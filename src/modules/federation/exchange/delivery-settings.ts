/**
 * Delivery tuning. Config (src/config.ts) holds what every node must decide; these are knobs an
 * operator rarely touches, read from the environment once when the exchange module is built, so
 * a test or a deployment can shorten retries without a config change.
 *
 *   HIKESHI_DELIVERY_MAX_AGE_SECONDS  give up on a message this long after it was queued (86400)
 *   HIKESHI_DELIVERY_RETRY_BASE_MS    first retry delay; doubles per attempt, with jitter (2000)
 *   HIKESHI_DELIVERY_RETRY_MAX_MS     longest delay between two attempts (600000)
 *   HIKESHI_DELIVERY_POLL_MS          how often the worker looks for due messages (1000)
 *   HIKESHI_DELIVERY_TIMEOUT_MS       one POST to a peer, connect to last byte (15000)
 *   HIKESHI_DELIVERY_LEASE_SECONDS    a claimed message is not claimed again for this long (120)
 */
export interface DeliverySettings {
  maxAgeMs: number;
  retryBaseMs: number;
  retryMaxMs: number;
  pollMs: number;
  timeoutMs: number;
  leaseMs: number;
  /** Rows claimed per poll, and deliveries in flight at once per process. */
  batchSize: number;
}

export class DeliverySettingsError extends Error {
  override name = 'DeliverySettingsError';
}

type Env = Record<string, string | undefined>;

function int(env: Env, key: string, fallback: number, min: number, max: number): number {
  const raw = env[key];
  if (raw === undefined || raw === '') return fallback;
  if (!/^\d+$/.test(raw)) throw new DeliverySettingsError(`${key} must be a whole number, got "${raw}"`);
  const value = Number(raw);
  if (value < min || value > max) throw new DeliverySettingsError(`${key} must be between ${min} and ${max}, got ${value}`);
  return value;
}

export function deliverySettingsFromEnv(env: Env = process.env): DeliverySettings {
  const settings: DeliverySettings = {
    maxAgeMs: int(env, 'HIKESHI_DELIVERY_MAX_AGE_SECONDS', 86_400, 1, 90 * 86_400) * 1000,
    retryBaseMs: int(env, 'HIKESHI_DELIVERY_RETRY_BASE_MS', 2_000, 10, 3_600_000),
    retryMaxMs: int(env, 'HIKESHI_DELIVERY_RETRY_MAX_MS', 600_000, 10, 86_400_000),
    pollMs: int(env, 'HIKESHI_DELIVERY_POLL_MS', 1_000, 10, 600_000),
    timeoutMs: int(env, 'HIKESHI_DELIVERY_TIMEOUT_MS', 15_000, 100, 600_000),
    leaseMs: int(env, 'HIKESHI_DELIVERY_LEASE_SECONDS', 120, 1, 86_400) * 1000,
    batchSize: 16,
  };
  // A lease shorter than a POST could let a second worker claim a message the first is still sending.
  if (settings.leaseMs <= settings.timeoutMs) {
    throw new DeliverySettingsError('HIKESHI_DELIVERY_LEASE_SECONDS must be longer than HIKESHI_DELIVERY_TIMEOUT_MS');
  }
  if (settings.retryMaxMs < settings.retryBaseMs) {
    throw new DeliverySettingsError('HIKESHI_DELIVERY_RETRY_MAX_MS must not be below HIKESHI_DELIVERY_RETRY_BASE_MS');
  }
  return settings;
}

/** Exponential backoff with "equal jitter": half the delay fixed, half random, so retries of many messages spread out. */
export function retryDelayMs(settings: Pick<DeliverySettings, 'retryBaseMs' | 'retryMaxMs'>, attempts: number, random: () => number = Math.random): number {
  const exponent = Math.min(Math.max(attempts - 1, 0), 30);
  const ceiling = Math.min(settings.retryMaxMs, settings.retryBaseMs * 2 ** exponent);
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}
