import type { Clock } from '../../clock.js';
import type { Db, Tx } from '../../db/database.js';
import { ProblemError } from '../../http/problem.js';
import type { Group, GroupCreate, GroupListQuery, GroupMember, GroupMemberInput, GroupPatch } from '../../../schemas/group.schema.js';
import type { AuditLog } from '../audit/audit.module.js';
import type { MembershipLevel } from '../../../schemas/policy.schema.js';
import type { OurMembership } from '../../../schemas/group.schema.js';
import {
  deleteGroup,
  deleteMember,
  findGroup,
  findMember,
  insertGroup,
  listGroups,
  listMembers,
  touchGroup,
  updateGroup,
  upsertMember,
  setRosterForum,
  type GroupChanges,
  type GroupRecord,
  type MemberRecord,
} from './group.repository.js';

/**
 * Trust groups (issue 4 item 1): which forums and communities exist, whether we belong to them,
 * what their membership is worth, and who is in them. Every change moves some team's effective
 * trust, so every change is audited in the transaction that makes it (kinds `trust.group-*`;
 * membership changes `trust.group-membership` with the team as `peer`).
 */
export interface GroupService {
  list(query: GroupListQuery): Promise<Group[]>;
  get(id: string): Promise<Group>;
  create(input: GroupCreate, actor: string): Promise<Group>;
  patch(id: string, patch: GroupPatch, actor: string): Promise<Group>;
  remove(id: string, actor: string): Promise<void>;
  members(id: string): Promise<GroupMember[]>;
  /** Adds a member or changes its level/since/source; `created` tells which. */
  putMember(id: string, input: GroupMemberInput, actor: string): Promise<{ member: GroupMember; created: boolean }>;
  removeMember(id: string, teamId: string, actor: string): Promise<void>;
  /**
   * Sets the group `roster.group` to exactly the members of a forum's signed roster, inside the
   * caller's transaction (the forum module applies a roster version): a `forum` group created
   * if missing, hand edits refused from then on, each membership change audited. Answers the
   * teams added, changed and removed.
   */
  applyRoster(tx: Tx, roster: RosterMembership, actor: string): Promise<{ added: string[]; changed: string[]; removed: string[] }>;
}

export interface RosterMembership {
  group: string;
  name: string;
  /** Where the roster comes from, for the audit: `<forum> v<version>`. */
  source: string;
  ourMembership: OurMembership;
  members: Array<{ teamId: string; level: MembershipLevel; since: Date }>;
}

export function toWireGroup(g: GroupRecord): Group {
  return {
    id: g.id,
    name: g.name,
    kind: g.kind,
    description: g.description,
    ourMembership: g.ourMembership,
    floorFull: g.floorFull,
    floorLiaison: g.floorLiaison,
    memberCount: g.memberCount,
    version: g.version,
    createdAt: g.createdAt.toISOString(),
    createdBy: g.createdBy,
    updatedAt: g.updatedAt.toISOString(),
    rosterForum: g.rosterForum,
  };
}

export function toWireMember(m: MemberRecord): GroupMember {
  return {
    groupId: m.groupId,
    teamId: m.teamId,
    level: m.level,
    since: m.since.toISOString(),
    source: m.source,
    addedBy: m.addedBy,
    updatedAt: m.updatedAt.toISOString(),
  };
}

const PATCHABLE = ['name', 'kind', 'description', 'ourMembership', 'floorFull', 'floorLiaison'] as const;

