import type { Clock } from '../../clock.js';
import type { Config } from '../../config.js';
import type { Db, Tx } from '../../db/database.js';
import { ProblemError } from '../../http/problem.js';
import type { Incident } from '../../../schemas/incident.schema.js';

import type { AuditLog } from '../audit/audit.module.js';
import type {
  IncidentReportBody,
  IncidentReportContent,
  Investigation,
  InvestigationAnswer,
  InvestigationCreate,
  Share,
} from '../../../schemas/federation.schema.js';

import type { PolicyDecision } from '../../../schemas/policy.schema.js';
import { findIncident } from '../incidents/incidents.module.js';
import type { Actor, IncidentService } from '../incidents/incidents.module.js';
import { type PolicyPayload } from '../policy/index.js';
import { policyDenied, type RecordOptions, type SharingOutcome, type SharingService } from './index.js';

import type { PeerDirectory, PeerRecord } from '../peers/peers.module.js';
import type { Outbox } from '../exchange/exchange.module.js';
import { createInvestigationService } from './investigation.service.js';
import { registerUpdateTravel } from './update-travel.js';
import type { OutboundRow } from '../exchange/exchange.module.js';

import { findLink, insertLink, listLinks, setLinkReport, type LinkRow } from './link.repository.js';
import type { NodeSigner } from '../../crypto/index.js';
import { signShareProvenance } from './relay-signing.js';

/**
 * Sharing: what leaves this node. Every outgoing document is signed once and written to the
 * outbox inside the transaction of the change that causes it, so the change and the message
 * commit or roll back together; the delivery worker sends it later.
 *
 * Nothing about an incident is queued before the sharing service decided it may go, to that
 * peer, in that shape (docs/trust-model.md §11): a handler's share, every update to a linked
 * peer, an investigation request and its answer. Each decision, allow or deny, is one
 * `disclosure.decision` audit entry, written as the last step of the queuing transaction (the
 * audit log's lock comes last in every transaction) with the digest of exactly what was queued.
 * A refused share, request or answer still commits (the refusal stays recorded) and the caller
 * then gets 403 policy-denied with the reasons.
 */
export interface ShareDeps {
  db: Db;
  clock: Clock;
  config: Pick<Config, 'teamId'>;
  peers: Pick<PeerDirectory, 'find'>;
  /** Where every outgoing document is queued (signed once, inside the caller's transaction). */
  outbox: Pick<Outbox, 'enqueue' | 'find' | 'countPending'>;
  incidents: IncidentService;
  sharing: Pick<SharingService, 'evaluate' | 'record'>;
  audit: AuditLog;
  /** Called after a commit that queued messages: lets the worker deliver without waiting for its next poll. */
  onQueued: () => void;
  /** Signs our provenance hop on every report we send (ADR 0020); absent: the hop goes unsigned. */
  signer?: NodeSigner;
}

export interface ShareService {
  share(ref: string, peerTeam: string, actor: Actor): Promise<Share>;
  listShares(ref: string): Promise<Share[]>;
  requestInvestigation(ref: string, input: InvestigationCreate, actor: Actor): Promise<Investigation>;
  answerInvestigation(ref: string, id: string, answer: InvestigationAnswer, actor: Actor): Promise<Investigation>;
  listInvestigations(ref: string): Promise<Investigation[]>;
}

/**
 * The incident.report body for `incident` as the policy decided it may go: the redacted content,
 * the provenance chain the receiver keeps (the received chain with our hop appended; for our own
 * incident, our hop alone) and the redactions with their reasons.
 */
export function reportBodyOf(incident: Incident, payload: PolicyPayload, decision: PolicyDecision): IncidentReportBody {
  // Summary detail is never sent as a report: a handler's choice is a need to know of its own.
  if (payload.detail !== 'full') throw new Error(`an incident.report needs full detail; the policy allows ${decision.recipient} a summary`);
  return {
    ref: incident.ref,
    phase: incident.phase,
    incident: reportContent(payload.incident),
    ...(decision.provenance ? { provenance: decision.provenance } : {}),
    ...(decision.redactions.length > 0 ? { redactions: decision.redactions } : {}),
  };
}

/** The incident content a report carries: what POST /api/v1/incidents takes, nulls left out. */
export function reportContent(incident: Incident): IncidentReportContent {
  const content: IncidentReportContent = {
    title: incident.title,
    category: incident.category,
    severity: incident.severity,
    tlp: incident.tlp,
    reporter: incident.reporter,
    hosts: incident.hosts,
    vulnerabilities: incident.vulnerabilities,
    systemChanges: incident.systemChanges,
    installedSoftware: incident.installedSoftware,
    evidence: incident.evidence,
    indicators: incident.indicators,
  };
  if (incident.summary !== null) content.summary = incident.summary;
  if (incident.type !== null) content.type = incident.type;
  if (incident.firstSeen !== null) content.firstSeen = incident.firstSeen;
  if (incident.lastSeen !== null) content.lastSeen = incident.lastSeen;
  if (incident.poc !== null) content.poc = incident.poc;
  if (incident.intruderActivity !== null) content.intruderActivity = incident.intruderActivity;
  return content;
}

export async function mustFindIncident(dbOrTx: Db | Tx, ref: string, forUpdate = false): Promise<Incident> {
  const incident = await findIncident(dbOrTx, ref, forUpdate);
  if (!incident) throw new ProblemError('not-found', `no incident ${ref}`);
  return incident;
}

