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

/** The posted inquiry and member a message of our outbox went to (a team without a node answers that mail). */
export async function findMemberByMessage(db: DbOrTx, messageId: string): Promise<{ inquiry: string; team: string } | null> {
  const row = await db
    .selectFrom('forum_inquiry_member')
    .select(['inquiry_id', 'team_id'])
    .where('message_id', '=', messageId)
    .where('outcome', '=', 'sent')
    .executeTakeFirst();
  return row ? { inquiry: row.inquiry_id, team: row.team_id } : null;
}

/** Whether an answer carried by this message was filed already (the same signed mail again). */
export async function answerFiled(db: DbOrTx, inquiry: string, team: string, messageId: string): Promise<boolean> {
  const row = await db
    .selectFrom('forum_inquiry_answer')
    .select('seq')
    .where('inquiry_id', '=', inquiry)
    .where('team_id', '=', team)
    .where('message_id', '=', messageId)
    .executeTakeFirst();
  return row !== undefined;
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
// incidents. All of them, and our constituency, are one statement of one text whatever the
// inquiry asks about: the probes go in as arrays in a one-row CTE, which every branch reads.
//
// Why (ADR 0005, "Inquiry matching"): executing the lookups takes well under a millisecond,
// planning them took 1 to 50 ms, most in the embedded engine (the planner measures every table
// and index it considers), and a statement whose text changed with the number of names or
// networks asked about, or whose plan depended on the values (an address range from `<<=` a
// constant), was planned anew on every inquiry. With one text and the probes read from the CTE,
// the plan depends on no value (the planner sees a column, not a constant array, in a custom
// plan as in a generic one), so the prepared statement's generic plan is kept after five runs.
// For the same reason a host in a network asked about is found through the B-tree's range, from
// the network's first to its last address, written out (network_subset_support only does that
// for a constant), with `<<=` kept as the exact test. Sites overlapping a network asked about are
// read through an `offset 0` fence and the site's name through a subquery: without a constant
// the planner guesses that 1 % of site networks overlap and, for a LIMITed group, chose to walk
// every site network in site order (EXPLAIN ANALYZE: 100 to 300 ms instead of 0.05 ms).
//
// Every branch names its columns: a union takes its names from whichever branch comes first.

const PER_LOOKUP = 100;

export interface InquiryLookupProbes {
  /** Canonical addresses (hosts' ip, ipv4/ipv6 indicators). */
  addresses: string[];
  /** Lower-case host names and domains. */
  names: string[];
  /** Lower-case indicator values. */
  indicatorValues: string[];
  /** Canonical CIDR blocks. */
  networks: string[];
  /** Each name's suffixes, longest first: a site registered for a suffix owns the name. */
  nameSuffixes: Array<{ name: string; suffixes: string[] }>;
}

export interface InquiryLookups {
  candidates: MatchCandidate[];
  /** Our constituency's networks and domains, as our profile states them (what a site list may not cover). */
  constituency: { networks: string[]; domains: string[] };
}

type LookupRow = {
  kind: MatchCandidate['kind'] | 'constituency';
  matched_on: MatchCandidate['matchedOn'];
  value: string;
  id: string;
  label: string;
};

/**
 * Our incidents with a host at an address, a host name or an indicator value asked about, or a
 * host in a network asked about; our sites: the one whose most specific network holds an
 * address asked about, the one with the longest registered suffix of a name asked about, and
 * those with a network that overlaps a network asked about (the sites module's longest-match
 * rules, findSiteByAddress and findSiteByDomain); and our constituency, in one statement.
 */
export async function inquiryLookups(db: DbOrTx, probes: InquiryLookupProbes): Promise<InquiryLookups> {
  const suffixNames = probes.nameSuffixes.flatMap((n) => n.suffixes.map(() => n.name));
  const suffixes = probes.nameSuffixes.flatMap((n) => n.suffixes);
  const { rows } = await sql<LookupRow>`
    with probe as materialized (
      select ${probes.addresses}::text[] as addresses, ${probes.names}::text[] as names,
             ${probes.indicatorValues}::text[] as indicator_values, ${probes.networks}::text[] as networks,
             ${suffixNames}::text[] as suffix_names, ${suffixes}::text[] as suffixes)
    (select 'incident' as kind, 'ip' as matched_on, host(h.ip) as value, i.ref as id, i.ref as label
       from probe, incident_host h join incident i on i.id = h.incident_id
      where h.ip = any(probe.addresses::inet[]) limit ${sql.lit(PER_LOOKUP)})
    union all
    (select 'incident', 'hostname', lower(h.hostname), i.ref, i.ref
       from probe, incident_host h join incident i on i.id = h.incident_id
      where lower(h.hostname) = any(probe.names) limit ${sql.lit(PER_LOOKUP)})
    union all
    (select 'incident', 'indicator', lower(x.value), i.ref, i.ref
       from probe, incident_indicator x join incident i on i.id = x.incident_id
      where lower(x.value) = any(probe.indicator_values) limit ${sql.lit(PER_LOOKUP)})
    union all
    (select 'incident', 'network', n.net, m.ref, m.ref
       from probe, unnest(probe.networks) as n(net),
            lateral (select i.ref from incident_host h join incident i on i.id = h.incident_id
                      where h.ip >= network(n.net::inet) and h.ip <= set_masklen(broadcast(n.net::inet), -1)
                        and h.ip <<= n.net::inet
                      group by i.ref limit ${sql.lit(PER_LOOKUP)}) m)
    union all
    (select 'site', 'ip', a.ip, s.id::text, s.name
       from probe, unnest(probe.addresses) as a(ip),
            lateral (select site_id from site_network
                      where network >>= a.ip::inet and family(network) = family(a.ip::inet)
                      order by masklen(network) desc, id limit 1) m
       join site s on s.id = m.site_id)
    union all
    (select distinct on (p.name) 'site', 'domain', p.name, s.id::text, s.name
       from probe, unnest(probe.suffix_names, probe.suffixes) as p(name, suffix)
       join site_domain d on d.domain = p.suffix join site s on s.id = d.site_id
      order by p.name, length(d.domain) desc, d.id)
    union all
    (select 'site', 'network', n.net, m.site_id::text, (select s.name from site s where s.id = m.site_id)
       from probe, unnest(probe.networks) as n(net),
            lateral (select site_id from (select site_id from site_network where network && n.net::inet offset 0) sn
                      group by site_id limit ${sql.lit(PER_LOOKUP)}) m)
    union all
    (select 'constituency', null, (select profile->'constituency' from team_profile limit 1)::text, '', '')`.execute(db);
  const candidates: MatchCandidate[] = [];
  const constituency = { networks: [] as string[], domains: [] as string[] };
  for (const r of rows) {
    if (r.kind !== 'constituency') candidates.push({ kind: r.kind, id: r.id, label: r.label, matchedOn: r.matched_on, value: r.value });
    else if (r.value) {
      const stated = JSON.parse(r.value) as { networks?: string[]; domains?: string[] } | null;
      constituency.networks = stated?.networks ?? [];
      constituency.domains = stated?.domains ?? [];
    }
  }
  return { candidates, constituency };
}
