import fastifySwagger from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { type FastifyInstance, type FastifyPluginAsync, type onRequestHookHandler } from 'fastify';
import path from 'node:path';
import { sql } from 'kysely';
import type { Clock } from './clock.js';
import { systemClock } from './clock.js';
import type { Config } from './config.js';
import type { NodeSigner } from './crypto/index.js';
import type { DatabaseHandle, Db } from './db/database.js';
import { authenticateApi, type ApiTokenCheck } from './http/auth.js';
import { clientErrorHandler, frameworkErrors, registerErrorHandling, registerNotFound } from './http/error-handler.js';
import { sharedSerializerFactory } from './http/shared-serializers.js';
import { registerInputGuards } from './http/input-guards.js';
import { hoistNamedRoots, withSchemaNames } from './http/openapi-names.js';
import fastifyRateLimit from '@fastify/rate-limit';
import { ProblemError } from './http/problem.js';
import { strictValidatorCompiler } from './http/strict-validator.js';
import { consoleRoutes } from './http/console.routes.js';
import { projectRoot } from './project-root.js';
import { loggerOptions } from './logger.js';
import { createIncidentService, type IncidentService } from './modules/incidents/incident.service.js';
import { incidentRoutes } from './modules/incidents/incident.routes.js';
import { profileApiRoutes, profilePublicRoutes } from './modules/profile/profile.routes.js';
import { createProfileService } from './modules/profile/profile.service.js';
import { createSiteService } from './modules/sites/site.service.js';
import { siteRoutes } from './modules/sites/site.routes.js';
import { createAuditModule, type AuditLog } from './modules/audit/audit.module.js';
import { createExchangeModule, type ExchangeMail, type ExchangeModule, type MailHandOver } from './modules/exchange/exchange.module.js';
import type { DeliveryWorker } from './modules/exchange/delivery-worker.js';
import { createPeerClient } from './modules/exchange/peer-client.js';
import { createFeedsModule, tryPullFromPeer, type FeedsModule } from './modules/feeds/feeds.module.js';
import { createPeersModule, type OwnKeyRotation } from './modules/peers/peers.module.js';
import type { PeerDirectory } from './modules/peers/peer-directory.js';
import { createGroupsModule } from './modules/groups/groups.module.js';
import { createForumModule } from './modules/forum/forum.module.js';
import { createForumInquiryModule } from './modules/forum/forum-inquiry.module.js';
import { createOutsideModule } from './modules/outside/outside.module.js';
import { createHumanReportIntake, createReportReceipts, createSharingModule } from './modules/sharing/sharing.module.js';
import type { SharingService } from './modules/sharing/index.js';
import { createCoordinationModule } from './modules/coordination/coordination.module.js';
import { createFormatsModule, type FormatsModuleDeps } from './modules/formats/formats.module.js';
import { createIodefModule } from './modules/formats/iodef.module.js';
import { createMetricsModule, type MetricsModule, type MetricsSources } from './modules/metrics/metrics.module.js';
import { wireContacts } from './contact-directory.js';
import { createMispModule } from './modules/formats/misp.module.js';
import { createVendorsModule } from './modules/vendors/vendors.module.js';
import { createCampaignsModule, notifierOf } from './modules/campaigns/campaigns.module.js';
import { createNotificationsModule } from './modules/notifications/notifications.module.js';
import { createApiTokenCheck } from './modules/tokens/api-token-check.js';
import { tokenRoutes } from './modules/tokens/token.routes.js';
import { createAccountsModule, type ScryptParameters } from './modules/accounts/accounts.module.js';
import { ProblemResponse, ProblemSchema } from '../schemas/common.schema.js';

export interface AppDeps {
  config: Config;
  database: DatabaseHandle;
  signer: NodeSigner;
  tokenSecret: string;
  /** Seams for tests: a fixed clock, a quiet logger, outgoing HTTP to peers. */
  clock?: Clock;
  logger?: boolean;
  /** Where log lines go instead of stdout: tests that read every line a node logs. */
  logStream?: { write(line: string): void };
  fetch?: typeof fetch;
  /** scrypt's cost for new password hashes; tests lower it (each hash is 128 MiB and most of a second otherwise). */
  passwordParameters?: ScryptParameters;
}

