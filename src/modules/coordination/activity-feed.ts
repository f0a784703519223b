import type { Tx } from '../../db/database.js';

import type { ActivitySummaryBody, ActivityWithdrawnBody } from '../../../schemas/coordination.schema.js';

import type { Incident } from '../../../schemas/incident.schema.js';
import type { PeerRecord } from '../peers/peers.module.js';

import { reportContent } from '../sharing/index.js';

import { summarise, type PolicyPayload } from '../policy/index.js';
import { payloadDigest } from '../sharing/index.js';

import type { CoordinationDeps } from './coordination.service.js';

/**
 * The member side of coordination: every change our team records on an incident queues an
 * `activity.summary` to each active coordinator, at the detail the sharing service allows for
 * purpose `coordinator-feed`; a coordinator the policy now refuses, that was sent a summary
 * before, is told to forget it (`activity.withdrawn`).
 */
const MAX_LINKS = 100;

export function createActivityFeed(deps: CoordinationDeps): {
  feedCoordinators(tx: Tx, incidents: readonly Incident[]): Promise<boolean>;
} {
  const { peers, sharing, audit, outbox, log } = deps;
  // -------------------------------------------------------------------------------------------
  // Member side: the activity feed to our coordinator(s)

  /** What an activity.summary carries, from what the policy lets go. */
  function summaryBody(payload: PolicyPayload, incident: Incident): ActivitySummaryBody {
    const links = incident.externalRefs.slice(0, MAX_LINKS).map((e) => ({ team: e.team, ref: e.ref }));
    if (payload.detail === 'summary') return { detail: 'summary', summary: payload.summary, links };
    // Full detail: the redacted incident, and its summary (which never names a target or an
    // internal host, whatever the redactions) for the coordinator's counts.
    return { detail: 'full', summary: summarise(payload.incident), incident: reportContent(payload.incident), links };
  }

  /** Returns true when something was queued. The coordinators are read once for all the incidents. */
  async function feedCoordinators(tx: Tx, incidents: readonly Incident[]): Promise<boolean> {
    const coordinators = await peers.listRecords(tx, { relationship: 'coordinator', status: 'active' });
    let queued = false;
    for (const incident of incidents) if (await feedIncident(tx, incident, coordinators)) queued = true;
    return queued;
  }

  async function feedIncident(tx: Tx, incident: Incident, coordinators: readonly PeerRecord[]): Promise<boolean> {
    let queued = false;
    for (const peer of coordinators) {
      const outcome = await sharing.decideAndRecord(tx, incident, { teamId: peer.teamId }, 'coordinator-feed', {
        actor: 'node',
        render: (payload) => summaryBody(payload, incident),
        details: { type: 'activity.summary' },
      });
      if (!outcome.allow) {
        // The deny is in the audit log and no summary goes out. A coordinator that holds an
        // earlier summary is told to forget it: the report's new label (or our policy) keeps
        // it from the coordinator now, and it must not go on naming it in warnings.
        if (await withdrawSummary(tx, incident, peer.teamId, outcome.deniedBy)) queued = true;
        continue;
      }
      const dropped = await outbox.supersede(tx, incident.id, peer.teamId, 'activity.summary');
      await outbox.enqueue(
        tx,
        {
          type: 'activity.summary',
          to: peer.teamId,
          tlp: outcome.decision.tlp,
          body: outcome.content as ActivitySummaryBody,
        },
        incident.id,
      );
      if (dropped > 0) log.debug({ peer: peer.teamId, ref: incident.ref, dropped }, 'queued activity summary superseded');
      queued = true;
    }
    return queued;
  }

  /**
   * Queues an activity.withdrawn for a coordinator that was sent (or was about to be sent) a
   * summary of the incident and has not been told to forget it since; summaries still waiting
   * in the outbox are dropped. Audited as `coordination.withdrawal`. Returns true when queued.
   */
  async function withdrawSummary(tx: Tx, incident: Incident, coordinator: string, deniedBy: readonly string[]): Promise<boolean> {
    if ((await outbox.lastQueued(tx, incident.id, coordinator, ['activity.summary', 'activity.withdrawn'])) !== 'activity.summary')
      return false;
    const dropped = await outbox.supersede(tx, incident.id, coordinator, 'activity.summary');
    const reason: ActivityWithdrawnBody['reason'] = deniedBy.some(
      (d) => d === 'red-channel' || d.startsWith('tlp-') || d.startsWith('provenance-'),
    )
      ? 'label'
      : 'policy';
    const body: ActivityWithdrawnBody = {
      ref: incident.ref,
      version: incident.version,
      updatedAt: incident.updatedAt,
      reason,
    };
    // The notice names only the reference number the coordinator holds already.
    const message = await outbox.enqueue(tx, { type: 'activity.withdrawn', to: coordinator, tlp: incident.tlp, body }, incident.id);
    await audit.append(tx, {
      kind: 'coordination.withdrawal',
      actor: 'node',
      incidentId: incident.id,
      peer: coordinator,
      decision: 'allow',
      details: {
        type: 'activity.withdrawn',
        messageId: message.id,
        ref: incident.ref,
        tlp: incident.tlp,
        reason,
        deniedBy,
        droppedQueuedSummaries: dropped,
        payloadSha256: payloadDigest(body),
      },
    });
    log.info({ peer: coordinator, messageId: message.id, reason }, 'activity summary withdrawn from the coordinator');
    return true;
  }

  return { feedCoordinators };
}
