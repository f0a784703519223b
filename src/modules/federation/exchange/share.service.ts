import type { Clock } from '../../../clock.js';
import type { Config } from '../../../config.js';
import type { NodeSigner } from '../../../crypto/index.js';
import type { Db, Tx } from '../../../db/database.js';
import { ProblemError } from '../../../http/problem.js';
import type { Incident, JournalEntry } from '../../../../schemas/incident.schema.js';
import type {
  IncidentChange,
  IncidentReportBody,
  IncidentReportContent,
  IncidentUpdateBody,
  Investigation,
  InvestigationAnswer,
  InvestigationCreate,
  InvestigationRequestBody,
  InvestigationResultBody,
  Share,
} from '../../../../schemas/federation.schema.js';
import { INCIDENT_FIELDS } from '../../../../schemas/federation.schema.js';
import type { AuditLog } from '../../audit/audit.module.js';
import { findIncident } from '../../incidents/incident.repository.js';
import type { Actor, IncidentService } from '../../incidents/incident.service.js';
import { isIpAddress } from '../../sites/network-scope.js';
import type { PeerDirectory, PeerRecord } from '../peers/peer-directory.js';
import {
  answerInvestigation,
  appendFeedItem,
  countPending,
  findInvestigation,
  findLink,
  findOutbound,
  insertInvestigation,
  insertLink,
  insertOutbound,
  listInvestigations,
  listLinks,
  setLinkReport,
  type InvestigationRow,
  type LinkRow,
  type OutboundRow,
} from './exchange.repository.js';
import { newDocument, signMessage, type OutgoingMessage, type SignedMessage } from './message-document.js';

/**
 * Sharing: what leaves this node. Every outgoing document is signed once and written to the
 * outbox (and the peer's feed) inside the transaction of the change that causes it, so the
 * change and the message commit or roll back together; the delivery worker sends it later.
 */
export interface ShareDeps {
  db: Db;
  clock: Clock;
  config: Pick<Config, 'teamId'>;
  signer: NodeSigner;
  peers: PeerDirectory;
  incidents: IncidentService;
  audit: AuditLog;
  /** Called after a commit that queued messages: lets the worker deliver without waiting for its next poll. */
  onQueued: () => void;
}

export interface ShareService {
  share(ref: string, peerTeam: string, actor: Actor): Promise<Share>;
  listShares(ref: string): Promise<Share[]>;
  requestInvestigation(ref: string, input: InvestigationCreate, actor: Actor): Promise<Investigation>;
  answerInvestigation(ref: string, id: string, answer: InvestigationAnswer, actor: Actor): Promise<Investigation>;
  listInvestigations(ref: string): Promise<Investigation[]>;
  /** Queues a signed message inside the caller's transaction (the outbox row and the feed item). */
  enqueue(tx: Tx, message: OutgoingMessage, incidentId: string | null): Promise<SignedMessage>;
}

/** Journal kinds of our own team that travel to linked peers as incident.update. */
const TRAVELLING_KINDS = new Set(['note', 'phase-changed', 'updated']);

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

const SCALAR = (v: unknown): v is string | number | null => v === null || typeof v === 'number' || (typeof v === 'string' && v.length <= 2000);

/** A journal entry of ours as the change an incident.update carries. Null when it does not travel. */
export function changeFromEntry(entry: JournalEntry): IncidentChange | null {
  const base = { at: entry.at, actor: entry.actor };
  if (entry.kind === 'note' && entry.note) return { kind: 'note', ...base, note: entry.note };
  if (entry.kind === 'phase-changed' && entry.changes) {
    const { from, to } = entry.changes as { from?: unknown; to?: unknown };
    if (typeof from === 'string' && typeof to === 'string') return { kind: 'phase-changed', ...base, phase: { from, to } as NonNullable<IncidentChange['phase']> };
    return null;
  }
  if (entry.kind === 'updated' && entry.changes) {
    const fields: NonNullable<IncidentChange['fields']> = [];
    for (const [field, description] of Object.entries(entry.changes)) {
      if (!(INCIDENT_FIELDS as readonly string[]).includes(field)) continue;
      const d = (description ?? {}) as Record<string, unknown>;
      const name = field as (typeof INCIDENT_FIELDS)[number];
      if (d['unit'] === 'items' && typeof d['from'] === 'number' && typeof d['to'] === 'number') fields.push({ field: name, from: d['from'], to: d['to'], unit: 'items' });
      else if ('from' in d && 'to' in d && SCALAR(d['from']) && SCALAR(d['to'])) fields.push({ field: name, from: d['from'], to: d['to'] });
      else fields.push({ field: name, replaced: true });
    }
    return fields.length ? { kind: 'updated', ...base, fields } : null;
  }
  return null;
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
      throw new ProblemError('validation-failed', `hosts[${i}] needs an ip or a hostname`, { errors: [{ location: 'body', pointer: `${pointer}/${i}`, message: 'ip or hostname required' }] });
    }
    if (h.ip && !isIpAddress(h.ip)) {
      throw new ProblemError('validation-failed', `hosts[${i}].ip is not an IP address`, { errors: [{ location: 'body', pointer: `${pointer}/${i}/ip`, message: 'not an IPv4 or IPv6 address' }] });
    }
  });
}

