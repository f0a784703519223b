import { randomUUID } from 'node:crypto';
import type { Clock } from '../../clock.js';
import type { Config } from '../../config.js';
import { signDocument, type NodeSigner } from '../../crypto/index.js';
import type { Db, Tx } from '../../db/database.js';
import { ProblemError } from '../../http/problem.js';
import type {
  CorrectionAckStatus,
  CorrectionCreate,
  CorrectionStatement,
  CorrectionView,
  IncidentCorrectionBody,
} from '../../../schemas/correction.schema.js';
import type { IncidentCorrectionAckDocument } from '../../../schemas/federation.schema.js';
import type { Delivered, InboxOutcome } from '../exchange/exchange.module.js';
import { findIncident, type Actor, type IncidentService } from '../incidents/incidents.module.js';
import { forwardCorrection, sendAckUpstream, type CorrectionTravelDeps } from './correction-forwarding.js';
import { checkStatement } from './correction-intake.js';
import {
  findCorrectionRows,
  insertCorrection,
  listAcks,
  listCorrectionsOf,
  recordAck,
  type CorrectionRow,
} from './correction.repository.js';
import { scrubCorrectionNote, type IdentifierSection } from '../policy/index.js';
import { listLinks } from './link.repository.js';
import { findIncidentPolicy } from './sharing.repository.js';

/**
 * The originator's side of corrections and the acknowledgements of every holder (ADR 0018):
 * POST /api/v1/incidents/{ref}/corrections signs the statement with this node's key, applies it
 * to our own incident and sends it to every team we passed the report to; receipts and
 * incident.correction-ack documents say which copies acknowledged it, and a holder that
 * forwarded a correction passes the acknowledgements of the copies below it up the same way.
 */
export interface CorrectionServiceDeps extends CorrectionTravelDeps {
  db: Db;
  clock: Clock;
  config: Pick<Config, 'teamId'>;
  signer: NodeSigner;
  incidents: IncidentService;
  onQueued(): void;
}

export interface CorrectionService {
  issue(ref: string, input: CorrectionCreate, actor: Actor): Promise<CorrectionView>;
  list(ref: string): Promise<CorrectionView[]>;
  /** The outbox's delivery hook: a holder's signed receipt for a correction we sent. */
  delivered(tx: Tx, delivered: Delivered): Promise<void>;
  /** The inbox handler for incident.correction-ack. */
  receiveAck(tx: Tx, doc: IncidentCorrectionAckDocument): Promise<InboxOutcome>;
}

const ackStatusOf = (receiptStatus: string): CorrectionAckStatus => (receiptStatus === 'applied' ? 'applied' : 'pending');

/** A correction as GET .../corrections shows it: each holder below us, direct or further down, and its acknowledgement. */
function viewOf(
  row: CorrectionRow,
  direct: Array<{ peerTeam: string; peerRef: string | null }>,
  acks: Awaited<ReturnType<typeof listAcks>>,
): CorrectionView {
  const mine = acks.filter((a) => a.correctionId === row.correctionId);
  const holders: CorrectionView['holders'] = direct.map((link) => {
    const ack = mine.find((a) => a.holder === link.peerTeam);
    return {
      team: link.peerTeam,
      via: ack?.via ?? link.peerTeam,
      status: ack ? (ack.status === 'applied' ? 'acknowledged' : 'pending') : 'waiting',
      holderRef: ack?.holderRef ?? link.peerRef,
      at: ack?.at ?? null,
    };
  });
  for (const ack of mine) {
    if (holders.some((h) => h.team === ack.holder)) continue;
    holders.push({
      team: ack.holder,
      via: ack.via,
      status: ack.status === 'applied' ? 'acknowledged' : 'pending',
      holderRef: ack.holderRef,
      at: ack.at,
    });
  }
  const s = row.statement.document;
  return {
    id: row.correctionId,
    kind: row.kind,
    tlp: s.tlp ?? null,
    reason: s.reason ?? null,
    note: s.note ?? null,
    originator: row.originator,
    originatorRef: row.originatorRef,
    state: row.state,
    receivedFrom: row.receivedFrom,
    outcome: row.outcome,
    createdAt: row.createdAt,
    holders,
  };
}

/** The statement the originator signs, from a handler's request. */
function statementOf(teamId: string, issued: string, id: string, ref: string, input: CorrectionCreate): CorrectionStatement {
  const base = { v: 1 as const, type: 'incident.correction' as const, id, originator: teamId, originatorRef: ref };
  if (input.kind === 'relabel') {
    if (!input.tlp || input.reason !== undefined || input.note !== undefined)
      throw new ProblemError('correction-invalid', 'a relabel carries the new tlp, and no reason or note');
    return { ...base, kind: 'relabel', tlp: input.tlp, issued };
  }
  if (!input.reason || input.tlp !== undefined)
    throw new ProblemError('correction-invalid', 'a retraction carries a reason (and may carry a note), and no tlp');
  return { ...base, kind: 'retract', reason: input.reason, ...(input.note ? { note: input.note } : {}), issued };
}

