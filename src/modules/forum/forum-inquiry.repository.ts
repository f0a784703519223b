import { sql } from 'kysely';
import type { DbOrTx, Tx } from '../../db/database.js';
import type { InquiryAnswerKind, InquiryMatch } from '../../../schemas/forum-inquiry.schema.js';
import type { MatchCandidate } from './inquiry-matching.js';

/** SQL of forum inquiries (migration 0022), and the indexed lookups that match one against our data. */

export interface InquirySubjects {
  indicators?: Array<{ kind: string; value: string; description?: string }>;
  hosts?: Array<{ ip?: string; hostname?: string }>;
  networks?: string[];
  domains?: string[];
}

export interface InquiryRecord {
  id: string;
  inquiryId: string;
  direction: 'sent' | 'received';
  forumId: string;
  posterTeam: string;
  messageId: string | null;
  question: string;
  subjects: InquirySubjects;
  tlp: string;
  incidentId: string | null;
  posterRef: string | null;
  createdAt: Date;
  createdBy: string;
}

export interface InquiryMemberRecord {
  team: string;
  outcome: 'sent' | 'skipped';
  reason: string | null;
  messageId: string | null;
}

export interface InquiryAnswerRecord {
  team: string;
  answer: InquiryAnswerKind;
  ref: string | null;
  note: string | null;
  automatic: boolean;
  messageId: string | null;
  at: Date;
  by: string;
}

type Row = {
  id: string;
  inquiry_id: string;
  direction: string;
  forum_id: string;
  poster_team: string;
  message_id: string | null;
  question: string;
  subjects: unknown;
  tlp: string;
  incident_id: string | null;
  poster_ref: string | null;
  created_at: Date | string;
  created_by: string;
};

function toRecord(r: Row): InquiryRecord {
  return {
    id: r.id,
    inquiryId: r.inquiry_id,
    direction: r.direction as InquiryRecord['direction'],
    forumId: r.forum_id,
    posterTeam: r.poster_team,
    messageId: r.message_id,
    question: r.question,
    subjects: (typeof r.subjects === 'string' ? JSON.parse(r.subjects) : r.subjects) as InquirySubjects,
    tlp: r.tlp,
    incidentId: r.incident_id,
    posterRef: r.poster_ref,
    createdAt: new Date(r.created_at),
    createdBy: r.created_by,
  };
}

export async function insertInquiry(tx: Tx, r: InquiryRecord): Promise<boolean> {
  const res = await tx
    .insertInto('forum_inquiry')
    .values({
      id: r.id,
      inquiry_id: r.inquiryId,
      direction: r.direction,
      forum_id: r.forumId,
      poster_team: r.posterTeam,
      message_id: r.messageId,
      question: r.question,
      subjects: JSON.stringify(r.subjects),
      tlp: r.tlp,
      incident_id: r.incidentId,
      poster_ref: r.posterRef,
      created_at: r.createdAt,
      created_by: r.createdBy,
    })
    .onConflict((oc) => oc.columns(['poster_team', 'inquiry_id']).doNothing())
    .executeTakeFirst();
  return Number(res.numInsertedOrUpdatedRows ?? 0n) === 1;
}

export async function findInquiry(db: DbOrTx, id: string): Promise<InquiryRecord | null> {
  const row = await db.selectFrom('forum_inquiry').selectAll().where('id', '=', id).executeTakeFirst();
  return row ? toRecord(row) : null;
}

/** An inquiry this node posted, by the id it carries on the wire. */
export async function findPostedInquiry(db: DbOrTx, poster: string, inquiryId: string): Promise<InquiryRecord | null> {
  const row = await db
    .selectFrom('forum_inquiry')
    .selectAll()
    .where('poster_team', '=', poster)
    .where('inquiry_id', '=', inquiryId)
    .where('direction', '=', 'sent')
    .executeTakeFirst();
  return row ? toRecord(row) : null;
}

export interface InquiryListRow {
  record: InquiryRecord;
  matchCount: number;
  answerCount: number;
}