/** Background federation work (server.ts starts it after listen) and the peer directory, for tests and the CLI. */
export interface FederationHandle {
  start(): void;
  stop(): Promise<void>;
  worker: DeliveryWorker;
  peers: PeerDirectory;
  /** `hikeshi key rotate`: queue the announcements and re-sign the outbox with the new key. */
  rotateOwnKey(newSigner: NodeSigner, actor: string): Promise<OwnKeyRotation>;
  /** The signed e-mail channel (ADR 0025): the intake, the outgoing channel, the SMTP listener. */
  mail: ExchangeMail;
}

declare module 'fastify' {
  interface FastifyInstance {
    federation: FederationHandle;
    /** The exposition text and the token-less listener (server.ts starts it when HIKESHI_METRICS_PORT is set). */
    metrics: Pick<MetricsModule, 'render' | 'listen'>;
  }
}

/** The OpenAPI document (3.1) and its shared components: what integrators generate clients from. */
async function registerOpenApi(app: FastifyInstance, config: Config): Promise<void> {
  // Shared schemas before the routes that refer to them; swagger names each component by its $id.
  app.addSchema({ $id: 'Problem', title: 'Problem', ...ProblemSchema });
  await app.register(fastifySwagger, {
    // Named schemas (schemas/common.schema.ts `named`) become components; the routes keep theirs.
    transform: ({ schema, url }) => ({ schema: withSchemaNames(schema), url }),
    transformObject: (documents) => ('openapiObject' in documents ? hoistNamedRoots(documents.openapiObject) : documents.swaggerObject),
    refResolver: {
      buildLocalReference: (json, _baseUri, _fragment, i) => (typeof json['$id'] === 'string' ? json['$id'] : `def-${i}`),
    },
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Hikeshi node API',
        version: '1.0.0',
        description:
          'A CSIRT node: team profile (RFC 2350), constituency directory, incidents as the receiving CSIRT records them. Errors are RFC 9457 problem+json with stable codes (docs/errors.md).',
        license: { name: 'Apache-2.0', identifier: 'Apache-2.0' },
      },
      servers: [{ url: config.publicUrl }],
      components: {
        securitySchemes: {
          bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' },
          // People signed in (POST /api/v1/session); unsafe methods also need the X-CSRF-Token header.
          session: { type: 'apiKey', in: 'cookie', name: 'hikeshi_session' },
        },
      },
      tags: [
        { name: 'public', description: 'Documents anyone may read' },
        { name: 'operations', description: 'Health and readiness' },
        { name: 'profile', description: 'The team description' },
        { name: 'tokens', description: 'API tokens' },
        { name: 'session', description: 'Signing in and out (people): the session cookie and its CSRF token' },
        { name: 'accounts', description: 'Handler accounts: passwords, TOTP, roles' },
        { name: 'sites', description: 'Constituency directory: sites, POCs, network scopes' },
        { name: 'incidents', description: 'Incidents, reference numbers, lifecycle, journal' },
        { name: 'peers', description: 'Other teams: pinned keys, relationships, trust' },
        { name: 'shares', description: 'Sharing incidents with peers, receipts, quarantine' },
        { name: 'groups', description: 'Trust groups (FIRST-like forums) and memberships' },
        { name: 'forums', description: 'Forums: signed rosters from their operator, members as peers' },
        { name: 'policy', description: 'Sharing policy: explain, per-incident facts, effective trust' },
        { name: 'law-enforcement', description: 'Requests from law enforcement, approvals, signed disclosure packages' },
        { name: 'press', description: 'Press statements: TLP:CLEAR only, approved by a second handler, published at /press' },
        { name: 'audit', description: 'Hash-chained record of every disclosure decision' },
        { name: 'contacts', description: 'Contact determination: whom to tell about an address, host, domain or AS number' },
        { name: 'federation', description: 'Node to node: signed documents, receipts, peer tokens, feeds' },
        {
          name: 'formats',
          description: "Neighbouring tools' formats, out through the sharing policy and in: STIX 2.1, MISP events, IODEF v2",
        },
        { name: 'taxii', description: 'TAXII 2.1: the incidents collection peers pull with their peer token' },
        {
          name: 'coordination',
          description: "A coordinator's overview of its members' activity, and related-activity warnings",
        },
        { name: 'vendors', description: 'Vendor coordination: vendors, vulnerability cases, questions and statements' },
        { name: 'advisories', description: 'CSAF 2.0 advisories drafted from vulnerability cases and published as a trusted provider' },
        {
          name: 'notifications',
          description:
            "Telling the constituency's sites: notifications per site, counter-measures, POC keys and bounces, campaigns of many events",
        },
      ],
    },
  });
}

