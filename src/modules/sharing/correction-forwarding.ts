import type { Tx } from '../../db/database.js';
import type { IncidentCorrectionAckBody, IncidentCorrectionBody, SignedCorrection } from '../../../schemas/correction.schema.js';
import type { Incident } from '../../../schemas/incident.schema.js';
import type { AuditLog } from '../audit/audit.module.js';
import type { Outbox } from '../exchange/exchange.module.js';
import { mayForwardCorrection } from '../policy/index.js';
import { listLinks } from './link.repository.js';
import { payloadDigest } from './disclosure-decision.js';

/**
 * The two ways a correction moves (ADR 0018): down, to every team we passed the report to (our
 * outgoing links), and its acknowledgements up, to the team the correction reached us from.
 * Both are signed messages through the outbox, queued in the caller's transaction and audited.
 */
export interface CorrectionTravelDeps {
  outbox: Pick<Outbox, 'enqueue' | 'find'>;
  audit: AuditLog;
}

/** Queues the correction for every holder we passed the report to; answers how many were queued. */
export async function forwardCorrection(
  deps: CorrectionTravelDeps,
  tx: Tx,
  incident: Incident,
  correction: SignedCorrection,
  originatorKey: string | null,
  actor: string,
): Promise<number> {
  let queued = 0;
  for (const link of await listLinks(tx, incident.id)) {
    if (link.direction !== 'outgoing') continue;
    if (link.reportMessageId) {
      // A report that failed for good left the team without the copy: there is nothing to correct.
      const report = await deps.outbox.find(tx, link.reportMessageId);
      if (report?.state === 'failed') continue;
    }
    const verdict = mayForwardCorrection(true);
    if (!verdict.allow) continue;
    const body: IncidentCorrectionBody = {
      ref: incident.ref,
      ...(link.peerRef ? { peerRef: link.peerRef } : {}),
      correction,
      ...(originatorKey ? { originatorKey } : {}),
    };
    const message = await deps.outbox.enqueue(tx, { type: 'incident.correction', to: link.peerTeam, tlp: incident.tlp, body }, incident.id);
    await deps.audit.append(tx, {
      kind: 'disclosure.correction',
      actor,
      incidentId: incident.id,
      peer: link.peerTeam,
      decision: 'allow',
      details: {
        ref: incident.ref,
        type: 'incident.correction',
        messageId: message.id,
        correctionId: correction.document.id,
        kind: correction.document.kind,
        reason: verdict.reason,
        payloadSha256: payloadDigest(body),
      },
    });
    queued++;
  }
  return queued;
}

/** Tells the team a correction reached us from that `ack.holder` acknowledged it (a signed incident.correction-ack). */
export async function sendAckUpstream(
  deps: CorrectionTravelDeps,
  tx: Tx,
  to: string,
  incidentId: string | null,
  tlp: Incident['tlp'],
  ack: IncidentCorrectionAckBody,
): Promise<void> {
  const message = await deps.outbox.enqueue(tx, { type: 'incident.correction-ack', to, tlp, body: ack }, incidentId);
  await deps.audit.append(tx, {
    kind: 'disclosure.correction-ack',
    actor: 'node',
    incidentId,
    peer: to,
    decision: 'allow',
    details: {
      type: 'incident.correction-ack',
      messageId: message.id,
      correctionId: ack.correctionId,
      holder: ack.holder,
      status: ack.status,
      reason: 'the team that forwarded the correction to us is told which copies below acknowledged it',
    },
  });
}
