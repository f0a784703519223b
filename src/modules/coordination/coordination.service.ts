import type { FastifyBaseLogger } from 'fastify';
import type { Clock } from '../../clock.js';
import type { Config } from '../../config.js';
import type { Tx, Db } from '../../db/database.js';
import { ProblemError } from '../../http/problem.js';
import type { Tlp } from '../../../schemas/common.schema.js';
import type {
  ActivityRelatedBody,
  ActivitySummaryBody,
  ActivityWithdrawnBody,
  Observable,
  Overview,
  OverviewQuery,
  RelatedActivity,
  RelatedReport,
  ReportRef,
} from '../../../schemas/coordination.schema.js';
import type { ActivityRelatedDocument, ActivitySummaryDocument, ActivityWithdrawnDocument } from '../../../schemas/federation.schema.js';
import type { Incident, JournalEntry } from '../../../schemas/incident.schema.js';
import type { AuditLog } from '../audit/audit.module.js';
import type { FederationModule } from '../federation/federation.module.js';
import type { InboxOutcome } from '../federation/exchange/inbox.service.js';
import { reportContent } from '../federation/exchange/share.service.js';
import { listPeers } from '../federation/peers/peer.repository.js';
import type { PeerDirectory } from '../federation/peers/peer-directory.js';
import { lockChain } from '../audit/audit.repository.js';
import { findIncident } from '../incidents/incident.repository.js';
import type { Actor, IncidentService } from '../incidents/incident.service.js';
import { stricterTlp, summarise, type PolicyPayload } from '../policy/index.js';
import { effectiveTrustOf, payloadDigest, type SharingService } from '../sharing/index.js';
import {
  countBy,
  countByPeriod,
  dropQueuedSummaries,
  lastActivityMessage,
  lockOwnNotes,
  ipsOf,
  recordWarning,
  relatedCandidates,
  replaceObservables,
  reportKey,
  reportsWithObservable,
  sharedByTeams,
  summaryQueuedFor,
  upsertActivity,
  warningsFor,
  withdrawActivity,
  type ActivityRow,
  type OverviewWindow,
} from './coordination.repository.js';
import { observablesOf, relatedTo, type CorrelatedReport } from './observables.js';
import { mayNameMemberReport, RELATED_RULE } from './related-disclosure.js';

/**
 * Coordination (issue 4 item 5; domain §4: a coordinating CSIRT wants to be told of all activity
 * in its domain, to keep the overview and to warn other teams of related activity).
 *
 * - Member side: every change our team records on an incident (created, updated, phase
 *   changed) queues an `activity.summary` to each active coordinator, in the change's
 *   transaction, at the detail the sharing service allows for purpose `coordinator-feed`
 *   (deny: nothing, the decision audited). One queued summary per (incident, coordinator).
 * - Coordinator side: the inbox hands us `activity.summary` from members; we keep the newest
 *   per (team, ref) with its observables, correlate, and warn each member concerned with an
 *   `activity.related` once per (observable, member, related report).
 * - Member side again: an `activity.related` from our coordinator becomes a `related-activity`
 *   journal entry on each incident it names.
 * - Every node also keeps its own incidents in the same tables (own = true), so a coordinator
 *   that serves a constituency directly correlates its own incidents with its members' reports.
 */
export interface CoordinationDeps {
  db: Db;
  clock: Clock;
  config: Pick<Config, 'teamId'>;
  incidents: Pick<IncidentService, 'addListener' | 'appendInTx'>;
  peers: Pick<PeerDirectory, 'find'>;
  sharing: Pick<SharingService, 'decideAndRecord'>;
  audit: AuditLog;
  outbox: FederationModule['outbox'];
  log: FastifyBaseLogger;
}

export interface CoordinationService {
  /** The incident change listener (runs inside the change's transaction). */
  onIncidentChange(tx: Tx, incident: Incident, entry: JournalEntry): Promise<void>;
  /** Inbox handler: a member's activity.summary (coordinator side). */
  receiveSummary(tx: Tx, doc: ActivitySummaryDocument, actor: Actor): Promise<InboxOutcome>;
  /** Inbox handler: a member's activity.withdrawn (coordinator side): the report is forgotten. */
  receiveWithdrawn(tx: Tx, doc: ActivityWithdrawnDocument, actor: Actor): Promise<InboxOutcome>;
  /** Inbox handler: our coordinator's activity.related (member side). */
  receiveRelated(tx: Tx, doc: ActivityRelatedDocument, actor: Actor): Promise<InboxOutcome>;
  /** GET /api/v1/overview. */
  overview(query: OverviewQuery): Promise<Overview>;
}

