import { randomUUID } from 'node:crypto';
import type { Tx } from '../../db/database.js';
import { asOneGroup } from '../../db/group-commit.js';
import { ProblemError } from '../../http/problem.js';
import type { Incident } from '../../../schemas/incident.schema.js';
import type {
  ForumInquiryBody,
  Inquiry,
  InquiryAnswer,
  InquiryAnswerInput,
  InquiryCreate,
  InquiryPosted,
  InquirySummary,
} from '../../../schemas/forum-inquiry.schema.js';
import type { ForumInquiryDocument, ForumInquiryAnswerDocument } from '../../../schemas/federation.schema.js';
import type { InboxOutcome } from '../exchange/exchange.module.js';
import { findIncident } from '../incidents/incidents.module.js';
import type { Scrubber } from '../policy/index.js';
import { findCopyByPeerRef, policyDenied } from '../sharing/index.js';
import { canonicalNetwork, isIpAddress } from '../sites/sites.module.js';
import { isActiveMember, newestRosterOf, receiveAnswer, sendAnswer, type InquiryDeps } from './forum-inquiry-answer.js';
import { receiveInquiry } from './forum-inquiry-intake.js';
import {
  findInquiry,
  insertInquiry,
  insertMembers,
  listAnswers,
  listInquiries,
  listMatches,
  listMembers,
  type InquiryAnswerRecord,
  type InquiryMemberRecord,
  type InquiryRecord,
} from './forum-inquiry.repository.js';

/**
 * Inquiries to all members of a forum (issue 14 part 5; docs/federation-protocol.md §5.14,
 * §5.15). Posting fans one `forum.inquiry` out through the outbox to each active member of the
 * newest roster that is a peer of ours, with one sharing-policy decision per member (purpose
 * broadcast), each audited; receiving matches it against our own data; answers go to the poster
 * alone (purpose direct). Content is never logged or audited: ids, teams and counts only.
 */

function invalid(detail: string, pointer: string): ProblemError {
  return new ProblemError('validation-failed', detail, { errors: [{ location: 'body', pointer, message: detail }] });
}

function checkSubjects(input: InquiryCreate): void {
  (input.hosts ?? []).forEach((h, i) => {
    if (!h.ip && !h.hostname) throw invalid(`hosts[${i}] needs an ip or a hostname`, `/hosts/${i}`);
    if (h.ip && !isIpAddress(h.ip)) throw invalid(`hosts[${i}].ip is not an IP address`, `/hosts/${i}/ip`);
  });
  (input.networks ?? []).forEach((n, i) => {
    if (!canonicalNetwork(n)) throw invalid(`networks[${i}] is not a CIDR block (without host bits)`, `/networks/${i}`);
  });
}

/** The inquiry as it may go to one member: what names an identifier the decision hides from it is left out. */
function scrubbed(body: ForumInquiryBody, scrubber: Scrubber | null): ForumInquiryBody {
  if (!scrubber) return body;
  const hides = (text: string | undefined) => text !== undefined && scrubber.scrub(text).sections.length > 0;
  const out: ForumInquiryBody = { ...body, question: scrubber.scrub(body.question).text };
  if (body.hosts) out.hosts = body.hosts.filter((h) => !hides(h.ip) && !hides(h.hostname));
  if (body.indicators) out.indicators = body.indicators.filter((x) => !hides(x.value) && !hides(x.description));
  if (body.domains) out.domains = body.domains.filter((d) => !hides(d));
  if (body.networks) out.networks = body.networks.filter((n) => !hides(n));
  return out;
}

const wireAnswer = (a: InquiryAnswerRecord): Omit<InquiryAnswer, 'incident'> => ({
  team: a.team,
  answer: a.answer,
  ref: a.ref,
  note: a.note,
  automatic: a.automatic,
  at: a.at.toISOString(),
});

function newestPerTeam(answers: InquiryAnswerRecord[]): Map<string, InquiryAnswerRecord> {
  const out = new Map<string, InquiryAnswerRecord>();
  for (const a of answers) out.set(a.team, a); // oldest first: the last one wins
  return out;
}

