import type { DbOrTx, Tx } from '../../db/database.js';
import type { Contact } from '../../../schemas/common.schema.js';
import type { ForumMemberKind, RosterDocument } from '../../../schemas/forum.schema.js';

/** SQL of forums (migration 0020): the forums, their signed roster versions, the operator's working list. */

export interface ForumRecord {
  id: string;
  name: string;
  operator: string;
  role: 'operator' | 'member';
  sponsorsNeeded: number;
  rosterVersion: number;
  createdAt: Date;
  createdBy: string;
  updatedAt: Date;
}

export interface DraftMemberRecord {
  team: string;
  kind: ForumMemberKind;
  status: 'active' | 'suspended';
  sponsors: string[];
  contact: Contact | null;
  admitted: Date;
  updatedAt: Date;
  updatedBy: string;
}

export interface StoredRoster {
  version: number;
  document: string;
  signature: string;
  memberCount: number;
  receivedFrom: string;
  receivedAt: Date;
}

export async function findForum(db: DbOrTx, id: string, forUpdate = false): Promise<ForumRecord | null> {
  let q = db.selectFrom('forum').selectAll().where('id', '=', id);
  if (forUpdate) q = q.forUpdate();
  const row = await q.executeTakeFirst();
  return row
    ? {
        id: row.id,
        name: row.name,
        operator: row.operator_team,
        role: row.our_role as ForumRecord['role'],
        sponsorsNeeded: row.sponsors_needed,
        rosterVersion: Number(row.roster_version),
        createdAt: new Date(row.created_at),
        createdBy: row.created_by,
        updatedAt: new Date(row.updated_at),
      }
    : null;
}

export async function listForumIds(db: DbOrTx): Promise<string[]> {
  return (await db.selectFrom('forum').select('id').orderBy('id').execute()).map((r) => r.id);
}

/** Inserts unless the id is taken; false when it is. */
export async function insertForum(
  tx: Tx,
  f: { id: string; name: string; operator: string; role: ForumRecord['role']; sponsorsNeeded: number; by: string; at: Date },
): Promise<boolean> {
  const res = await tx
    .insertInto('forum')
    .values({
      id: f.id,
      name: f.name,
      operator_team: f.operator,
      our_role: f.role,
      sponsors_needed: f.sponsorsNeeded,
      created_at: f.at,
      created_by: f.by,
      updated_at: f.at,
    })
    .onConflict((oc) => oc.column('id').doNothing())
    .executeTakeFirst();
  return Number(res.numInsertedOrUpdatedRows ?? 0n) === 1;
}

export async function setRosterVersion(tx: Tx, id: string, version: number, name: string, sponsorsNeeded: number, at: Date): Promise<void> {
  await tx
    .updateTable('forum')
    .set({ roster_version: version, name, sponsors_needed: sponsorsNeeded, updated_at: at })
    .where('id', '=', id)
    .execute();
}

export async function insertRoster(tx: Tx, forumId: string, roster: StoredRoster): Promise<void> {
  await tx
    .insertInto('forum_roster')
    .values({
      forum_id: forumId,
      version: roster.version,
      document: roster.document,
      signature: roster.signature,
      member_count: roster.memberCount,
      received_from: roster.receivedFrom,
      received_at: roster.receivedAt,
    })
    .execute();
}

export async function findRoster(db: DbOrTx, forumId: string, version: number): Promise<StoredRoster | null> {
  const row = await db
    .selectFrom('forum_roster')
    .selectAll()
    .where('forum_id', '=', forumId)
    .where('version', '=', version)
    .executeTakeFirst();
  return row
    ? {
        version: Number(row.version),
        document: row.document,
        signature: row.signature,
        memberCount: row.member_count,
        receivedFrom: row.received_from,
        receivedAt: new Date(row.received_at),
      }
    : null;
}

export async function listRosterVersions(db: DbOrTx, forumId: string): Promise<Omit<StoredRoster, 'document' | 'signature'>[]> {
  const rows = await db
    .selectFrom('forum_roster')
    .select(['version', 'member_count', 'received_from', 'received_at'])
    .where('forum_id', '=', forumId)
    .orderBy('version', 'desc')
    .execute();
  return rows.map((r) => ({
    version: Number(r.version),
    memberCount: r.member_count,
    receivedFrom: r.received_from,
    receivedAt: new Date(r.received_at),
  }));
}

export async function listDraftMembers(db: DbOrTx, forumId: string): Promise<DraftMemberRecord[]> {
  const rows = await db.selectFrom('forum_member').selectAll().where('forum_id', '=', forumId).orderBy('team_id').execute();
  return rows.map((r) => ({
    team: r.team_id,
    kind: r.kind as ForumMemberKind,
    status: r.status as DraftMemberRecord['status'],
    sponsors: r.sponsors,
    contact: (r.contact as Contact | null) ?? null,
    admitted: new Date(r.admitted_at),
    updatedAt: new Date(r.updated_at),
    updatedBy: r.updated_by,
  }));
}

export async function upsertDraftMember(tx: Tx, forumId: string, m: DraftMemberRecord): Promise<void> {
  const values = {
    kind: m.kind,
    status: m.status,
    sponsors: m.sponsors,
    contact: m.contact === null ? null : JSON.stringify(m.contact),
    updated_at: m.updatedAt,
    updated_by: m.updatedBy,
  };
  await tx
    .insertInto('forum_member')
    .values({ forum_id: forumId, team_id: m.team, admitted_at: m.admitted, ...values })
    .onConflict((oc) => oc.columns(['forum_id', 'team_id']).doUpdateSet(values))
    .execute();
}

export async function deleteDraftMember(tx: Tx, forumId: string, team: string): Promise<boolean> {
  const res = await tx.deleteFrom('forum_member').where('forum_id', '=', forumId).where('team_id', '=', team).executeTakeFirst();
  return Number(res.numDeletedRows) > 0;
}

/** The newest roster version applied for a forum, parsed; null when there is none yet (or no such forum). */
export async function newestRosterOf(
  executor: DbOrTx,
  forum: string | Pick<ForumRecord, 'id' | 'rosterVersion'>,
): Promise<RosterDocument | null> {
  const record = typeof forum === 'string' ? await findForum(executor, forum) : forum;
  if (!record || record.rosterVersion === 0) return null;
  const stored = await findRoster(executor, record.id, record.rosterVersion);
  return stored ? (JSON.parse(stored.document) as RosterDocument) : null;
}
