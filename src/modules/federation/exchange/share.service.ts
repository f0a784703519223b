import type { Clock } from '../../../clock.js';
import type { Config } from '../../../config.js';
import type { NodeSigner } from '../../../crypto/index.js';
import type { Db, Tx } from '../../../db/database.js';
import { ProblemError } from '../../../http/problem.js';
import type { Incident, JournalEntry } from '../../../../schemas/incident.schema.js';
import { TLP_LABELS, type Tlp } from '../../../../schemas/common.schema.js';
import type { AuditLog } from '../../audit/audit.module.js';
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
import type { PolicyDecision } from '../../../../schemas/policy.schema.js';
import { findIncident } from '../../incidents/incident.repository.js';
import type { Actor, IncidentService } from '../../incidents/incident.service.js';
import { mayNotifyLabelTightening, scrubberFor, tlpRank, type PolicyPayload, type Scrubber } from '../../policy/index.js';
import { payloadDigest, policyDenied, type RecordOptions, type SharingOutcome, type SharingService } from '../../sharing/index.js';
import { isIpAddress } from '../../sites/network-scope.js';
import type { PeerDirectory, PeerRecord } from '../peers/peer-directory.js';
import {
  answerInvestigation,
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
  signer: NodeSigner;
  peers: PeerDirectory;
  incidents: IncidentService;
  sharing: Pick<SharingService, 'evaluate' | 'record'>;
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
  /** Queues a signed message inside the caller's transaction (its outbox row). The caller has asked the sharing policy. */
  enqueue(tx: Tx, message: OutgoingMessage, incidentId: string | null): Promise<SignedMessage>;
}

/**
 * Journal kinds of our own team that travel to linked peers as incident.update. `label-changed`
 * is this node applying a label its originator set on our copy: it travels on to the holders we
 * passed the copy to, never back upstream.
 */
const TRAVELLING_KINDS = new Set(['note', 'phase-changed', 'updated', 'label-changed']);

