import { randomUUID } from 'node:crypto';
import type { Tx } from '../../db/database.js';
import { ProblemError } from '../../http/problem.js';
import type { ForumInquiryBody, InquiryMatch } from '../../../schemas/forum-inquiry.schema.js';
import type { InboxOutcome } from '../exchange/exchange.module.js';
import { domainSuffixes } from '../sites/sites.module.js';
import { isActiveMember, newestRosterOf, sendAnswer, type InquiryDeps } from './forum-inquiry-answer.js';
import { inquiryLookups, insertInquiry, insertMatches, type InquiryRecord } from './forum-inquiry.repository.js';
import { matchesOf, probesOf } from './inquiry-matching.js';

/**
 * A `forum.inquiry` from a member (the inbox verified its signature and schema): accepted only
 * for a forum whose roster we hold and list us, from a team that roster lists as an active
 * member. Stored, matched at once against our incidents, sites and constituency, and, when
 * nothing matches and the node is set to, answered `not-seen` in the same transaction.
 */
export async function receiveInquiry(
  deps: InquiryDeps,
  tx: Tx,
  document: { id: string; from: string; tlp: string; body: ForumInquiryBody },
): Promise<InboxOutcome> {
  const { body, from } = document;
  const roster = await newestRosterOf(tx, body.forum);
  if (!roster || !isActiveMember(roster, deps.config.teamId))
    throw new ProblemError('not-a-forum-member', `this node holds no roster of forum "${body.forum}" that lists it as an active member`);
  if (!isActiveMember(roster, from))
    throw new ProblemError(
      'not-a-forum-member',
      `"${from}" is not an active member in the newest roster of forum "${body.forum}" held here`,
    );
  const { forum: _f, inquiry: _i, question, ref, ...subjects } = body;
  const record: InquiryRecord = {
    id: randomUUID(),
    inquiryId: body.inquiry,
    direction: 'received',
    forumId: body.forum,
    posterTeam: from,
    messageId: document.id,
    question,
    subjects,
    tlp: document.tlp,
    incidentId: null,
    posterRef: ref ?? null,
    createdAt: deps.clock(),
    createdBy: from,
  };
  // The same inquiry again (under another message id): kept once.
  if (!(await insertInquiry(tx, record))) return { status: 'noted', incidentId: null, ref: null };
  const matches = await matchInquiry(tx, body);
  await insertMatches(tx, record.id, matches);
  await deps.audit.append(tx, {
    kind: 'forum.inquiry-received',
    actor: from,
    peer: from,
    details: { forum: body.forum, inquiry: record.id, matches: matches.length },
  });
  if (matches.length === 0 && deps.config.inquiryAutoNotSeen) {
    // A refusal by the policy is audited and leaves the inquiry unanswered for a handler.
    await sendAnswer(deps, tx, record, { answer: 'not-seen' }, 'node', true);
  }
  return { status: 'applied', incidentId: null, ref: null };
}

/** Indexed lookups for each thing asked about, and our constituency (one statement), then the pure matching over what they found. */
export async function matchInquiry(
  tx: Tx,
  body: Pick<ForumInquiryBody, 'hosts' | 'networks' | 'domains' | 'indicators'>,
): Promise<InquiryMatch[]> {
  const probes = probesOf(body);
  const { candidates, constituency } = await inquiryLookups(tx, {
    ...probes,
    nameSuffixes: probes.names.map((name) => ({ name, suffixes: domainSuffixes(name) })),
  });
  return matchesOf(probes, candidates, constituency);
}