export function createGroupService(deps: { db: Db; clock: Clock; audit: AuditLog }): GroupService {
  const { db, clock, audit } = deps;

  const notFound = (id: string) => new ProblemError('not-found', `no trust group "${id}"`);

  /** A group a forum's roster sets is changed by the next roster, never by hand. */
  function refuseIfRoster(group: GroupRecord): void {
    if (group.rosterForum !== null) {
      throw new ProblemError(
        'conflict',
        `the members of "${group.id}" come from the signed roster of forum "${group.rosterForum}": they change with its next version`,
      );
    }
  }

  async function mustFind(dbOrTx: Parameters<typeof findGroup>[0], id: string, forUpdate = false): Promise<GroupRecord> {
    const group = await findGroup(dbOrTx, id, forUpdate);
    if (!group) throw notFound(id);
    return group;
  }

  return {
    async list(query) {
      return (await listGroups(db, query)).map(toWireGroup);
    },

    async get(id) {
      return toWireGroup(await mustFind(db, id));
    },

    async create(input, actor) {
      const group = await db.transaction().execute(async (tx) => {
        const values = {
          id: input.id,
          name: input.name,
          kind: input.kind,
          description: input.description ?? null,
          ourMembership: input.ourMembership ?? 'none',
          floorFull: input.floorFull ?? null,
          floorLiaison: input.floorLiaison ?? null,
        };
        if (!(await insertGroup(tx, { ...values, createdBy: actor, at: clock() }))) {
          throw new ProblemError('conflict', `a trust group "${input.id}" exists already`);
        }
        const { description: _d, ...audited } = values;
        await audit.append(tx, { kind: 'trust.group-created', actor, details: { group: input.id, ...audited } });
        return mustFind(tx, input.id);
      });
      return toWireGroup(group);
    },

    async patch(id, patch, actor) {
      const group = await db.transaction().execute(async (tx) => {
        const before = await mustFind(tx, id, true);
        const changes: GroupChanges = {};
        const described: Record<string, unknown> = {};
        for (const key of PATCHABLE) {
          const value = patch[key];
          if (value === undefined || value === before[key]) continue;
          (changes as Record<string, unknown>)[key] = value;
          // The description is free text: the log says it changed, not what it says.
          described[key] = key === 'description' ? { replaced: true } : { from: before[key], to: value };
        }
        if (Object.keys(changes).length === 0) return before;
        await updateGroup(tx, id, changes, clock());
        await audit.append(tx, { kind: 'trust.group-updated', actor, details: { group: id, changes: described } });
        return mustFind(tx, id);
      });
      return toWireGroup(group);
    },

    async remove(id, actor) {
      await db.transaction().execute(async (tx) => {
        const group = await mustFind(tx, id, true);
        refuseIfRoster(group);
        const members = await listMembers(tx, id);
        await deleteGroup(tx, id);
        // One entry for the group and one per membership it takes with it, so a filter on a
        // team's audit trail (peer = team) shows that its floor went away.
        for (const m of members) {
          await audit.append(tx, {
            kind: 'trust.group-membership',
            actor,
            peer: m.teamId,
            details: { group: id, action: 'removed', level: m.level, why: 'group deleted' },
          });
        }
        await audit.append(tx, {
          kind: 'trust.group-deleted',
          actor,
          details: { group: id, name: group.name, ourMembership: group.ourMembership, members: members.length },
        });
      });
    },

    async members(id) {
      await mustFind(db, id);
      return (await listMembers(db, id)).map(toWireMember);
    },

    async putMember(id, input, actor) {
      return db.transaction().execute(async (tx) => {
        refuseIfRoster(await mustFind(tx, id, true));
        const before = await findMember(tx, id, input.teamId);
        const at = clock();
        const since = input.since !== undefined ? new Date(input.since) : (before?.since ?? at);
        const source = input.source ?? before?.source ?? 'manual';
        const unchanged =
          before !== null && before.level === input.level && before.since.getTime() === since.getTime() && before.source === source;
        if (!unchanged) {
          await upsertMember(tx, {
            groupId: id,
            teamId: input.teamId,
            level: input.level,
            since,
            source,
            addedBy: actor,
            at,
          });
          await touchGroup(tx, id, at);
          await audit.append(tx, {
            kind: 'trust.group-membership',
            actor,
            peer: input.teamId,
            details: {
              group: id,
              action: before ? 'changed' : 'added',
              level: input.level,
              ...(before && before.level !== input.level ? { from: before.level } : {}),
              source,
              since: since.toISOString(),
            },
          });
        }
        const member = (await findMember(tx, id, input.teamId))!;
        return { member: toWireMember(member), created: before === null };
      });
    },

    async removeMember(id, teamId, actor) {
      await db.transaction().execute(async (tx) => {
        refuseIfRoster(await mustFind(tx, id, true));
        const before = await findMember(tx, id, teamId);
        if (!before || !(await deleteMember(tx, id, teamId)))
          throw new ProblemError('not-found', `team "${teamId}" is not a member of "${id}"`);
        await touchGroup(tx, id, clock());
        await audit.append(tx, {
          kind: 'trust.group-membership',
          actor,
          peer: teamId,
          details: { group: id, action: 'removed', level: before.level, source: before.source },
        });
      });
    },

    applyRoster: (tx, roster, actor) => applyRosterToGroup({ clock, audit }, tx, roster, actor),
  };
}

