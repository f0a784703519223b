import type { FastifyPluginAsync } from 'fastify';
import type { Clock } from '../../clock.js';
import type { Db } from '../../db/database.js';
import type { AuditLog } from '../audit/audit.module.js';
import { groupRoutes } from './group.routes.js';
import { createGroupService, type GroupService } from './group.service.js';

export interface GroupsModuleDeps {
  db: Db;
  clock: Clock;
  audit: AuditLog;
}

export interface GroupsModule {
  service: GroupService;
  /** Mounted under /api/v1: /groups, /groups/{id}, /groups/{id}/members. */
  apiRoutes: FastifyPluginAsync;
}

/**
 * Trust groups (issue 4 item 1). The sharing module reads the same tables (through
 * group.repository.ts) to compute effective trust; this module only manages them.
 */
export function createGroupsModule(deps: GroupsModuleDeps): GroupsModule {
  const service = createGroupService(deps);
  return {
    service,
    apiRoutes: async (api) => {
      await api.register(groupRoutes, { groups: service });
    },
  };
}

// Public surface for other modules (docs/architecture.md, rule 3).
export { membershipsOf, membershipsOfTeams, ourGroupPolicies } from './group.repository.js';
export { type GroupService, type RosterMembership } from './group.service.js';
