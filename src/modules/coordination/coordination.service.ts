import type { FastifyBaseLogger } from 'fastify';
import type { Clock } from '../../clock.js';
import type { Config } from '../../config.js';
import type { Tx, Db } from '../../db/database.js';
import { ProblemError } from '../../http/problem.js';

import type { Observable, Overview, OverviewQuery, ReportRef } from '../../../schemas/coordination.schema.js';
import type { ActivityRelatedDocument, ActivitySummaryDocument, ActivityWithdrawnDocument } from '../../../schemas/federation.schema.js';
import type { Incident, JournalEntry } from '../../../schemas/incident.schema.js';
import type { AuditLog } from '../audit/audit.module.js';
import type { Outbox } from '../exchange/exchange.module.js';
import type { InboxOutcome } from '../exchange/exchange.module.js';

import type { PeerDirectory } from '../peers/peers.module.js';

import { findIncident } from '../incidents/incidents.module.js';
import type { IncidentService } from '../incidents/incidents.module.js';
import { stricterTlp } from '../policy/index.js';
import { type SharingService } from '../sharing/index.js';
import {
  countBy,
  countByPeriod,
  replaceReportObservables,
  upsertMemberActivities,
  type ActivityWrite,
  withdrawActivity,
  type OverviewWindow,
} from './coordination.repository.js';
import { observablesOf } from './observables.js';
import { createActivityFeed } from './activity-feed.js';
import { createCorrelation, relatedActivity, warningNote } from './correlation.js';

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
  incidents: Pick<IncidentService, 'addBatchListener' | 'appendInTx'>;
  peers: Pick<PeerDirectory, 'find' | 'listRecords'>;
  sharing: Pick<SharingService, 'decideAndRecord'>;
  audit: AuditLog;
  outbox: Pick<Outbox, 'enqueue' | 'kick' | 'supersede' | 'lastQueued'>;
  log: FastifyBaseLogger;
}

export interface CoordinationService {
  /** The incident change listener (runs inside the change's transaction). */
  /** Listener on our incidents: a group of creations arrives as one call (incident.service). */
  onIncidentChanges(tx: Tx, changes: ReadonlyArray<{ incident: Incident; entry: JournalEntry }>): Promise<void>;
  /** Inbox handler: members' activity.summary documents, a group at once (coordinator side). */
  receiveSummaries(tx: Tx, docs: readonly ActivitySummaryDocument[]): Promise<InboxOutcome[]>;
  /** Inbox handler: a member's activity.withdrawn (coordinator side): the report is forgotten. */
  receiveWithdrawn(tx: Tx, doc: ActivityWithdrawnDocument): Promise<InboxOutcome>;
  /** Inbox handler: our coordinator's activity.related (member side). */
  receiveRelated(tx: Tx, doc: ActivityRelatedDocument): Promise<InboxOutcome>;
  /** GET /api/v1/overview. */
  overview(query: OverviewQuery): Promise<Overview>;
}

/** Journal kinds of our own team that change what a summary says. Notes, shares and deliveries do not. */
const FEED_KINDS = new Set(['created', 'updated', 'phase-changed', 'label-changed']);
/**
 * A group of members' summaries (the inbox hands a run of one type at once): each checked and
 * kept as it comes, in arrival order (the newest version per (team, ref) wins, a withdrawal
 * stays), then the observables of the reports kept replaced in one statement pair, and one
 * correlation over the group's distinct observables (ADR 0031): the warnings are the same as one
 * by one, since each is recorded once per (observable, team, related report). A bad summary
 * throws, and the inbox then runs each message of the group alone, so only it is refused.
 */
