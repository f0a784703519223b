import type { FastifyPluginAsync } from 'fastify';
import type { Clock } from '../../clock.js';
import type { Db } from '../../db/database.js';
import type { AuditLog } from '../audit/audit.module.js';
import { createContactResolutionService, type ContactResolutionService } from './contact-resolution.service.js';
import { contactRoutes } from './contacts.routes.js';
import type { ContactsSettings } from './direct-steps.js';
import type { ContactDirectory } from './team-steps.js';

export interface ContactsModuleDeps {
  db: Db;
  clock: Clock;
  audit: AuditLog;
  /** Outgoing HTTP (security.txt, RDAP): the app's fetch seam. */
  fetch: typeof fetch;
  /** Sites, peers and forums, as the composition root reaches them. */
  directory: ContactDirectory;
  settings: ContactsSettings;
}

export interface ContactsModule {
  service: ContactResolutionService;
  /** Mounted under /api/v1: GET /contacts/resolve. */
  apiRoutes: FastifyPluginAsync;
}

/**
 * Contact determination (issue 15 part 1): whom to tell about an address, a host, a domain or an
 * AS number, as a ranked route plan from our own data and the outside sources.
 */
export function createContactsModule(deps: ContactsModuleDeps): ContactsModule {
  const service = createContactResolutionService(deps);
  return {
    service,
    apiRoutes: async (api) => {
      await api.register(contactRoutes, { contacts: service });
    },
  };
}

export type { ContactsSettings } from './direct-steps.js';
export type { ContactDirectory, ForumListing, PeerWithProfile, SiteMatch } from './team-steps.js';