/**
 * Builds the node without listening, so tests drive it through `inject` and the server entry
 * owns the port. The whole attack surface is visible here: public documents, `/api/v1` for the
 * team's own handlers and integrators (API tokens), and `/federation/v1` for peer nodes.
 */
/** The fastify instance with the node's options: body limit, problem+json framework errors, strict validation. */
function createFastify(deps: AppDeps) {
  const { config } = deps;
  return Fastify({
    logger: deps.logger === false ? false : { ...(loggerOptions(config) as object), ...(deps.logStream ? { stream: deps.logStream } : {}) },
    bodyLimit: config.bodyLimitBytes,
    // Our 404/415/400 answers come from the error handler; trust no proxy headers by default.
    return503OnClosing: true,
    // Forwarded headers only from the proxies the operator names: they decide request.ip and
    // request.protocol (the session cookie's Secure flag).
    trustProxy: config.trustProxy.length > 0 ? [...config.trustProxy] : false,
    // Plugins open the database and load keys: on a busy machine that can pass fastify's 10 s default.
    pluginTimeout: 60_000,
    // Framework-level refusals answer in problem+json like everything else (http/error-handler.ts).
    frameworkErrors,
    clientErrorHandler,
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, useDefaults: false } },
    // Response serializers compiled once per process, not once per app (http/shared-serializers.ts).
    schemaController: { compilersFactory: { buildSerializer: sharedSerializerFactory } },
  }).withTypeProvider<TypeBoxTypeProvider>();
}