/** Journal kinds of our own team that change what a summary says. Notes, shares and deliveries do not. */
const FEED_KINDS = new Set(['created', 'updated', 'phase-changed', 'label-changed']);
/** The journal kind of a related-activity warning, on the member's incident (and on our own). */
export const RELATED_ACTIVITY_KIND = 'related-activity';
const MAX_LINKS = 100;
const MAX_LIST = 100;

interface Report extends CorrelatedReport {
  row: ActivityRow;
}

function toReport(row: ActivityRow, ips: readonly string[] = []): Report {
  return { team: row.team, ref: row.ref, links: row.links, ips, row };
}

const relatedEntry = (row: ActivityRow): RelatedReport => ({ team: row.team, ref: row.ref, category: row.category, tlp: row.tlp });

function describe(observable: Observable): string {
  return observable.kind === 'network' ? `network ${observable.value}` : `${observable.kind} ${observable.value}`;
}

function warningNote(by: string, observable: Observable, related: readonly RelatedReport[], withheld: number): string {
  const named = related.map((r) => `${r.team} ${r.ref}`).join(', ');
  const parts = [`Related activity (${by}): ${describe(observable)} is also in`];
  if (named) parts.push(` ${named}`);
  if (withheld > 0) parts.push(`${named ? ' and' : ''} ${withheld} report(s) of other teams that ${by} may not name to us`);
  return `${parts.join('')}.`;
}