export function createShareService(deps: ShareDeps): ShareService {
  const { db, clock, config, signer, peers, incidents, audit } = deps;

  async function enqueue(tx: Tx, message: OutgoingMessage, incidentId: string | null): Promise<SignedMessage> {
    const at = clock();
    const signed = await signMessage(newDocument(config.teamId, at, message), signer);
    await insertOutbound(tx, {
      id: signed.id,
      peerTeam: message.to,
      incidentId,
      type: message.type,
      tlp: message.tlp,
      document: signed.documentText,
      signature: signed.signature,
      at,
    });
    await appendFeedItem(tx, message.to, signed.id, at);
    return signed;
  }

  async function mustFindIncident(dbOrTx: Db | Tx, ref: string, forUpdate = false): Promise<Incident> {
    const incident = await findIncident(dbOrTx, ref, forUpdate);
    if (!incident) throw new ProblemError('not-found', `no incident ${ref}`);
    return incident;
  }

  async function activePeer(tx: Tx, teamId: string): Promise<PeerRecord> {
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
      nextAttemptAt: pending && report ? report.nextAttemptAt : null,
      receiptAt: report?.deliveredAt ?? null,
      pendingUpdates,
      createdAt: link.createdAt,
      createdBy: link.createdBy,
    };
  }

  async function shareState(dbOrTx: Db | Tx, link: LinkRow): Promise<Share> {
    const report = link.reportMessageId ? await findOutbound(dbOrTx, link.reportMessageId) : null;
    const pendingUpdates = await countPending(dbOrTx, link.incidentId, link.peerTeam, link.reportMessageId);
    return shareOf(link, report, pendingUpdates);
  }

  // Later changes of a linked incident travel to every linked peer. Only our own team's entries
  // travel: a peer's update recorded here is never echoed back, nor relayed to third teams
  // (relaying another team's information is the policy's decision, issue 4).
  incidents.addListener(async (tx, incident, entry) => {
    if (entry.team !== config.teamId || !TRAVELLING_KINDS.has(entry.kind)) return;
    const links = await listLinks(tx, incident.id);
    if (links.length === 0) return;
    const change = changeFromEntry(entry);
    if (!change) return;
    for (const link of links) {
      if (link.direction === 'outgoing' && link.reportMessageId) {
        // A report that failed for good left the peer without the incident: updates would fail too.
        const report = await findOutbound(tx, link.reportMessageId);
        if (report?.state === 'failed') continue;
      }
      const body: IncidentUpdateBody = { ref: incident.ref, ...(link.peerRef ? { peerRef: link.peerRef } : {}), change };
      await enqueue(tx, { type: 'incident.update', to: link.peerTeam, tlp: incident.tlp, body }, incident.id);
    }
    deps.onQueued();
  });

  return {
    enqueue,

    async share(ref, peerTeam, actor) {
      const share = await db.transaction().execute(async (tx) => {
        const incident = await mustFindIncident(tx, ref, true);
        const peer = await activePeer(tx, peerTeam);
        const existing = await findLink(tx, incident.id, peer.teamId);
        if (existing) {
          if (existing.direction === 'incoming') {
            throw new ProblemError('already-shared', `the incident came from "${peer.teamId}"; changes already travel back to it`);
          }
          const report = existing.reportMessageId ? await findOutbound(tx, existing.reportMessageId) : null;
          if (report?.state !== 'failed') throw new ProblemError('already-shared', `the incident is already shared with "${peer.teamId}"`);
        }
        const body: IncidentReportBody = { ref: incident.ref, phase: incident.phase, incident: reportContent(incident) };
        const message = await enqueue(tx, { type: 'incident.report', to: peer.teamId, tlp: incident.tlp, body }, incident.id);
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
        await incidents.appendInTx(tx, incident.id, { kind: 'shared', actor, changes: { peer: peer.teamId, messageId: message.id, again: Boolean(existing) } });
        // The policy issue turns this into a real decision; today a handler's share is the decision.
        await audit.append(tx, {
          kind: 'disclosure',
          actor: actor.subject,
          incidentId: incident.id,
          peer: peer.teamId,
          decision: 'allow',
          details: { purpose: 'direct-notification', messageId: message.id, type: 'incident.report', ref: incident.ref, tlp: incident.tlp },
        });
        const link = (await findLink(tx, incident.id, peer.teamId))!;
        return shareState(tx, link);
      });
      deps.onQueued();
      return share;
    },

    async listShares(ref) {
      const incident = await mustFindIncident(db, ref);
      const links = await listLinks(db, incident.id);
      const shares: Share[] = [];
      for (const link of links) shares.push(await shareState(db, link));
      return shares;
    },

    async requestInvestigation(ref, input, actor) {
      checkHosts(input.hosts, '/hosts');
      const investigation = await db.transaction().execute(async (tx) => {
        const incident = await mustFindIncident(tx, ref, true);
        const peer = await activePeer(tx, input.peer);
        const link = await findLink(tx, incident.id, peer.teamId);
        const body: InvestigationRequestBody = {
          ref: incident.ref,
          ...(link?.peerRef ? { peerRef: link.peerRef } : {}),
          question: input.question,
          hosts: input.hosts,
          category: incident.category,
        };
        const message = await enqueue(tx, { type: 'investigation.request', to: peer.teamId, tlp: incident.tlp, body }, incident.id);
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
        await audit.append(tx, {
          kind: 'disclosure',
          actor: actor.subject,
          incidentId: incident.id,
          peer: peer.teamId,
          decision: 'allow',
          details: { purpose: 'investigation-request', messageId: message.id, type: 'investigation.request', ref: incident.ref, tlp: incident.tlp, hosts: input.hosts.length },
        });
        return (await findInvestigation(tx, message.id))!;
      });
      deps.onQueued();
      return toInvestigation(investigation);
    },

    async answerInvestigation(ref, id, answer, actor) {
      if (answer.hosts) checkHosts(answer.hosts, '/hosts');
      const investigation = await db.transaction().execute(async (tx) => {
        const incident = await mustFindIncident(tx, ref, true);
        const row = await findInvestigation(tx, id, true);
        if (!row || row.incidentId !== incident.id) throw new ProblemError('not-found', `no investigation ${id} on ${incident.ref}`);
        if (row.direction !== 'incoming') throw new ProblemError('conflict', 'this node asked for that investigation; the peer answers it');
        if (row.state === 'answered') throw new ProblemError('conflict', 'the investigation was answered already');
        const peer = await peers.find(tx, row.peerTeam);
        if (!peer) throw new ProblemError('unknown-peer', `peer "${row.peerTeam}" was removed`);
        const body: InvestigationResultBody = {
          requestId: row.id,
          ref: incident.ref,
          peerRef: row.peerRef ?? '',
          finding: answer.finding,
          summary: answer.summary,
          ...(answer.hosts ? { hosts: answer.hosts } : {}),
        };
        const message = await enqueue(tx, { type: 'investigation.result', to: row.peerTeam, tlp: incident.tlp, inReplyTo: row.id, body }, incident.id);
        await answerInvestigation(tx, row.id, { finding: answer.finding, summary: answer.summary, hosts: answer.hosts ?? null, messageId: message.id, peerRef: null, at: clock() });
        await incidents.appendInTx(tx, incident.id, {
          kind: 'investigation-answered',
          actor,
          note: answer.summary,
          changes: { peer: row.peerTeam, requestId: row.id, messageId: message.id, finding: answer.finding },
        });
        await audit.append(tx, {
          kind: 'disclosure',
          actor: actor.subject,
          incidentId: incident.id,
          peer: row.peerTeam,
          decision: 'allow',
          details: { purpose: 'investigation-result', messageId: message.id, type: 'investigation.result', ref: incident.ref, tlp: incident.tlp, finding: answer.finding },
        });
        return (await findInvestigation(tx, row.id))!;
      });
      deps.onQueued();
      return toInvestigation(investigation);
    },

    async listInvestigations(ref) {
      const incident = await mustFindIncident(db, ref);
      return (await listInvestigations(db, incident.id)).map(toInvestigation);
    },
  };
}
