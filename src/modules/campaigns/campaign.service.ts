import { createHash, randomUUID } from 'node:crypto';
import type { Clock } from '../../clock.js';
import type { Db } from '../../db/database.js';
import type { CampaignRunCounts } from '../../db/campaign-tables.js';
import { ProblemError } from '../../http/problem.js';
import type { Category, Host, IncidentCreate, IncidentType } from '../../../schemas/incident.schema.js';
import type { Tlp } from '../../../schemas/common.schema.js';
import type { AuditLog } from '../audit/audit.module.js';
import type { Actor, IncidentService } from '../incidents/incidents.module.js';
import {
  createSiteLookupMemo,
  siteContactsByIds,
  siteIdsByAddress,
  siteIdsByAsn,
  siteIdsByName,
  type SiteLookupMemo,
} from '../sites/sites.module.js';
import { CampaignFileError, parseCampaignEvents, type CampaignEvent, type CampaignFormat, type RejectedRow } from './campaign-events.js';
import {
  filedBefore,
  insertRun,
  listCampaigns,
  markProposed,
  recordFiled,
  unproposedIncidents,
  type CampaignSummaryRow,
} from './campaign.repository.js';

/**
 * Campaigns (issue 19 part 4; ADR 0027): a feed of many events (a scan or botnet list) becomes,
 * per constituency site and period, one incident holding only that site's events, and so one
 * notification per site (the notifications module proposes it: the policy decides, the site sees
 * only its own hosts). Events are de-duplicated within the file and against what the campaign
 * filed before (same site, period and event), so a feed fed again files only what is new. A dry
 * run shows the same plan and writes nothing.
 */
export type CampaignPeriod = 'once' | 'day' | 'week';

export interface CampaignRequest {
  campaign: string;
  format: CampaignFormat;
  category: Category;
  type: IncidentType;
  tlp: Tlp;
  severity: 'low' | 'medium' | 'high' | 'critical';
  /** What the listed hosts did: `source` (scanning, a bot calling home) or `target` (attacked). */
  role: 'source' | 'target';
  period: CampaignPeriod;
  dryRun: boolean;
  /** Approve each proposed notification at once (else they wait as drafts for a handler). */
  approve: boolean;
  counterMeasure?: string;
  /** Who provided the feed (recorded as the incidents' reporter, which a site never sees). */
  source?: string;
}

export interface CampaignSitePlan {
  siteId: string;
  siteName: string;
  period: string;
  events: number;
  newEvents: number;
  /** The POC e-mail addresses a notification would go to; empty: unreachable. */
  recipients: string[];
  incidents: string[];
  notifications: Array<{ id: string | null; state: string; reason: string | null }>;
}

export interface CampaignReport {
  campaign: string;
  dryRun: boolean;
  counts: CampaignRunCounts;
  /** Malformed rows (at most MAX_LISTED), each with its row number and why. */
  rejected: RejectedRow[];
  /** Rows no site of the constituency holds (at most MAX_LISTED of them). */
  unmatched: Array<{ row: number; value: string }>;
  sites: CampaignSitePlan[];
}

/** What proposes the notifications of the incidents a run filed (the notifications module). */
export interface CampaignNotifier {
  proposeForIncidents(
    incidentIds: string[],
    options: { counterMeasure?: string; approve: boolean; actor: Actor; lookups?: SiteLookupMemo },
  ): Promise<Array<{ incidentId: string; notificationId: string | null; state: string; reason: string | null }>>;
}

export interface CampaignService {
  run(input: string, request: CampaignRequest, actor: Actor): Promise<CampaignReport>;
  list(): Promise<CampaignSummaryRow[]>;
}

export interface CampaignDeps {
  db: Db;
  clock: Clock;
  audit: AuditLog;
  incidents: Pick<IncidentService, 'createManyInTx'>;
  notifier?: CampaignNotifier;
}

type Indicator = NonNullable<IncidentCreate['indicators']>[number];

