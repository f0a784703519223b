import type { Clock } from '../../clock.js';
import type { Config } from '../../config.js';
import { readPeerKey, verifyDocumentSignature, type PeerKey } from '../../crypto/index.js';
import type { Tx } from '../../db/database.js';
import { ProblemError } from '../../http/problem.js';
import type { Tlp } from '../../../schemas/common.schema.js';
import type { IncidentCorrectionBody, SignedCorrection } from '../../../schemas/correction.schema.js';
import type { IncidentCorrectionDocument, IncidentReportDocument } from '../../../schemas/federation.schema.js';
import type { ReportProvenanceHop } from '../../../schemas/relay.schema.js';
import type { Incident } from '../../../schemas/incident.schema.js';
import type { InboxOutcome } from '../exchange/exchange.module.js';
import { findIncident, type IncidentService } from '../incidents/incidents.module.js';
import type { PeerDirectory } from '../peers/peers.module.js';
import { decideCorrectionAcceptance, decideLabelChange, stricterTlp, tlpRank, type OriginatorSignature } from '../policy/index.js';
import { bindCorrectionToCopy } from './correction-binding.js';
import { forwardCorrection, sendAckUpstream, type CorrectionTravelDeps } from './correction-forwarding.js';
import {
  findCorrectionOnCopy,
  insertCorrection,
  markApplied,
  markRefused,
  pendingExists,
  takePending,
  takePendingForEach,
  type CorrectionRow,
} from './correction.repository.js';
import { findLinkByOurRef, findLinkByPeerRef } from './link.repository.js';
import { findIncidentPolicy, relabelReceivedProvenance } from './sharing.repository.js';

/**
 * The receiving half of corrections (ADR 0018; docs/federation-protocol.md §5.19): a holder
 * verifies the originator's signed statement as far as it can, decides by the pure rules
 * (policy/correction-rules.ts), applies it to its copy (a label at once, a retraction marks the
 * copy), audits, and forwards it to every team it passed the report to. A correction for a
 * report not held yet is kept and applied when that report is filed.
 */
export interface CorrectionIntakeDeps extends CorrectionTravelDeps {
  clock: Clock;
  config: Pick<Config, 'teamId'>;
  incidents: IncidentService;
  peers: Pick<PeerDirectory, 'find'>;
  onQueued(): void;
}

/** One arrival of a correction: from the sender, about the sender's copy, as the message carried it. */
interface Arrival {
  from: string;
  messageId: string | null;
  body: Pick<IncidentCorrectionBody, 'ref' | 'correction' | 'originatorKey'>;
  /** A kept correction applied while its report is filed: the report's hops, not recorded yet. */
  filingHops?: readonly ReportProvenanceHop[];
}

/** What applying a correction to our copy came to. */
interface Applied {
  incident: Incident;
  outcome: string;
  key: string | null;
  matchedBy: 'signed-origin-hop' | 'forwarder-link';
}

/** Statement rules the schema cannot say. */
export function checkStatement(statement: SignedCorrection['document']): void {
  if (statement.kind === 'relabel' && (!statement.tlp || statement.reason !== undefined || statement.note !== undefined))
    throw new ProblemError('correction-invalid', 'a relabel carries the new tlp, and no reason or note');
  if (statement.kind === 'retract' && (!statement.reason || statement.tlp !== undefined))
    throw new ProblemError('correction-invalid', 'a retraction carries a reason (and may carry a note), and no tlp');
}

const strictestOf = (labels: readonly Tlp[]): Tlp => labels.reduce<Tlp>((a, b) => stricterTlp(a, b), 'CLEAR');

/**
 * Which key vouches for the originator's statement: the one pinned here, else the one the
 * forwarding team carried (never the forwarder's own key: that would be the forwarder speaking).
 */
async function originatorSignature(
  deps: CorrectionIntakeDeps,
  tx: Tx,
  arrival: Arrival,
): Promise<{ signature: OriginatorSignature; key: PeerKey | null }> {
  const originator = arrival.body.correction.document.originator;
  const pinned = await deps.peers.find(tx, originator);
  let key: PeerKey | null = null;
  let kind: OriginatorSignature = 'unverifiable';
  try {
    if (pinned) {
      key = await readPeerKey(pinned.publicKey);
      kind = 'pinned';
    } else if (arrival.body.originatorKey) {
      key = await readPeerKey(arrival.body.originatorKey);
      const sender = await deps.peers.find(tx, arrival.from);
      if (sender && sender.fingerprint === key.fingerprint) return { signature: 'invalid', key: null };
      kind = 'carried';
    }
  } catch {
    return { signature: 'invalid', key: null };
  }
  if (!key) return { signature: 'unverifiable', key: null };
  const verdict = await verifyDocumentSignature(arrival.body.correction, key, { now: deps.clock() });
  return verdict.ok ? { signature: kind, key } : { signature: 'invalid', key: null };
}

