import type { FastifyBaseLogger, FastifyPluginAsync } from 'fastify';
import type { Clock } from '../../clock.js';
import type { Config } from '../../config.js';
import type { Db } from '../../db/database.js';
import type { AuditLog } from '../audit/audit.module.js';
import { oneByOne, type Inbox } from '../exchange/exchange.module.js';
import type { Outbox } from '../exchange/exchange.module.js';
import type { PeerDirectory } from '../peers/peers.module.js';
import type { IncidentService } from '../incidents/incidents.module.js';
import type { SharingService } from '../sharing/index.js';
import { coordinationRoutes } from './coordination.routes.js';
import { createCoordinationService, type CoordinationService } from './coordination.service.js';

export interface CoordinationModuleDeps {
  db: Db;
  clock: Clock;
  config: Pick<Config, 'teamId'>;
  incidents: Pick<IncidentService, 'addBatchListener' | 'appendInTx'>;
  peers: Pick<PeerDirectory, 'find' | 'listRecords'>;
  exchange: {
    inbox: Pick<Inbox, 'registerHandler'>;
    outbox: Pick<Outbox, 'enqueue' | 'kick' | 'supersede' | 'lastQueued'>;
  };
  sharing: Pick<SharingService, 'decideAndRecord'>;
  audit: AuditLog;
  log: FastifyBaseLogger;
}

export interface CoordinationModule {
  service: CoordinationService;
  /** Mounted under /api/v1: GET /overview. */
  apiRoutes: FastifyPluginAsync;
}

/**
 * Coordination (issue 4 item 5): the activity feed a member sends its coordinator(s), the
 * coordinator's overview and related-activity warnings. Creating the module wires it in: it
 * listens to incident changes and takes activity.summary / activity.related from the inbox.
 */
export function createCoordinationModule(deps: CoordinationModuleDeps): CoordinationModule {
  const service = createCoordinationService({
    db: deps.db,
    clock: deps.clock,
    config: deps.config,
    incidents: deps.incidents,
    peers: deps.peers,
    sharing: deps.sharing,
    audit: deps.audit,
    outbox: deps.exchange.outbox,
    log: deps.log,
  });
  deps.incidents.addBatchListener((tx, changes) => service.onIncidentChanges(tx, changes));
  const { inbox } = deps.exchange;
  inbox.registerHandler('activity.summary', (tx, docs) => service.receiveSummaries(tx, docs));
  inbox.registerHandler(
    'activity.related',
    oneByOne((tx, doc) => service.receiveRelated(tx, doc)),
  );
  inbox.registerHandler(
    'activity.withdrawn',
    oneByOne((tx, doc) => service.receiveWithdrawn(tx, doc)),
  );
  return {
    service,
    apiRoutes: async (api) => {
      await api.register(coordinationRoutes, { coordination: service });
    },
  };
}
