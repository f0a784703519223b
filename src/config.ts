import os from 'node:os';
import path from 'node:path';
import Type, { type Static } from 'typebox';
import { Compile } from 'typebox/compile';
import { TEAM_TYPES } from '../schemas/profile.schema.js';

/**
 * Configuration comes only from the environment (HIKESHI_*) and CLI flags, is validated once
 * at start, and is frozen: a node that starts with a typo in its configuration should refuse
 * to start with a clear message rather than run with a default the operator did not intend.
 */
export const ConfigSchema = Type.Object(
  {
    host: Type.String({ minLength: 1 }),
    port: Type.Integer({ minimum: 0, maximum: 65535 }),
    publicUrl: Type.String({ pattern: '^https?://' }),
    dataDir: Type.String({ minLength: 1 }),
    databaseUrl: Type.Union([Type.String({ pattern: '^postgres(ql)?://' }), Type.Null()]),
    /** Schema for all tables on a PostgreSQL server; tests give each file its own. */
    databaseSchema: Type.Union([Type.String({ pattern: '^[a-z_][a-z0-9_]{0,62}$' }), Type.Null()]),
    keyPassphrase: Type.Union([Type.String(), Type.Null()]),
    tokenSecret: Type.Union([Type.String({ minLength: 32 }), Type.Null()]),
    teamId: Type.String({ pattern: '^[a-z0-9][a-z0-9-]{1,62}$' }),
    teamName: Type.String({ minLength: 1, maxLength: 200 }),
    teamEmail: Type.String({ minLength: 3 }),
    teamType: Type.Enum(TEAM_TYPES),
    teamCountry: Type.String({ pattern: '^[A-Z]{2}$' }),
    teamTimeZone: Type.String({ minLength: 1 }),
    referencePrefix: Type.String({ pattern: '^[A-Z0-9][A-Z0-9-]{0,15}$' }),
    bodyLimitBytes: Type.Integer({ minimum: 1024, maximum: 64 * 1024 * 1024 }),
    logLevel: Type.Enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']),
    /**
     * Requests per minute one source address may make to the open surfaces (/federation/v1,
     * the public profile documents); 0 turns the limit off (HIKESHI_RATE_LIMIT_PER_MINUTE).
     */
    rateLimitPerMinute: Type.Integer({ minimum: 0, maximum: 10_000_000 }),
    /** Messages per minute one verified peer may send to the inbox; 0: no limit (HIKESHI_RATE_LIMIT_PER_PEER_PER_MINUTE). */
    peerRateLimitPerMinute: Type.Integer({ minimum: 0, maximum: 10_000_000 }),
    /**
     * How often the node anchors its audit chain's head at its witnesses, in seconds; 0: never
     * on its own (`hikeshi audit anchor` still does) (HIKESHI_AUDIT_ANCHOR_INTERVAL_SECONDS).
     */
    auditAnchorIntervalSeconds: Type.Integer({ minimum: 0, maximum: 7 * 86_400 }),
    /**
     * Teams (peer team ids) that witness the audit chain's head besides the active coordinators
     * (HIKESHI_AUDIT_WITNESSES, comma-separated).
     */
    auditWitnesses: Type.Array(Type.String({ pattern: '^[a-z0-9][a-z0-9-]{1,62}$' }), { maxItems: 100 }),
    /**
     * How many introductions (peer.introduction) from peers we verified give a key assurance
     * `introduced` (HIKESHI_INTRODUCTIONS_NEEDED; docs/trust-model.md).
     */
    introductionsNeeded: Type.Integer({ minimum: 1, maximum: 100 }),
    /**
     * Answer a forum inquiry `not-seen` on our own when nothing of it matches our data
     * (HIKESHI_INQUIRY_AUTO_NOT_SEEN=true|false, default false; issue 14 part 5).
     */
    inquiryAutoNotSeen: Type.Boolean(),
    /**
     * A second listener on 127.0.0.1 serving GET /metrics without a token; null: off, the default
     * (HIKESHI_METRICS_PORT; GET /metrics with an admin token works either way; ADR 0021).
     */
    metricsPort: Type.Union([Type.Integer({ minimum: 0, maximum: 65535 }), Type.Null()]),
    /**
     * Proxies whose X-Forwarded-For/-Proto the node believes: addresses or CIDR ranges
     * (HIKESHI_TRUST_PROXY, comma-separated; empty, the default: none). Decides the client
     * address rate limits see and whether a request came over https (Secure cookies).
     */
    trustProxy: Type.Array(Type.String({ minLength: 1, maxLength: 100 }), { maxItems: 50 }),
    /**
     * Worker threads that decide, redact and render large pull-feed and TAXII pages beside the
     * node's thread (HIKESHI_DISCLOSURE_THREADS; default: none on up to two cores, else one per
     * core but one, at most 4; 0: all on the node's thread; ADR 0034).
     */
    disclosureThreads: Type.Integer({ minimum: 0, maximum: 64 }),
    /** Sign-in for people: sessions and sign-in limits (HIKESHI_SESSION_*, HIKESHI_SIGN_IN_*; sessionsFrom below; ADR 0029). */
    sessions: Type.Object(
      {
        maxAgeSeconds: Type.Integer({ minimum: 60, maximum: 30 * 86_400 }),
        idleSeconds: Type.Integer({ minimum: 60, maximum: 30 * 86_400 }),
        failuresPerAccount: Type.Integer({ minimum: 1, maximum: 100_000 }),
        attemptsPerAddressPerMinute: Type.Integer({ minimum: 1, maximum: 100_000 }),
      },
      { additionalProperties: false },
    ),
    /** Contact determination's outside sources (HIKESHI_CONTACTS_*; contactsFrom below). */
    contacts: Type.Object(
      {
        dnsServers: Type.Array(Type.String({ minLength: 1, maxLength: 100 }), { maxItems: 10 }),
        rdapBootstrapUrl: Type.String({ pattern: '^https?://' }),
        securityTxtBase: Type.String({ pattern: '^https?://', description: 'Where a security.txt is read, {domain} replaced.' }),
        timeoutMs: Type.Integer({ minimum: 100, maximum: 120_000 }),
        maxResponseBytes: Type.Integer({ minimum: 1024, maximum: 64 * 1024 * 1024 }),
        cacheTtlSeconds: Type.Integer({ minimum: 1, maximum: 30 * 86_400 }),
        failureTtlSeconds: Type.Integer({ minimum: 1, maximum: 86_400 }),
        planTtlSeconds: Type.Integer({ minimum: 0, maximum: 86_400 }),
      },
      { additionalProperties: false },
    ),
    /** A MISP instance to push events to and pull them from (HIKESHI_MISP_*; mispFrom below); url and key null: off. */
    misp: Type.Object(
      {
        url: Type.Union([Type.String({ pattern: '^https?://' }), Type.Null()]),
        key: Type.Union([Type.String({ minLength: 1, maxLength: 200 }), Type.Null()]),
        timeoutMs: Type.Integer({ minimum: 100, maximum: 600_000 }),
        maxResponseBytes: Type.Integer({ minimum: 1024, maximum: 256 * 1024 * 1024 }),
        pageSize: Type.Integer({ minimum: 1, maximum: 1000 }),
      },
      { additionalProperties: false },
    ),
    /** Outbox delivery tuning (HIKESHI_DELIVERY_*): knobs an operator rarely touches; tests shorten them. */
    delivery: Type.Object(
      {
        maxAgeMs: Type.Integer({ minimum: 1000, maximum: 90 * 86_400_000 }),
        retryBaseMs: Type.Integer({ minimum: 10, maximum: 3_600_000 }),
        retryMaxMs: Type.Integer({ minimum: 10, maximum: 86_400_000 }),
        pollMs: Type.Integer({ minimum: 10, maximum: 600_000 }),
        timeoutMs: Type.Integer({ minimum: 100, maximum: 600_000 }),
        leaseMs: Type.Integer({ minimum: 1000, maximum: 86_400_000 }),
        batchSize: Type.Integer({ minimum: 1, maximum: 256 }),
      },
      { additionalProperties: false },
    ),
    /** The signed e-mail channel, PGP/MIME (HIKESHI_SMTP_*, HIKESHI_MAIL_*; mailFrom below; ADR 0025). */
    mail: Type.Object(
      {
        /** Where outgoing mail is handed over (smtp:// or smtps://, credentials in the URL); null: no outgoing mail. */
        smtpUrl: Type.Union([Type.String({ pattern: '^smtps?://' }), Type.Null()]),
        /** This node's address (From, and where peers send to). */
        from: Type.Union([Type.String({ pattern: '^[^\\s@<>]+@[^\\s@<>]+$', maxLength: 254 }), Type.Null()]),
        /** A peer whose HTTP delivery has failed for this long gets the message by mail; 0: never. */
        fallbackAfterMs: Type.Integer({ minimum: 0, maximum: 30 * 86_400_000 }),
        /** A message sent by mail and not acknowledged by a receipt is sent again after this long. */
        resendAfterMs: Type.Integer({ minimum: 100, maximum: 7 * 86_400_000 }),
        /** The incoming SMTP listener's port; null: off (the default). */
        listenPort: Type.Union([Type.Integer({ minimum: 0, maximum: 65535 }), Type.Null()]),
        listenHost: Type.String({ minLength: 1 }),
        /** The largest incoming message accepted, in bytes. */
        maxMessageBytes: Type.Integer({ minimum: 1024, maximum: 64 * 1024 * 1024 }),
        /** Messages one sender address may hand over per hour; beyond it the listener refuses them (a mail bomb). */
        perSenderPerHour: Type.Integer({ minimum: 1, maximum: 1_000_000 }),
        /** Site notifications handed over per receiving domain and hour (ADR 0027); 0: no limit. */
        perDomainPerHour: Type.Integer({ minimum: 0, maximum: 1_000_000 }),
        /** Site notifications in the hands of the mail server at once, and the SMTP connections kept open for them. */
        concurrency: Type.Integer({ minimum: 1, maximum: 32 }),
      },
      { additionalProperties: false },
    ),
  },
  { additionalProperties: false },
);
export type Config = Readonly<Static<typeof ConfigSchema>>;