/** Applies a correction to our copy, or refuses it (ProblemError correction-refused). Returns the outcome in words. */
async function applyToCopy(deps: CorrectionIntakeDeps, tx: Tx, incidentId: string, arrival: Arrival): Promise<Applied> {
  const statement = arrival.body.correction.document;
  const incident = (await findIncident(tx, incidentId, true))!;
  const provenance = (await findIncidentPolicy(tx, incidentId))?.provenance ?? null;
  if (!provenance) throw new ProblemError('correction-refused', 'our own incident: only our handlers correct it');
  if (arrival.from === statement.originator && arrival.body.ref !== statement.originatorRef)
    throw new ProblemError('correction-refused', "the originator's statement names another of its reports");
  const { signature, key } = await originatorSignature(deps, tx, arrival);
  // The copy must be a copy of the report the statement names (its signed origin hop), not just
  // the one the forwarder's link points at: a relay cannot replay a statement onto another report.
  const binding = await bindCorrectionToCopy(tx, incidentId, arrival.body.correction, key, deps.clock(), arrival.filingHops);
  if (!binding.bound) throw new ProblemError('correction-refused', binding.reason);
  const effective = strictestOf([incident.tlp, provenance.originatorTlp, ...provenance.chain.map((h) => h.tlp)]);
  const acceptance = decideCorrectionAcceptance({
    kind: statement.kind,
    loosens: statement.kind === 'relabel' && tlpRank(statement.tlp!) < tlpRank(effective),
    originatorMatches: provenance.originator === statement.originator,
    senderUpstream: provenance.chain.some((h) => h.team === arrival.from),
    signature,
  });
  if (!acceptance.accept) throw new ProblemError('correction-refused', acceptance.reason);
  let outcome = `${acceptance.reason}; ${binding.reason}`;
  if (statement.kind === 'retract') {
    await deps.incidents.retractInTx(tx, incidentId, {
      correctionId: statement.id,
      originator: statement.originator,
      reason: statement.reason!,
      note: statement.note ?? null,
      at: statement.issued,
    });
  } else {
    const by = acceptance.actAs === 'originator' ? statement.originator : arrival.from;
    const change = decideLabelChange({ provenance, incidentTlp: incident.tlp, from: by, to: statement.tlp! });
    if (change.apply) {
      await relabelReceivedProvenance(tx, incidentId, change.provenance, { at: deps.clock(), actor: by });
      await deps.incidents.relabelInTx(tx, incidentId, change.tlp, {
        by,
        correctionId: statement.id,
        messageId: arrival.messageId,
        direction: change.direction,
        reason: change.reason,
      });
    }
    outcome = `${outcome}; ${change.reason}`;
  }
  return { incident: (await findIncident(tx, incidentId))!, outcome, key: key?.armored ?? null, matchedBy: binding.by };
}

/** The reports of an inbox group that were filed, with the incident each became. */
function filedReports(docs: IncidentReportDocument[], outcomes: InboxOutcome[]): Array<{ doc: IncidentReportDocument; id: string }> {
  return docs.flatMap((doc, i) => (outcomes[i]?.status === 'filed' && outcomes[i].incidentId ? [{ doc, id: outcomes[i].incidentId }] : []));
}