/** The label a journal entry tightened, if it did: an `updated` entry's tlp field, or a `label-changed` entry. */
export function labelTighteningOf(entry: JournalEntry): { from: Tlp; to: Tlp } | null {
  const changes = (entry.changes ?? {}) as Record<string, unknown>;
  const d = (entry.kind === 'updated' ? changes['tlp'] : entry.kind === 'label-changed' ? changes : undefined) as { from?: unknown; to?: unknown } | undefined;
  const isTlp = (v: unknown): v is Tlp => typeof v === 'string' && (TLP_LABELS as readonly string[]).includes(v);
  if (!d || !isTlp(d.from) || !isTlp(d.to) || tlpRank(d.to) <= tlpRank(d.from)) return null;
  return { from: d.from, to: d.to };
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

/** Fields whose values in a change are enumerations or times: at summary detail they may travel as they are. */
const SUMMARY_FIELDS = new Set(['category', 'type', 'severity', 'tlp', 'phase', 'firstSeen', 'lastSeen']);

/**
 * A change as the policy lets it go to one peer. At full detail every text it carries (a note,
 * any changed field's old and new value) loses the identifiers the decision hides, exactly as
 * the incident's own fields do (redaction by identifier, docs/trust-model.md §6). At summary
 * detail only what a summary may carry travels: that a note was added (not its text), phases,
 * labels and other enumerations, item counts; any other field's values are replaced by
 * `replaced: true`.
 */
export function redactChange(change: IncidentChange, incident: Incident, payload: PolicyPayload, decision: PolicyDecision): IncidentChange {
  if (payload.detail === 'summary') {
    const { note: _note, ...rest } = change;
    return change.fields
      ? { ...rest, fields: change.fields.map((f) => (SUMMARY_FIELDS.has(f.field) || f.unit === 'items' || f.replaced ? f : { field: f.field, replaced: true as const })) }
      : rest;
  }
  const scrubber = scrubberFor(incident, decision);
  if (scrubber.empty) return change;
  const scrub = (text: string): string => scrubber.scrub(text).text;
  return {
    ...change,
    ...(change.note !== undefined ? { note: scrub(change.note) } : {}),
    ...(change.fields
      ? {
          fields: change.fields.map((f) =>
            SUMMARY_FIELDS.has(f.field)
              ? f
              : { ...f, ...(typeof f.from === 'string' ? { from: scrub(f.from) } : {}), ...(typeof f.to === 'string' ? { to: scrub(f.to) } : {}) },
          ),
        }
      : {}),
  };
}

/** Hosts of an investigation as they may go to a peer: one that names a hidden identifier is left out, texts scrubbed. */
function scrubHosts<T extends { ip?: string; hostname?: string; description?: string }>(hosts: T[], scrubber: Scrubber): T[] {
  return hosts.flatMap((h) => {
    if ((h.ip && scrubber.scrub(h.ip).sections.length > 0) || (h.hostname && scrubber.scrub(h.hostname).sections.length > 0)) return [];
    return [h.description !== undefined ? { ...h, description: scrubber.scrub(h.description).text } : h];
  });
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
  if (entry.kind === 'label-changed' && entry.changes) {
    const { from, to } = entry.changes as { from?: unknown; to?: unknown };
    if (typeof from === 'string' && typeof to === 'string') return { kind: 'updated', ...base, fields: [{ field: 'tlp', from, to }] };
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
  const { db, clock, config, signer, peers, incidents, sharing } = deps;

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
  // (relaying another team's information is the policy's `relay` purpose, not an update).
  // Each peer gets what the policy lets it have NOW: a new label, a lower trust or a suspension
  // since the share refuses the update for that peer (recorded, never sent) or redacts it.
  incidents.addListener(async (tx, incident, entry) => {
    if (entry.team !== config.teamId || !TRAVELLING_KINDS.has(entry.kind)) return;
    const links = await listLinks(tx, incident.id);
    if (links.length === 0) return;
    const change = changeFromEntry(entry);
    if (!change) return;
    const tightened = labelTighteningOf(entry);
    let queued = false;
    for (const link of links) {
      // The team that told us of the new label, and anyone upstream of our copy, knows it already.
      if (entry.kind === 'label-changed' && link.direction !== 'outgoing') continue;
      if (link.direction === 'outgoing' && link.reportMessageId) {
        // A report that failed for good left the peer without the incident: updates would fail too.
        const report = await findOutbound(tx, link.reportMessageId);
        if (report?.state === 'failed') continue;
      }
      const options: RecordOptions = {
        actor: entry.actor,
        render: (payload, decision): IncidentUpdateBody => ({
          ref: incident.ref,
          ...(link.peerRef ? { peerRef: link.peerRef } : {}),
          change: redactChange(change, incident, payload, decision),
        }),
      };
      const outcome = await sharing.evaluate(tx, incident, { teamId: link.peerTeam }, 'direct', options);
      let messageId: string | null = null;
      if (outcome.allow) {
        messageId = (await enqueue(tx, { type: 'incident.update', to: link.peerTeam, tlp: outcome.decision.tlp, body: outcome.content as IncidentUpdateBody }, incident.id)).id;
        queued = true;
      }
      await sharing.record(tx, incident, outcome, { ...options, details: { type: 'incident.update', messageId, journalEntry: entry.id } });
      if (!outcome.allow && tightened && (await notifyLabelTightening(tx, incident, link, entry, tightened))) queued = true;
    }
    if (queued) deps.onQueued();
  });

  /**
   * A holder the policy now refuses the update (a report raised to RED it is not named on) is
   * still told the label tightened: without it, it would go on sharing the report under the old
   * label. The notice carries our and its reference numbers and the two labels, nothing else;
   * it is audited as `disclosure.label-notice`. Returns true when queued.
   */
  async function notifyLabelTightening(tx: Tx, incident: Incident, link: LinkRow, entry: JournalEntry, label: { from: Tlp; to: Tlp }): Promise<boolean> {
    const verdict = mayNotifyLabelTightening(label.from, label.to, true);
    if (!verdict.allow) return false;
    const body: IncidentUpdateBody = {
      ref: incident.ref,
      ...(link.peerRef ? { peerRef: link.peerRef } : {}),
      change: { kind: 'updated', at: entry.at, actor: entry.actor, fields: [{ field: 'tlp', from: label.from, to: label.to }] },
    };
    const message = await enqueue(tx, { type: 'incident.update', to: link.peerTeam, tlp: label.to, body }, incident.id);
    await deps.audit.append(tx, {
      kind: 'disclosure.label-notice',
      actor: entry.actor,
      incidentId: incident.id,
      peer: link.peerTeam,
      decision: 'allow',
      details: { ref: incident.ref, type: 'incident.update', messageId: message.id, journalEntry: entry.id, from: label.from, to: label.to, reason: verdict.reason, payloadSha256: payloadDigest(body) },
    });
    return true;
  }

  return {
    enqueue,

    async share(ref, peerTeam, actor) {
      const result = await db.transaction().execute(async (tx): Promise<{ share: Share } | { denied: SharingOutcome }> => {
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
        // The handler chose this peer: its need to know, remembered for later updates and the pull feed.
        const options: RecordOptions = { actor: actor.subject, chosenByHandler: true, render: (payload, decision) => reportBodyOf(incident, payload, decision) };
        const outcome = await sharing.evaluate(tx, incident, { teamId: peer.teamId }, 'direct', options);
        if (!outcome.allow) {
          // Nothing is queued; the refusal is recorded and this transaction commits so it stays so.
          await sharing.record(tx, incident, outcome, { ...options, details: { type: 'incident.report', messageId: null } });
          return { denied: outcome };
        }
        const { decision } = outcome;
        const message = await enqueue(tx, { type: 'incident.report', to: peer.teamId, tlp: decision.tlp, body: outcome.content as IncidentReportBody }, incident.id);
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
          changes: { peer: peer.teamId, messageId: message.id, again: Boolean(existing), tlp: decision.tlp, redactions: decision.redactions.map((r) => r.section) },
        });
        await sharing.record(tx, incident, outcome, { ...options, details: { type: 'incident.report', messageId: message.id } });
        const link = (await findLink(tx, incident.id, peer.teamId))!;
        const state = await shareState(tx, link);
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
      for (const link of links) shares.push(await shareState(db, link));
      return shares;
    },

    async requestInvestigation(ref, input, actor) {
      checkHosts(input.hosts, '/hosts');
      const result = await db.transaction().execute(async (tx): Promise<{ row: InvestigationRow } | { denied: SharingOutcome }> => {
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
          await sharing.record(tx, incident, outcome, { ...options, details: { type: 'investigation.request', messageId: null } });
          return { denied: outcome };
        }
        const sent = outcome.content as InvestigationRequestBody;
        if (sent.hosts.length === 0) {
          throw new ProblemError('validation-failed', `every host named is one the sharing policy hides from "${peer.teamId}" (a target or an internal host); nothing was sent`, {
            errors: [{ location: 'body', pointer: '/hosts', message: 'no host may go to this peer' }],
          });
        }
        const message = await enqueue(tx, { type: 'investigation.request', to: peer.teamId, tlp: outcome.decision.tlp, body: sent }, incident.id);
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
        await sharing.record(tx, incident, outcome, { ...options, details: { type: 'investigation.request', messageId: message.id, hosts: input.hosts.length } });
        return { row: (await findInvestigation(tx, message.id))! };
      });
      if ('denied' in result) throw policyDenied(result.denied);
      deps.onQueued();
      return toInvestigation(result.row);
    },

    async answerInvestigation(ref, id, answer, actor) {
      if (answer.hosts) checkHosts(answer.hosts, '/hosts');
      const result = await db.transaction().execute(async (tx): Promise<{ row: InvestigationRow } | { denied: SharingOutcome }> => {
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
        // A reply: what the handler wrote for the team that asked. The policy still decides
        // whether this incident may be talked about with it (a RED incident it is not named on,
        // a peer no longer trusted or suspended: refused) and under which label.
        const render = (_payload: PolicyPayload, decision: PolicyDecision): InvestigationResultBody => {
          const scrubber = scrubberFor(incident, decision);
          if (scrubber.empty) return body;
          return { ...body, summary: scrubber.scrub(body.summary).text, ...(body.hosts ? { hosts: scrubHosts(body.hosts, scrubber) } : {}) };
        };
        const options: RecordOptions = { actor: actor.subject, chosenByHandler: true, rememberChoice: false, render };
        const outcome = await sharing.evaluate(tx, incident, { teamId: row.peerTeam }, 'direct', options);
        if (!outcome.allow) {
          await sharing.record(tx, incident, outcome, { ...options, details: { type: 'investigation.result', messageId: null, requestId: row.id } });
          return { denied: outcome };
        }
        const message = await enqueue(
          tx,
          { type: 'investigation.result', to: row.peerTeam, tlp: outcome.decision.tlp, inReplyTo: row.id, body: outcome.content as InvestigationResultBody },
          incident.id,
        );
        await answerInvestigation(tx, row.id, { finding: answer.finding, summary: answer.summary, hosts: answer.hosts ?? null, messageId: message.id, peerRef: null, at: clock() });
        await incidents.appendInTx(tx, incident.id, {
          kind: 'investigation-answered',
          actor,
          note: answer.summary,
          changes: { peer: row.peerTeam, requestId: row.id, messageId: message.id, finding: answer.finding },
        });
        await sharing.record(tx, incident, outcome, { ...options, details: { type: 'investigation.result', messageId: message.id, requestId: row.id, finding: answer.finding } });
        return { row: (await findInvestigation(tx, row.id))! };
      });
      if ('denied' in result) throw policyDenied(result.denied);
      deps.onQueued();
      return toInvestigation(result.row);
    },

    async listInvestigations(ref) {
      const incident = await mustFindIncident(db, ref);
      return (await listInvestigations(db, incident.id)).map(toInvestigation);
    },
  };
}
