import type { DbOrTx, Tx } from '../../db/database.js';
import type { Contact } from '../../../schemas/common.schema.js';

/** SQL of applications and sponsorships an operator received (migration 0023), kept as signed. */

export interface SignedAs {
  messageId: string;
  document: string;
  signature: string;
  receivedAt: Date;
}

export interface ApplicationRecord extends SignedAs {
  team: string;
  statement: string;
  contact: Contact | null;
}

export interface SponsorshipRecord extends SignedAs {
  candidate: string;
  sponsor: string;
  fingerprint: string;
  withdrawn: boolean;
}

/** The newest application of a team replaces the one before. */
export async function upsertApplication(tx: Tx, forumId: string, a: ApplicationRecord): Promise<void> {
  const values = {
    statement: a.statement,
    contact: a.contact === null ? null : JSON.stringify(a.contact),
    message_id: a.messageId,
    document: a.document,
    signature: a.signature,
    received_at: a.receivedAt,
  };
  await tx
    .insertInto('forum_application')
    .values({ forum_id: forumId, team_id: a.team, ...values })
    .onConflict((oc) => oc.columns(['forum_id', 'team_id']).doUpdateSet(values))
    .execute();
}

/** A member's newest word on a candidate replaces its earlier one (a sponsorship, or its withdrawal). */
export async function upsertSponsorship(tx: Tx, forumId: string, s: SponsorshipRecord): Promise<void> {
  const values = {
    fingerprint: s.fingerprint,
    withdrawn: s.withdrawn,
    message_id: s.messageId,
    document: s.document,
    signature: s.signature,
    received_at: s.receivedAt,
  };
  await tx
    .insertInto('forum_sponsorship')
    .values({ forum_id: forumId, candidate: s.candidate, sponsor: s.sponsor, ...values })
    .onConflict((oc) => oc.columns(['forum_id', 'candidate', 'sponsor']).doUpdateSet(values))
    .execute();
}

export async function listApplications(db: DbOrTx, forumId: string): Promise<ApplicationRecord[]> {
  const rows = await db.selectFrom('forum_application').selectAll().where('forum_id', '=', forumId).orderBy('team_id').execute();
  return rows.map((r) => ({
    team: r.team_id,
    statement: r.statement,
    contact: (r.contact as Contact | null) ?? null,
    messageId: r.message_id,
    document: r.document,
    signature: r.signature,
    receivedAt: new Date(r.received_at),
  }));
}

/** Sponsorships in a forum, of one candidate or of all, by candidate then sponsor. */
export async function listSponsorships(db: DbOrTx, forumId: string, candidate?: string): Promise<SponsorshipRecord[]> {
  let q = db.selectFrom('forum_sponsorship').selectAll().where('forum_id', '=', forumId);
  if (candidate !== undefined) q = q.where('candidate', '=', candidate);
  const rows = await q.orderBy('candidate').orderBy('sponsor').execute();
  return rows.map((r) => ({
    candidate: r.candidate,
    sponsor: r.sponsor,
    fingerprint: r.fingerprint,
    withdrawn: r.withdrawn,
    messageId: r.message_id,
    document: r.document,
    signature: r.signature,
    receivedAt: new Date(r.received_at),
  }));
}