export function createCorrectionIntake(deps: CorrectionIntakeDeps) {
  const { clock, config } = deps;

  /** After a correction applied here: recorded, audited, forwarded to the holders we passed the report to. */
  async function afterApplied(tx: Tx, arrival: Arrival, applied: Applied, rowId: string | null) {
    const { incident, outcome, key, matchedBy } = applied;
    const statement = arrival.body.correction.document;
    const at = clock();
    if (rowId) await markApplied(tx, rowId, incident.id, outcome, at);
    else
      await insertCorrection(tx, {
        correctionId: statement.id,
        incidentId: incident.id,
        originator: statement.originator,
        originatorRef: statement.originatorRef,
        kind: statement.kind,
        statement: arrival.body.correction,
        originatorKey: key,
        receivedFrom: arrival.from,
        receivedRef: arrival.body.ref,
        messageId: arrival.messageId,
        state: 'applied',
        outcome,
        at,
      });
    await deps.audit.append(tx, {
      kind: 'correction.applied',
      actor: arrival.from,
      incidentId: incident.id,
      peer: arrival.from,
      decision: 'allow',
      details: {
        ref: incident.ref,
        correctionId: statement.id,
        kind: statement.kind,
        originator: statement.originator,
        messageId: arrival.messageId,
        matchedBy,
        reason: outcome,
      },
    });
    if ((await forwardCorrection(deps, tx, incident, arrival.body.correction, key, 'node')) > 0) deps.onQueued();
  }

  /** The inbox handler for incident.correction, one document at a time. */
  async function receive(tx: Tx, doc: IncidentCorrectionDocument): Promise<InboxOutcome> {
    const body = doc.body;
    const statement = body.correction.document;
    checkStatement(statement);
    if (statement.originator === config.teamId)
      throw new ProblemError('correction-refused', 'we are the originator: nobody else corrects our report');
    const arrival: Arrival = { from: doc.from, messageId: doc.id, body };
    const link =
      (body.peerRef ? await findLinkByOurRef(tx, doc.from, body.peerRef) : null) ?? (await findLinkByPeerRef(tx, doc.from, body.ref));
    if (!link) {
      // Not held yet: kept, and applied when the report arrives. A signature we can check now must verify.
      if ((await originatorSignature(deps, tx, arrival)).signature === 'invalid')
        throw new ProblemError('correction-refused', "the originator's signature over the correction does not verify");
      if (!(await pendingExists(tx, statement.id, doc.from, body.ref))) {
        await insertCorrection(tx, {
          correctionId: statement.id,
          incidentId: null,
          originator: statement.originator,
          originatorRef: statement.originatorRef,
          kind: statement.kind,
          statement: body.correction,
          originatorKey: body.originatorKey ?? null,
          receivedFrom: doc.from,
          receivedRef: body.ref,
          messageId: doc.id,
          state: 'pending',
          outcome: null,
          at: clock(),
        });
        await deps.audit.append(tx, {
          kind: 'correction.kept',
          actor: doc.from,
          peer: doc.from,
          details: {
            correctionId: statement.id,
            kind: statement.kind,
            originator: statement.originator,
            peerRef: body.ref,
            messageId: doc.id,
          },
        });
      }
      return { status: 'noted', incidentId: null, ref: null };
    }
    const known = await findCorrectionOnCopy(tx, statement.id, link.incidentId);
    if (known) {
      const incident = (await findIncident(tx, link.incidentId))!;
      return { status: 'applied', incidentId: incident.id, ref: incident.ref };
    }
    const applied = await applyToCopy(deps, tx, link.incidentId, arrival);
    await afterApplied(tx, arrival, applied, null);
    const { incident } = applied;
    return { status: 'applied', incidentId: incident.id, ref: incident.ref };
  }

  /**
   * Reports just filed: corrections kept for them apply now, in the filing's transaction. One
   * refused now (the copy's provenance shows the sender had no say) is marked refused and audited.
   */
  async function applyPending(tx: Tx, docs: IncidentReportDocument[], outcomes: InboxOutcome[]): Promise<void> {
    const filed = filedReports(docs, outcomes);
    // The group's kept corrections in one statement, not a round trip per report; applied report by report.
    const kept = await takePendingForEach(
      tx,
      filed.map(({ doc }) => ({ from: doc.from, ref: doc.body.ref })),
    );
    for (const [n, { doc, id }] of filed.entries()) for (const row of kept[n]!) await applyKept(tx, row, id, doc.body.provenance);
  }

  async function applyKept(
    tx: Tx,
    row: CorrectionRow,
    incidentId: string,
    hops: readonly ReportProvenanceHop[] | undefined,
  ): Promise<void> {
    const arrival: Arrival = {
      from: row.receivedFrom!,
      messageId: row.messageId,
      body: { ref: row.receivedRef!, correction: row.statement, ...(row.originatorKey ? { originatorKey: row.originatorKey } : {}) },
      filingHops: hops ?? [],
    };
    try {
      const applied = await applyToCopy(deps, tx, incidentId, arrival);
      const { incident } = applied;
      await afterApplied(tx, arrival, applied, row.rowId);
      await sendAckUpstream(deps, tx, arrival.from, incident.id, incident.tlp, {
        correctionId: row.correctionId,
        originator: row.originator,
        holder: config.teamId,
        status: 'applied',
        holderRef: incident.ref,
        at: clock().toISOString(),
      });
      deps.onQueued();
    } catch (error) {
      if (!(error instanceof ProblemError)) throw error;
      await markRefused(tx, row.rowId, incidentId, error.detail ?? error.code);
      await deps.audit.append(tx, {
        kind: 'correction.refused',
        actor: arrival.from,
        incidentId,
        peer: arrival.from,
        decision: 'deny',
        details: { correctionId: row.correctionId, kind: row.kind, originator: row.originator, reason: error.detail ?? error.code },
      });
    }
  }

  /** A copy filed other than by an incident.report (a relay's forward): the corrections kept for (from, ref) apply to it. */
  async function applyPendingFor(
    tx: Tx,
    filed: { from: string; ref: string; incidentId: string; hops: ReportProvenanceHop[] },
  ): Promise<void> {
    for (const row of await takePending(tx, filed.from, filed.ref)) await applyKept(tx, row, filed.incidentId, filed.hops);
  }

  return { receive, applyPending, applyPendingFor };
}

export type CorrectionIntake = ReturnType<typeof createCorrectionIntake>;