export class ConfigError extends Error {
  override name = 'ConfigError';
}

type Env = Record<string, string | undefined>;

function intFrom(env: Env, key: string, fallback: number): number {
  const raw = env[key];
  if (raw === undefined || raw === '') return fallback;
  if (!/^\d+$/.test(raw)) throw new ConfigError(`${key} must be a whole number, got "${raw}"`);
  return Number(raw);
}

function boolFrom(env: Env, key: string, fallback: boolean): boolean {
  const raw = env[key];
  if (raw === undefined || raw === '') return fallback;
  if (raw !== 'true' && raw !== 'false') throw new ConfigError(`${key} must be true or false, got "${raw}"`);
  return raw === 'true';
}

/** A comma-separated list: entries trimmed, empty ones dropped, duplicates kept once. */
function listFrom(env: Env, key: string): string[] {
  return [
    ...new Set(
      (env[key] ?? '')
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean),
    ),
  ];
}

/** Reads HIKESHI_* variables; `overrides` come from CLI flags or tests and win over the environment. */
export function loadConfig(env: Env = process.env, overrides: Partial<Config> = {}): Config {
  const str = (key: string) => (env[key] === undefined || env[key] === '' ? undefined : env[key]);
  const port = intFrom(env, 'HIKESHI_PORT', 8080);
  const host = str('HIKESHI_HOST') ?? '127.0.0.1';
  const teamId = str('HIKESHI_TEAM_ID') ?? 'my-csirt';
  const candidate = {
    host,
    port,
    publicUrl: str('HIKESHI_PUBLIC_URL') ?? `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${port}`,
    dataDir: path.resolve(str('HIKESHI_DATA_DIR') ?? 'data'),
    databaseUrl: str('HIKESHI_DATABASE_URL') ?? null,
    databaseSchema: str('HIKESHI_DATABASE_SCHEMA') ?? null,
    keyPassphrase: str('HIKESHI_KEY_PASSPHRASE') ?? null,
    tokenSecret: str('HIKESHI_TOKEN_SECRET') ?? null,
    teamId,
    teamName: str('HIKESHI_TEAM_NAME') ?? 'My CSIRT',
    teamEmail: str('HIKESHI_TEAM_EMAIL') ?? `csirt@${teamId}.invalid`,
    teamType: str('HIKESHI_TEAM_TYPE') ?? 'corporate',
    teamCountry: str('HIKESHI_TEAM_COUNTRY') ?? 'JP',
    teamTimeZone: str('HIKESHI_TEAM_TIMEZONE') ?? 'UTC',
    referencePrefix:
      str('HIKESHI_REF_PREFIX') ??
      teamId
        .toUpperCase()
        .replace(/[^A-Z0-9-]/g, '')
        .slice(0, 16),
    bodyLimitBytes: intFrom(env, 'HIKESHI_BODY_LIMIT', 1024 * 1024),
    logLevel: str('HIKESHI_LOG_LEVEL') ?? 'info',
    // 50 requests a second from one address: far above what a peer's outbox sends (it delivers
    // one message at a time per peer), far below what fills a disk.
    rateLimitPerMinute: intFrom(env, 'HIKESHI_RATE_LIMIT_PER_MINUTE', 3000),
    // 100 a second from one team: far above what its outbox sends, far below a flood.
    peerRateLimitPerMinute: intFrom(env, 'HIKESHI_RATE_LIMIT_PER_PEER_PER_MINUTE', 6000),
    // Hourly: a removed tail is caught to within the last hour's entries, for one small signed
    // message per witness an hour (none while the chain does not move).
    auditAnchorIntervalSeconds: intFrom(env, 'HIKESHI_AUDIT_ANCHOR_INTERVAL_SECONDS', 3600),
    auditWitnesses: listFrom(env, 'HIKESHI_AUDIT_WITNESSES'),
    // One team we checked ourselves vouching for a key is the default (FIRST-like
    // forums ask two sponsors for membership; an operator can ask as many here).
    introductionsNeeded: intFrom(env, 'HIKESHI_INTRODUCTIONS_NEEDED', 1),
    // Off by default: an automatic answer tells the poster something about our data.
    inquiryAutoNotSeen: boolFrom(env, 'HIKESHI_INQUIRY_AUTO_NOT_SEEN', false),
    // Off unless asked for: a token-less listener is for a scraper on the same host only.
    metricsPort: str('HIKESHI_METRICS_PORT') === undefined ? null : intFrom(env, 'HIKESHI_METRICS_PORT', 0),
    trustProxy: listFrom(env, 'HIKESHI_TRUST_PROXY'),
    // Off on two cores: there a second JS thread takes the core the garbage collector's helpers
    // and the database use, and gained 3 % for 20 % more CPU (ADR 0034). Beyond, a thread per
    // core left over, up to 4.
    disclosureThreads: intFrom(
      env,
      'HIKESHI_DISCLOSURE_THREADS',
      os.availableParallelism() > 2 ? Math.min(4, os.availableParallelism() - 1) : 0,
    ),
    sessions: sessionsFrom(env),
    delivery: deliveryFrom(env),
    contacts: contactsFrom(env),
    misp: mispFrom(env),
    mail: mailFrom(env),
    ...overrides,
  };
  const check = Compile(ConfigSchema);
  if (!check.Check(candidate)) {
    const problems = [...check.Errors(candidate)].map((e) => `${e.instancePath.slice(1) || '(config)'} ${e.message}`).join('; ');
    throw new ConfigError(`invalid configuration: ${problems}`);
  }
  const { delivery } = candidate as Config;
  // A lease shorter than a POST could let a second worker claim a message the first is still sending.
  if (delivery.leaseMs <= delivery.timeoutMs)
    throw new ConfigError('HIKESHI_DELIVERY_LEASE_SECONDS must be longer than HIKESHI_DELIVERY_TIMEOUT_MS');
  if (delivery.retryMaxMs < delivery.retryBaseMs)
    throw new ConfigError('HIKESHI_DELIVERY_RETRY_MAX_MS must not be below HIKESHI_DELIVERY_RETRY_BASE_MS');
  return Object.freeze(candidate as Config);
}