const MAX_LISTED = 1000;
/** The schema's bound on hosts per incident: a site with more new events in a period gets several incidents. */
const HOSTS_PER_INCIDENT = 10_000;
/** Sites filed per transaction: a transaction stays short on the embedded engine's one connection. */
const SITES_PER_TRANSACTION = 500;

function periodOf(event: CampaignEvent, period: CampaignPeriod, now: Date): string {
  if (period === 'once') return 'once';
  const at = event.time ? new Date(event.time) : now;
  if (period === 'day') return at.toISOString().slice(0, 10);
  // ISO 8601 week: the week with the year's first Thursday is week 1.
  const day = new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth(), at.getUTCDate()));
  const weekday = day.getUTCDay() || 7;
  day.setUTCDate(day.getUTCDate() + 4 - weekday);
  const yearStart = Date.UTC(day.getUTCFullYear(), 0, 1);
  const week = Math.ceil(((day.getTime() - yearStart) / 86_400_000 + 1) / 7);
  return `${day.getUTCFullYear()}-W${String(week).padStart(2, '0')}`;
}

/** What identifies an event within a site and period: the host (or AS), the port and the protocol. */
const eventKey = (e: CampaignEvent): string => `${e.address?.text ?? e.hostname ?? `AS${e.asn}`}|${e.port ?? ''}|${e.protocol ?? ''}`;

const eventValue = (e: CampaignEvent): string => e.address?.text ?? e.hostname ?? `AS${e.asn}`;

function hostOf(e: CampaignEvent, role: 'source' | 'target'): Host | null {
  if (!e.address && !e.hostname) return null;
  const description = [e.detail, e.time ? `seen ${e.time}` : null].filter(Boolean).join('; ');
  return {
    ...(e.address ? { ip: e.address.text } : {}),
    ...(e.hostname ? { hostname: e.hostname } : {}),
    role,
    ...(e.port !== null ? { ports: [e.port] } : {}),
    ...(e.protocol ? { protocol: e.protocol } : {}),
    ...(description ? { description } : {}),
  };
}

interface SiteGroup {
  siteId: string;
  period: string;
  events: CampaignEvent[];
  fresh: CampaignEvent[];
}

/** The events by site and period, each event once; the events no site holds; how many repeated one before them. */
function groupBySiteAndPeriod(
  events: CampaignEvent[],
  sites: Array<string | null>,
  period: CampaignPeriod,
  now: Date,
): { groups: Map<string, SiteGroup>; unmatched: Array<{ row: number; value: string }>; duplicates: number } {
  const unmatched: Array<{ row: number; value: string }> = [];
  const groups = new Map<string, SiteGroup>();
  const seen = new Set<string>();
  let duplicates = 0;
  events.forEach((event, i) => {
    const siteId = sites[i];
    if (!siteId) {
      unmatched.push({ row: event.row, value: eventValue(event) });
      return;
    }
    const when = periodOf(event, period, now);
    const key = `${siteId}|${when}|${eventKey(event)}`;
    if (seen.has(key)) {
      duplicates++;
      return;
    }
    seen.add(key);
    const groupKey = `${siteId}|${when}`;
    let group = groups.get(groupKey);
    if (!group) groups.set(groupKey, (group = { siteId, period: when, events: [], fresh: [] }));
    group.events.push(event);
  });
  return { groups, unmatched, duplicates };
}

type Proposal = { id: string | null; state: string; reason: string | null };

/** Per site and period: what it had, what was new, whom a notification goes to, what was filed and proposed. */
function sitePlans(
  groups: SiteGroup[],
  contacts: Map<string, { name: string; emails: string[] }>,
  madeFor: Map<string, Array<{ id: string; ref: string }>>,
  proposals: Map<string, Proposal[]>,
): CampaignSitePlan[] {
  return groups.map((g) => {
    const site = contacts.get(g.siteId);
    const made = madeFor.get(`${g.siteId}|${g.period}`) ?? [];
    return {
      siteId: g.siteId,
      siteName: site?.name ?? '',
      period: g.period,
      events: g.events.length,
      newEvents: g.fresh.length,
      recipients: site?.emails ?? [],
      incidents: made.map((m) => m.ref),
      notifications: made.flatMap((m) => proposals.get(m.id) ?? []),
    };
  });
}