async function fanOut(
  deps: InquiryDeps,
  tx: Tx,
  forumId: string,
  input: InquiryCreate,
  actor: string,
): Promise<{ posted: InquiryPosted; queued: boolean }> {
  const { config } = deps;
  const roster = await newestRosterOf(tx, forumId);
  if (!roster) throw new ProblemError('conflict', `forum "${forumId}" has no roster here yet`);
  if (!isActiveMember(roster, config.teamId)) throw new ProblemError('conflict', `this node is not an active member of forum "${forumId}"`);
  let incident: Incident | null = null;
  if (input.incident) {
    incident = await findIncident(tx, input.incident);
    if (!incident) throw new ProblemError('not-found', `no incident ${input.incident}`);
  }
  const id = randomUUID();
  const { tlp: _tlp, incident: _incident, ...subjects } = input;
  const body: ForumInquiryBody = { forum: forumId, inquiry: id, ...subjects, ...(incident ? { ref: incident.ref } : {}) };
  const { question, ...rest } = subjects;
  const record: InquiryRecord = {
    id,
    inquiryId: id,
    direction: 'sent',
    forumId,
    posterTeam: config.teamId,
    messageId: null,
    question,
    subjects: rest,
    tlp: input.tlp,
    incidentId: incident?.id ?? null,
    posterRef: null,
    createdAt: deps.clock(),
    createdBy: actor,
  };
  await insertInquiry(tx, record);
  const members: InquiryMemberRecord[] = [];
  const teams = roster.members.filter((m) => m.status === 'active' && m.team !== config.teamId).map((m) => m.team);
  // Every member decided and audited as one disclosure each, with the facts read once for all
  // and the messages written in one statement: a forum of 500 members posts in well under a second.
  const decided = await deps.disclosure.decideManyAndRecord<ForumInquiryBody>(tx, [...teams].sort(), 'broadcast', {
    tlp: input.tlp,
    incident,
    actor,
    details: { type: 'forum.inquiry', forum: forumId, inquiry: id },
    render: (scrubber) => scrubbed(body, scrubber),
  });
  const toSend: Array<{ team: string; message: Parameters<InquiryDeps['outbox']['enqueue']>[1] }> = [];
  for (const team of teams.sort()) {
    const outcome = decided.get(team);
    if (!outcome) {
      members.push({ team, outcome: 'skipped', reason: 'not-a-peer', messageId: null });
    } else if (!outcome.allow || !outcome.content) {
      members.push({ team, outcome: 'skipped', reason: outcome.deniedBy.join(', ') || 'policy-denied', messageId: null });
    } else {
      toSend.push({ team, message: { type: 'forum.inquiry', to: team, tlp: outcome.decision.tlp, body: outcome.content } });
    }
  }
  const sent = await deps.outbox.enqueueMany(
    tx,
    toSend.map(({ message }) => ({ message, incidentId: incident?.id ?? null })),
  );
  toSend.forEach(({ team }, i) => members.push({ team, outcome: 'sent', reason: null, messageId: sent[i]!.id }));
  members.sort((a, b) => (a.team < b.team ? -1 : a.team > b.team ? 1 : 0));
  await insertMembers(tx, id, members);
  const sentTo = members.filter((m) => m.outcome === 'sent').map((m) => m.team);
  await deps.audit.append(tx, {
    kind: 'forum.inquiry-posted',
    actor,
    incidentId: incident?.id ?? null,
    details: { forum: forumId, inquiry: id, sent: sentTo.length, skipped: members.length - sentTo.length },
  });
  const skipped = members.filter((m) => m.outcome === 'skipped').map((m) => ({ team: m.team, reason: m.reason ?? '' }));
  return { posted: { id, sentTo, skipped }, queued: sentTo.length > 0 };
}

