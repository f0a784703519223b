import { createHikeshiClient, HikeshiProblemError, type HikeshiClient } from '../client/hikeshi-client.js';
import { loadConfig, type Config } from '../config.js';
import { loadTokenSecret } from '../modules/profile/node-identity.js';
import { mintApiToken } from '../modules/tokens/token-codec.js';

/** A usage mistake: the CLI prints the message and the command's help, and exits with 2. */
/** A comma-separated flag value as its items, trimmed, empties dropped; no value (or a boolean flag) is none. */
export const commaList = (v: string | boolean | undefined): string[] =>
  typeof v === 'string'
    ? v
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean)
    : [];

export class UsageError extends Error {
  override name = 'UsageError';
}

/** Flags every command that touches the node accepts; they win over HIKESHI_* variables. */
export const CONFIG_FLAGS = {
  'data-dir': { type: 'string' },
  'database-url': { type: 'string' },
  port: { type: 'string' },
  host: { type: 'string' },
  'team-id': { type: 'string' },
  'team-name': { type: 'string' },
  'team-email': { type: 'string' },
  'ref-prefix': { type: 'string' },
  url: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

export const CONFIG_FLAGS_HELP = `Node options (each also an environment variable):
  --data-dir <dir>        HIKESHI_DATA_DIR (default ./data)
  --database-url <url>    HIKESHI_DATABASE_URL (default: embedded database in the data dir)
  --port <n>, --host <h>  HIKESHI_PORT (8080), HIKESHI_HOST (127.0.0.1)
  --team-id <id>          HIKESHI_TEAM_ID
  --team-name <name>      HIKESHI_TEAM_NAME
  --team-email <addr>     HIKESHI_TEAM_EMAIL
  --ref-prefix <PREFIX>   HIKESHI_REF_PREFIX (incident reference numbers PREFIX#YEAR-SEQ)
  --url <url>             the running node to talk to (HIKESHI_URL; default its public URL)`;

export function configFromFlags(values: Record<string, unknown>, env: NodeJS.ProcessEnv = process.env): Config {
  const e: Record<string, string | undefined> = { ...env };
  const map: Record<string, string> = {
    'data-dir': 'HIKESHI_DATA_DIR',
    'database-url': 'HIKESHI_DATABASE_URL',
    port: 'HIKESHI_PORT',
    host: 'HIKESHI_HOST',
    'team-id': 'HIKESHI_TEAM_ID',
    'team-name': 'HIKESHI_TEAM_NAME',
    'team-email': 'HIKESHI_TEAM_EMAIL',
    'ref-prefix': 'HIKESHI_REF_PREFIX',
  };
  for (const [flag, key] of Object.entries(map)) if (typeof values[flag] === 'string') e[key] = values[flag] as string;
  return loadConfig(e);
}

export function nodeUrl(config: Config, values: Record<string, unknown>, env: NodeJS.ProcessEnv = process.env): string {
  return ((values.url as string | undefined) ?? env.HIKESHI_URL ?? config.publicUrl).replace(/\/+$/, '');
}

/** A five-minute admin token for talking to the node, minted from the token secret. */
export async function cliToken(config: Config): Promise<string> {
  const secret = await loadTokenSecret(config, false);
  return mintApiToken(secret, { role: 'admin', subject: 'cli', issuer: config.teamId, ttlSeconds: 300 }).token;
}

export class NodeUnreachableError extends Error {
  override name = 'NodeUnreachableError';
}

/**
 * Calls the running node's API with a short-lived admin token minted from the token secret:
 * whoever can read the data directory is the node's operator already.
 */
export async function callNode(
  config: Config,
  baseUrl: string,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; json: unknown; text: string }> {
  const token = await cliToken(config);
  let res: Response;
  try {
    res = await fetch(baseUrl + path, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(15_000),
    });
  } catch (err) {
    throw new NodeUnreachableError(`no node answers at ${baseUrl} (${(err as Error).message})`);
  }
  const text = await res.text();
  let json: unknown = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    json = null;
  }
  return { status: res.status, json, text };
}

export function problemMessage(status: number, json: unknown, text: string): string {
  if (json && typeof json === 'object' && 'code' in json) {
    const p = json as { code: string; title?: string; detail?: string };
    return `${status} ${p.code}: ${p.detail ?? p.title ?? ''}`;
  }
  return `${status}: ${text.slice(0, 500)}`;
}

/** The node answered with a problem: status and stable code, for the caller to print. */
export class NodeRefusedError extends Error {
  override name = 'NodeRefusedError';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/**
 * One API call for the CLI's node commands (peer, group, trust): JSON in and out, a refusal
 * becomes NodeRefusedError with the problem code, no answer becomes NodeUnreachableError.
 */
export async function requestNode(
  baseUrl: string,
  token: string,
  method: string,
  path: string,
  body?: unknown,
  options: { contentType?: string; timeoutMs?: number } = {},
): Promise<unknown> {
  const base = baseUrl.replace(/\/+$/, '');
  let res: Response;
  try {
    res = await fetch(base + path, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        accept: 'application/json',
        ...(body === undefined ? {} : { 'content-type': options.contentType ?? 'application/json' }),
      },
      // With a content type given, the body is a file's text, sent as it is.
      ...(body === undefined ? {} : { body: options.contentType ? String(body) : JSON.stringify(body) }),
      // Adding a peer waits for the peer's node (up to 5 s) on top of our own.
      signal: AbortSignal.timeout(options.timeoutMs ?? 20_000),
    });
  } catch (err) {
    throw new NodeUnreachableError(`no node answers at ${base} (${(err as Error).message})`);
  }
  const text = await res.text();
  let json: unknown = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    // reported below with the status
  }
  if (!res.ok) {
    const problem = (json ?? {}) as { code?: unknown; detail?: unknown; title?: unknown };
    const code = typeof problem.code === 'string' ? problem.code : `http-${res.status}`;
    const detail = typeof problem.detail === 'string' ? problem.detail : typeof problem.title === 'string' ? problem.title : res.statusText;
    throw new NodeRefusedError(res.status, code, `${code}: ${detail}`);
  }
  return json;
}

/**
 * The typed client (src/client/hikeshi-client.ts) for the CLI's node commands: what the node
 * refused becomes NodeRefusedError with the problem code, no answer NodeUnreachableError, as
 * requestNode reports them.
 */
export async function withClient<T>(baseUrl: string, token: string, call: (node: HikeshiClient) => Promise<T>): Promise<T> {
  const base = baseUrl.replace(/\/+$/, '');
  try {
    return await call(createHikeshiClient({ baseUrl: base, token }));
  } catch (err) {
    if (err instanceof HikeshiProblemError) {
      const detail = err.problem?.detail ?? err.problem?.title ?? err.response.statusText;
      throw new NodeRefusedError(err.status, err.code, `${err.code}: ${detail}`);
    }
    // fetch fails with a TypeError when nothing answers, a TimeoutError when the node is too slow.
    if (err instanceof TypeError || (err instanceof Error && err.name === 'TimeoutError'))
      throw new NodeUnreachableError(`no node answers at ${base} (${err.message})`);
    throw err;
  }
}