export async function listInquiries(db: DbOrTx, direction: 'sent' | 'received' | undefined, limit = 500): Promise<InquiryListRow[]> {
  let q = db
    .selectFrom('forum_inquiry as q')
    .selectAll('q')
    .select((eb) => [
      eb
        .selectFrom('forum_inquiry_match as m')
        .select(eb.fn.countAll<string>().as('n'))
        .whereRef('m.inquiry_id', '=', 'q.id')
        .as('match_count'),
      eb
        .selectFrom('forum_inquiry_answer as a')
        .select(sql<string>`count(distinct a.team_id)`.as('n'))
        .whereRef('a.inquiry_id', '=', 'q.id')
        .as('answer_count'),
    ]);
  if (direction) q = q.where('q.direction', '=', direction);
  const rows = await q.orderBy('q.created_at', 'desc').orderBy('q.id').limit(limit).execute();
  return rows.map((r) => ({ record: toRecord(r), matchCount: Number(r.match_count ?? 0), answerCount: Number(r.answer_count ?? 0) }));
}

export async function insertMembers(tx: Tx, inquiry: string, members: InquiryMemberRecord[]): Promise<void> {
  if (members.length === 0) return;
  await tx
    .insertInto('forum_inquiry_member')
    .values(members.map((m) => ({ inquiry_id: inquiry, team_id: m.team, outcome: m.outcome, reason: m.reason, message_id: m.messageId })))
    .execute();
}

export async function listMembers(db: DbOrTx, inquiry: string): Promise<InquiryMemberRecord[]> {
  const rows = await db.selectFrom('forum_inquiry_member').selectAll().where('inquiry_id', '=', inquiry).orderBy('team_id').execute();
  return rows.map((r) => ({
    team: r.team_id,
    outcome: r.outcome as InquiryMemberRecord['outcome'],
    reason: r.reason,
    messageId: r.message_id,
  }));
}

export async function findMember(db: DbOrTx, inquiry: string, team: string): Promise<InquiryMemberRecord | null> {
  return (await listMembers(db, inquiry)).find((m) => m.team === team) ?? null;
}

export async function insertMatches(tx: Tx, inquiry: string, matches: InquiryMatch[]): Promise<void> {
  if (matches.length === 0) return;
  await tx
    .insertInto('forum_inquiry_match')
    .values(
      matches.map((m) => ({
        inquiry_id: inquiry,
        target_kind: m.kind,
        target_id: m.id,
        label: m.label,
        matched_on: m.matchedOn,
        value: m.value,
      })),
    )
    .execute();
}

export async function listMatches(db: DbOrTx, inquiry: string): Promise<InquiryMatch[]> {
  const rows = await db
    .selectFrom('forum_inquiry_match')
    .selectAll()
    .where('inquiry_id', '=', inquiry)
    .orderBy('target_kind')
    .orderBy('target_id')
    .orderBy('matched_on')
    .orderBy('value')
    .execute();
  return rows.map((r) => ({
    kind: r.target_kind as InquiryMatch['kind'],
    id: r.target_id,
    label: r.label,
    matchedOn: r.matched_on as InquiryMatch['matchedOn'],
    value: r.value,
  }));
}

export async function insertAnswer(tx: Tx, inquiry: string, a: InquiryAnswerRecord): Promise<void> {
  await tx
    .insertInto('forum_inquiry_answer')
    .values({
      inquiry_id: inquiry,
      team_id: a.team,
      answer: a.answer,
      ref: a.ref,
      note: a.note,
      automatic: a.automatic,
      message_id: a.messageId,
      created_at: a.at,
      created_by: a.by,
    })
    .execute();
}

/** Every answer, oldest first: the newest per team is the one in force. */
export async function listAnswers(db: DbOrTx, inquiry: string): Promise<InquiryAnswerRecord[]> {
  const rows = await db.selectFrom('forum_inquiry_answer').selectAll().where('inquiry_id', '=', inquiry).orderBy('seq').execute();
  return rows.map((r) => ({
    team: r.team_id,
    answer: r.answer as InquiryAnswerKind,
    ref: r.ref,
    note: r.note,
    automatic: r.automatic,
    messageId: r.message_id,
    at: new Date(r.created_at),
    by: r.created_by,
  }));
}

