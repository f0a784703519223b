import type { Clock } from '../../clock.js';
import { canonicalize } from '../../crypto/index.js';
import type { Db, DbOrTx, Tx } from '../../db/database.js';
import { ProblemError } from '../../http/problem.js';
import type { RosterDocument } from '../../../schemas/forum.schema.js';
import type { ForumApplicationView } from '../../../schemas/forum-joining.schema.js';
import type { ForumApplicationDocument, ForumSponsorshipDocument } from '../../../schemas/federation.schema.js';
import type { AuditLog } from '../audit/audit.module.js';
import type { InboxOutcome, Outbox, ReceivedAs } from '../exchange/exchange.module.js';
import type { PeerDirectory } from '../peers/peers.module.js';
import { findForum, newestRosterOf, type ForumRecord } from './forum.repository.js';
import { listApplications, listSponsorships, upsertApplication, upsertSponsorship } from './forum-joining.repository.js';

/**
 * Joining a forum (issue 14 part 3). A candidate applies to the operator; members sponsor it
 * with signed documents naming the key they verified for it; the operator admits it
 * (`PUT /forums/{id}/draft/{team}`), which counts only sponsorships it holds signed, by active
 * members, for the key it pins itself. Each step is a signed message, stored as received at the
 * operator, and audited on both sides.
 */
export interface ForumJoiningDeps {
  db: Db;
  clock: Clock;
  config: { teamId: string };
  audit: AuditLog;
  peers: Pick<PeerDirectory, 'find'>;
  outbox: Pick<Outbox, 'enqueue' | 'kick'>;
}

const JOINING_TLP = 'AMBER' as const; // who is joining which forum is the forum's business

const NOTED: InboxOutcome = { status: 'noted', incidentId: null, ref: null };

const activeTeams = (roster: RosterDocument | null) =>
  new Set((roster?.members ?? []).filter((m) => m.status === 'active').map((m) => m.team));

/**
 * The members whose signed sponsorship of `candidate` counts: not withdrawn, by a member active
 * in the newest roster, for `fingerprint` (the key the operator pins for the candidate).
 */
export async function countingSponsors(
  executor: DbOrTx,
  forumId: string,
  candidate: string,
  fingerprint: string | null,
  active: ReadonlySet<string>,
): Promise<Set<string>> {
  const out = new Set<string>();
  for (const s of await listSponsorships(executor, forumId, candidate)) {
    if (!s.withdrawn && active.has(s.sponsor) && s.fingerprint === fingerprint) out.add(s.sponsor);
  }
  return out;
}

async function mustOperate(executor: DbOrTx, forumId: string): Promise<ForumRecord> {
  const forum = await findForum(executor, forumId);
  // A team that is not the operator learns nothing more than that this node operates no such forum.
  if (!forum || forum.role !== 'operator') throw new ProblemError('not-found', `this node operates no forum "${forumId}"`);
  return forum;
}

