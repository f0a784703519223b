import type { Clock } from '../../clock.js';
import { canonicalize, signDocument, verifyDocumentSignature, type NodeSigner } from '../../crypto/index.js';
import type { Db, DbOrTx, Tx } from '../../db/database.js';
import { ProblemError } from '../../http/problem.js';
import type {
  Forum,
  ForumCreate,
  ForumDraftMember,
  ForumMemberInput,
  ForumRosterMemberView,
  RosterDocument,
  RosterMember,
  SignedRoster,
} from '../../../schemas/forum.schema.js';
import { isMailMember } from '../../../schemas/forum.schema.js';
import type { AuditLog } from '../audit/audit.module.js';
import type { Exchange, InboxOutcome } from '../exchange/exchange.module.js';
import type { GroupService } from '../groups/groups.module.js';
import type { PeerDirectory, PeerRecord } from '../peers/peers.module.js';
import {
  deleteDraftMember,
  findForum,
  findRoster,
  insertForum,
  insertRoster,
  listDraftMembers,
  listForumIds,
  listRosterVersions,
  newestRosterOf,
  setRosterVersion,
  upsertDraftMember,
  type DraftMemberRecord,
  type ForumRecord,
} from './forum.repository.js';
import { activeMembers, ourMembershipIn, rosterFormatFor, rosterProblem, sponsorProblem, versionProblem } from './forum-roster.js';
import { countingSponsors } from './forum-joining.service.js';

/**
 * Forums (issue 14): a node operates forums (it keeps the member list and signs each roster
 * version) and belongs to forums other nodes operate (it takes their signed rosters). A roster
 * version, signed or received, is applied in one transaction: stored as signed, the forum's
 * trust group set to its active members (a team removed or suspended loses its floor at once),
 * the keys it lists vouched for, and all of it audited.
 */

export interface ForumServiceDeps {
  db: Db;
  clock: Clock;
  config: { teamId: string; publicUrl: string };
  signer: NodeSigner;
  audit: AuditLog;
  peers: PeerDirectory;
  groups: Pick<GroupService, 'applyRoster'>;
  exchange: Pick<Exchange, 'outbox'>;
}

export type RosterMemberView = ForumRosterMemberView;

/** A roster entry as the API shows it: one shape for both kinds of member (the signed entry keeps its own). */
function viewOf(m: RosterMember, peer: RosterMemberView['peer'], assurance: RosterMemberView['assurance']): RosterMemberView {
  const mail = isMailMember(m);
  return {
    team: m.team,
    channel: mail ? 'mail' : 'node',
    url: mail ? null : m.url,
    email: mail ? m.email : null,
    name: mail ? m.name : null,
    fingerprint: m.fingerprint,
    kind: m.kind,
    status: m.status,
    sponsors: m.sponsors,
    admitted: m.admitted,
    ...(m.contact ? { contact: m.contact } : {}),
    peer,
    assurance,
  };
}

const ROSTER_TLP = 'AMBER' as const; // names and contacts of the forum's teams: for members only

function wireDraft(m: DraftMemberRecord): ForumDraftMember {
  return { ...m, admitted: m.admitted.toISOString(), updatedAt: m.updatedAt.toISOString() };
}

