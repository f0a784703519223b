import type { Clock } from '../../clock.js';
import type { Db, Tx } from '../../db/database.js';
import { ProblemError } from '../../http/problem.js';
import type { Tlp } from '../../../schemas/common.schema.js';
import type { ForumInquiryAnswerBody, InquiryAnswerInput } from '../../../schemas/forum-inquiry.schema.js';
import type { AuditLog } from '../audit/audit.module.js';
import type { Delivered, InboxOutcome, Outbox } from '../exchange/exchange.module.js';
import { findIncident } from '../incidents/incidents.module.js';
import type { PeerDirectory } from '../peers/peers.module.js';
import type { MessageDisclosure, MessageDisclosureOutcome, ShareService } from '../sharing/index.js';
import {
  answerFiled,
  findInquiry,
  findMember,
  findMemberByMessage,
  findPostedInquiry,
  insertAnswer,
  type InquiryRecord,
} from './forum-inquiry.repository.js';
import { readMailedInquiryAnswer } from './inquiry-mail-answer.js';
import type { RosterDocument } from '../../../schemas/forum.schema.js';

/** What the inquiry files share: deps narrowed to what they use. */
export interface InquiryDeps {
  db: Db;
  clock: Clock;
  config: { teamId: string; inquiryAutoNotSeen: boolean };
  audit: AuditLog;
  peers: Pick<PeerDirectory, 'find' | 'listRecords'>;
  outbox: Pick<Outbox, 'enqueue' | 'enqueueMany' | 'kick' | 'find'>;
  disclosure: MessageDisclosure;
  /** An answer that carries our incident shares it first, as any share (InquiryAnswerInput.share). */
  shares: Pick<ShareService, 'share'>;
}

export { newestRosterOf } from './forum.repository.js';

export function isActiveMember(roster: RosterDocument, team: string): boolean {
  return roster.members.some((m) => m.team === team && m.status === 'active');
}

/**
 * Our answer to a received inquiry, to its poster alone: the policy decides it (purpose direct,
 * under the inquiry's label and the incident's, when the answer names one of ours), audited
 * either way; queued and kept when allowed. A refusal is answered, not thrown: the caller commits
 * the audited deny first.
 */
export async function sendAnswer(
  deps: InquiryDeps,
  tx: Tx,
  inquiry: InquiryRecord,
  input: InquiryAnswerInput,
  actor: string,
  automatic: boolean,
): Promise<MessageDisclosureOutcome<ForumInquiryAnswerBody>> {
  const incident = input.ref ? await findIncident(tx, input.ref) : null;
  if (input.ref && !incident) throw new ProblemError('not-found', `no incident ${input.ref} on this node`);
  const body: ForumInquiryAnswerBody = {
    forum: inquiry.forumId,
    inquiry: inquiry.inquiryId,
    answer: input.answer,
    ...(incident ? { ref: incident.ref } : {}),
    ...(input.note !== undefined ? { note: input.note } : {}),
    ...(automatic ? { automatic: true as const } : {}),
  };
  const outcome = await deps.disclosure.decideAndRecord(tx, inquiry.posterTeam, 'direct', {
    tlp: inquiry.tlp as Tlp,
    incident,
    actor,
    details: { type: 'forum.inquiry-answer', forum: inquiry.forumId, inquiry: inquiry.inquiryId, answer: input.answer, automatic },
    // The note is the handler's words: it loses what the decision hides from the poster.
    render: (scrubber) => (scrubber && body.note !== undefined ? { ...body, note: scrubber.scrub(body.note).text } : body),
  });
  if (!outcome.allow || !outcome.content) return outcome;
  const message = await deps.outbox.enqueue(
    tx,
    {
      type: 'forum.inquiry-answer',
      to: inquiry.posterTeam,
      tlp: outcome.decision.tlp,
      ...(inquiry.messageId ? { inReplyTo: inquiry.messageId } : {}),
      body: outcome.content,
    },
    incident?.id ?? null,
  );
  await insertAnswer(tx, inquiry.id, {
    team: deps.config.teamId,
    answer: input.answer,
    ref: incident?.ref ?? null,
    note: input.note ?? null,
    automatic,
    messageId: message.id,
    at: deps.clock(),
    by: actor,
  });
  return outcome;
}

/** A `forum.inquiry-answer` from a member (the inbox verified its signature): kept only for an inquiry we sent that team. */
export async function receiveAnswer(
  deps: Pick<InquiryDeps, 'config' | 'audit' | 'clock'>,
  tx: Tx,
  from: string,
  messageId: string,
  body: ForumInquiryAnswerBody,
  channel: 'http' | 'mail' = 'http',
): Promise<InboxOutcome> {
  const inquiry = await findPostedInquiry(tx, deps.config.teamId, body.inquiry);
  const member = inquiry && inquiry.forumId === body.forum ? await findMember(tx, inquiry.id, from) : null;
  // One answer for "no such inquiry" and "not sent to you": a member learns nothing of inquiries it was not asked.
  if (!inquiry || member?.outcome !== 'sent')
    throw new ProblemError('unknown-inquiry', `no inquiry ${body.inquiry} of forum "${body.forum}" was sent to "${from}"`);
  await insertAnswer(tx, inquiry.id, {
    team: from,
    answer: body.answer,
    ref: body.ref ?? null,
    note: body.note ?? null,
    automatic: body.automatic === true,
    messageId,
    at: deps.clock(),
    by: from,
  });
  await deps.audit.append(tx, {
    kind: 'forum.inquiry-answered',
    actor: from,
    peer: from,
    details: { forum: inquiry.forumId, inquiry: inquiry.id, answer: body.answer, ...(channel === 'mail' ? { channel } : {}) },
  });
  return { status: 'applied', incidentId: null, ref: null };
}

/** A uuid-shaped id from a digest: an answer by mail has no message id of ours, so its signed text's digest names it. */
function idOfDigest(sha256: string): string {
  const h = sha256.slice(0, 32);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

/**
 * A team without a node answered our inquiry by a reply signed with its pinned key (ADR 0028; an
 * outbox delivery hook, inside the transaction that records the reply): read back and filed as
 * its answer, exactly as one over HTTP. Throwing a ProblemError refuses the reply, and the mail
 * intake holds it in the quarantine with that code (nothing is marked delivered). The same signed
 * text again (a replayed mail) files nothing new.
 */
export async function receiveMailedAnswer(deps: Pick<InquiryDeps, 'config' | 'audit' | 'clock'>, tx: Tx, d: Delivered): Promise<void> {
  if (d.type !== 'forum.inquiry' || !d.reply) return;
  const member = await findMemberByMessage(tx, d.id);
  const inquiry = member && member.team === d.peerTeam ? await findInquiry(tx, member.inquiry) : null;
  if (!inquiry || inquiry.direction !== 'sent') return;
  const ourRef = inquiry.incidentId ? ((await findIncident(tx, inquiry.incidentId))?.ref ?? null) : null;
  const read = readMailedInquiryAnswer(d.reply.text, { id: inquiry.inquiryId, ourRef });
  if ('problem' in read) throw new ProblemError('inquiry-answer-unreadable', read.problem);
  const messageId = idOfDigest(d.reply.sha256);
  if (await answerFiled(tx, inquiry.id, d.peerTeam, messageId)) return;
  await receiveAnswer(
    deps,
    tx,
    d.peerTeam,
    messageId,
    {
      forum: inquiry.forumId,
      inquiry: inquiry.inquiryId,
      answer: read.answer,
      ...(read.ref ? { ref: read.ref } : {}),
      ...(read.note ? { note: read.note } : {}),
    },
    'mail',
  );
}