/**
 * Delivery tuning from the environment:
 *
 *   HIKESHI_DELIVERY_MAX_AGE_SECONDS  give up on a message this long after it was queued (86400)
 *   HIKESHI_DELIVERY_RETRY_BASE_MS    first retry delay; doubles per attempt, with jitter (2000)
 *   HIKESHI_DELIVERY_RETRY_MAX_MS     longest delay between two attempts (600000)
 *   HIKESHI_DELIVERY_POLL_MS          how often the worker looks for due messages (1000)
 *   HIKESHI_DELIVERY_TIMEOUT_MS       one POST to a peer, connect to last byte (15000)
 *   HIKESHI_DELIVERY_LEASE_SECONDS    a claimed message is not claimed again for this long (120)
 */
function deliveryFrom(env: Env): Config['delivery'] {
  return {
    maxAgeMs: intFrom(env, 'HIKESHI_DELIVERY_MAX_AGE_SECONDS', 86_400) * 1000,
    retryBaseMs: intFrom(env, 'HIKESHI_DELIVERY_RETRY_BASE_MS', 2_000),
    retryMaxMs: intFrom(env, 'HIKESHI_DELIVERY_RETRY_MAX_MS', 600_000),
    pollMs: intFrom(env, 'HIKESHI_DELIVERY_POLL_MS', 1_000),
    timeoutMs: intFrom(env, 'HIKESHI_DELIVERY_TIMEOUT_MS', 15_000),
    leaseMs: intFrom(env, 'HIKESHI_DELIVERY_LEASE_SECONDS', 120) * 1000,
    batchSize: 16,
  };
}