export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const { config, database } = deps;
  const clock = deps.clock ?? systemClock;
  const db = database.db;

  const app = createFastify(deps);
  app.setValidatorCompiler(strictValidatorCompiler);
  // Metrics first: every request, on every route registered after this, is timed by its pattern.
  const metrics = createMetricsModule({ clock, log: app.log });
  app.addHook('onResponse', metrics.onResponse);

  // 1. Infrastructure: errors, body parsing, authentication primitives, the OpenAPI document.
  registerErrorHandling(app);
  app.removeContentTypeParser('text/plain');
  registerInputGuards(app);
  await registerOpenApi(app, config);
  await app.register(fastifySwaggerUi, { routePrefix: '/docs' });
  // Routes that declare no security are public or authenticate by signed documents: say so
  // explicitly (security: []) so generated clients do not guess. /api/v1 overrides this below.
  app.addHook('onRoute', (route) => {
    if (!route.schema?.security) route.schema = { ...route.schema, security: [] };
  });

  // 2. Services: rules live here, routes only translate HTTP.
  const audit = createAuditModule({ db, clock });
  const profiles = createProfileService({ db, config, clock, audit: audit.log });
  // The audit log records erasures of personal data and legal holds (ADR 0013).
  const incidents = createIncidentService({ db, clock, config, audit: audit.log });
  // What most modules take: the node's settings, database, clock, key, audit log and logger.
  const base = { config, db, clock, signer: deps.signer, audit: audit.log, log: app.log };
  // Federation, in dependency order: peers (who the other teams are), the exchange (transport
  // only: it sees peers through its PeerKeyring port), then the domain modules that register
  // their document types with it (peers: key.rotation; sharing: reports, updates,
  // investigations; coordination: activity.*), and the feeds peers pull.
  const client = createPeerClient(deps.fetch ?? globalThis.fetch, {
    timeoutMs: config.delivery.timeoutMs,
    maxResponseBytes: config.bodyLimitBytes,
  });
  const peers = createPeersModule({ config, db, clock, signer: deps.signer, profiles, audit: audit.log, client });
  // A site may name the peer team that runs its own node (ADR 0026): it must be a peer of ours.
  const sites = createSiteService({ db, clock, isPeer: async (tx, teamId) => (await peers.directory.find(tx, teamId)) !== null });
  const exchange = createExchangeModule({
    config,
    db,
    clock,
    signer: deps.signer,
    audit: audit.log,
    log: app.log,
    peers: peers.directory,
    client,
    metrics: metrics.port,
  });
  peers.attach(exchange);
  const sharing = createSharingModule({ ...base, peers: peers.directory, incidents, exchange });
  const receiptMailers = wireHumanReports({ ...base, incidents, peers: peers.directory, mail: exchange.mail });
  const feeds = createFeedsModule({
    config,
    db,
    clock,
    signer: deps.signer,
    tokenSecret: deps.tokenSecret,
    peers: peers.directory,
    sharing: sharing.service,
    audit: audit.log,
    log: app.log,
  });
  // The anchored audit (issue 13 part 4): the chain's head, signed, to its witnesses through the
  // outbox; the heads peers send us (an inbox handler), served back to them with a peer token.
  const anchoring = audit.attach({
    config,
    signer: deps.signer,
    exchange,
    peers: peers.directory,
    pull: (target, path) => tryPullFromPeer({ client, signer: deps.signer, clock, teamId: config.teamId }, target, path),
    authenticatePeer: feeds.authenticatePeer,
    log: app.log,
  });
  const groups = createGroupsModule({ db, clock, audit: audit.log });
  // Forums (issue 14): signed rosters set the forum's trust group and vouch for members' keys.
  const forums = createForumModule({
    config,
    db,
    clock,
    signer: deps.signer,
    audit: audit.log,
    peers: peers.directory,
    groups: groups.service,
    exchange,
    client,
    authenticatePeer: feeds.authenticatePeer,
  });
  // Inquiries to all members of a forum (issue 14 part 5): fanned out per member through the policy.
  const inquiryDeps = {
    config,
    db,
    clock,
    exchange,
    audit: audit.log,
    peers: peers.directory,
    sharing: sharing.service,
    shares: sharing.shares,
  };
  const inquiries = createForumInquiryModule(inquiryDeps);
  // Listens to incident changes (the feed to our coordinators) and takes the activity.* documents from the inbox.
  const coordination = createCoordinationModule({
    db,
    clock,
    config,
    incidents,
    peers: peers.directory,
    exchange,
    sharing: sharing.service,
    audit: audit.log,
    log: app.log,
  });
  // Neighbouring tools' formats (issue 16): STIX and TAXII, IODEF, MISP; out through the policy.
  const formats = wireFormats({ db, clock, config, incidents, sharing: sharing.service, audit: audit.log, feeds, fetch: deps.fetch });
  // Contact determination (issue 15 part 1): route plans from our data and the outside sources.
  const contacts = wireContacts({ config, db, clock, audit: audit.log, fetch: deps.fetch, sites, peers, forums: forums.service });
  // Beyond the CSIRTs (issue 17): law enforcement, the press, vendors and advisories.
  const { outside, vendors } = wireOutsideParties({ ...base, incidents, exchange, sharing: sharing.service, peers: peers.directory });
  // Telling the sites (issue 19): notifications per site, and campaigns of many events filed per site.
  const notifications = wireNotifications({ ...base, incidents, sharing: sharing.service, exchange, peers: peers.directory });
  const mailers = [notifications.mailer, ...(vendors.mailer ? [vendors.mailer] : []), ...receiptMailers]; // the modules' own mail outboxes
  app.decorate('federation', {
    start: () => {
      exchange.start();
      anchoring.start();
      for (const mailer of mailers) mailer.start();
    },
    stop: async () => {
      await Promise.all(mailers.map((mailer) => mailer.stop()));
      await anchoring.stop();
      await exchange.stop();
    },
    worker: exchange.worker,
    peers: peers.directory,
    rotateOwnKey: peers.rotateOwnKey,
    mail: exchange.mail,
  } satisfies FederationHandle);
  app.addHook('onClose', () => app.federation.stop());
  app.addHook('onClose', () => sharing.service.close());

  // 3. Public routes; the open surfaces take a limited number of requests per source address.
  const perAddress = await registerPublicRoutes(app, { config, database, profiles, signer: deps.signer, clock });
  // 3b. The outside parties' public documents, limited per address like the other open routes:
  // /.well-known/csaf (the CSAF trusted provider's folder, ADR 0024) and /press (ADR 0023); and
  // the handlers' console at /console (ADR 0030), a web page on the API's origin.
  await app.register(async (open) => {
    if (perAddress) open.addHook('onRequest', perAddress);
    for (const routes of [vendors.publicRoutes, outside.publicRoutes, consolePage]) await open.register(routes);
  });

  // 4. /api/v1: the team's own handlers and integrators, with API tokens.
  const apiTokens = await registerApiRoutes(app, { ...deps, ...base, profiles, sites, incidents }, [
    audit.apiRoutes,
    peers.apiRoutes,
    exchange.apiRoutes,
    groups.apiRoutes,
    sharing.apiRoutes,
    coordination.apiRoutes,
    forums.apiRoutes,
    inquiries.apiRoutes,
    contacts.apiRoutes,
    vendors.apiRoutes,
    outside.apiRoutes,
    notifications.apiRoutes,
    ...formats.apiRoutes,
  ]);

  // 4b. GET /metrics; read when scraped: the outbox's depth per peer and the audit chain's head.
  await registerMetrics(app, { apiTokens, metrics, outboxPending: () => exchange.pendingByPeer(), auditHeadSeq: () => audit.headSeq() });

  // 5. /federation/v1: peer nodes. The module authenticates each route itself: signed
  // documents for messages and token requests, peer tokens (federation audience) for pulls.
  await app.register(
    async (fed) => {
      if (perAddress) fed.addHook('onRequest', perAddress);
      for (const routes of [peers, exchange, feeds, audit, forums].map((m) => m.federationRoutes)) await fed.register(routes);
    },
    { prefix: '/federation/v1' },
  );

  // 6. /taxii2: TAXII 2.1 for peers (their peer token), what their pull feed would carry, as STIX.
  await registerTaxii(app, formats.taxiiRoutes, perAddress);

  return app;
}

