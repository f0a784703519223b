import type { Tx, DbOrTx } from '../../db/database.js';

import type { Tlp } from '../../../schemas/common.schema.js';
import type { ActivityRelatedBody, Observable, RelatedActivity, RelatedReport } from '../../../schemas/coordination.schema.js';

import type { Incident } from '../../../schemas/incident.schema.js';

import { lockChain } from '../audit/audit.module.js';
import { findIncident } from '../incidents/incidents.module.js';

import { stricterTlp, summarise } from '../policy/index.js';
import { effectiveTrustOf, payloadDigest } from '../sharing/index.js';
import {
  lockOwnNotes,
  ipsOf,
  recordWarning,
  relatedCandidates,
  replaceObservablesOf,
  reportKey,
  reportsWithObservable,
  sharedObservables,
  upsertOwnActivities,
  warningsFor,
  type ActivityRow,
  type OverviewWindow,
} from './coordination.repository.js';
import { observablesOf, relatedTo, type CorrelatedReport } from './observables.js';
import { mayNameMemberReport, RELATED_RULE } from './related-disclosure.js';

import { RELATED_ACTIVITY_KIND, type CoordinationDeps } from './coordination.service.js';

/**
 * The coordinator side: keeping reports with their observables, correlating them, and warning
 * each member concerned (and noting our own incidents) once per (observable, team, related
 * report), naming each report only as far as the recipient may see it.
 */
const MAX_LIST = 100;

export interface Report extends CorrelatedReport {
  row: ActivityRow;
}

export function toReport(row: ActivityRow, ips: readonly string[] = []): Report {
  return { team: row.team, ref: row.ref, links: row.links, ips, row };
}

export const relatedEntry = (row: ActivityRow): RelatedReport => ({
  team: row.team,
  ref: row.ref,
  category: row.category,
  tlp: row.tlp,
});

export function describe(observable: Observable): string {
  return observable.kind === 'network' ? `network ${observable.value}` : `${observable.kind} ${observable.value}`;
}

export function warningNote(by: string, observable: Observable, related: readonly RelatedReport[], withheld: number): string {
  const named = related.map((r) => `${r.team} ${r.ref}`).join(', ');
  const parts = [`Related activity (${by}): ${describe(observable)} is also in`];
  if (named) parts.push(` ${named}`);
  if (withheld > 0) parts.push(`${named ? ' and' : ''} ${withheld} report(s) of other teams that ${by} may not name to us`);
  return `${parts.join('')}.`;
}

/**
 * Our own incidents get a journal entry naming every related report (it stays in the team),
 * once per (observable, related report). Written in incident id order (see correlate).
 */
async function noteOwn(
  deps: CoordinationDeps,
  tx: Tx,
  work: Array<{ observable: Observable; mine: Report[]; others: Report[] }>,
): Promise<void> {
  const entries: Array<{ incidentId: string; observable: Observable; related: RelatedReport[] }> = [];
  const toRecord: Array<{ observable: Observable; other: Report }> = [];
  for (const { observable, mine, others } of work) {
    const already = await warningsFor(tx, observable.kind, observable.value, deps.config.teamId);
    const fresh = others.filter((o) => !already.has(reportKey(o)));
    if (fresh.length === 0) continue;
    const related = fresh.slice(0, MAX_LIST).map((o) => relatedEntry(o.row));
    for (const report of mine) if (report.row.incidentId) entries.push({ incidentId: report.row.incidentId, observable, related });
    for (const other of fresh) toRecord.push({ observable, other });
  }
  entries.sort((a, b) => (a.incidentId < b.incidentId ? -1 : a.incidentId > b.incidentId ? 1 : 0));
  for (const e of entries) {
    await deps.incidents.appendInTx(tx, e.incidentId, {
      kind: RELATED_ACTIVITY_KIND,
      actor: { subject: 'coordination', team: deps.config.teamId },
      note: warningNote('this node', e.observable, e.related, 0),
      changes: { observable: e.observable, related: e.related, withheld: 0, coordinator: deps.config.teamId },
    });
  }
  const at = deps.clock();
  for (const r of toRecord)
    await recordWarning(tx, {
      ...r.observable,
      team: deps.config.teamId,
      other: r.other,
      named: true,
      messageId: null,
      at,
    });
}