/** What both sides share: lookups and the application of a verified roster version. */
function createForumCore(deps: ForumServiceDeps) {
  const { clock, config, audit, peers } = deps;
  async function mustFind(executor: DbOrTx, id: string, forUpdate = false): Promise<ForumRecord> {
    const forum = await findForum(executor, id, forUpdate);
    if (!forum) throw new ProblemError('not-found', `no forum "${id}"`);
    return forum;
  }
  function mustOperate(forum: ForumRecord): void {
    if (forum.role !== 'operator')
      throw new ProblemError('conflict', `forum "${forum.id}" is operated by "${forum.operator}", not by this node`);
  }
  const newestRoster = (executor: DbOrTx, forum: ForumRecord) => newestRosterOf(executor, forum);
  async function toWire(executor: DbOrTx, forum: ForumRecord): Promise<Forum> {
    const roster = await newestRoster(executor, forum);
    return {
      id: forum.id,
      name: forum.name,
      operator: forum.operator,
      role: forum.role,
      sponsorsNeeded: forum.sponsorsNeeded,
      rosterVersion: forum.rosterVersion,
      ourMembership: roster ? ourMembershipIn(roster, config.teamId) : 'none',
      memberCount: roster?.members.length ?? 0,
      createdAt: forum.createdAt.toISOString(),
      updatedAt: forum.updatedAt.toISOString(),
    };
  }

  /**
   * The roster's vouches follow its versions (the peers module derives assurance from them): a
   * key it lists is vouched for; a member dropped, suspended or listed with another key has the
   * forum's vouch for the old key withdrawn.
   */
  async function syncVouches(
    tx: Tx,
    forum: string,
    previous: RosterDocument | null,
    listed: RosterMember[],
    statedAt: Date,
    actor: string,
  ): Promise<void> {
    const now = new Map(listed.map((m) => [m.team, m.fingerprint]));
    for (const old of previous?.members ?? []) {
      if (old.team === config.teamId || now.get(old.team) === old.fingerprint) continue;
      await peers.withdrawVouch(tx, { subject: old.team, kind: 'roster', voucher: forum, fingerprint: old.fingerprint, actor });
    }
    for (const m of listed) {
      await peers.recordVouch(tx, { subject: m.team, fingerprint: m.fingerprint, kind: 'roster', voucher: forum, statedAt, actor });
    }
  }

  /** Stores a verified roster version and applies it (both sides). */
  async function apply(tx: Tx, forum: ForumRecord, signed: SignedRoster, receivedFrom: string, actor: string) {
    const doc = signed.document;
    const previous = await newestRoster(tx, forum);
    const at = clock();
    await insertRoster(tx, forum.id, {
      version: doc.version,
      document: canonicalize(doc),
      signature: signed.signature,
      memberCount: doc.members.length,
      receivedFrom,
      receivedAt: at,
    });
    await setRosterVersion(tx, forum.id, doc.version, doc.name, doc.sponsorsNeeded, at);
    const others = activeMembers(doc).filter((m) => m.team !== config.teamId);
    const changes = await deps.groups.applyRoster(
      tx,
      {
        group: forum.id,
        name: doc.name,
        source: `${forum.id} v${doc.version}`,
        ourMembership: ourMembershipIn(doc, config.teamId),
        members: others.map((m) => ({ teamId: m.team, level: m.kind, since: new Date(m.admitted) })),
      },
      actor,
    );
    // The roster vouches for keys only as far as we are sure of the operator's own key.
    const operator = forum.role === 'operator' ? null : await peers.find(tx, forum.operator);
    const vouching = forum.role === 'operator' || operator?.assurance === 'verified';
    await syncVouches(tx, forum.id, previous, vouching ? others : [], new Date(doc.issued), actor);
    await audit.append(tx, {
      kind: 'forum.roster-applied',
      actor,
      details: { forum: forum.id, version: doc.version, from: receivedFrom, members: doc.members.length, vouching, ...changes },
    });
  }

  return { mustFind, mustOperate, newestRoster, toWire, apply };
}

type ForumCore = ReturnType<typeof createForumCore>;