/** The console's built files (dist/console, made by `npm run build`). */
const consolePage = (app: FastifyInstance) => consoleRoutes(app, { dir: path.join(projectRoot(), 'dist/console') });

/**
 * GET /metrics for an admin API token, checked as /api/v1 checks it (a revoked token is
 * refused); the token-less listener (HIKESHI_METRICS_PORT) is started by server.ts.
 */
async function registerMetrics(
  app: FastifyInstance,
  deps: MetricsSources & { metrics: MetricsModule; apiTokens: ApiTokenCheck },
): Promise<void> {
  const { metrics, outboxPending, auditHeadSeq } = deps;
  metrics.attach({ outboxPending, auditHeadSeq });
  app.decorate('metrics', { render: metrics.render, listen: metrics.listen });
  app.addHook('onClose', () => metrics.close());
  await app.register(async (scope) => {
    scope.addHook('onRequest', authenticateApi(deps.apiTokens));
    await scope.register(metrics.routes);
  });
}

/**
 * The parties beyond the CSIRTs (issue 17). Outside recipients, law enforcement and the press
 * (ADR 0023), decided by the sharing policy like any disclosure; vendor coordination and CSAF
 * advisories (ADR 0024), whose vendor.question and vendor.statement documents the inbox takes.
 */
function wireOutsideParties(
  deps: Parameters<typeof createOutsideModule>[0] &
    Omit<Parameters<typeof createVendorsModule>[0], 'mail' | 'exchange'> & { exchange: ExchangeModule },
) {
  // Vendors without a node are asked by the exchange's signed e-mail channel; their replies come through its intake.
  return { outside: createOutsideModule(deps), vendors: createVendorsModule({ ...deps, mail: deps.exchange.mail }) };
}

