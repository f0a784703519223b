import { sql, type RawBuilder } from 'kysely';
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
// lower(value); site_network SP-GiST; site_domain (domain)), each bounded, never a walk over all
// incidents. The lookups of one kind of target go in one statement (a UNION ALL of the bounded
// lookups): an inquiry asks about several things, and on both engines a round trip costs more
// than an indexed lookup (bench/forum-matching.bench.ts: about ten statements per inquiry before).
// Every branch names its columns: a union takes its names from whichever branch comes first.

const PER_LOOKUP = 100;

type CandidateRow = { matched_on: MatchCandidate['matchedOn']; value: string; id: string; label: string };

/**
 * An inquiry may ask about a thousand names of up to 127 labels each (a suffix list per name):
 * past a few dozen lookups the statement is split, so that no statement comes near PostgreSQL's
 * 65,535 bind parameters.
 */
const LOOKUPS_PER_STATEMENT = 64;

async function unionOf(db: DbOrTx, kind: MatchCandidate['kind'], lookups: RawBuilder<unknown>[]): Promise<MatchCandidate[]> {
  const out: MatchCandidate[] = [];
  for (let from = 0; from < lookups.length; from += LOOKUPS_PER_STATEMENT) {
    const part = lookups.slice(from, from + LOOKUPS_PER_STATEMENT);
    const { rows } = await sql<CandidateRow>`${sql.join(part, sql` union all `)}`.execute(db);
    out.push(...rows.map((r) => ({ kind, id: r.id, label: r.label, matchedOn: r.matched_on, value: r.value })));
  }
  return out;
}

const listOf = (values: string[], cast = '') => sql.join(values.map((v) => sql`${v}${sql.raw(cast)}`));

/** Our incidents with a host at an address, a host name or an indicator value asked about, or a host in a network asked about. */
export async function incidentCandidates(
  db: DbOrTx,
  probes: { addresses: string[]; names: string[]; indicatorValues: string[]; networks: string[] },
): Promise<MatchCandidate[]> {
  const lookups: RawBuilder<unknown>[] = [];
  if (probes.addresses.length > 0)
    lookups.push(sql`(select 'ip' as matched_on, host(h.ip) as value, i.ref as id, i.ref as label
      from incident_host h join incident i on i.id = h.incident_id
      where h.ip in (${listOf(probes.addresses, '::inet')}) limit ${PER_LOOKUP})`);
  if (probes.names.length > 0)
    lookups.push(sql`(select 'hostname' as matched_on, lower(h.hostname) as value, i.ref as id, i.ref as label
      from incident_host h join incident i on i.id = h.incident_id
      where lower(h.hostname) in (${listOf(probes.names)}) limit ${PER_LOOKUP})`);
  if (probes.indicatorValues.length > 0)
    lookups.push(sql`(select 'indicator' as matched_on, lower(x.value) as value, i.ref as id, i.ref as label
      from incident_indicator x join incident i on i.id = x.incident_id
      where lower(x.value) in (${listOf(probes.indicatorValues)}) limit ${PER_LOOKUP})`);
  for (const network of probes.networks)
    lookups.push(sql`(select 'network' as matched_on, ${network}::text as value, i.ref as id, i.ref as label
      from incident_host h join incident i on i.id = h.incident_id
      where h.ip <<= ${network}::inet group by i.ref limit ${PER_LOOKUP})`);
  return unionOf(db, 'incident', lookups);
}

/**
 * Our sites: the one whose most specific network holds an address asked about, the one with the
 * longest registered suffix of a name asked about (the caller gives each name's suffixes), and
 * those with a network that overlaps a network asked about (SP-GiST answers &&). The first two
 * are the sites module's longest-match rules (findSiteByAddress, findSiteByDomain).
 */
export async function siteCandidates(
  db: DbOrTx,
  probes: {
    addresses: Array<{ address: string; family: 4 | 6 }>;
    names: Array<{ name: string; suffixes: string[] }>;
    networks: string[];
  },
): Promise<MatchCandidate[]> {
  const lookups: RawBuilder<unknown>[] = [];
  for (const { address, family } of probes.addresses)
    lookups.push(sql`(select 'ip' as matched_on, ${address}::text as value, s.id::text as id, s.name as label
      from (select site_id from site_network where network >>= ${address}::inet and family(network) = ${family}::int
            order by masklen(network) desc, id limit 1) m
      join site s on s.id = m.site_id)`);
  for (const { name, suffixes } of probes.names.filter((n) => n.suffixes.length > 0))
    lookups.push(sql`(select 'domain' as matched_on, ${name}::text as value, s.id::text as id, s.name as label
      from (select site_id from site_domain where domain in (${listOf(suffixes)}) order by length(domain) desc, id limit 1) m
      join site s on s.id = m.site_id)`);
  for (const network of probes.networks)
    lookups.push(sql`(select 'network' as matched_on, ${network}::text as value, s.id::text as id, s.name as label
      from site_network n join site s on s.id = n.site_id
      where n.network && ${network}::inet group by s.id, s.name limit ${PER_LOOKUP})`);
  return unionOf(db, 'site', lookups);
}

/** Our constituency's networks and domains, as our profile states them (what a site list may not cover). */
export async function ourConstituency(db: DbOrTx): Promise<{ networks: string[]; domains: string[] }> {
  const row = await db.selectFrom('team_profile').select('profile').executeTakeFirst();
  const c = (row?.profile as { constituency?: { networks?: string[]; domains?: string[] } } | undefined)?.constituency;
  return { networks: c?.networks ?? [], domains: c?.domains ?? [] };
}