async function receiveSummariesOf(
  ctx: CoordinationDeps & { correlate: ReturnType<typeof createCorrelation>['correlate'] },
  tx: Tx,
  docs: readonly ActivitySummaryDocument[],
): Promise<InboxOutcome[]> {
  const members = new Map<string, boolean>();
  // Every summary checked first, then written together; each row's observables beside it.
  const rows: ActivityWrite[] = [];
  const observablesOfRow = new Map<ActivityWrite, Observable[]>();
  for (const doc of docs) {
    let member = members.get(doc.from);
    if (member === undefined) {
      const peer = await ctx.peers.find(tx, doc.from);
      member = peer !== null && peer.relationship === 'member';
      members.set(doc.from, member);
    }
    if (!member) {
      throw new ProblemError(
        'not-a-member',
        `"${doc.from}" is not a member team of this node; activity summaries are accepted from members only`,
      );
    }
    const { detail, summary, incident, links } = doc.body;
    if ((detail === 'full') !== (incident !== undefined)) {
      throw new ProblemError('validation-failed', 'body.incident goes with detail full, and only with it', {
        errors: [
          {
            location: 'document',
            pointer: '/body/incident',
            message: detail === 'full' ? 'required with detail full' : 'only with detail full',
          },
        ],
      });
    }
    const tlp = stricterTlp(doc.tlp, summary.tlp);
    if (tlp === 'RED') {
      // TLP:RED never goes in a feed (docs/trust-model.md): a member that sends it is wrong.
      throw new ProblemError('validation-failed', 'TLP:RED never goes in an activity feed', {
        errors: [{ location: 'document', pointer: '/tlp', message: 'RED is not accepted in activity.summary' }],
      });
    }
    const row: ActivityWrite = {
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
      at: ctx.clock(),
      firstReceivedAt: ctx.clock(),
    };
    rows.push(row);
    observablesOfRow.set(
      row,
      observablesOf({
        hosts: [...summary.hosts, ...(incident?.hosts ?? [])],
        indicators: [...summary.indicators, ...(incident?.indicators ?? [])],
      }),
    );
  }
  // An older summary than the one we hold (a retry overtaken by a newer one) changes nothing.
  const kept = [...(await upsertMemberActivities(tx, rows)).values()].map((row) => ({
    team: row.team,
    ref: row.ref,
    observables: observablesOfRow.get(row)!,
  }));
  if (kept.length > 0) {
    await replaceReportObservables(tx, kept);
    const distinct = new Map<string, Observable>();
    for (const report of kept) for (const o of report.observables) distinct.set(`${o.kind}\0${o.value}`, o);
    // The notices are queued in this transaction; a kick before the commit finds nothing
    // only on a multi-connection engine, and then the worker's next poll sends them.
    if (await ctx.correlate(tx, [...distinct.values()], { noteOwn: true })) ctx.outbox.kick();
  }
  return docs.map(() => ({ status: 'applied', incidentId: null, ref: null }));
}

/** The journal kind of a related-activity warning, on the member's incident (and on our own). */
export const RELATED_ACTIVITY_KIND = 'related-activity';

export function createCoordinationService(deps: CoordinationDeps): CoordinationService {
  const { db, clock, config, incidents, peers, audit, outbox } = deps;
  const ourTeam = config.teamId;

  const { feedCoordinators } = createActivityFeed(deps);
  const { recordOwn, correlate } = createCorrelation(deps);

  return {
    async onIncidentChanges(tx, changes) {
      // Only our own team's changes: a received report is filed before its provenance is
      // recorded, so deciding on it at filing time would miss the originator's limits; it
      // joins the feed when our handlers change it (the decision then enforces them).
      const ours = changes.filter(({ entry }) => FEED_KINDS.has(entry.kind) && entry.team === ourTeam).map((c) => c.incident);
      if (ours.length === 0) return;
      const warned = await recordOwn(tx, ours);
      const fed = await feedCoordinators(tx, ours);
      if (warned || fed) outbox.kick();
    },

    receiveSummaries: (tx, docs) => receiveSummariesOf({ ...deps, correlate }, tx, docs),

    async receiveWithdrawn(tx, doc) {
      const peer = await peers.find(tx, doc.from);
      if (!peer || peer.relationship !== 'member') {
        throw new ProblemError(
          'not-a-member',
          `"${doc.from}" is not a member team of this node; activity withdrawals are accepted from members only`,
        );
      }
      const { ref, version, updatedAt, reason } = doc.body;
      // The schema's date-time (src/util/date-time.ts) admits only instants a Date and PostgreSQL hold.
      const updated = new Date(updatedAt);
      const applied = await withdrawActivity(tx, {
        team: doc.from,
        ref,
        version,
        updated,
        reason,
        messageId: doc.id,
        at: clock(),
      });
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
        throw new ProblemError(
          'not-our-coordinator',
          `"${doc.from}" does not coordinate this node; related-activity warnings are accepted from coordinators only`,
        );
      }
      const { refs, observable, related, withheld } = doc.body;
      const filed: Incident[] = [];
      for (const ref of new Set(refs)) {
        const incident = await findIncident(tx, ref);
        // Only incidents we reported to this coordinator: it cannot write on any other.
        if (!incident || incident.ref !== ref || (await outbox.lastQueued(tx, incident.id, doc.from, ['activity.summary'])) === null)
          continue;
        await incidents.appendInTx(tx, incident.id, {
          kind: RELATED_ACTIVITY_KIND,
          actor: { subject: doc.from, team: doc.from },
          note: warningNote(doc.from, observable, related, withheld),
          changes: { observable, related, withheld, coordinator: doc.from, messageId: doc.id },
        });
        filed.push(incident);
      }
      const first = filed[0];
      if (!first)
        throw new ProblemError(
          'unknown-incident',
          `none of ${refs.length} reference number(s) is an incident this node reported to ${doc.from}`,
        );
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
      const window: OverviewWindow = {
        ...(since ? { since } : {}),
        ...(until ? { until } : {}),
        ...(query.team ? { team: query.team } : {}),
      };
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
        related: await relatedActivity(db, window, query.limit ?? 100),
      };
    },
  };
}