/** The operator's side: its working list of members, and signing and sending each version. */
function operatorSide(deps: ForumServiceDeps, core: ForumCore) {
  const { db, clock, config, audit, peers } = deps;
  const { mustFind, mustOperate, newestRoster, apply } = core;
  return {
    async drafts(id: string): Promise<ForumDraftMember[]> {
      mustOperate(await mustFind(db, id));
      return (await listDraftMembers(db, id)).map(wireDraft);
    },

    /** The operator admits a team (or changes it): effective in the next signed version. */
    async putMember(
      id: string,
      team: string,
      input: ForumMemberInput,
      actor: string,
    ): Promise<{ member: ForumDraftMember; created: boolean }> {
      return db.transaction().execute(async (tx) => {
        const forum = await mustFind(tx, id, true);
        mustOperate(forum);
        let fingerprint = deps.signer.fingerprint;
        if (team !== config.teamId) {
          // The operator signs the member's key into the roster: it must have checked it itself.
          const peer = await peers.find(tx, team);
          if (!peer) throw new ProblemError('conflict', `team "${team}" is not a peer of this node: add it and verify its key first`);
          if (peer.assurance !== 'verified')
            throw new ProblemError('conflict', `the key of "${team}" is not verified here: confirm its fingerprint out of band first`);
          fingerprint = peer.fingerprint;
        }
        const drafts = await listDraftMembers(tx, id);
        const before = drafts.find((m) => m.team === team) ?? null;
        // Sponsors other than the operator itself count only with a signed forum.sponsorship held here.
        const roster = await newestRoster(tx, forum);
        const rosterActive = new Set(roster ? activeMembers(roster).map((m) => m.team) : []);
        const signed = await countingSponsors(tx, id, team, fingerprint, rosterActive);
        const sponsors = input.sponsors ?? before?.sponsors ?? [...signed].sort();
        if (!before) {
          const active = new Set(drafts.filter((m) => m.status === 'active').map((m) => m.team));
          const unsigned = sponsors.find((s) => s !== config.teamId && !signed.has(s));
          const problem =
            sponsorProblem(team, sponsors, active, forum.sponsorsNeeded) ??
            (unsigned ? `sponsor "${unsigned}" has sent no signed sponsorship of "${team}" for key ${fingerprint}` : null);
          if (problem) throw new ProblemError('validation-failed', problem);
        }
        const at = clock();
        const member: DraftMemberRecord = {
          team,
          kind: input.kind,
          status: input.status ?? before?.status ?? 'active',
          sponsors,
          contact: input.contact ?? before?.contact ?? null,
          admitted: before?.admitted ?? at,
          updatedAt: at,
          updatedBy: actor,
        };
        await upsertDraftMember(tx, id, member);
        await audit.append(tx, {
          kind: before ? 'forum.member-changed' : 'forum.member-admitted',
          actor,
          peer: team,
          details: {
            forum: id,
            kind: member.kind,
            status: member.status,
            sponsors,
            ...(before ? { from: { kind: before.kind, status: before.status } } : {}),
          },
        });
        return { member: wireDraft(member), created: before === null };
      });
    },

    async removeMember(id: string, team: string, actor: string): Promise<void> {
      await db.transaction().execute(async (tx) => {
        mustOperate(await mustFind(tx, id, true));
        if (!(await deleteDraftMember(tx, id, team)))
          throw new ProblemError('not-found', `team "${team}" is not a member of forum "${id}"`);
        await audit.append(tx, { kind: 'forum.member-removed', actor, peer: team, details: { forum: id } });
      });
    },

    /** The operator signs the next version from its list, applies it and sends it to every member (and to those it dropped). */
    async publish(id: string, actor: string): Promise<{ version: number; sentTo: string[] }> {
      const result = await db.transaction().execute(async (tx) => {
        const forum = await mustFind(tx, id, true);
        mustOperate(forum);
        const members: RosterMember[] = [];
        for (const m of await listDraftMembers(tx, id)) {
          const common = {
            kind: m.kind,
            status: m.status,
            sponsors: m.sponsors,
            admitted: m.admitted.toISOString(),
            ...(m.contact ? { contact: m.contact } : {}),
          };
          if (m.team === config.teamId) {
            members.push({ team: m.team, url: config.publicUrl, fingerprint: deps.signer.fingerprint, ...common });
            continue;
          }
          const peer = await peers.find(tx, m.team);
          if (!peer)
            throw new ProblemError('conflict', `member "${m.team}" is no longer a peer of this node: remove it from the forum first`);
          if (peer.kind === 'mail' || peer.url === null) {
            // A team without a node (ADR 0028): the roster carries its address and whole key, so
            // members can mail it; the key is the one pinned and verified here.
            if (peer.email === null) throw new ProblemError('conflict', `member "${m.team}" has neither a node nor an e-mail address here`);
            members.push({
              team: m.team,
              channel: 'mail',
              name: peer.name,
              email: peer.email,
              publicKey: peer.publicKey,
              fingerprint: peer.fingerprint,
              ...common,
            });
          } else {
            members.push({ team: m.team, url: peer.url, fingerprint: peer.fingerprint, ...common });
          }
        }
        const previous = await newestRoster(tx, forum);
        const document: RosterDocument = {
          v: rosterFormatFor(members),
          type: 'forum.roster',
          forum: id,
          name: forum.name,
          operator: config.teamId,
          version: forum.rosterVersion + 1,
          issued: clock().toISOString(),
          sponsorsNeeded: forum.sponsorsNeeded,
          members,
        };
        const problem = rosterProblem(document, { forum: id, operator: config.teamId });
        if (problem) throw new ProblemError('conflict', problem);
        const signed = (await signDocument(document, deps.signer)) as SignedRoster;
        await apply(tx, forum, signed, config.teamId, actor);
        const recipients = new Set([...members.map((m) => m.team), ...(previous?.members.map((m) => m.team) ?? [])]);
        recipients.delete(config.teamId);
        const sentTo: string[] = [];
        for (const team of [...recipients].sort()) {
          const peer = await peers.find(tx, team);
          // A team without a node holds no roster (it applies none, and its people read mail): not sent.
          if (!peer || peer.kind === 'mail') continue;
          await deps.exchange.outbox.enqueue(tx, { type: 'forum.roster', to: team, tlp: ROSTER_TLP, body: { roster: signed } }, null);
          await audit.append(tx, {
            kind: 'disclosure.forum-roster',
            actor,
            peer: team,
            decision: 'allow',
            details: { forum: id, version: document.version, listed: members.some((m) => m.team === team) },
          });
          sentTo.push(team);
        }
        return { version: document.version, sentTo };
      });
      deps.exchange.outbox.kick();
      return result;
    },

    /** A `forum.roster` from a peer (the inbox verified the message's signature): refused unless all holds. */
  };
}