/**
 * Sign-in for people (issue 20 item 2, ADR 0029) from the environment:
 *
 *   HIKESHI_SESSION_MAX_AGE_SECONDS               a session ends this long after sign-in, used or not (43200: 12 h)
 *   HIKESHI_SESSION_IDLE_SECONDS                  a session unused this long ends (1800: 30 min)
 *   HIKESHI_SIGN_IN_FAILURES_PER_ACCOUNT          failed sign-ins to one account in 15 minutes before it is refused (10)
 *   HIKESHI_SIGN_IN_ATTEMPTS_PER_ADDRESS_PER_MINUTE  sign-in attempts from one address a minute (20)
 */
function sessionsFrom(env: Env): Config['sessions'] {
  return {
    maxAgeSeconds: intFrom(env, 'HIKESHI_SESSION_MAX_AGE_SECONDS', 43_200),
    idleSeconds: intFrom(env, 'HIKESHI_SESSION_IDLE_SECONDS', 1_800),
    failuresPerAccount: intFrom(env, 'HIKESHI_SIGN_IN_FAILURES_PER_ACCOUNT', 10),
    attemptsPerAddressPerMinute: intFrom(env, 'HIKESHI_SIGN_IN_ATTEMPTS_PER_ADDRESS_PER_MINUTE', 20),
  };
}