export function createCorrelation(deps: CoordinationDeps): {
  recordOwn(tx: Tx, incidents: readonly Incident[]): Promise<boolean>;
  correlate(tx: Tx, observables: readonly Observable[], options: { noteOwn: boolean }): Promise<boolean>;
} {
  const { clock, config, peers, sharing, audit, outbox, log } = deps;
  const ourTeam = config.teamId;
  // -------------------------------------------------------------------------------------------
  // Coordinator side: keeping reports, correlating, warning

  /**
   * Our own incidents, as the overview and correlation see them: everything but internal hosts.
   * A group of creations is written in one statement per table and correlated once over the
   * observables of all of them (each observable once).
   */
  async function recordOwn(tx: Tx, incidents: readonly Incident[]): Promise<boolean> {
    // One row per incident: the latest state when a caller passes an incident twice.
    const latest = [...new Map(incidents.map((i) => [i.ref, i])).values()];
    const at = clock();
    const stored = await upsertOwnActivities(
      tx,
      latest.map((incident) => ({
        team: ourTeam,
        ref: incident.ref,
        own: true,
        incidentId: incident.id,
        detail: 'own' as const,
        category: incident.category,
        type: incident.type,
        phase: incident.phase,
        severity: incident.severity,
        tlp: incident.tlp,
        firstSeen: incident.firstSeen,
        lastSeen: incident.lastSeen,
        updated: incident.updatedAt,
        version: incident.version,
        summary: summarise(incident) as unknown as Record<string, unknown>,
        links: incident.externalRefs.map((e) => ({ team: e.team, ref: e.ref })),
        messageId: null,
        at,
        firstReceivedAt: new Date(incident.createdAt),
      })),
    );
    const reports = latest
      .filter((incident) => stored.has(incident.ref))
      .map((incident) => ({ ref: incident.ref, observables: observablesOf({ hosts: incident.hosts, indicators: incident.indicators }) }));
    if (reports.length === 0) return false;
    await replaceObservablesOf(tx, ourTeam, reports);
    const observables = [...new Map(reports.flatMap((r) => r.observables).map((o) => [`${o.kind}\0${o.value}`, o])).values()];
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
    // Most observables are one team's alone: tell that from the index (for all of them in one
    // statement), not by reading reports.
    const shared = await sharedObservables(tx, observables);
    for (const observable of observables) {
      if (!shared.has(`${observable.kind}\0${observable.value}`)) continue;
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
    if (ownNotes.length > 0) await noteOwn(deps, tx, ownNotes); // under the own-notes lock, taken above
    if (memberWarnings.length > 0) await lockChain(tx);
    let queued = false;
    for (const w of memberWarnings) if (await warnMember(tx, w.observable, w.team, w.mine, w.others)) queued = true;
    return queued;
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
          render: (payload) => ({
            ...relatedEntry(other.row),
            tlp: payload.detail === 'full' ? payload.incident.tlp : payload.summary.tlp,
          }),
          details: { type: 'activity.related', observableKind: observable.kind },
        });
        decision = {
          named: outcome.allow,
          reason: outcome.allow
            ? 'the sharing policy allows direct disclosure'
            : `the sharing policy denies it: ${outcome.deniedBy.join(', ')}`,
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

  return { recordOwn, correlate };
}

/** The overview's related activity: observables two or more teams' reports share, within the window. */
export async function relatedActivity(db: DbOrTx, window: OverviewWindow, limit: number): Promise<RelatedActivity[]> {
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
      reports: participants.map((r) => ({
        team: r.team,
        ref: r.ref,
        own: r.row.own,
        category: r.row.category,
        phase: r.row.phase,
        tlp: r.row.tlp,
        updated: r.row.updated,
      })),
    });
  }
  out.sort(
    (a, b) =>
      b.teams.length - a.teams.length || (a.kind < b.kind ? -1 : a.kind > b.kind ? 1 : a.value < b.value ? -1 : a.value > b.value ? 1 : 0),
  );
  return out.slice(0, limit);
}