export function createForumInquiryService(deps: InquiryDeps) {
  const { db, config } = deps;

  async function view(record: InquiryRecord, counts?: { matchCount: number; answerCount: number }): Promise<InquirySummary> {
    const answers = counts ? null : await listAnswers(db, record.id);
    return {
      id: record.id,
      direction: record.direction,
      forum: record.forumId,
      poster: record.posterTeam,
      tlp: record.tlp as InquirySummary['tlp'],
      createdAt: record.createdAt.toISOString(),
      matchCount: counts?.matchCount ?? (await listMatches(db, record.id)).length,
      answerCount: counts?.answerCount ?? newestPerTeam(answers ?? []).size,
    };
  }

  /**
   * An answer that carries our incident: the incident goes first as an ordinary share, so the
   * policy, redaction, audit and later updates are those of every share; a refusal stops the
   * answer too (403, the deny audited), and the handler can answer without it. Shared before
   * already: the poster holds the copy, the answer just names it.
   */
  async function shareWithPoster(id: string, input: InquiryAnswerInput, actor: string): Promise<void> {
    if (!input.ref) throw invalid('share needs ref: the incident to share with the poster', '/share');
    const inquiry = await findInquiry(db, id);
    if (!inquiry) throw new ProblemError('not-found', `no inquiry ${id}`);
    if (inquiry.direction !== 'received') throw new ProblemError('conflict', 'this node posted that inquiry: the members answer it');
    try {
      await deps.shares.share(input.ref, inquiry.posterTeam, { subject: actor, team: config.teamId });
    } catch (err) {
      if (!(err instanceof ProblemError && err.code === 'already-shared')) throw err;
    }
  }

  /** Our copy of the incident an answering team shared with us, found by its reference number there. */
  async function copyOf(answer: InquiryAnswerRecord): Promise<string | null> {
    if (!answer.ref || answer.team === config.teamId) return null;
    const incidentId = await findCopyByPeerRef(db, answer.team, answer.ref);
    return incidentId ? ((await findIncident(db, incidentId))?.ref ?? null) : null;
  }
  const wire = async (a: InquiryAnswerRecord): Promise<InquiryAnswer> => ({ ...wireAnswer(a), incident: await copyOf(a) });

  return {
    async post(forumId: string, input: InquiryCreate, actor: string): Promise<InquiryPosted> {
      checkSubjects(input);
      // One audited decision per member: their audit entries go in as one write at the end (asOneGroup).
      const { posted, queued } = await db.transaction().execute((tx) => asOneGroup(tx, () => fanOut(deps, tx, forumId, input, actor)));
      if (queued) deps.outbox.kick();
      return posted;
    },

    async answer(id: string, input: InquiryAnswerInput, actor: string): Promise<Inquiry> {
      if (input.share) await shareWithPoster(id, input, actor);
      const outcome = await db.transaction().execute(async (tx) => {
        const inquiry = await findInquiry(tx, id);
        if (!inquiry) throw new ProblemError('not-found', `no inquiry ${id}`);
        if (inquiry.direction !== 'received') throw new ProblemError('conflict', 'this node posted that inquiry: the members answer it');
        return sendAnswer(deps, tx, inquiry, input, actor, false);
      });
      // The deny is audited in the committed transaction; the handler learns why.
      if (!outcome.allow) throw policyDenied(outcome);
      deps.outbox.kick();
      return this.get(id);
    },

    async list(direction?: 'sent' | 'received'): Promise<InquirySummary[]> {
      const rows = await listInquiries(db, direction);
      return Promise.all(rows.map((r) => view(r.record, { matchCount: r.matchCount, answerCount: r.answerCount })));
    },

    async get(id: string): Promise<Inquiry> {
      const record = await findInquiry(db, id);
      if (!record) throw new ProblemError('not-found', `no inquiry ${id}`);
      const answers = await listAnswers(db, record.id);
      const newest = newestPerTeam(answers);
      const members = [];
      for (const m of record.direction === 'sent' ? await listMembers(db, record.id) : []) {
        const delivery = m.messageId ? ((await deps.outbox.find(db, m.messageId))?.state ?? null) : null;
        const answer = newest.get(m.team);
        members.push({ team: m.team, outcome: m.outcome, reason: m.reason, delivery, answer: answer ? await wire(answer) : null });
      }
      const incident =
        record.direction === 'sent'
          ? record.incidentId
            ? ((await findIncident(db, record.incidentId))?.ref ?? null)
            : null
          : record.posterRef;
      return {
        ...(await view(record)),
        question: record.question,
        ...record.subjects,
        incident,
        matches: await listMatches(db, record.id),
        members,
        answers: await Promise.all(answers.map(wire)),
      } as Inquiry;
    },

    /** Inbox handlers (inside the inbox's transaction). */
    receiveInquiry: (tx: Tx, doc: ForumInquiryDocument): Promise<InboxOutcome> => receiveInquiry(deps, tx, doc),
    receiveAnswer: (tx: Tx, doc: ForumInquiryAnswerDocument): Promise<InboxOutcome> => receiveAnswer(deps, tx, doc.from, doc.id, doc.body),
    teamId: config.teamId,
  };
}

export type ForumInquiryService = ReturnType<typeof createForumInquiryService>;
