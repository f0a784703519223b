import type { FastifyBaseLogger, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { Clock } from '../../clock.js';
import { startMetricsListener, type MetricsListener } from './metrics-listener.js';
import { createRegistry, EXPOSITION_CONTENT_TYPE } from './metrics-registry.js';
import { metricsRoutes } from './metrics.routes.js';
import { registerProcessMetrics } from './process-metrics.js';

/**
 * Metrics in the Prometheus text format (issue 16 part 6, ADR 0021): the node's registry, what
 * it is scraped through (GET /metrics with an admin token; optionally a token-less listener on
 * 127.0.0.1), and the `Metrics` port other modules count into. The module imports no other
 * module: src/app.ts passes the port to the exchange and the scrape-time sources (the outbox's
 * depth, the audit chain's head) to `attach`.
 *
 * Labels carry no incident content, no team-private data beyond counts, no tokens or keys:
 * route patterns (never the URL as requested: it holds reference numbers), problem codes,
 * document types of the protocol, this node's own peers' team ids.
 */

/** What other modules count into: the exchange's inbox and delivery worker (its ExchangeMetrics port). */
export interface Metrics {
  inboxMessage(outcome: 'accepted' | 'rejected' | 'quarantined', reason: string, type: string): void;
  delivered(peer: string, seconds: number): void;
  deliveryAttempt(peer: string, outcome: 'delivered' | 'retry' | 'failed'): void;
}

/** Read when scraped; given once the exchange and the audit module exist. */
export interface MetricsSources {
  /** Per peer, messages not delivered yet and when the oldest was queued (one query). */
  outboxPending(): Promise<Array<{ peerTeam: string; pending: number; oldestAt: string }>>;
  /** The audit chain's newest seq. */
  auditHeadSeq(): Promise<number>;
}

export interface MetricsModule {
  port: Metrics;
  /** The root onResponse hook that times every HTTP request by route pattern. */
  onResponse(request: FastifyRequest, reply: FastifyReply): Promise<void>;
  attach(sources: MetricsSources): void;
  /** The exposition text (scrapes run one at a time). */
  render(): Promise<string>;
  /** GET /metrics; mounted by src/app.ts in a scope that authenticates API tokens. */
  routes: FastifyPluginAsync;
  /** The token-less listener on 127.0.0.1 (HIKESHI_METRICS_PORT); closed with `close`. */
  listen(port: number): Promise<MetricsListener>;
  close(): Promise<void>;
}

/** Request durations: API calls take milliseconds, a group commit under load or a peer profile fetch seconds. */
const HTTP_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
/** Enqueue to receipt: a second when the peer is up, up to the outbox's maximum age (a day) when it is not. */
const DELIVERY_BUCKETS = [0.1, 0.5, 1, 5, 15, 60, 300, 900, 3600, 14_400, 86_400];
const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

export function createMetricsModule(deps: { clock: Clock; log: FastifyBaseLogger }): MetricsModule {
  const registry = createRegistry();
  registerProcessMetrics(registry);

  const inbox = registry.counter(
    'hikeshi_inbox_messages_total',
    'Messages the inbox decided on: accepted (reason replay: a repeat answered with its stored receipt), rejected (reason: the problem code) or quarantined (reason unknown-sender or wrong-key), by document type.',
    ['outcome', 'reason', 'type'],
  );
  const delivery = registry.histogram(
    'hikeshi_delivery_seconds',
    "Seconds from a message's enqueue to its peer's verified receipt being recorded, retries included, per peer.",
    ['peer'],
    DELIVERY_BUCKETS,
  );
  const attempts = registry.counter(
    'hikeshi_delivery_attempts_total',
    'Delivery attempts by how they ended: delivered, retry (to be tried again) or failed (given up), per peer.',
    ['peer', 'outcome'],
  );
  const http = registry.histogram(
    'hikeshi_http_request_duration_seconds',
    'HTTP request durations by method, route pattern (unmatched: no route) and status class.',
    ['method', 'route', 'status_class'],
    HTTP_BUCKETS,
  );

  let sources: MetricsSources | null = null;
  let pending: Awaited<ReturnType<MetricsSources['outboxPending']>> | null = null;
  let headSeq: number | null = null;
  const sourceUp = { outbox: 0, audit: 0 };
  registry.gauge('hikeshi_outbox_pending', 'Messages in the outbox not delivered yet (waiting or retrying), per peer.', ['peer'], () =>
    (pending ?? []).map((p) => ({ labels: { peer: p.peerTeam }, value: p.pending })),
  );
  registry.gauge(
    'hikeshi_outbox_oldest_pending_age_seconds',
    'Age of the oldest message not delivered yet, per peer: grows while a peer is down.',
    ['peer'],
    () => (pending ?? []).map((p) => ({ labels: { peer: p.peerTeam }, value: (deps.clock().getTime() - Date.parse(p.oldestAt)) / 1000 })),
  );
  registry.gauge('hikeshi_audit_chain_length', "The audit chain's newest entry seq (it only grows).", [], () =>
    headSeq === null ? [] : [{ value: headSeq }],
  );
  registry.gauge(
    'hikeshi_metrics_source_up',
    'Whether the last scrape could read a source from the database (1) or not (0).',
    ['source'],
    () => [
      { labels: { source: 'outbox' }, value: sourceUp.outbox },
      { labels: { source: 'audit' }, value: sourceUp.audit },
    ],
  );

  /** Reads the database sources once per scrape; one that fails leaves its gauges out and says so. */
  async function readSources(): Promise<void> {
    pending = null;
    headSeq = null;
    if (!sources) return;
    try {
      pending = await sources.outboxPending();
      sourceUp.outbox = 1;
    } catch (err) {
      sourceUp.outbox = 0;
      deps.log.warn({ err }, 'metrics: could not read the outbox depth');
    }
    try {
      headSeq = await sources.auditHeadSeq();
      sourceUp.audit = 1;
    } catch (err) {
      sourceUp.audit = 0;
      deps.log.warn({ err }, 'metrics: could not read the audit chain head');
    }
  }

  // Scrapes one at a time: the sources read for one are the ones it renders.
  let queue: Promise<unknown> = Promise.resolve();
  const render = (): Promise<string> => {
    const next = queue.then(async () => {
      await readSources();
      return registry.render();
    });
    queue = next.catch(() => undefined);
    return next;
  };

  const listeners = new Set<MetricsListener>();
  return {
    port: {
      inboxMessage: (outcome, reason, type) => inbox.inc({ outcome, reason, type }),
      delivered: (peer, seconds) => delivery.observe({ peer }, seconds),
      deliveryAttempt: (peer, outcome) => attempts.inc({ peer, outcome }),
    },
    async onResponse(request, reply) {
      // The route as declared (`/api/v1/incidents/:ref`), never as requested.
      const route = request.routeOptions.url ?? 'unmatched';
      const method = METHODS.has(request.method) ? request.method : 'other';
      http.observe({ method, route, status_class: `${Math.floor(reply.statusCode / 100)}xx` }, reply.elapsedTime / 1000);
    },
    attach(given) {
      sources = given;
    },
    render,
    routes: async (app) => {
      await app.register(metricsRoutes, { render, contentType: EXPOSITION_CONTENT_TYPE });
    },
    async listen(port) {
      const listener = await startMetricsListener(port, render);
      listeners.add(listener);
      return listener;
    },
    async close() {
      await Promise.all([...listeners].map((l) => l.close()));
      listeners.clear();
    },
  };
}