/** GroupService.applyRoster: the group set to exactly the roster's active members, every change audited. */
async function applyRosterToGroup(
  deps: { clock: Clock; audit: AuditLog },
  tx: Tx,
  roster: RosterMembership,
  actor: string,
): Promise<{ added: string[]; changed: string[]; removed: string[] }> {
  const { clock, audit } = deps;
  const at = clock();
  let group = await findGroup(tx, roster.group, true);
  if (!group) {
    const values = {
      id: roster.group,
      name: roster.name,
      kind: 'forum' as const,
      description: null,
      floorFull: null,
      floorLiaison: null,
    };
    await insertGroup(tx, { ...values, ourMembership: roster.ourMembership, createdBy: actor, at });
    await audit.append(tx, {
      kind: 'trust.group-created',
      actor,
      details: { group: roster.group, name: roster.name, kind: 'forum', ourMembership: roster.ourMembership, roster: roster.source },
    });
    group = (await findGroup(tx, roster.group))!;
  }
  if (group.rosterForum !== roster.group) await setRosterForum(tx, roster.group, roster.group, at);
  if (group.ourMembership !== roster.ourMembership || group.name !== roster.name) {
    await updateGroup(tx, roster.group, { ourMembership: roster.ourMembership, name: roster.name }, at);
    await audit.append(tx, {
      kind: 'trust.group-updated',
      actor,
      details: {
        group: roster.group,
        changes: { ourMembership: { from: group.ourMembership, to: roster.ourMembership } },
        roster: roster.source,
      },
    });
  }
  const before = new Map((await listMembers(tx, roster.group)).map((m) => [m.teamId, m]));
  const outcome = { added: [] as string[], changed: [] as string[], removed: [] as string[] };
  const note = (teamId: string, action: string, level: MembershipLevel, extra: Record<string, unknown> = {}) =>
    audit.append(tx, {
      kind: 'trust.group-membership',
      actor,
      peer: teamId,
      details: { group: roster.group, action, level, source: 'roster', roster: roster.source, ...extra },
    });
  for (const m of roster.members) {
    const old = before.get(m.teamId);
    before.delete(m.teamId);
    if (old && old.level === m.level && old.source === 'roster') continue;
    await upsertMember(tx, {
      groupId: roster.group,
      teamId: m.teamId,
      level: m.level,
      since: m.since,
      source: 'roster',
      addedBy: actor,
      at,
    });
    await note(m.teamId, old ? 'changed' : 'added', m.level, old && old.level !== m.level ? { from: old.level } : {});
    (old ? outcome.changed : outcome.added).push(m.teamId);
  }
  // Not in this version (removed, or suspended): the floor goes in this transaction.
  for (const old of before.values()) {
    await deleteMember(tx, roster.group, old.teamId);
    await note(old.teamId, 'removed', old.level, { why: 'not an active member in the roster' });
    outcome.removed.push(old.teamId);
  }
  if (outcome.added.length + outcome.changed.length + outcome.removed.length > 0) await touchGroup(tx, roster.group, at);
  return outcome;
}
