import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { buildApp } from './app.js';
import type { Config } from './config.js';
import { initNode } from './node-init.js';

export const BOOTSTRAP_TOKEN_FILE = 'bootstrap-admin-token';

/**
 * A warning when peers would reach the node over plain HTTP: messages are signed (and sealed when
 * their label asks), but peer tokens, the pull feed and the public documents travel readable
 * and changeable. Loopback addresses (a node on one machine, the demo) are left alone.
 */
export function publicUrlWarning(publicUrl: string): string | null {
  const url = new URL(publicUrl);
  if (url.protocol === 'https:') return null;
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (host === 'localhost' || host === '::1' || /^127\./.test(host)) return null;
  return `WARNING: the public URL ${publicUrl} is not https: peer tokens, the pull feed and the public documents would travel unprotected. Put TLS in front of the node and set HIKESHI_PUBLIC_URL to its https:// address.`;
}

export interface RunningNode {
  app: FastifyInstance;
  close(): Promise<void>;
}

/**
 * `npm start` / `hikeshi serve`: init (idempotent), build the app, listen, start delivery.
 * The first start shows a bootstrap admin token once: on a terminal it is printed; otherwise
 * (a container, a service manager whose output is collected) it goes to a file only the node's
 * user can read, so it never lands in collected logs.
 */
export async function startServer(
  config: Config,
  out: (line: string) => void = (l) => process.stdout.write(l + '\n'),
): Promise<RunningNode> {
  const init = await initNode(config, undefined, { use: 'serve' });
  let app: FastifyInstance | undefined;
  let metricsPort: number | null = null;
  let mailPort: number | null = null;
  try {
    app = await buildApp({ config, database: init.database, signer: init.signer, tokenSecret: init.tokenSecret });
    await app.listen({ port: config.port, host: config.host });
    if (config.metricsPort !== null) metricsPort = (await app.metrics.listen(config.metricsPort)).port;
    // The incoming SMTP listener of the e-mail channel (ADR 0025), off unless HIKESHI_MAIL_LISTEN_PORT is set.
    if (config.mail.listenPort !== null) mailPort = (await app.federation.mail.listen()).port;
  } catch (err) {
    await app?.close();
    await init.database.close();
    throw err;
  }
  // The address actually bound (HIKESHI_PORT=0 picks a free port), then the URL peers are told.
  const bound = app.server.address();
  const listening =
    bound && typeof bound === 'object'
      ? `http://${bound.family === 'IPv6' ? `[${bound.address}]` : bound.address}:${bound.port}`
      : config.publicUrl;
  out(`Hikeshi node "${config.teamId}" listening on ${listening} (${init.database.engine}); public URL ${config.publicUrl}`);
  out(`Node key fingerprint: ${init.signer.fingerprint}`);
  const warning = publicUrlWarning(config.publicUrl);
  if (warning) {
    out(warning);
    app.log.warn({ publicUrl: config.publicUrl }, 'the public URL is not https');
  }
  if (init.bootstrapToken) {
    if (process.stdout.isTTY) {
      out('');
      out('First start: a bootstrap admin token, shown once (valid 30 days):');
      out(init.bootstrapToken.token);
      out('');
    } else {
      const file = path.join(config.dataDir, BOOTSTRAP_TOKEN_FILE);
      await writeFile(file, init.bootstrapToken.token + '\n', { mode: 0o600 });
      out(`First start: a bootstrap admin token was written to ${file} (readable by this user only).`);
    }
  }
  if (metricsPort !== null) out(`Metrics without a token on http://127.0.0.1:${metricsPort}/metrics (HIKESHI_METRICS_PORT)`);
  if (mailPort !== null) out(`Signed e-mail taken on smtp://${config.mail.listenHost}:${mailPort} (HIKESHI_MAIL_LISTEN_PORT)`);
  app.federation.start();
  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      await app.close(); // stops accepting, finishes in-flight requests, stops the worker
      await init.database.close();
    })());
  return { app, close };
}

/** Runs until SIGTERM/SIGINT, then shuts down gracefully. */
export async function runServer(config: Config): Promise<void> {
  const node = await startServer(config);
  const shutdown = (signal: string) => {
    node.app.log.info({ signal }, 'shutting down');
    node.close().then(
      () => process.exit(0),
      (err) => {
        node.app.log.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', () => shutdown('SIGTERM'));
  process.once('SIGINT', () => shutdown('SIGINT'));
}