/**
 * Reports people write, sign with GnuPG and mail (ADR 0025), filed as incidents; the sender gets a
 * signed receipt with our reference number when the node can send mail. Answers the receipts' mailer.
 */
function wireHumanReports(
  deps: Omit<Parameters<typeof createReportReceipts>[0], 'mail' | 'incidents'> & { mail: ExchangeMail; incidents: IncidentService },
): MailHandOver[] {
  const { mail, ...rest } = deps;
  // Without outgoing mail the receipts are still recorded, as owed (issue 17), and sent once it is configured.
  const receipts = createReportReceipts({ ...rest, mail: mail.channel });
  mail.intake.onHumanReport(createHumanReportIntake({ ...rest, teamId: rest.config.teamId, receipts }));
  return receipts.mailer ? [receipts.mailer] : [];
}

/** Telling the sites (issue 19, ADR 0026): mails by the exchange's channel, bounces and replies from its intake. */
function wireNotifications(
  deps: Omit<Parameters<typeof createNotificationsModule>[0], 'mail' | 'intake' | 'incidents' | 'exchange'> & {
    exchange: ExchangeModule;
    incidents: ReturnType<typeof createIncidentService>;
  },
): ReturnType<typeof createNotificationsModule> & { apiRoutes: FastifyPluginAsync } {
  const { mail } = deps.exchange;
  // Sites that run their own node are told through the exchange (its outbox, its inbox's handlers).
  const notifications = createNotificationsModule({ ...deps, mail: mail.channel, intake: mail.intake });
  // Campaigns (part 4): a feed of events filed as one incident per site and period, each
  // incident's notification proposed (and, when asked, approved) by the notifications service.
  const campaigns = createCampaignsModule({ ...deps, teamId: deps.config.teamId, notifier: notifierOf(notifications.notifications) });
  return {
    ...notifications,
    apiRoutes: async (api) => {
      await api.register(notifications.apiRoutes);
      await api.register(campaigns.apiRoutes);
    },
  };
}

function wireFormats(
  deps: Omit<FormatsModuleDeps, 'authenticatePeer' | 'fetch' | 'config' | 'sharing'> & {
    config: Config;
    sharing: SharingService;
    feeds: Pick<FeedsModule, 'authenticatePeer'>;
    fetch?: typeof fetch | undefined;
  },
): { taxiiRoutes: FastifyPluginAsync; apiRoutes: FastifyPluginAsync[] } {
  const { feeds, fetch, ...rest } = deps;
  const stixAndTaxii = createFormatsModule({ ...rest, authenticatePeer: feeds.authenticatePeer, ...(fetch ? { fetch } : {}) });
  const others = { ...rest, fetch };
  return {
    taxiiRoutes: stixAndTaxii.taxiiRoutes,
    apiRoutes: [stixAndTaxii.apiRoutes, createIodefModule(others).apiRoutes, createMispModule(others).apiRoutes],
  };
}

/** /taxii2, with the open surfaces' per-address limit like /federation/v1. */
async function registerTaxii(app: FastifyInstance, routes: FastifyPluginAsync, perAddress: onRequestHookHandler | null): Promise<void> {
  await app.register(
    async (scope) => {
      if (perAddress) scope.addHook('onRequest', perAddress);
      await scope.register(routes);
    },
    { prefix: '/taxii2' },
  );
}

