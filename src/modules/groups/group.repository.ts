import { sql, type Selectable } from 'kysely';
import type { DbOrTx, Tx } from '../../db/database.js';
import type { TrustGroupMemberTable, TrustGroupTable } from '../../db/tables.js';
import type { GroupFloor, GroupKind, OurMembership } from '../../../schemas/group.schema.js';
import type { GroupMembership, MembershipLevel, TrustGroupPolicy } from '../../../schemas/policy.schema.js';

/** SQL for trust groups and their members (migration 0005). Rows map to records explicitly. */

export interface GroupRecord {
  id: string;
  name: string;
  kind: GroupKind;
  description: string | null;
  ourMembership: OurMembership;
  floorFull: GroupFloor | null;
  floorLiaison: GroupFloor | null;
  memberCount: number;
  version: number;
  createdAt: Date;
  createdBy: string;
  updatedAt: Date;
  /** The forum whose signed roster sets the members (migration 0020); null: kept by hand. */
  rosterForum: string | null;
}

export interface MemberRecord {
  groupId: string;
  teamId: string;
  level: MembershipLevel;
  since: Date;
  source: string;
  addedBy: string;
  updatedAt: Date;
}

type GroupRow = Selectable<TrustGroupTable> & { member_count: number | string };

function toGroup(row: GroupRow): GroupRecord {
  return {
    id: row.id,
    name: row.name,
    kind: row.kind as GroupKind,
    description: row.description,
    ourMembership: row.our_membership as OurMembership,
    floorFull: row.floor_full as GroupFloor | null,
    floorLiaison: row.floor_liaison as GroupFloor | null,
    memberCount: Number(row.member_count),
    version: row.version,
    createdAt: new Date(row.created_at),
    createdBy: row.created_by,
    updatedAt: new Date(row.updated_at),
    rosterForum: row.roster_forum ?? null,
  };
}

function toMember(row: Selectable<TrustGroupMemberTable>): MemberRecord {
  return {
    groupId: row.group_id,
    teamId: row.team_id,
    level: row.level as MembershipLevel,
    since: new Date(row.since),
    source: row.source,
    addedBy: row.added_by,
    updatedAt: new Date(row.updated_at),
  };
}

function selectGroups(db: DbOrTx) {
  return db
    .selectFrom('trust_group')
    .selectAll('trust_group')
    .select(sql<number>`(select count(*) from trust_group_member m where m.group_id = trust_group.id)`.as('member_count'));
}

export interface GroupFilter {
  kind?: GroupKind;
  ourMembership?: OurMembership;
  /** Only groups this team is a member of. */
  team?: string;
}

export async function listGroups(db: DbOrTx, filter: GroupFilter = {}): Promise<GroupRecord[]> {
  let query = selectGroups(db);
  if (filter.kind) query = query.where('trust_group.kind', '=', filter.kind);
  if (filter.ourMembership) query = query.where('trust_group.our_membership', '=', filter.ourMembership);
  if (filter.team) {
    const team = filter.team;
    query = query.where((eb) =>
      eb.exists(
        eb
          .selectFrom('trust_group_member as tm')
          .select('tm.team_id')
          .whereRef('tm.group_id', '=', 'trust_group.id')
          .where('tm.team_id', '=', team),
      ),
    );
  }
  return (await query.orderBy('trust_group.id').execute()).map(toGroup);
}

export async function findGroup(db: DbOrTx, id: string, forUpdate = false): Promise<GroupRecord | null> {
  // FOR UPDATE cannot lock a row read with an aggregate subquery on every engine; lock first.
  if (forUpdate) await db.selectFrom('trust_group').select('id').where('id', '=', id).forUpdate().executeTakeFirst();
  const row = await selectGroups(db).where('trust_group.id', '=', id).executeTakeFirst();
  return row ? toGroup(row) : null;
}

export type NewGroup = Pick<
  GroupRecord,
  'id' | 'name' | 'kind' | 'description' | 'ourMembership' | 'floorFull' | 'floorLiaison' | 'createdBy'
> & { at: Date };

/** Inserts unless the id is taken; false when it is. */
export async function insertGroup(tx: Tx, g: NewGroup): Promise<boolean> {
  const res = await tx
    .insertInto('trust_group')
    .values({
      id: g.id,
      name: g.name,
      kind: g.kind,
      description: g.description,
      our_membership: g.ourMembership,
      floor_full: g.floorFull,
      floor_liaison: g.floorLiaison,
      created_at: g.at,
      created_by: g.createdBy,
      updated_at: g.at,
    })
    .onConflict((oc) => oc.column('id').doNothing())
    .executeTakeFirst();
  return Number(res.numInsertedOrUpdatedRows ?? 0n) === 1;
}

export interface GroupChanges {
  name?: string;
  kind?: GroupKind;
  description?: string | null;
  ourMembership?: OurMembership;
  floorFull?: GroupFloor | null;
  floorLiaison?: GroupFloor | null;
}