export function createForumService(deps: ForumServiceDeps) {
  const { db, clock, config, audit, peers } = deps;
  const core = createForumCore(deps);
  const { mustFind, newestRoster, toWire, apply } = core;
  return {
    db,
    async list(): Promise<Forum[]> {
      const out: Forum[] = [];
      for (const id of await listForumIds(db)) out.push(await toWire(db, await mustFind(db, id)));
      return out;
    },
    async get(id: string): Promise<Forum> {
      return toWire(db, await mustFind(db, id));
    },

    async create(input: ForumCreate, actor: string): Promise<Forum> {
      return db.transaction().execute(async (tx) => {
        const operator = input.role === 'operator' ? config.teamId : input.operator;
        if (input.role === 'member') {
          if (operator === config.teamId)
            throw new ProblemError('validation-failed', 'a forum this node operates is created with role operator');
          const peer = await peers.find(tx, operator);
          if (!peer) throw new ProblemError('conflict', `the operator "${operator}" is not a peer of this node: add and verify it first`);
        }
        const created = await insertForum(tx, {
          id: input.id,
          name: input.role === 'operator' ? input.name : input.id,
          operator,
          role: input.role,
          sponsorsNeeded: input.role === 'operator' ? (input.sponsorsNeeded ?? 2) : 2,
          by: actor,
          at: clock(),
        });
        if (!created) throw new ProblemError('conflict', `a forum "${input.id}" exists already`);
        await audit.append(tx, {
          kind: input.role === 'operator' ? 'forum.created' : 'forum.joined',
          actor,
          ...(input.role === 'member' ? { peer: operator } : {}),
          details: { forum: input.id, operator },
        });
        return toWire(tx, await mustFind(tx, input.id));
      });
    },

    async receive(tx: Tx, from: string, body: { roster: SignedRoster }): Promise<InboxOutcome> {
      const doc = body.roster.document;
      const forum = await findForum(tx, doc.forum, true);
      if (!forum || forum.role !== 'member') throw new ProblemError('roster-invalid', `this node has not joined forum "${doc.forum}"`);
      if (forum.operator !== from)
        throw new ProblemError('roster-invalid', `forum "${forum.id}" is operated by "${forum.operator}", not "${from}"`);
      const problem = rosterProblem(doc, { forum: forum.id, operator: forum.operator });
      if (problem) throw new ProblemError('roster-invalid', problem);
      const operator = await peers.find(tx, from);
      const verified = operator ? await verifyDocumentSignature(body.roster, await peers.keyOf(operator), { now: clock() }) : null;
      if (!verified?.ok) throw new ProblemError('roster-invalid', `the roster is not signed by the key pinned for the operator "${from}"`);
      const age = versionProblem(doc.version, forum.rosterVersion);
      if (age === 'repeat') {
        const stored = await findRoster(tx, forum.id, doc.version);
        if (stored?.document === canonicalize(doc)) return { status: 'noted', incidentId: null, ref: null };
      }
      if (age) {
        throw new ProblemError(
          'roster-stale',
          `version ${doc.version} of forum "${forum.id}" is not newer than version ${forum.rosterVersion} held here`,
        );
      }
      await apply(tx, forum, body.roster, from, `${from} (forum.roster)`);
      return { status: 'applied', incidentId: null, ref: null };
    },

    /** The newest signed roster, as stored: for members and for the federation route. */
    async signedRoster(executor: DbOrTx, id: string): Promise<SignedRoster | null> {
      const forum = await mustFind(executor, id);
      if (forum.rosterVersion === 0) return null;
      const stored = await findRoster(executor, id, forum.rosterVersion);
      return stored ? { document: JSON.parse(stored.document) as RosterDocument, signature: stored.signature } : null;
    },

    async versions(id: string) {
      await mustFind(db, id);
      return (await listRosterVersions(db, id)).map((v) => ({ ...v, receivedAt: v.receivedAt.toISOString() }));
    },

    /** The newest roster's members, with what this node has pinned for each. */
    async members(id: string): Promise<RosterMemberView[]> {
      const roster = await newestRoster(db, await mustFind(db, id));
      const out: RosterMemberView[] = [];
      for (const m of roster?.members ?? []) {
        if (m.team === config.teamId) {
          out.push(viewOf(m, 'self', null));
          continue;
        }
        const peer = await peers.find(db, m.team);
        out.push(viewOf(m, !peer ? 'none' : peer.fingerprint === m.fingerprint ? 'pinned' : 'other-key', peer?.assurance ?? null));
      }
      return out;
    },

    /** Adds a roster member as a peer, pinning exactly the key the roster states. */
    async addMemberAsPeer(id: string, team: string, actor: string): Promise<PeerRecord> {
      const roster = await newestRoster(db, await mustFind(db, id));
      const member = roster?.members.find((m) => m.team === team && m.status === 'active');
      if (!member) throw new ProblemError('not-found', `team "${team}" is not an active member in the roster of forum "${id}"`);
      if (team === config.teamId) throw new ProblemError('conflict', 'that is this node');
      if (isMailMember(member)) {
        // Its key comes from the signed roster, not from a profile: pinned as stated, the roster's
        // vouch (recorded when the version was applied) gives it the assurance a node member gets.
        await peers.addMailTeam(
          { teamId: team, name: member.name, email: member.email, publicKey: member.publicKey, fingerprint: member.fingerprint },
          actor,
          `the roster of forum "${id}"`,
        );
        return (await peers.find(db, team))!;
      }
      await peers.addFromUrl(member.url, actor, {
        teamId: team,
        fingerprint: member.fingerprint,
        vouchedBy: `the roster of forum "${id}"`,
      });
      return (await peers.find(db, team))!;
    },
    ...operatorSide(deps, core),
  };
}

export type ForumService = ReturnType<typeof createForumService>;