export function createCorrectionService(deps: CorrectionServiceDeps): CorrectionService {
  const { db, clock, config } = deps;

  async function issue(ref: string, input: CorrectionCreate, actor: Actor): Promise<CorrectionView> {
    const id = randomUUID();
    let noteRedacted: IdentifierSection[] = [];
    const queued = await db.transaction().execute(async (tx) => {
      const incident = await findIncident(tx, ref, true);
      if (!incident) throw new ProblemError('not-found', `no incident ${ref}`);
      if ((await findIncidentPolicy(tx, incident.id))?.provenance)
        throw new ProblemError('correction-not-originator', `${ref} is a copy received from another team: its originator corrects it`);
      if (incident.retracted) throw new ProblemError('conflict', `${ref} is retracted already`);
      // The note goes signed to every holder, however far: scrubbed once for the widest audience.
      const scrubbed = input.note ? scrubCorrectionNote(incident, input.note) : null;
      noteRedacted = scrubbed?.sections ?? [];
      const request = scrubbed ? { ...input, note: scrubbed.note } : input;
      const statement = statementOf(config.teamId, clock().toISOString(), id, incident.ref, request);
      checkStatement(statement);
      if (statement.kind === 'relabel' && statement.tlp === incident.tlp)
        throw new ProblemError('conflict', `${ref} is TLP:${incident.tlp} already`);
      const correction = await signDocument(statement, deps.signer);
      if (statement.kind === 'relabel') {
        await deps.incidents.relabelInTx(tx, incident.id, statement.tlp!, {
          by: config.teamId,
          correctionId: id,
          reason: 'the originator re-labelled its report',
        });
      } else {
        await deps.incidents.retractInTx(tx, incident.id, {
          correctionId: id,
          originator: config.teamId,
          reason: statement.reason!,
          note: statement.note ?? null,
          at: statement.issued,
        });
      }
      await insertCorrection(tx, {
        correctionId: id,
        incidentId: incident.id,
        originator: config.teamId,
        originatorRef: incident.ref,
        kind: statement.kind,
        statement: correction,
        originatorKey: null,
        receivedFrom: null,
        receivedRef: null,
        messageId: null,
        state: 'issued',
        outcome: null,
        at: clock(),
      });
      await deps.audit.append(tx, {
        kind: 'correction.issued',
        actor: actor.subject,
        incidentId: incident.id,
        details: {
          ref: incident.ref,
          correctionId: id,
          kind: statement.kind,
          ...(statement.tlp ? { tlp: statement.tlp } : {}),
          ...(statement.reason ? { reason: statement.reason } : {}),
          ...(noteRedacted.length > 0 ? { noteRedacted } : {}),
        },
      });
      const after = (await findIncident(tx, incident.id))!;
      return forwardCorrection(deps, tx, after, correction, null, actor.subject);
    });
    if (queued > 0) deps.onQueued();
    const view = (await list(ref)).find((c) => c.id === id)!;
    return noteRedacted.length > 0 ? { ...view, noteRedacted } : view;
  }

  async function list(ref: string): Promise<CorrectionView[]> {
    const incident = await findIncident(db, ref);
    if (!incident) throw new ProblemError('not-found', `no incident ${ref}`);
    const rows = await listCorrectionsOf(db, incident.id);
    const acks = await listAcks(
      db,
      rows.map((r) => r.correctionId),
    );
    const direct = (await listLinks(db, incident.id)).filter((l) => l.direction === 'outgoing');
    return rows.map((row) => viewOf(row, direct, acks));
  }

  /** The row through which this correction reached our copy `incidentId`, or any row of it. */
  async function rowFor(tx: Tx, correctionId: string, incidentId: string | null): Promise<CorrectionRow | null> {
    const rows = (await findCorrectionRows(tx, correctionId)).filter((r) => r.state === 'issued' || r.state === 'applied');
    return rows.find((r) => r.incidentId === incidentId) ?? rows[0] ?? null;
  }

  /** Records a holder's acknowledgement, and passes it up when the correction reached us from another team. */
  async function acknowledge(
    tx: Tx,
    row: CorrectionRow,
    ack: { holder: string; via: string; status: CorrectionAckStatus; holderRef: string | null; messageId: string },
  ): Promise<void> {
    await recordAck(tx, { correctionId: row.correctionId, ...ack, at: clock() });
    if (!row.receivedFrom || !row.incidentId) return;
    const incident = (await findIncident(tx, row.incidentId))!;
    await sendAckUpstream(deps, tx, row.receivedFrom, incident.id, incident.tlp, {
      correctionId: row.correctionId,
      originator: row.originator,
      holder: ack.holder,
      status: ack.status,
      ...(ack.holderRef ? { holderRef: ack.holderRef } : {}),
      at: clock().toISOString(),
    });
    deps.onQueued();
  }

  return {
    issue,
    list,

    async delivered(tx, d) {
      if (d.type !== 'incident.correction') return;
      const message = await deps.outbox.find(tx, d.id);
      if (!message) return;
      const body = (JSON.parse(message.document) as { body: IncidentCorrectionBody }).body;
      const row = await rowFor(tx, body.correction.document.id, d.incidentId);
      if (!row) return;
      await acknowledge(tx, row, {
        holder: d.peerTeam,
        via: d.peerTeam,
        status: ackStatusOf(d.receiptStatus),
        holderRef: d.peerRef,
        messageId: d.id,
      });
    },

    async receiveAck(tx, doc) {
      const body = doc.body;
      const rows = (await findCorrectionRows(tx, body.correctionId)).filter((r) => r.state === 'issued' || r.state === 'applied');
      // Only a team we forwarded this correction to speaks for the copies below it.
      let row: CorrectionRow | null = null;
      for (const candidate of rows) {
        if (!candidate.incidentId) continue;
        const links = await listLinks(tx, candidate.incidentId);
        if (links.some((l) => l.direction === 'outgoing' && l.peerTeam === doc.from)) {
          row = candidate;
          break;
        }
      }
      if (!row || row.originator !== body.originator)
        throw new ProblemError('correction-refused', `no correction ${body.correctionId} was forwarded from here to ${doc.from}`);
      await acknowledge(tx, row, {
        holder: body.holder,
        via: doc.from,
        status: body.status,
        holderRef: body.holderRef ?? null,
        messageId: doc.id,
      });
      const incident = (await findIncident(tx, row.incidentId!))!;
      return { status: 'noted', incidentId: incident.id, ref: incident.ref };
    },
  };
}