/**
 * Contact determination (issue 15 part 1) from the environment:
 *
 *   HIKESHI_CONTACTS_DNS_SERVERS           resolvers for SOA lookups, ip or ip:port, comma-separated (the system's)
 *   HIKESHI_CONTACTS_RDAP_BOOTSTRAP_URL    where IANA's RDAP bootstrap files are read (https://data.iana.org/rdap/)
 *   HIKESHI_CONTACTS_SECURITY_TXT_BASE     where a domain's security.txt is read, {domain} replaced (https://{domain})
 *   HIKESHI_CONTACTS_TIMEOUT_MS            one outside lookup, redirects included (5000)
 *   HIKESHI_CONTACTS_MAX_RESPONSE_BYTES    the largest answer read (1048576: dns.json is ~100 KiB)
 *   HIKESHI_CONTACTS_CACHE_TTL_SECONDS     how long an answer is kept (86400)
 *   HIKESHI_CONTACTS_FAILURE_TTL_SECONDS   how long a failed lookup is not repeated (300)
 *   HIKESHI_CONTACTS_PLAN_TTL_SECONDS      how long a whole plan is reused in memory (60; 0: never)
 */
function contactsFrom(env: Env): Config['contacts'] {
  return {
    dnsServers: listFrom(env, 'HIKESHI_CONTACTS_DNS_SERVERS'),
    rdapBootstrapUrl: env['HIKESHI_CONTACTS_RDAP_BOOTSTRAP_URL'] || 'https://data.iana.org/rdap/',
    securityTxtBase: env['HIKESHI_CONTACTS_SECURITY_TXT_BASE'] || 'https://{domain}',
    timeoutMs: intFrom(env, 'HIKESHI_CONTACTS_TIMEOUT_MS', 5_000),
    maxResponseBytes: intFrom(env, 'HIKESHI_CONTACTS_MAX_RESPONSE_BYTES', 1024 * 1024),
    cacheTtlSeconds: intFrom(env, 'HIKESHI_CONTACTS_CACHE_TTL_SECONDS', 86_400),
    failureTtlSeconds: intFrom(env, 'HIKESHI_CONTACTS_FAILURE_TTL_SECONDS', 300),
    planTtlSeconds: intFrom(env, 'HIKESHI_CONTACTS_PLAN_TTL_SECONDS', 60),
  };
}