export function createCoordinationService(deps: CoordinationDeps): CoordinationService {
  const { db, clock, config, incidents, peers, sharing, audit, outbox, log } = deps;
  const ourTeam = config.teamId;

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

  /** Returns true when something was queued. */
  async function feedCoordinators(tx: Tx, incident: Incident): Promise<boolean> {
    const coordinators = await listPeers(tx, { relationship: 'coordinator', status: 'active' });
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
      const dropped = await dropQueuedSummaries(tx, incident.id, peer.teamId);
      await outbox.enqueue(
        tx,
        { type: 'activity.summary', to: peer.teamId, tlp: outcome.decision.tlp, body: outcome.content as ActivitySummaryBody },
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
    if ((await lastActivityMessage(tx, incident.id, coordinator)) !== 'activity.summary') return false;
    const dropped = await dropQueuedSummaries(tx, incident.id, coordinator);
    const reason: ActivityWithdrawnBody['reason'] = deniedBy.some((d) => d === 'red-channel' || d.startsWith('tlp-') || d.startsWith('provenance-')) ? 'label' : 'policy';
    const body: ActivityWithdrawnBody = { ref: incident.ref, version: incident.version, updatedAt: incident.updatedAt, reason };
    // The notice names only the reference number the coordinator holds already.
    const message = await outbox.enqueue(tx, { type: 'activity.withdrawn', to: coordinator, tlp: incident.tlp, body }, incident.id);
    await audit.append(tx, {
      kind: 'coordination.withdrawal',
      actor: 'node',
      incidentId: incident.id,
      peer: coordinator,
      decision: 'allow',
      details: { type: 'activity.withdrawn', messageId: message.id, ref: incident.ref, tlp: incident.tlp, reason, deniedBy, droppedQueuedSummaries: dropped, payloadSha256: payloadDigest(body) },
    });
    log.info({ peer: coordinator, messageId: message.id, reason }, 'activity summary withdrawn from the coordinator');
    return true;
  }

  // -------------------------------------------------------------------------------------------
  // Coordinator side: keeping reports, correlating, warning

  /** Our own incident, as the overview and correlation see it: everything but internal hosts. */
  async function recordOwn(tx: Tx, incident: Incident): Promise<boolean> {
    const summary = summarise(incident);
    const stored = await upsertActivity(tx, {
      team: ourTeam,
      ref: incident.ref,
      own: true,
      incidentId: incident.id,
      detail: 'own',
      category: incident.category,
      type: incident.type,
      phase: incident.phase,
      severity: incident.severity,
      tlp: incident.tlp,
      firstSeen: incident.firstSeen,
      lastSeen: incident.lastSeen,
      updated: incident.updatedAt,
      version: incident.version,
      summary: summary as unknown as Record<string, unknown>,
      links: incident.externalRefs.map((e) => ({ team: e.team, ref: e.ref })),
      messageId: null,
      at: clock(),
      firstReceivedAt: new Date(incident.createdAt),
    });
    if (!stored) return false;
    const observables = observablesOf({ hosts: incident.hosts, indicators: incident.indicators });
    await replaceObservables(tx, ourTeam, incident.ref, observables);
    // Members are warned now; our own incidents' journals are written from the inbox path only
    // (correlate explains why), and the overview shows the related activity meanwhile.
    return correlate(tx, observables, { noteOwn: false });
  }

  /**
   * Finds, for each observable, the reports of other teams related to each team's reports, and
   * warns each team of what it was not told yet. Returns true when a warning was queued.
   *
   * Lock order, so that a coordinator's concurrent transactions never wait on each other in a
   * cycle: an incident change holds its incident's row and, through other listeners, the audit
   * chain lock before it gets here. So (1) journal entries on our own incidents are written only
   * when `noteOwn` (the inbox path, which holds no incident yet), all of them first, in incident
   * id order, under a lock of their own; (2) member warnings are decided and written under the
   * audit chain lock, taken before the warnings given are read, so two transactions never both
   * find a pair un-warned and warn it twice.
   */
  async function correlate(tx: Tx, observables: readonly Observable[], options: { noteOwn: boolean }): Promise<boolean> {
    // Two members' reports of one host can arrive at once and be filed by two transactions (a
    // server runs two inbox transactions at a time, ADR 0009; several nodes may share it). Each
    // writes its observables, then reads; if both read before either commits, neither finds the
    // other and no one is ever warned. Inbox transactions therefore read under the own-notes
    // lock, held to commit: the later one reads after the earlier one's commit, and warns.
    if (options.noteOwn && observables.length > 0) await lockOwnNotes(tx);
    const ownNotes: Array<{ observable: Observable; mine: Report[]; others: Report[] }> = [];
    const memberWarnings: Array<{ observable: Observable; team: string; mine: Report[]; others: Report[] }> = [];
    for (const observable of observables) {
      // Most observables are one team's alone: tell that from the index, not by reading reports.
      if (!(await sharedByTeams(tx, observable.kind, observable.value))) continue;
      const rows = await reportsWithObservable(tx, observable.kind, observable.value);
      if (new Set(rows.map((r) => r.team)).size < 2) continue;
      const ips = observable.kind === 'network' ? await ipsOf(tx, rows) : new Map<string, string[]>();
      const reports = rows.map((r) => toReport(r, ips.get(reportKey(r)) ?? []));
      const related = relatedTo(observable.kind, observable.value, reports);
      // Per team: its reports concerned, and the other teams' reports related to them.
      const byTeam = new Map<string, { mine: Map<string, Report>; others: Map<string, Report> }>();
      for (const [a, others] of related) {
        const entry = byTeam.get(a.team) ?? { mine: new Map(), others: new Map() };
        entry.mine.set(reportKey(a), a as Report);
        for (const o of others) entry.others.set(reportKey(o), o as Report);
        byTeam.set(a.team, entry);
      }
      for (const [team, { mine, others }] of byTeam) {
        const work = { observable, mine: [...mine.values()], others: [...others.values()] };
        if (team === ourTeam) {
          if (options.noteOwn) ownNotes.push(work);
        } else memberWarnings.push({ ...work, team });
      }
    }
    if (ownNotes.length > 0) await noteOwn(tx, ownNotes); // under the own-notes lock, taken above
    if (memberWarnings.length > 0) await lockChain(tx);
    let queued = false;
    for (const w of memberWarnings) if (await warnMember(tx, w.observable, w.team, w.mine, w.others)) queued = true;
    return queued;
  }

  /**
   * Our own incidents get a journal entry naming every related report (it stays in the team),
   * once per (observable, related report). Written in incident id order (see correlate).
   */
  async function noteOwn(tx: Tx, work: Array<{ observable: Observable; mine: Report[]; others: Report[] }>): Promise<void> {
    const entries: Array<{ incidentId: string; observable: Observable; related: RelatedReport[] }> = [];
    const toRecord: Array<{ observable: Observable; other: Report }> = [];
    for (const { observable, mine, others } of work) {
      const already = await warningsFor(tx, observable.kind, observable.value, ourTeam);
      const fresh = others.filter((o) => !already.has(reportKey(o)));
      if (fresh.length === 0) continue;
      const related = fresh.slice(0, MAX_LIST).map((o) => relatedEntry(o.row));
      for (const report of mine) if (report.row.incidentId) entries.push({ incidentId: report.row.incidentId, observable, related });
      for (const other of fresh) toRecord.push({ observable, other });
    }
    entries.sort((a, b) => (a.incidentId < b.incidentId ? -1 : a.incidentId > b.incidentId ? 1 : 0));
    for (const e of entries) {
      await incidents.appendInTx(tx, e.incidentId, {
        kind: RELATED_ACTIVITY_KIND,
        actor: { subject: 'coordination', team: ourTeam },
        note: warningNote('this node', e.observable, e.related, 0),
        changes: { observable: e.observable, related: e.related, withheld: 0, coordinator: ourTeam },
      });
    }
    const at = clock();
    for (const r of toRecord) await recordWarning(tx, { ...r.observable, team: ourTeam, other: r.other, named: true, messageId: null, at });
  }

  /**
   * Warns member `team` about the related reports it was not told of yet, naming each only as
   * far as it may see it (related-disclosure.ts for members' reports; the sharing service for
   * our own incidents). Returns true when a notice was queued.
   */
  async function warnMember(tx: Tx, observable: Observable, team: string, mine: Report[], others: Report[]): Promise<boolean> {
    const peer = await peers.find(tx, team);
    // Warnings go to our members we exchange with; a former member's reports still count for the others.
    if (!peer || peer.relationship !== 'member' || peer.status !== 'active') return false;
    const already = await warningsFor(tx, observable.kind, observable.value, team);
    let trust: Awaited<ReturnType<typeof effectiveTrustOf>> | null = null;

    const named: RelatedReport[] = [];
    let withheld = 0;
    const decided: Array<{ report: Report; named: boolean; reason: string }> = [];
    for (const other of others) {
      const before = already.get(reportKey(other));
      if (before === true) continue; // told already: never repeat a warning
      let decision: { named: boolean; reason: string; entry: RelatedReport };
      if (other.row.own && other.row.incidentId) {
        const incident = await findIncident(tx, other.row.incidentId);
        if (!incident) continue;
        const outcome = await sharing.decideAndRecord(tx, incident, { teamId: team }, 'direct', {
          actor: 'node',
          render: (payload) => ({ ...relatedEntry(other.row), tlp: payload.detail === 'full' ? payload.incident.tlp : payload.summary.tlp }),
          details: { type: 'activity.related', observableKind: observable.kind },
        });
        decision = {
          named: outcome.allow,
          reason: outcome.allow ? 'the sharing policy allows direct disclosure' : `the sharing policy denies it: ${outcome.deniedBy.join(', ')}`,
          entry: outcome.allow ? (outcome.content as RelatedReport) : relatedEntry(other.row),
        };
      } else {
        trust ??= await effectiveTrustOf(tx, peer);
        decision = { ...mayNameMemberReport(other.row.tlp, trust.level), entry: relatedEntry(other.row) };
      }
      if (before === false && !decision.named) continue; // counted before, still not nameable: nothing new
      const isNamed = decision.named && named.length < MAX_LIST;
      if (isNamed) named.push(decision.entry);
      else withheld += 1;
      decided.push({ report: other, named: isNamed, reason: decision.reason });
    }
    if (decided.length === 0) return false;

    const refs = [...new Set(mine.map((m) => m.ref))].sort().slice(0, MAX_LIST);
    // The notice repeats the member's own observable and names reports under their labels: it
    // carries the strictest of those labels and of the member's own reports concerned.
    let tlp: Tlp = 'CLEAR';
    for (const m of mine) tlp = stricterTlp(tlp, m.row.tlp);
    for (const n of named) tlp = stricterTlp(tlp, n.tlp);
    const body: ActivityRelatedBody = { refs, observable, related: named, withheld };
    const message = await outbox.enqueue(tx, { type: 'activity.related', to: team, tlp, body }, null);
    await audit.append(tx, {
      kind: 'coordination.warning',
      actor: 'node',
      peer: team,
      decision: 'allow',
      // Ids, reference numbers and reasons only: the observable's value is incident content.
      details: {
        type: 'activity.related',
        messageId: message.id,
        rule: RELATED_RULE,
        observableKind: observable.kind,
        refs,
        named: named.map((n) => ({ team: n.team, ref: n.ref, tlp: n.tlp })),
        withheld,
        reasons: decided.map((d) => `${d.report.team} ${d.report.ref}: ${d.named ? 'named' : 'withheld'}: ${d.reason}`),
        payloadSha256: payloadDigest(body),
      },
    });
    const at = clock();
    for (const d of decided) await recordWarning(tx, { ...observable, team, other: d.report, named: d.named, messageId: message.id, at });
    log.info({ peer: team, messageId: message.id, named: named.length, withheld }, 'related activity: member warned');
    return true;
  }

  return {
    async onIncidentChange(tx, incident, entry) {
      // Only our own team's changes: a received report is filed before its provenance is
      // recorded, so deciding on it at filing time would miss the originator's limits; it
      // joins the feed when our handlers change it (the decision then enforces them).
      if (!FEED_KINDS.has(entry.kind) || entry.team !== ourTeam) return;
      const warned = await recordOwn(tx, incident);
      const fed = await feedCoordinators(tx, incident);
      if (warned || fed) outbox.kick();
    },

    async receiveSummary(tx, doc) {
      const peer = await peers.find(tx, doc.from);
      if (!peer || peer.relationship !== 'member') {
        throw new ProblemError('not-a-member', `"${doc.from}" is not a member team of this node; activity summaries are accepted from members only`);
      }
      const { detail, summary, incident, links } = doc.body;
      if ((detail === 'full') !== (incident !== undefined)) {
        throw new ProblemError('validation-failed', 'body.incident goes with detail full, and only with it', {
          errors: [{ location: 'document', pointer: '/body/incident', message: detail === 'full' ? 'required with detail full' : 'only with detail full' }],
        });
      }
      const tlp = stricterTlp(doc.tlp, summary.tlp);
      if (tlp === 'RED') {
        // TLP:RED never goes in a feed (docs/trust-model.md): a member that sends it is wrong.
        throw new ProblemError('validation-failed', 'TLP:RED never goes in an activity feed', {
          errors: [{ location: 'document', pointer: '/tlp', message: 'RED is not accepted in activity.summary' }],
        });
      }
      const stored = await upsertActivity(tx, {
        team: doc.from,
        ref: summary.ref,
        own: false,
        incidentId: null,
        detail,
        category: summary.category,
        type: summary.type,
        phase: summary.phase,
        severity: summary.severity,
        tlp,
        firstSeen: summary.firstSeen,
        lastSeen: summary.lastSeen,
        updated: summary.updatedAt,
        version: summary.version,
        summary: summary as unknown as Record<string, unknown>,
        links: links.filter((l: ReportRef) => l.team !== doc.from),
        messageId: doc.id,
        at: clock(),
        firstReceivedAt: clock(),
      });
      // An older summary than the one we hold (a retry overtaken by a newer one) changes nothing.
      if (stored) {
        const observables = observablesOf({
          hosts: [...summary.hosts, ...(incident?.hosts ?? [])],
          indicators: [...summary.indicators, ...(incident?.indicators ?? [])],
        });
        await replaceObservables(tx, doc.from, summary.ref, observables);
        // The notices are queued in this transaction; a kick before the commit finds nothing
        // only on a multi-connection engine, and then the worker's next poll sends them.
        if (await correlate(tx, observables, { noteOwn: true })) outbox.kick();
      }
      return { status: 'applied', incidentId: null, ref: null };
    },

    async receiveWithdrawn(tx, doc) {
      const peer = await peers.find(tx, doc.from);
      if (!peer || peer.relationship !== 'member') {
        throw new ProblemError('not-a-member', `"${doc.from}" is not a member team of this node; activity withdrawals are accepted from members only`);
      }
      const { ref, version, updatedAt, reason } = doc.body;
      const applied = await withdrawActivity(tx, { team: doc.from, ref, version, updated: new Date(updatedAt), reason, messageId: doc.id, at: clock() });
      await audit.append(tx, {
        kind: 'coordination.withdrawal',
        actor: doc.from,
        peer: doc.from,
        decision: applied ? 'allow' : 'deny',
        details: { type: 'activity.withdrawn', messageId: doc.id, ref, reason, applied },
      });
      return { status: 'applied', incidentId: null, ref: null };
    },

    async receiveRelated(tx, doc) {
      const peer = await peers.find(tx, doc.from);
      if (!peer || peer.relationship !== 'coordinator') {
        throw new ProblemError('not-our-coordinator', `"${doc.from}" does not coordinate this node; related-activity warnings are accepted from coordinators only`);
      }
      const { refs, observable, related, withheld } = doc.body;
      const filed: Incident[] = [];
      for (const ref of new Set(refs)) {
        const incident = await findIncident(tx, ref);
        // Only incidents we reported to this coordinator: it cannot write on any other.
        if (!incident || incident.ref !== ref || !(await summaryQueuedFor(tx, incident.id, doc.from))) continue;
        await incidents.appendInTx(tx, incident.id, {
          kind: RELATED_ACTIVITY_KIND,
          actor: { subject: doc.from, team: doc.from },
          note: warningNote(doc.from, observable, related, withheld),
          changes: { observable, related, withheld, coordinator: doc.from, messageId: doc.id },
        });
        filed.push(incident);
      }
      const first = filed[0];
      if (!first) throw new ProblemError('unknown-incident', `none of ${refs.length} reference number(s) is an incident this node reported to ${doc.from}`);
      return { status: 'noted', incidentId: first.id, ref: first.ref };
    },

    async overview(query) {
      const since = query.since ? new Date(query.since) : undefined;
      const until = query.until ? new Date(query.until) : undefined;
      if (since && until && since.getTime() >= until.getTime()) {
        throw new ProblemError('validation-failed', 'since must be before until', {
          errors: [{ location: 'querystring', pointer: '/until', message: 'must be after since' }],
        });
      }
      const period = query.period ?? 'week';
      const window: OverviewWindow = { ...(since ? { since } : {}), ...(until ? { until } : {}), ...(query.team ? { team: query.team } : {}) };
      const [byTeam, byCategory, byPhase, byPeriod] = [
        await countBy(db, window, 'team'),
        await countBy(db, window, 'category'),
        await countBy(db, window, 'phase'),
        await countByPeriod(db, window, period),
      ];
      return {
        team: ourTeam,
        since: since ? since.toISOString() : null,
        until: until ? until.toISOString() : null,
        period,
        total: Object.values(byTeam).reduce((a, b) => a + b, 0),
        byTeam,
        byCategory,
        byPhase,
        byPeriod,
        related: await relatedActivity(window, query.limit ?? 100),
      };
    },
  };

  async function relatedActivity(window: OverviewWindow, limit: number): Promise<RelatedActivity[]> {
    const candidates = await relatedCandidates(db, window);
    const groups = new Map<string, { kind: Observable['kind']; value: string; rows: ActivityRow[] }>();
    for (const c of candidates) {
      const k = `${c.kind}\u0000${c.value}`;
      const g = groups.get(k) ?? { kind: c.kind, value: c.value, rows: [] };
      g.rows.push(c.report);
      groups.set(k, g);
    }
    const networkRows = [...groups.values()].filter((g) => g.kind === 'network').flatMap((g) => g.rows);
    const ips = await ipsOf(db, networkRows);
    const out: RelatedActivity[] = [];
    for (const g of groups.values()) {
      const reports = g.rows.map((r) => toReport(r, ips.get(reportKey(r)) ?? []));
      const related = relatedTo(g.kind, g.value, reports);
      const participants = reports.filter((r) => related.has(r));
      const teams = [...new Set(participants.map((r) => r.team))].sort();
      if (teams.length < 2) continue;
      if (window.team && !teams.includes(window.team)) continue;
      out.push({
        kind: g.kind,
        value: g.value,
        teams,
        reports: participants.map((r) => ({ team: r.team, ref: r.ref, own: r.row.own, category: r.row.category, phase: r.row.phase, tlp: r.row.tlp, updated: r.row.updated })),
      });
    }
    out.sort((a, b) => b.teams.length - a.teams.length || (a.kind < b.kind ? -1 : a.kind > b.kind ? 1 : a.value < b.value ? -1 : a.value > b.value ? 1 : 0));
    return out.slice(0, limit);
  }
}
