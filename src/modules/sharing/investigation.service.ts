import { ProblemError } from '../../http/problem.js';
import type {
  Investigation,
  InvestigationAnswer,
  InvestigationCreate,
  InvestigationRequestBody,
  InvestigationResultBody,
} from '../../../schemas/federation.schema.js';
import type { PolicyDecision } from '../../../schemas/policy.schema.js';
import type { Actor } from '../incidents/incidents.module.js';
import { scrubberFor, type PolicyPayload, type Scrubber } from '../policy/index.js';
import { isIpAddress } from '../sites/sites.module.js';
import {
  answerInvestigation,
  findInvestigation,
  insertInvestigation,
  listInvestigations,
  type InvestigationRow,
} from './investigation.repository.js';
import { findLink } from './link.repository.js';
import { activePeer, mustFindIncident, type ShareDeps } from './share.service.js';
import { policyDenied, type RecordOptions, type SharingOutcome } from './sharing.service.js';

/**
 * Investigations (§7 "request an investigation"): asking a peer to check the facts about hosts
 * in its network, and answering a peer that asked. Each is a one-off disclosure: the sharing
 * policy decides it (purpose direct, the handler's choice its need to know, not remembered for
 * later updates), it is audited either way, and what goes is scrubbed of what the decision hides.
 */
export interface InvestigationService {
  requestInvestigation(ref: string, input: InvestigationCreate, actor: Actor): Promise<Investigation>;
  answerInvestigation(ref: string, id: string, answer: InvestigationAnswer, actor: Actor): Promise<Investigation>;
  listInvestigations(ref: string): Promise<Investigation[]>;
}

/** Hosts of an investigation as they may go to a peer: one that names a hidden identifier is left out, texts scrubbed. */
function scrubHosts<T extends { ip?: string; hostname?: string; description?: string }>(hosts: T[], scrubber: Scrubber): T[] {
  return hosts.flatMap((h) => {
    if ((h.ip && scrubber.scrub(h.ip).sections.length > 0) || (h.hostname && scrubber.scrub(h.hostname).sections.length > 0)) return [];
    return [h.description !== undefined ? { ...h, description: scrubber.scrub(h.description).text } : h];
  });
}

function toInvestigation(row: InvestigationRow): Investigation {
  return {
    id: row.id,
    direction: row.direction,
    peer: row.peerTeam,
    state: row.state,
    question: row.question,
    hosts: row.hosts as Investigation['hosts'],
    finding: row.finding as Investigation['finding'],
    summary: row.summary,
    resultHosts: row.resultHosts as Investigation['resultHosts'],
    createdAt: row.createdAt,
    answeredAt: row.answeredAt,
  };
}

function checkHosts(hosts: InvestigationCreate['hosts'], pointer: string): void {
  hosts.forEach((h, i) => {
    if (!h.ip && !h.hostname) {
      throw new ProblemError('validation-failed', `hosts[${i}] needs an ip or a hostname`, {
        errors: [{ location: 'body', pointer: `${pointer}/${i}`, message: 'ip or hostname required' }],
      });
    }
    if (h.ip && !isIpAddress(h.ip)) {
      throw new ProblemError('validation-failed', `hosts[${i}].ip is not an IP address`, {
        errors: [{ location: 'body', pointer: `${pointer}/${i}/ip`, message: 'not an IPv4 or IPv6 address' }],
      });
    }
  });
}

/** A reply to a peer's investigation.request: decided, scrubbed and audited like a share. */
async function answerFor(deps: ShareDeps, ref: string, id: string, answer: InvestigationAnswer, actor: Actor): Promise<Investigation> {
  if (answer.hosts) checkHosts(answer.hosts, '/hosts');
  const result = await deps.db.transaction().execute(async (tx): Promise<{ row: InvestigationRow } | { denied: SharingOutcome }> => {
    const incident = await mustFindIncident(tx, ref, true);
    const row = await findInvestigation(tx, id, true);
    if (!row || row.incidentId !== incident.id) throw new ProblemError('not-found', `no investigation ${id} on ${incident.ref}`);
    if (row.direction !== 'incoming') throw new ProblemError('conflict', 'this node asked for that investigation; the peer answers it');
    if (row.state === 'answered') throw new ProblemError('conflict', 'the investigation was answered already');
    const peer = await deps.peers.find(tx, row.peerTeam);
    if (!peer) throw new ProblemError('unknown-peer', `peer "${row.peerTeam}" was removed`);
    const body: InvestigationResultBody = {
      requestId: row.id,
      ref: incident.ref,
      peerRef: row.peerRef ?? '',
      finding: answer.finding,
      summary: answer.summary,
      ...(answer.hosts ? { hosts: answer.hosts } : {}),
    };
    // A reply: what the handler wrote for the team that asked. The policy still decides
    // whether this incident may be talked about with it (a RED incident it is not named on,
    // a peer no longer trusted or suspended: refused) and under which label.
    const render = (_payload: PolicyPayload, decision: PolicyDecision): InvestigationResultBody => {
      const scrubber = scrubberFor(incident, decision);
      if (scrubber.empty) return body;
      return {
        ...body,
        summary: scrubber.scrub(body.summary).text,
        ...(body.hosts ? { hosts: scrubHosts(body.hosts, scrubber) } : {}),
      };
    };
    const options: RecordOptions = { actor: actor.subject, chosenByHandler: true, rememberChoice: false, render };
    const outcome = await deps.sharing.evaluate(tx, incident, { teamId: row.peerTeam }, 'direct', options);
    if (!outcome.allow) {
      await deps.sharing.record(tx, incident, outcome, {
        ...options,
        details: { type: 'investigation.result', messageId: null, requestId: row.id },
      });
      return { denied: outcome };
    }
    const message = await deps.outbox.enqueue(
      tx,
      {
        type: 'investigation.result',
        to: row.peerTeam,
        tlp: outcome.decision.tlp,
        inReplyTo: row.id,
        body: outcome.content as InvestigationResultBody,
      },
      incident.id,
    );
    await answerInvestigation(tx, row.id, {
      finding: answer.finding,
      summary: answer.summary,
      hosts: answer.hosts ?? null,
      messageId: message.id,
      peerRef: null,
      at: deps.clock(),
    });
    await deps.incidents.appendInTx(tx, incident.id, {
      kind: 'investigation-answered',
      actor,
      note: answer.summary,
      changes: { peer: row.peerTeam, requestId: row.id, messageId: message.id, finding: answer.finding },
    });
    await deps.sharing.record(tx, incident, outcome, {
      ...options,
      details: {
        type: 'investigation.result',
        messageId: message.id,
        requestId: row.id,
        finding: answer.finding,
      },
    });
    return { row: (await findInvestigation(tx, row.id))! };
  });
  if ('denied' in result) throw policyDenied(result.denied);
  deps.onQueued();
  return toInvestigation(result.row);
}

