import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PROBLEM_MEDIA_TYPE, problemBody, type ProblemCode } from '../../http/problem.js';
import { EXPOSITION_CONTENT_TYPE } from './metrics-registry.js';

/**
 * The optional token-less metrics listener (HIKESHI_METRICS_PORT): GET /metrics on 127.0.0.1
 * only, for a Prometheus on the same host (or a sidecar sharing its network namespace), so no
 * admin token has to sit in a scrape configuration. Nothing else is served on it. Off by default.
 */
export interface MetricsListener {
  port: number;
  close(): Promise<void>;
}

function refuse(res: ServerResponse, code: ProblemCode, detail: string, headers: Record<string, string> = {}): void {
  const body = problemBody(code, detail);
  res.writeHead(body.status, { 'content-type': PROBLEM_MEDIA_TYPE, ...headers });
  res.end(JSON.stringify(body));
}

export async function startMetricsListener(port: number, render: () => Promise<string>): Promise<MetricsListener> {
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? '').split('?')[0];
    if (path !== '/metrics') return refuse(res, 'route-not-found', 'this listener serves GET /metrics only');
    if (req.method !== 'GET' && req.method !== 'HEAD')
      return refuse(res, 'method-not-allowed', 'GET /metrics only', { allow: 'GET, HEAD' });
    render().then(
      (text) => {
        res.writeHead(200, { 'content-type': EXPOSITION_CONTENT_TYPE });
        res.end(req.method === 'HEAD' ? undefined : text);
      },
      () => refuse(res, 'internal-error', 'the metrics could not be rendered'),
    );
  });
  // Scrapers send small requests: short timeouts keep an idle or slow client from holding sockets.
  server.requestTimeout = 10_000;
  server.headersTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port, host: '127.0.0.1' }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