async function registerApiRoutes(
  app: FastifyInstance,
  deps: {
    db: Db;
    config: Config;
    clock: Clock;
    tokenSecret: string;
    profiles: ReturnType<typeof createProfileService>;
    sites: ReturnType<typeof createSiteService>;
    incidents: ReturnType<typeof createIncidentService>;
    audit: AuditLog;
    passwordParameters?: ScryptParameters | undefined;
  },
  modules: FastifyPluginAsync[],
): Promise<ApiTokenCheck> {
  const { db, config, clock, profiles, sites, incidents } = deps;
  // One check for the API's bearer tokens (its verifier, its group of revocation reads); /metrics uses it too.
  const apiTokens = createApiTokenCheck(db, deps.tokenSecret);
  // Sign-in for people (issue 20 item 2): handler accounts and sessions beside the API tokens.
  const people = createAccountsModule({ db, clock, config, audit: deps.audit, passwordParameters: deps.passwordParameters });
  await app.register(people.sessionRoutes, { prefix: '/api/v1' });
  await app.register(
    async (api) => {
      api.addHook('onRoute', (route) => {
        route.schema = { ...route.schema, security: [{ bearer: [] }, { session: [] }] };
      });
      api.addHook('onRequest', authenticateApi(apiTokens, people.sessions));
      await api.register(profileApiRoutes, { profiles, clock });
      await api.register(tokenRoutes, { db, tokenSecret: deps.tokenSecret, teamId: config.teamId, clock });
      await api.register(siteRoutes, { sites });
      await api.register(incidentRoutes, { incidents, teamId: config.teamId });
      await api.register(people.apiRoutes);
      for (const routes of modules) await api.register(routes);
    },
    { prefix: '/api/v1' },
  );
  return apiTokens;
}

/**
 * Health, readiness, the OpenAPI document and the public profile documents. The open surfaces
 * (anyone can send to them without a token) take a limited number of requests per source
 * address: 429 rate-limited with Retry-After beyond it (docs/errors.md). Answers the limit's hook
 * for /federation/v1, or null when the limit is off.
 */
async function registerPublicRoutes(
  app: FastifyInstance,
  deps: {
    config: Config;
    database: AppDeps['database'];
    profiles: ReturnType<typeof createProfileService>;
    signer: AppDeps['signer'];
    clock: Clock;
  },
): Promise<onRequestHookHandler | null> {
  const { config, database, profiles, signer, clock } = deps;
  const problemOnly = { 503: ProblemResponse };
  app.get(
    '/healthz',
    {
      schema: {
        tags: ['operations'],
        operationId: 'getHealth',
        summary: 'The process is up',
        response: { 200: { type: 'object', properties: { status: { type: 'string' } } } },
      },
    },
    async () => ({ status: 'ok' }),
  );
  app.get(
    '/readyz',
    {
      schema: {
        tags: ['operations'],
        operationId: 'getReadiness',
        summary: 'The database answers',
        response: {
          200: { type: 'object', properties: { status: { type: 'string' }, engine: { type: 'string' } } },
          ...problemOnly,
        },
      },
    },
    async () => {
      try {
        await sql`select 1`.execute(database.db);
      } catch {
        throw new ProblemError('service-unavailable', 'the database does not answer');
      }
      return { status: 'ready', engine: database.engine };
    },
  );
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  await app.register(fastifyRateLimit, { global: false });
  const perAddress =
    config.rateLimitPerMinute > 0
      ? app.rateLimit({ max: config.rateLimitPerMinute, timeWindow: 60_000, keyGenerator: (request) => request.ip })
      : null;
  // Unknown paths are an open surface too: a probe of them counts against the same limit.
  registerNotFound(app, perAddress);
  await app.register(async (open) => {
    if (perAddress) open.addHook('onRequest', perAddress);
    await open.register(profilePublicRoutes, { profiles, signer, clock });
  });

  return perAddress;
}