export function createInvestigationService(deps: ShareDeps): InvestigationService {
  const { db, clock, peers, incidents, sharing } = deps;
  const enqueue = deps.outbox.enqueue;
  return {
    async requestInvestigation(ref, input, actor) {
      checkHosts(input.hosts, '/hosts');
      const result = await db.transaction().execute(async (tx): Promise<{ row: InvestigationRow } | { denied: SharingOutcome }> => {
        const incident = await mustFindIncident(tx, ref, true);
        const peer = await activePeer(peers, tx, input.peer);
        const link = await findLink(tx, incident.id, peer.teamId);
        const body: InvestigationRequestBody = {
          ref: incident.ref,
          ...(link?.peerRef ? { peerRef: link.peerRef } : {}),
          question: input.question,
          hosts: input.hosts,
          category: incident.category,
        };
        // The request carries what the handler wrote for this peer (the question, the hosts to
        // check), not the incident: the policy decides whether anything about this incident may
        // go to the peer at all, and its label. Asking is a need to know for this message only.
        // The question and hosts lose what the decision hides from this peer, as the incident would.
        const render = (_payload: PolicyPayload, decision: PolicyDecision): InvestigationRequestBody => {
          const scrubber = scrubberFor(incident, decision);
          return scrubber.empty ? body : { ...body, question: scrubber.scrub(body.question).text, hosts: scrubHosts(body.hosts, scrubber) };
        };
        const options: RecordOptions = { actor: actor.subject, chosenByHandler: true, rememberChoice: false, render };
        const outcome = await sharing.evaluate(tx, incident, { teamId: peer.teamId }, 'direct', options);
        if (!outcome.allow) {
          await sharing.record(tx, incident, outcome, {
            ...options,
            details: { type: 'investigation.request', messageId: null },
          });
          return { denied: outcome };
        }
        const sent = outcome.content as InvestigationRequestBody;
        if (sent.hosts.length === 0) {
          throw new ProblemError(
            'validation-failed',
            `every host named is one the sharing policy hides from "${peer.teamId}" (a target or an internal host); nothing was sent`,
            {
              errors: [{ location: 'body', pointer: '/hosts', message: 'no host may go to this peer' }],
            },
          );
        }
        const message = await enqueue(
          tx,
          { type: 'investigation.request', to: peer.teamId, tlp: outcome.decision.tlp, body: sent },
          incident.id,
        );
        await insertInvestigation(tx, {
          id: message.id,
          direction: 'outgoing',
          peerTeam: peer.teamId,
          incidentId: incident.id,
          peerRef: link?.peerRef ?? null,
          question: input.question,
          hosts: input.hosts,
          at: clock(),
        });
        await incidents.appendInTx(tx, incident.id, {
          kind: 'investigation-requested',
          actor,
          note: input.question,
          changes: { peer: peer.teamId, messageId: message.id, hosts: input.hosts.length },
        });
        await sharing.record(tx, incident, outcome, {
          ...options,
          details: { type: 'investigation.request', messageId: message.id, hosts: input.hosts.length },
        });
        return { row: (await findInvestigation(tx, message.id))! };
      });
      if ('denied' in result) throw policyDenied(result.denied);
      deps.onQueued();
      return toInvestigation(result.row);
    },

    answerInvestigation: (ref, id, answer, actor) => answerFor(deps, ref, id, answer, actor),
    async listInvestigations(ref) {
      const incident = await mustFindIncident(db, ref);
      return (await listInvestigations(db, incident.id)).map(toInvestigation);
    },
  };
}