export function createForumJoiningService(deps: ForumJoiningDeps) {
  const { db, clock, config, audit, peers, outbox } = deps;

  /** Queues one joining message for the operator of a forum we belong to (or apply to). */
  async function toOperator(
    forumId: string,
    type: 'forum.application' | 'forum.sponsorship',
    body: Record<string, unknown>,
    actor: string,
    details: Record<string, unknown>,
  ) {
    const result = await db.transaction().execute(async (tx) => {
      const forum = await findForum(tx, forumId);
      if (!forum) throw new ProblemError('not-found', `no forum "${forumId}"`);
      if (forum.role !== 'member') throw new ProblemError('conflict', `this node operates forum "${forumId}": it admits members itself`);
      const operator = await peers.find(tx, forum.operator);
      if (!operator || operator.status !== 'active')
        throw new ProblemError('conflict', `the operator "${forum.operator}" is not an active peer here`);
      if (type === 'forum.sponsorship' && !activeTeams(await newestRosterOf(tx, forum)).has(config.teamId))
        throw new ProblemError(
          'not-a-forum-member',
          `this node is not an active member of forum "${forumId}" in the newest roster held here`,
        );
      const signed = await outbox.enqueue(tx, { type, to: forum.operator, tlp: JOINING_TLP, body }, null);
      await audit.append(tx, {
        kind: type === 'forum.application' ? 'disclosure.forum-application' : 'disclosure.forum-sponsorship',
        actor,
        peer: forum.operator,
        decision: 'allow',
        details: { forum: forumId, messageId: signed.id, ...details },
      });
      return { messageId: signed.id, to: forum.operator };
    });
    outbox.kick();
    return result;
  }

  return {
    /** A candidate (which joined the forum as a member-to-be) applies to its operator. */
    apply(forumId: string, input: { statement: string; contact?: unknown }, actor: string) {
      const body = { forum: forumId, statement: input.statement, ...(input.contact ? { contact: input.contact } : {}) };
      return toOperator(forumId, 'forum.application', body, actor, {});
    },

    /** A member sponsors a candidate whose key it verified (or withdraws its sponsorship). */
    async sponsor(forumId: string, input: { candidate: string; withdrawn?: boolean }, actor: string) {
      if (input.candidate === config.teamId) throw new ProblemError('validation-failed', 'a team does not sponsor itself');
      const candidate = await peers.find(db, input.candidate);
      if (!candidate) throw new ProblemError('conflict', `"${input.candidate}" is not a peer of this node`);
      if (!input.withdrawn && candidate.assurance !== 'verified')
        throw new ProblemError(
          'peer-not-verified',
          `the key of "${input.candidate}" is not verified here: a sponsor vouches only for a key it checked`,
        );
      const body = {
        forum: forumId,
        candidate: input.candidate,
        fingerprint: candidate.fingerprint,
        ...(input.withdrawn ? { withdrawn: true } : {}),
      };
      return toOperator(forumId, 'forum.sponsorship', body, actor, {
        candidate: input.candidate,
        fingerprint: candidate.fingerprint,
        withdrawn: input.withdrawn === true,
      });
    },

    /** At the operator: an application, kept as signed. */
    async receiveApplication(tx: Tx, doc: ForumApplicationDocument, received: ReceivedAs | undefined): Promise<InboxOutcome> {
      await mustOperate(tx, doc.body.forum);
      await upsertApplication(tx, doc.body.forum, {
        team: doc.from,
        statement: doc.body.statement,
        contact: doc.body.contact ?? null,
        messageId: doc.id,
        document: canonicalize(doc),
        signature: received?.signature ?? '',
        receivedAt: clock(),
      });
      await audit.append(tx, {
        kind: 'forum.application-received',
        actor: doc.from,
        peer: doc.from,
        details: { forum: doc.body.forum, messageId: doc.id },
      });
      return NOTED;
    },

    /** At the operator: a sponsorship by an active member, for the key pinned here if the candidate is a peer. */
    async receiveSponsorship(tx: Tx, doc: ForumSponsorshipDocument, received: ReceivedAs | undefined): Promise<InboxOutcome> {
      const forum = await mustOperate(tx, doc.body.forum);
      if (!activeTeams(await newestRosterOf(tx, forum)).has(doc.from))
        throw new ProblemError('not-a-forum-member', `"${doc.from}" is not an active member of forum "${forum.id}": it cannot sponsor`);
      if (doc.body.candidate === doc.from) throw new ProblemError('validation-failed', 'a member cannot sponsor itself');
      const pinned = await peers.find(tx, doc.body.candidate);
      if (pinned && pinned.fingerprint !== doc.body.fingerprint)
        throw new ProblemError(
          'fingerprint-mismatch',
          `"${doc.from}" sponsors key ${doc.body.fingerprint} for "${doc.body.candidate}"; this node pins ${pinned.fingerprint}`,
        );
      await upsertSponsorship(tx, forum.id, {
        candidate: doc.body.candidate,
        sponsor: doc.from,
        fingerprint: doc.body.fingerprint,
        withdrawn: doc.body.withdrawn === true,
        messageId: doc.id,
        document: canonicalize(doc),
        signature: received?.signature ?? '',
        receivedAt: clock(),
      });
      await audit.append(tx, {
        kind: 'forum.sponsorship-received',
        actor: doc.from,
        peer: doc.body.candidate,
        details: {
          forum: forum.id,
          sponsor: doc.from,
          fingerprint: doc.body.fingerprint,
          withdrawn: doc.body.withdrawn === true,
          messageId: doc.id,
        },
      });
      return NOTED;
    },

    /** At the operator: every candidate it heard of, with its application and sponsorships and whether each counts. */
    async applications(forumId: string): Promise<ForumApplicationView[]> {
      const forum = await mustOperate(db, forumId);
      const active = activeTeams(await newestRosterOf(db, forum));
      const applications = new Map((await listApplications(db, forumId)).map((a) => [a.team, a]));
      const sponsorships = await listSponsorships(db, forumId);
      const teams = [...new Set([...applications.keys(), ...sponsorships.map((s) => s.candidate)])].sort();
      const out: ForumApplicationView[] = [];
      for (const team of teams) {
        const a = applications.get(team);
        const peer = await peers.find(db, team);
        out.push({
          team,
          statement: a?.statement ?? null,
          contact: a?.contact ?? null,
          appliedAt: a ? a.receivedAt.toISOString() : null,
          pinnedFingerprint: peer?.fingerprint ?? null,
          verified: peer?.assurance === 'verified',
          sponsorships: sponsorships
            .filter((s) => s.candidate === team)
            .map((s) => ({
              sponsor: s.sponsor,
              fingerprint: s.fingerprint,
              withdrawn: s.withdrawn,
              receivedAt: s.receivedAt.toISOString(),
              counts: !s.withdrawn && active.has(s.sponsor) && s.fingerprint === peer?.fingerprint,
            })),
        });
      }
      return out;
    },
  };
}

export type ForumJoiningService = ReturnType<typeof createForumJoiningService>;