export async function activePeer(peers: Pick<PeerDirectory, 'find'>, tx: Tx, teamId: string): Promise<PeerRecord> {
  const peer = await peers.find(tx, teamId);
  if (!peer) throw new ProblemError('unknown-peer', `no peer "${teamId}": add it first (POST /api/v1/peers)`);
  if (peer.status !== 'active') throw new ProblemError('peer-not-active', `peer "${teamId}" is ${peer.status}`);
  return peer;
}

function shareOf(link: LinkRow, report: OutboundRow | null, pendingUpdates: number): Share {
  let state: Share['state'] = 'received';
  if (link.direction === 'outgoing') {
    if (!report) state = 'queued';
    else if (report.state === 'delivered') state = 'delivered';
    else if (report.state === 'sent') state = 'sent';
    else if (report.state === 'failed') state = 'failed';
    else state = report.lastError === null ? 'queued' : 'retrying';
  }
  const pending = report?.state === 'pending';
  return {
    peer: link.peerTeam,
    direction: link.direction,
    state,
    peerRef: link.peerRef ?? report?.peerRef ?? null,
    messageId: report?.id ?? null,
    attempts: report?.attempts ?? 0,
    lastError: report?.lastError ?? null,
    channel: report?.channel ?? null,
    nextAttemptAt: pending && report ? report.nextAttemptAt : null,
    receiptAt: report?.deliveredAt ?? null,
    pendingUpdates,
    createdAt: link.createdAt,
    createdBy: link.createdBy,
  };
}

async function shareState(outbox: ShareDeps['outbox'], dbOrTx: Db | Tx, link: LinkRow): Promise<Share> {
  const report = link.reportMessageId ? await outbox.find(dbOrTx, link.reportMessageId) : null;
  const pendingUpdates = await outbox.countPending(dbOrTx, link.incidentId, link.peerTeam, link.reportMessageId);
  return shareOf(link, report, pendingUpdates);
}

export function createShareService(deps: ShareDeps): ShareService {
  const { db, clock, peers, incidents, sharing } = deps;
  const enqueue = deps.outbox.enqueue;
  // Later changes travel to every linked peer; investigations are one-off disclosures.
  registerUpdateTravel(deps);
  const investigations = createInvestigationService(deps);

  return {
    ...investigations,
    async share(ref, peerTeam, actor) {
      const result = await db.transaction().execute(async (tx): Promise<{ share: Share } | { denied: SharingOutcome }> => {
        const incident = await mustFindIncident(tx, ref, true);
        const peer = await activePeer(peers, tx, peerTeam);
        const existing = await findLink(tx, incident.id, peer.teamId);
        if (existing) {
          if (existing.direction === 'incoming') {
            throw new ProblemError('already-shared', `the incident came from "${peer.teamId}"; changes already travel back to it`);
          }
          const report = existing.reportMessageId ? await deps.outbox.find(tx, existing.reportMessageId) : null;
          if (report?.state !== 'failed') throw new ProblemError('already-shared', `the incident is already shared with "${peer.teamId}"`);
        }
        // The handler chose this peer: its need to know, remembered for later updates and the pull feed.
        const options: RecordOptions = {
          actor: actor.subject,
          chosenByHandler: true,
          render: (payload, decision) => reportBodyOf(incident, payload, decision),
        };
        const outcome = await sharing.evaluate(tx, incident, { teamId: peer.teamId }, 'direct', options);
        if (!outcome.allow) {
          // Nothing is queued; the refusal is recorded and this transaction commits so it stays so.
          await sharing.record(tx, incident, outcome, {
            ...options,
            details: { type: 'incident.report', messageId: null },
          });
          return { denied: outcome };
        }
        const { decision } = outcome;
        if (deps.signer) await signShareProvenance({ signer: deps.signer, clock, config: deps.config }, tx, incident, outcome, peer.teamId);
        const message = await enqueue(
          tx,
          {
            type: 'incident.report',
            to: peer.teamId,
            tlp: decision.tlp,
            body: outcome.content as IncidentReportBody,
          },
          incident.id,
        );
        if (existing) await setLinkReport(tx, incident.id, peer.teamId, message.id);
        else {
          await insertLink(tx, {
            incidentId: incident.id,
            peerTeam: peer.teamId,
            direction: 'outgoing',
            peerRef: null,
            reportMessageId: message.id,
            createdBy: actor.subject,
            at: clock(),
          });
        }
        await incidents.appendInTx(tx, incident.id, {
          kind: 'shared',
          actor,
          changes: {
            peer: peer.teamId,
            messageId: message.id,
            again: Boolean(existing),
            tlp: decision.tlp,
            redactions: decision.redactions.map((r) => r.section),
          },
        });
        await sharing.record(tx, incident, outcome, {
          ...options,
          details: { type: 'incident.report', messageId: message.id },
        });
        const link = (await findLink(tx, incident.id, peer.teamId))!;
        const state = await shareState(deps.outbox, tx, link);
        return {
          share: {
            ...state,
            detail: decision.detail === 'summary' ? 'summary' : 'full',
            redactions: decision.redactions.map((r) => ({ section: r.section, reason: r.reason })),
            scrubbed: outcome.payload?.scrubbed ?? [],
          },
        };
      });
      // After the commit: the refusal is on record, the handler learns why.
      if ('denied' in result) throw policyDenied(result.denied);
      deps.onQueued();
      return result.share;
    },

    async listShares(ref) {
      const incident = await mustFindIncident(db, ref);
      const links = await listLinks(db, incident.id);
      const shares: Share[] = [];
      for (const link of links) shares.push(await shareState(deps.outbox, db, link));
      return shares;
    },
  };
}
