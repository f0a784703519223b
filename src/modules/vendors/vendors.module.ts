import type { FastifyPluginAsync } from 'fastify';
import type { Clock } from '../../clock.js';
import type { NodeSigner } from '../../crypto/index.js';
import type { Db } from '../../db/database.js';
import type { AuditLog } from '../audit/audit.module.js';
import { oneByOne, type Exchange } from '../exchange/exchange.module.js';
import type { PeerDirectory } from '../peers/peers.module.js';
import { createAdvisoryService, type AdvisoryService } from './advisory.service.js';
import { csafApiRoutes, csafPublicRoutes } from './csaf.routes.js';
import { createVendorQuestionService, type VendorEmailChannel, type VendorQuestionService } from './vendor-question.service.js';
import { caseRoutes, vendorQuestionRoutes, vendorRoutes } from './vendor.routes.js';
import { createVendorService, type VendorService } from './vendor.service.js';

export interface VendorsModuleDeps {
  config: { teamId: string; teamName: string; publicUrl: string };
  db: Db;
  clock: Clock;
  audit: AuditLog;
  signer: Pick<NodeSigner, 'signDetached' | 'fingerprint'>;
  peers: Pick<PeerDirectory, 'find'>;
  exchange: Pick<Exchange, 'inbox' | 'outbox'>;
  /** The signed e-mail channel, once it exists (ADR 0024): without it e-mail questions wait as awaiting-email. */
  email?: VendorEmailChannel;
}

export interface VendorsModule {
  vendors: VendorService;
  questions: VendorQuestionService;
  advisories: AdvisoryService;
  /** Mounted under /api/v1: /vendors, /cases, /cases/{id}/advisory, /vendor-questions. */
  apiRoutes: FastifyPluginAsync;
  /** Mounted at the root with the open routes' per-address limit: /.well-known/csaf. */
  publicRoutes: FastifyPluginAsync;
}

/**
 * Vendor coordination and CSAF 2.0 advisories (issue 17 parts 1 and 2, ADR 0024). Registers
 * `vendor.question` and `vendor.statement` with the exchange's inbox; a ProblemError from a
 * handler is refused and audited by the inbox.
 */
export function createVendorsModule(deps: VendorsModuleDeps): VendorsModule {
  const vendors = createVendorService(deps);
  const questions = createVendorQuestionService({ ...deps, vendors });
  const advisories = createAdvisoryService({ ...deps, vendors });
  deps.exchange.inbox.registerHandler('vendor.question', oneByOne(questions.receiveQuestion));
  deps.exchange.inbox.registerHandler('vendor.statement', oneByOne(questions.receiveStatement));
  return {
    vendors,
    questions,
    advisories,
    apiRoutes: async (api) => {
      await api.register(vendorRoutes, { vendors });
      await api.register(caseRoutes, { vendors, questions });
      await api.register(vendorQuestionRoutes, { questions });
      await api.register(csafApiRoutes, { advisories });
    },
    publicRoutes: async (open) => {
      await open.register(csafPublicRoutes, { advisories, config: deps.config, signer: deps.signer, clock: deps.clock });
    },
  };
}

export { type VendorEmailChannel } from './vendor-question.service.js';
