import type { Db, Tx } from '../../db/database.js';
import { ProblemError } from '../../http/problem.js';
import type { IncidentReportBody } from '../../../schemas/federation.schema.js';
import type { ProvenanceView, Relay, RelayCreate, RelayTarget } from '../../../schemas/relay.schema.js';
import type { Actor } from '../incidents/incidents.module.js';
import { findLink, insertLink } from './link.repository.js';
import { signShareProvenance } from './relay-signing.js';
import type { RelayDeps } from './relay-forwarding.js';
import { findSignedProvenance, insertRelay, listRelays, type RelayRow } from './relay.repository.js';
import { activePeer, mustFindIncident, reportBodyOf } from './share.service.js';
import { findIncidentPolicy } from './sharing.repository.js';
import { policyDenied, type SharingOutcome } from './sharing.service.js';

/**
 * Relays asked by this team's handlers (POST /api/v1/incidents/{ref}/relays) and what the API
 * shows of relays and provenance. The request is an ordinary incident.report to the relay, decided
 * by our policy as a share to it (purpose direct: the handler chose the relay), whose body names
 * the target (`relayTo`); the relay's own policy decides whether the target may have it.
 */
export interface RelayService {
  request(ref: string, input: RelayCreate, actor: Actor): Promise<Relay>;
  list(ref: string): Promise<Relay[]>;
  provenance(ref: string): Promise<ProvenanceView>;
}

const publicRelay = ({ incidentId: _i, requestedRef: _r, receipt: _c, ...relay }: RelayRow): Relay => relay;

export function createRelayService(deps: RelayDeps & { db: Db; onQueued: () => void }): RelayService {
  const { db } = deps;

  async function requestInTx(
    tx: Tx,
    ref: string,
    input: RelayCreate,
    actor: Actor,
  ): Promise<{ relay: Relay } | { denied: SharingOutcome }> {
    const incident = await mustFindIncident(tx, ref, true);
    const via = await activePeer(deps.peers, tx, input.via);
    const target: RelayTarget = 'to' in input ? { team: input.to } : { address: input.address };
    if ('team' in target && (target.team === via.teamId || target.team === deps.config.teamId))
      throw new ProblemError(
        'validation-failed',
        `ask ${via.teamId} to relay to a third team: ${target.team} is ${target.team === via.teamId ? 'the relay' : 'us'}`,
      );
    const options = {
      actor: actor.subject,
      chosenByHandler: true,
      render: (p: Parameters<typeof reportBodyOf>[1], d: Parameters<typeof reportBodyOf>[2]) => reportBodyOf(incident, p, d),
    };
    const outcome = await deps.sharing.evaluate(tx, incident, { teamId: via.teamId }, 'direct', options);
    if (!outcome.allow) {
      await deps.sharing.record(tx, incident, outcome, {
        ...options,
        details: { type: 'incident.report', messageId: null, relayTo: target },
      });
      return { denied: outcome };
    }
    outcome.content = { ...(outcome.content as IncidentReportBody), relayTo: target } satisfies IncidentReportBody;
    await signShareProvenance(deps, tx, incident, outcome, via.teamId);
    const body = outcome.content as IncidentReportBody;
    const sent = outcome;
    const message = await deps.outbox.enqueue(
      tx,
      { type: 'incident.report', to: via.teamId, tlp: outcome.decision.tlp, body },
      incident.id,
    );
    const at = deps.clock();
    if (!(await findLink(tx, incident.id, via.teamId))) {
      await insertLink(tx, {
        incidentId: incident.id,
        peerTeam: via.teamId,
        direction: 'outgoing',
        peerRef: null,
        reportMessageId: message.id,
        createdBy: actor.subject,
        at,
      });
    }
    await insertRelay(tx, {
      originTeam: deps.config.teamId,
      originId: message.id,
      originRef: incident.ref,
      role: 'requested',
      state: 'requested',
      incidentId: incident.id,
      requestedFrom: null,
      requestedRef: null,
      via: via.teamId,
      target,
      targetTeam: 'team' in target ? target.team : null,
      messageId: message.id,
      at,
    });
    await deps.incidents.appendInTx(tx, incident.id, {
      kind: 'relay-requested',
      actor,
      changes: { via: via.teamId, target, messageId: message.id, tlp: outcome.decision.tlp },
    });
    await deps.sharing.record(tx, incident, sent, {
      ...options,
      details: { type: 'incident.report', messageId: message.id, relayTo: target },
    });
    const relays = await listRelays(tx, incident.id);
    return { relay: publicRelay(relays.find((r) => r.messageId === message.id)!) };
  }

  return {
    async request(ref, input, actor) {
      const result = await db.transaction().execute((tx) => requestInTx(tx, ref, input, actor));
      if ('denied' in result) throw policyDenied(result.denied);
      deps.onQueued();
      return result.relay;
    },

    async list(ref) {
      const incident = await mustFindIncident(db, ref);
      return (await listRelays(db, incident.id)).map(publicRelay);
    },

    async provenance(ref) {
      const incident = await mustFindIncident(db, ref);
      const facts = await findIncidentPolicy(db, incident.id);
      const signed = await findSignedProvenance(db, incident.id);
      if (signed) {
        return {
          ref: incident.ref,
          originator: facts?.provenance?.originator ?? signed.hops[0]?.team ?? null,
          hops: signed.hops.map((h, i) => {
            const check = signed.checks[i];
            return {
              team: h.team,
              tlp: h.tlp,
              at: h.at ?? null,
              ref: h.ref ?? null,
              to: h.to ?? null,
              signed: h.signature !== undefined,
              verified: check?.verified ?? false,
              keySource: check?.keySource ?? null,
              fingerprint: check?.fingerprint ?? null,
              signature: h.signature ?? null,
            };
          }),
        };
      }
      const chain = facts?.provenance?.chain ?? [];
      return {
        ref: incident.ref,
        originator: facts?.provenance?.originator ?? null,
        hops: chain.map((h) => ({
          team: h.team,
          tlp: h.tlp,
          at: h.at ?? null,
          ref: null,
          to: null,
          signed: false,
          verified: false,
          keySource: null,
          fingerprint: null,
          signature: null,
        })),
      };
    },
  };
}