// ---------------------------------------------------------------------------------------------
// Matching: indexed lookups only (incident_host (ip), lower(hostname); incident_indicator
// lower(value); site_network SP-GiST), each bounded, never a walk over all incidents.

const PER_LOOKUP = 100;

export async function incidentsByAddress(db: DbOrTx, addresses: string[]): Promise<MatchCandidate[]> {
  if (addresses.length === 0) return [];
  const rows = await db
    .selectFrom('incident_host as h')
    .innerJoin('incident as i', 'i.id', 'h.incident_id')
    .select(['i.ref', sql<string>`host(h.ip)`.as('value')])
    .where(sql<boolean>`h.ip in (${sql.join(addresses.map((a) => sql`${a}::inet`))})`)
    .limit(PER_LOOKUP)
    .execute();
  return rows.map((r) => ({ kind: 'incident', id: r.ref, label: r.ref, matchedOn: 'ip', value: r.value }));
}

export async function incidentsInNetwork(db: DbOrTx, network: string): Promise<MatchCandidate[]> {
  const rows = await db
    .selectFrom('incident_host as h')
    .innerJoin('incident as i', 'i.id', 'h.incident_id')
    .select(['i.ref'])
    .where(sql<boolean>`h.ip <<= ${network}::inet`)
    .groupBy('i.ref')
    .limit(PER_LOOKUP)
    .execute();
  return rows.map((r) => ({ kind: 'incident', id: r.ref, label: r.ref, matchedOn: 'network', value: network }));
}

export async function incidentsByHostname(db: DbOrTx, names: string[]): Promise<MatchCandidate[]> {
  if (names.length === 0) return [];
  const rows = await db
    .selectFrom('incident_host as h')
    .innerJoin('incident as i', 'i.id', 'h.incident_id')
    .select(['i.ref', sql<string>`lower(h.hostname)`.as('value')])
    .where(sql<boolean>`lower(h.hostname) in (${sql.join(names.map((n) => sql`${n}`))})`)
    .limit(PER_LOOKUP)
    .execute();
  return rows.map((r) => ({ kind: 'incident', id: r.ref, label: r.ref, matchedOn: 'hostname', value: r.value }));
}

export async function incidentsByIndicator(db: DbOrTx, values: string[]): Promise<MatchCandidate[]> {
  if (values.length === 0) return [];
  const rows = await db
    .selectFrom('incident_indicator as x')
    .innerJoin('incident as i', 'i.id', 'x.incident_id')
    .select(['i.ref', sql<string>`lower(x.value)`.as('value')])
    .where(sql<boolean>`lower(x.value) in (${sql.join(values.map((v) => sql`${v}`))})`)
    .limit(PER_LOOKUP)
    .execute();
  return rows.map((r) => ({ kind: 'incident', id: r.ref, label: r.ref, matchedOn: 'indicator', value: r.value }));
}

/** Sites with a network that overlaps the one asked about (SP-GiST answers &&). */
export async function sitesOverlapping(db: DbOrTx, network: string): Promise<MatchCandidate[]> {
  const rows = await db
    .selectFrom('site_network as n')
    .innerJoin('site as s', 's.id', 'n.site_id')
    .select(['s.id', 's.name'])
    .where(sql<boolean>`n.network && ${network}::inet`)
    .groupBy(['s.id', 's.name'])
    .limit(PER_LOOKUP)
    .execute();
  return rows.map((r) => ({ kind: 'site', id: r.id, label: r.name, matchedOn: 'network', value: network }));
}

/** Our constituency's networks and domains, as our profile states them (what a site list may not cover). */
export async function ourConstituency(db: DbOrTx): Promise<{ networks: string[]; domains: string[] }> {
  const row = await db.selectFrom('team_profile').select('profile').executeTakeFirst();
  const c = (row?.profile as { constituency?: { networks?: string[]; domains?: string[] } } | undefined)?.constituency;
  return { networks: c?.networks ?? [], domains: c?.domains ?? [] };
}