export async function updateGroup(tx: Tx, id: string, c: GroupChanges, at: Date): Promise<void> {
  await tx
    .updateTable('trust_group')
    .set({
      ...(c.name !== undefined ? { name: c.name } : {}),
      ...(c.kind !== undefined ? { kind: c.kind } : {}),
      ...(c.description !== undefined ? { description: c.description } : {}),
      ...(c.ourMembership !== undefined ? { our_membership: c.ourMembership } : {}),
      ...(c.floorFull !== undefined ? { floor_full: c.floorFull } : {}),
      ...(c.floorLiaison !== undefined ? { floor_liaison: c.floorLiaison } : {}),
      version: sql<number>`version + 1`,
      updated_at: at,
    })
    .where('id', '=', id)
    .execute();
}

export async function deleteGroup(tx: Tx, id: string): Promise<void> {
  await tx.deleteFrom('trust_group').where('id', '=', id).execute();
}

export async function listMembers(db: DbOrTx, groupId: string): Promise<MemberRecord[]> {
  const rows = await db.selectFrom('trust_group_member').selectAll().where('group_id', '=', groupId).orderBy('team_id').execute();
  return rows.map(toMember);
}

export async function findMember(db: DbOrTx, groupId: string, teamId: string): Promise<MemberRecord | null> {
  const row = await db
    .selectFrom('trust_group_member')
    .selectAll()
    .where('group_id', '=', groupId)
    .where('team_id', '=', teamId)
    .executeTakeFirst();
  return row ? toMember(row) : null;
}

export interface MemberValues {
  groupId: string;
  teamId: string;
  level: MembershipLevel;
  since: Date;
  source: string;
  addedBy: string;
  at: Date;
}

export async function upsertMember(tx: Tx, m: MemberValues): Promise<void> {
  await tx
    .insertInto('trust_group_member')
    .values({
      group_id: m.groupId,
      team_id: m.teamId,
      level: m.level,
      since: m.since,
      source: m.source,
      added_by: m.addedBy,
      updated_at: m.at,
    })
    .onConflict((oc) =>
      oc.columns(['group_id', 'team_id']).doUpdateSet({ level: m.level, since: m.since, source: m.source, updated_at: m.at }),
    )
    .execute();
}

export async function deleteMember(tx: Tx, groupId: string, teamId: string): Promise<boolean> {
  const res = await tx.deleteFrom('trust_group_member').where('group_id', '=', groupId).where('team_id', '=', teamId).executeTakeFirst();
  return Number(res.numDeletedRows) === 1;
}

/** A membership change moves a team's floor: bump the group's version so readers see it changed. */
export async function touchGroup(tx: Tx, id: string, at: Date): Promise<void> {
  await tx
    .updateTable('trust_group')
    .set({ version: sql<number>`version + 1`, updated_at: at })
    .where('id', '=', id)
    .execute();
}

// ---------------------------------------------------------------------------------------------
// What the policy needs: our groups, and one team's memberships.

/** The groups we belong to, as the policy takes them (effectiveTrust's `ourGroups`). */
export async function ourGroupPolicies(db: DbOrTx): Promise<TrustGroupPolicy[]> {
  const rows = await db
    .selectFrom('trust_group')
    .select(['id', 'our_membership', 'floor_full', 'floor_liaison'])
    .where('our_membership', '<>', 'none')
    .orderBy('id')
    .execute();
  return rows.map((r) => ({
    group: r.id,
    ourLevel: r.our_membership as MembershipLevel,
    ...(r.floor_full !== null ? { fullMemberFloor: r.floor_full as GroupFloor } : {}),
    ...(r.floor_liaison !== null ? { liaisonFloor: r.floor_liaison as GroupFloor } : {}),
  }));
}

/** Every group membership of one team (in groups we belong to or not; the policy tells them apart). */
export async function membershipsOf(db: DbOrTx, teamId: string): Promise<GroupMembership[]> {
  const rows = await db
    .selectFrom('trust_group_member')
    .select(['group_id', 'level'])
    .where('team_id', '=', teamId)
    .orderBy('group_id')
    .execute();
  return rows.map((r) => ({ group: r.group_id, level: r.level as MembershipLevel }));
}

/** Every group membership of each of `teamIds`, in one statement (a forum inquiry decides for every member). */
export async function membershipsOfTeams(db: DbOrTx, teamIds: readonly string[]): Promise<Map<string, GroupMembership[]>> {
  const out = new Map<string, GroupMembership[]>();
  if (teamIds.length === 0) return out;
  const rows = await db
    .selectFrom('trust_group_member')
    .select(['team_id', 'group_id', 'level'])
    .where('team_id', 'in', [...teamIds])
    .orderBy('team_id')
    .orderBy('group_id')
    .execute();
  for (const r of rows) {
    const list = out.get(r.team_id) ?? [];
    list.push({ group: r.group_id, level: r.level as MembershipLevel });
    out.set(r.team_id, list);
  }
  return out;
}

/** Hands the group's membership to a forum's roster (or back to hand-keeping with null). */
export async function setRosterForum(tx: Tx, id: string, forum: string | null, at: Date): Promise<void> {
  await tx
    .updateTable('trust_group')
    .set({ roster_forum: forum, version: sql<number>`version + 1`, updated_at: at })
    .where('id', '=', id)
    .execute();
}