/**
 * A MISP instance (issue 16 part 3) from the environment; push and pull need both URL and key:
 *
 *   HIKESHI_MISP_URL                   the instance's base URL, e.g. https://misp.example.org
 *   HIKESHI_MISP_KEY                   its automation key (sent as Authorization; never logged)
 *   HIKESHI_MISP_TIMEOUT_MS            one request, connect to last byte (15000)
 *   HIKESHI_MISP_MAX_RESPONSE_BYTES    the largest answer read (16777216)
 *   HIKESHI_MISP_PAGE_SIZE             events per page of a pull (100)
 */
function mispFrom(env: Env): Config['misp'] {
  return {
    url: env['HIKESHI_MISP_URL'] ? env['HIKESHI_MISP_URL'].replace(/\/+$/, '') : null,
    key: env['HIKESHI_MISP_KEY'] || null,
    timeoutMs: intFrom(env, 'HIKESHI_MISP_TIMEOUT_MS', 15_000),
    maxResponseBytes: intFrom(env, 'HIKESHI_MISP_MAX_RESPONSE_BYTES', 16 * 1024 * 1024),
    pageSize: intFrom(env, 'HIKESHI_MISP_PAGE_SIZE', 100),
  };
}

/**
 * The signed e-mail channel (issue 17 part 5, ADR 0025) from the environment:
 *
 *   HIKESHI_SMTP_URL                     outgoing mail server, smtp://user:pass@host:port (off when unset)
 *   HIKESHI_MAIL_FROM                    this node's address (From; peers send here)
 *   HIKESHI_MAIL_FALLBACK_AFTER_SECONDS  HTTP failing this long for a message: it goes by mail (3600; 0: never)
 *   HIKESHI_MAIL_RESEND_AFTER_MS         a mailed message without receipt is mailed again after (3600000)
 *   HIKESHI_MAIL_LISTEN_PORT             incoming SMTP listener's port (off when unset)
 *   HIKESHI_MAIL_LISTEN_HOST             its address (127.0.0.1)
 *   HIKESHI_MAIL_MAX_BYTES               largest incoming message (4194304)
 *   HIKESHI_MAIL_PER_SENDER_PER_HOUR     messages one sender address may hand over an hour (600)
 *   HIKESHI_MAIL_PER_DOMAIN_PER_HOUR     site notifications sent to one receiving domain an hour (120; 0: no limit)
 *   HIKESHI_MAIL_CONCURRENCY             site notifications being handed over at once, and pooled SMTP connections (4; 1 to 32)
 */
function mailFrom(env: Env): Config['mail'] {
  return {
    smtpUrl: env['HIKESHI_SMTP_URL'] || null,
    from: env['HIKESHI_MAIL_FROM'] || null,
    fallbackAfterMs: intFrom(env, 'HIKESHI_MAIL_FALLBACK_AFTER_SECONDS', 3600) * 1000,
    resendAfterMs: intFrom(env, 'HIKESHI_MAIL_RESEND_AFTER_MS', 3_600_000),
    listenPort: env['HIKESHI_MAIL_LISTEN_PORT'] ? intFrom(env, 'HIKESHI_MAIL_LISTEN_PORT', 0) : null,
    listenHost: env['HIKESHI_MAIL_LISTEN_HOST'] || '127.0.0.1',
    maxMessageBytes: intFrom(env, 'HIKESHI_MAIL_MAX_BYTES', 4 * 1024 * 1024),
    perSenderPerHour: intFrom(env, 'HIKESHI_MAIL_PER_SENDER_PER_HOUR', 600),
    perDomainPerHour: intFrom(env, 'HIKESHI_MAIL_PER_DOMAIN_PER_HOUR', 120),
    concurrency: intFrom(env, 'HIKESHI_MAIL_CONCURRENCY', 4),
  };
}

/** Only the HIKESHI_DELIVERY_* variables of `env`: what a test node built with loadConfig({}, ...) takes from its process. */
export function deliveryEnv(env: Env = process.env): Env {
  return Object.fromEntries(Object.entries(env).filter(([k]) => k.startsWith('HIKESHI_DELIVERY_')));
}
