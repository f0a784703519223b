import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import type { Clock } from '../../clock.js';
import type { NodeSigner } from '../../crypto/index.js';
import type { Db, DbOrTx } from '../../db/database.js';
import { ProblemError } from '../../http/problem.js';
import { SignedRosterSchema, type SignedRoster } from '../../../schemas/forum.schema.js';
import type { AuditLog } from '../audit/audit.module.js';
import { oneByOne, type Exchange, type PeerClient } from '../exchange/exchange.module.js';
import { PeerPullError, pullFromPeer } from '../feeds/feeds.module.js';
import type { GroupService } from '../groups/groups.module.js';
import type { PeerDirectory, PeerRecord } from '../peers/peers.module.js';
import { listForumIds, newestRosterOf } from './forum.repository.js';
import { forumApiRoutes, forumFederationRoutes, forumOperatorRoutes } from './forum.routes.js';
import { createForumService, type ForumService } from './forum.service.js';
import { forumJoiningRoutes } from './forum-joining.routes.js';
import { createForumJoiningService } from './forum-joining.service.js';
import { compileOnFirstUse } from '../../util/compile-on-first-use.js';

export interface ForumModuleDeps {
  config: { teamId: string; publicUrl: string };
  db: Db;
  clock: Clock;
  signer: NodeSigner;
  audit: AuditLog;
  peers: PeerDirectory;
  groups: Pick<GroupService, 'applyRoster'>;
  exchange: Pick<Exchange, 'inbox' | 'outbox'>;
  client: PeerClient;
  authenticatePeer: (request: FastifyRequest) => Promise<PeerRecord>;
}

export interface ForumModule {
  service: ForumService;
  /** Mounted under /api/v1: /forums. */
  apiRoutes: FastifyPluginAsync;
  /** Mounted under /federation/v1: GET /forums/{id}/roster. */
  federationRoutes: FastifyPluginAsync;
}

const isSignedRoster = compileOnFirstUse(SignedRosterSchema);

/**
 * Forums (issue 14): signed rosters, pushed by the operator as `forum.roster` messages and
 * fetchable by the members it lists. Registers its document type with the exchange's inbox.
 */
export function createForumModule(deps: ForumModuleDeps): ForumModule {
  const service = createForumService(deps);
  deps.exchange.inbox.registerHandler(
    'forum.roster',
    oneByOne(async (tx, doc) => service.receive(tx, doc.from, doc.body)),
  );
  const joining = createForumJoiningService({ ...deps, outbox: deps.exchange.outbox });
  deps.exchange.inbox.registerHandler('forum.application', oneByOne(joining.receiveApplication));
  deps.exchange.inbox.registerHandler('forum.sponsorship', oneByOne(joining.receiveSponsorship));

  /** Member side: the operator's newest version, fetched with a peer token and applied like a pushed one. */
  async function refresh(id: string, actor: string): Promise<{ version: number; applied: boolean }> {
    const forum = await service.get(id);
    if (forum.role !== 'member') throw new ProblemError('conflict', `this node operates forum "${id}": it has the newest roster`);
    const operator = await deps.peers.find(deps.db, forum.operator);
    if (!operator || operator.status !== 'active' || operator.url === null)
      throw new ProblemError('conflict', `the operator "${forum.operator}" is not an active peer with a node here`);
    let value: unknown;
    try {
      value = await pullFromPeer(
        { client: deps.client, signer: deps.signer, clock: deps.clock, teamId: deps.config.teamId },
        { teamId: operator.teamId, url: operator.url },
        `federation/v1/forums/${encodeURIComponent(id)}/roster`,
      );
    } catch (err) {
      if (err instanceof PeerPullError) throw new ProblemError('peer-unreachable', `the operator gave no roster: ${err.message}`);
      throw err;
    }
    if (!isSignedRoster.Check(value))
      throw new ProblemError('roster-invalid', 'the operator answered something that is not a signed roster');
    let outcome;
    try {
      outcome = await deps.db.transaction().execute((tx) => service.receive(tx, operator.teamId, { roster: value as SignedRoster }));
    } catch (err) {
      // Refused like a pushed one (which the inbox audits): the refusal is on the record.
      if (err instanceof ProblemError) {
        await deps.audit.append(deps.db, {
          kind: 'forum.roster-refused',
          actor,
          peer: operator.teamId,
          decision: 'deny',
          details: { forum: id, code: err.code, detail: err.detail ?? err.message },
        });
      }
      throw err;
    }
    return { version: (await service.get(id)).rosterVersion, applied: outcome.status === 'applied' };
  }

  return {
    service,
    apiRoutes: async (api) => {
      await api.register(forumApiRoutes, { forums: service, refresh });
      await api.register(forumOperatorRoutes, { forums: service });
      await api.register(forumJoiningRoutes, { joining });
    },
    federationRoutes: async (fed) => {
      await fed.register(forumFederationRoutes, { forums: service, authenticatePeer: deps.authenticatePeer });
    },
  };
}

export { type ForumService } from './forum.service.js';

/**
 * The key fingerprint each forum we hold lists for `team` in its newest signed roster, as its
 * operator signed it (active members only: a suspended member is not vouched for), with the
 * forum and its operator. A roster was verified against its operator's key when it was applied;
 * how far the caller trusts the operator is the caller's rule. Relays use it as a key source for
 * hop and origin signatures (docs/federation-protocol.md §5.22).
 */
export async function rosterFingerprintsOf(
  db: DbOrTx,
  team: string,
): Promise<Array<{ forum: string; operator: string; fingerprint: string }>> {
  const found: Array<{ forum: string; operator: string; fingerprint: string }> = [];
  for (const id of await listForumIds(db)) {
    const roster = await newestRosterOf(db, id);
    const member = roster?.members.find((m) => m.team === team && m.status === 'active');
    if (roster && member) found.push({ forum: id, operator: roster.operator, fingerprint: member.fingerprint });
  }
  return found;
}