/** Each event's site, by address, then name, then AS number (the constituency's longest-match rules). */
async function siteOf(db: Db, events: CampaignEvent[], memo: SiteLookupMemo): Promise<Array<string | null>> {
  const [byAddress, byName, byAsn] = await Promise.all([
    siteIdsByAddress(db, [...new Set(events.flatMap((e) => (e.address ? [e.address.text] : [])))], memo),
    siteIdsByName(db, [...new Set(events.flatMap((e) => (e.hostname ? [e.hostname] : [])))], memo),
    siteIdsByAsn(db, [...new Set(events.flatMap((e) => (e.asn !== null ? [e.asn] : [])))]),
  ]);
  return events.map(
    (e) =>
      (e.address && byAddress.get(e.address.text)) ??
      (e.hostname && byName.get(e.hostname)) ??
      (e.asn !== null ? byAsn.get(e.asn) : undefined) ??
      null,
  );
}

export function createCampaignService(deps: CampaignDeps): CampaignService {
  const { db, clock, audit, incidents, notifier } = deps;

  function incidentFor(group: SiteGroup, part: CampaignEvent[], request: CampaignRequest): IncidentCreate {
    const hosts = part.flatMap((e) => hostOf(e, request.role) ?? []);
    const indicators: Indicator[] = part.filter((e) => !e.address && !e.hostname).map((e) => ({ kind: 'asn', value: `AS${e.asn}` }));
    const times = part.flatMap((e) => (e.time ? [e.time] : [])).sort();
    return {
      title: `Campaign ${request.campaign}: ${request.type} (${group.period})`,
      summary: `${part.length} event(s) of campaign ${request.campaign} for one site of our constituency, period ${group.period}.`,
      category: request.category,
      type: request.type,
      severity: request.severity,
      tlp: request.tlp,
      ...(times.length ? { firstSeen: times[0]!, lastSeen: times[times.length - 1]! } : {}),
      reporter: { name: request.source ?? `campaign ${request.campaign}` },
      hosts,
      ...(indicators.length ? { indicators } : {}),
    };
  }

  /** Files the groups' new events; answers, per `site|period`, the incidents made. */
  async function file(
    groups: SiteGroup[],
    request: CampaignRequest,
    actor: Actor,
  ): Promise<Map<string, Array<{ id: string; ref: string }>>> {
    const madeFor = new Map<string, Array<{ id: string; ref: string }>>();
    const withNew = groups.filter((g) => g.fresh.length > 0);
    for (let from = 0; from < withNew.length; from += SITES_PER_TRANSACTION) {
      const batch = withNew.slice(from, from + SITES_PER_TRANSACTION);
      const plan = batch.flatMap((group) => {
        const parts: Array<{ group: SiteGroup; events: CampaignEvent[]; id: string }> = [];
        for (let i = 0; i < group.fresh.length; i += HOSTS_PER_INCIDENT)
          parts.push({ group, events: group.fresh.slice(i, i + HOSTS_PER_INCIDENT), id: randomUUID() });
        return parts;
      });
      const at = clock();
      const created = await db.transaction().execute(async (tx) => {
        const made = await incidents.createManyInTx(
          tx,
          plan.map((p) => ({ input: incidentFor(p.group, p.events, request), actor, id: p.id })),
        );
        await recordFiled(
          tx,
          request.campaign,
          at,
          plan.map((p) => ({ incidentId: p.id, siteId: p.group.siteId, period: p.group.period, eventKeys: p.events.map(eventKey) })),
        );
        return made;
      });
      created.forEach((incident, i) => {
        const key = `${plan[i]!.group.siteId}|${plan[i]!.group.period}`;
        madeFor.set(key, [...(madeFor.get(key) ?? []), { id: incident.id, ref: incident.ref }]);
      });
    }
    return madeFor;
  }

  /** Proposes the notifications of this run's incidents and of any a crashed run filed but did not get to propose. */
  async function propose(request: CampaignRequest, actor: Actor, lookups: SiteLookupMemo): Promise<Map<string, Proposal[]>> {
    const proposals = new Map<string, Proposal[]>();
    if (!notifier) return proposals;
    const pending = await unproposedIncidents(db, request.campaign);
    for (let from = 0; from < pending.length; from += SITES_PER_TRANSACTION) {
      const part = pending.slice(from, from + SITES_PER_TRANSACTION);
      const results = await notifier.proposeForIncidents(part, {
        approve: request.approve,
        actor,
        lookups,
        ...(request.counterMeasure ? { counterMeasure: request.counterMeasure } : {}),
      });
      await markProposed(db, part, clock());
      for (const r of results)
        proposals.set(r.incidentId, [...(proposals.get(r.incidentId) ?? []), { id: r.notificationId, state: r.state, reason: r.reason }]);
    }
    return proposals;
  }

  return {
    async run(input, request, actor) {
      if (!/^[a-z0-9][a-z0-9._-]{0,99}$/.test(request.campaign))
        throw new ProblemError('validation-failed', 'a campaign name is 1-100 lower-case letters, digits, dots, dashes or underscores', {
          errors: [{ location: 'path', pointer: '/campaign', message: 'not a campaign name' }],
        });
      let parsed;
      try {
        parsed = parseCampaignEvents(input, request.format);
      } catch (err) {
        if (err instanceof CampaignFileError) throw new ProblemError('campaign-file-unreadable', err.message);
        throw err;
      }
      const now = clock();
      // The run's look-ups, asked again by the notifications and the policy for the same addresses.
      const lookups = createSiteLookupMemo();
      const sites = await siteOf(db, parsed.events, lookups);
      const { groups, unmatched, duplicates } = groupBySiteAndPeriod(parsed.events, sites, request.period, now);
      const before = await filedBefore(
        db,
        request.campaign,
        [...groups.values()].flatMap((g) => g.events.map((e) => ({ siteId: g.siteId, period: g.period, eventKey: eventKey(e) }))),
      );
      let alreadyFiled = 0;
      for (const group of groups.values()) {
        group.fresh = group.events.filter((e) => !before.has(`${group.siteId}|${group.period}|${eventKey(e)}`));
        alreadyFiled += group.events.length - group.fresh.length;
      }
      const contacts = await siteContactsByIds(db, [...new Set([...groups.values()].map((g) => g.siteId))]);

      const madeFor = request.dryRun
        ? new Map<string, Array<{ id: string; ref: string }>>()
        : await file([...groups.values()], request, actor);
      const proposals = request.dryRun ? new Map<string, Proposal[]>() : await propose(request, actor, lookups);
      const notifications = [...proposals.values()].flat().filter((p) => p.id !== null).length;

      const counts: CampaignRunCounts = {
        rows: parsed.events.length + parsed.rejected.length,
        events: parsed.events.length,
        rejected: parsed.rejected.length,
        unmatched: unmatched.length,
        duplicates,
        alreadyFiled,
        sites: groups.size === 0 ? 0 : new Set([...groups.values()].map((g) => g.siteId)).size,
        incidents: [...madeFor.values()].reduce((n, refs) => n + refs.length, 0),
        notifications,
      };
      const inputSha256 = createHash('sha256').update(input).digest('hex');
      if (!request.dryRun) {
        await insertRun(db, { id: randomUUID(), campaign: request.campaign, at: now, actor: actor.subject, inputSha256, counts });
        // Counts and the input's digest: never an address or a row.
        await audit.append(db, {
          kind: 'campaign.filed',
          actor: actor.subject,
          details: { campaign: request.campaign, inputSha256, counts },
        });
      }
      return {
        campaign: request.campaign,
        dryRun: request.dryRun,
        counts,
        rejected: parsed.rejected.slice(0, MAX_LISTED),
        unmatched: unmatched.slice(0, MAX_LISTED),
        sites: sitePlans([...groups.values()], contacts, madeFor, proposals),
      };
    },

    list: () => listCampaigns(db),
  };
}
