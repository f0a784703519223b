import { randomUUID } from 'node:crypto';
import type { Clock } from '../../clock.js';
import type { Config } from '../../config.js';
import type { Db, Tx } from '../../db/database.js';
import { createGroupCommit } from '../../db/group-commit.js';
import { decodeCursor, encodeCursor } from '../../http/cursor.js';
import { ProblemError } from '../../http/problem.js';
import {
  RSIT,
  type Category,
  type Incident,
  type IncidentCreate,
  type IncidentListQuery,
  type IncidentPatch,
  type JournalEntry,
} from '../../../schemas/incident.schema.js';
import type { Tlp } from '../../../schemas/common.schema.js';
import { canonicalNetwork, isIpAddress, parseAddress } from '../sites/sites.module.js';
import {
  appendJournalEntries,
  findIncident,
  findIncidentsByIds,
  insertNumberedIncidents,
  listIncidents,
  listJournal,
  markIncidentChanged,
  markIncidentsChanged,
  setIncidentRetraction,
  setIncidentTlp,
  updateIncidentContent,
  type IncidentContent,
  type IncidentFilter,
} from './incident.repository.js';
import { allowedNextPhases, canMovePhase } from './phase-transitions.js';
import type { AuditLog } from '../audit/audit.module.js';
import { createPersonalDataOperations, type PersonalDataOperations } from './personal-data.service.js';

export type { ErasureEvent, ErasureListener } from './personal-data.service.js';

/** Who changes an incident: a token subject of this team, or a peer team acting on its copy. */
export interface Actor {
  subject: string;
  team: string;
}

/**
 * Called inside the transaction of every journalled change, so that work depending on the
 * change (the federation outbox) commits or rolls back with it.
 */
export type IncidentChangeListener = (tx: Tx, incident: Incident, entry: JournalEntry) => Promise<void>;

/**
 * The same, for a listener that does its work for many changes at once: a group of creations
 * (createManyInTx, the API's group commit) calls it once; any other change calls it with one.
 */
export type IncidentChangesListener = (tx: Tx, changes: ReadonlyArray<{ incident: Incident; entry: JournalEntry }>) => Promise<void>;

/** Erasure of personal data and legal hold come from personal-data.service.ts (ADR 0013). */
export interface IncidentService extends PersonalDataOperations {
  create(input: IncidentCreate, actor: Actor): Promise<Incident>;
  /** Creates inside the caller's transaction (federation files received reports this way). */
  createInTx(tx: Tx, input: IncidentCreate, actor: Actor): Promise<Incident>;
  /**
   * Several at once, numbered in the order given, with one statement per table: the inbox files
   * a group of received reports this way. All or none: one invalid input fails the call. An
   * item's `id`, when given, is the new incident's: a caller can write rows that belong to the
   * incident before the reference-number lock is taken (the inbox its provenance, ADR 0010).
   */
  createManyInTx(tx: Tx, items: Array<{ input: IncidentCreate; actor: Actor; id?: string }>): Promise<Incident[]>;
  get(refOrId: string): Promise<Incident>;
  /** The incidents with these ids, in the order asked; unknown ids are left out (a campaign's chunk, read at once). */
  getMany(ids: readonly string[]): Promise<Incident[]>;
  list(query: IncidentListQuery): Promise<{ items: Incident[]; nextCursor: string | null }>;
  patch(refOrId: string, patch: IncidentPatch, actor: Actor, ifMatch?: number): Promise<Incident>;
  /** The same change inside the caller's transaction (an import updating the incident it filed before). */
  patchInTx(tx: Tx, refOrId: string, patch: IncidentPatch, actor: Actor): Promise<Incident>;
  addNote(refOrId: string, note: string, actor: Actor): Promise<JournalEntry>;
  journal(refOrId: string, cursor: string | undefined, limit: number): Promise<{ items: JournalEntry[]; nextCursor: string | null }>;
  addListener(listener: IncidentChangeListener): void;
  addBatchListener(listener: IncidentChangesListener): void;
  /**
   * Appends a journal entry inside the caller's transaction and runs the change listeners: for
   * entries other modules record (federation: shares, deliveries, a peer's updates on its copy).
   */
  appendInTx(
    tx: Tx,
    incidentId: string,
    entry: { kind: string; actor: Actor; changes?: Record<string, unknown> | null; note?: string | null },
  ): Promise<JournalEntry>;
  /**
   * appendInTx for many entries (any incidents, in order): one statement per table instead of
   * several per entry, and each change listener sees every entry as appendInTx would show it.
   */
  appendManyInTx(
    tx: Tx,
    entries: ReadonlyArray<{
      incidentId: string;
      kind: string;
      actor: Actor;
      changes?: Record<string, unknown> | null;
      note?: string | null;
    }>,
  ): Promise<JournalEntry[]>;
  /**
   * Changes the label of an incident inside the caller's transaction, as this node: a holder
   * applying the label its originator set (docs/trust-model.md §4.7). Journals a `label-changed`
   * entry of our own team (with `changes`: from, to and why), so the change listeners act on it
   * as on a handler's change (the coordinator feed withdraws, later holders are told).
   */
  relabelInTx(tx: Tx, incidentId: string, tlp: Tlp, changes: Record<string, unknown>): Promise<Incident>;
  /**
   * Marks a report retracted by its originator inside the caller's transaction (ADR 0018): the
   * incident is kept, `retracted` shows on it, and the sharing policy refuses it from then on.
   * Journals a `retracted` entry of our own team, so the change listeners act on it (the
   * coordinator summary is withdrawn). A second retraction changes nothing.
   */
  retractInTx(tx: Tx, incidentId: string, retraction: NonNullable<Incident['retracted']>): Promise<Incident>;
}

/**
 * Date-times in an incident are kept as written (issue 13, docs/errors.md "Time as written"):
 * the offset the reporter gave ("2026-11-20T02:13:00+09:00") and any fraction of a second. The
 * database keeps a normalised instant beside firstSeen and lastSeen for sorting and search.
 */
/** Rules a schema cannot say: type within category, addresses that parse, time order. */
function checkContent(c: IncidentContent): void {
  if (c.type && !(RSIT[c.category as Category] as readonly string[]).includes(c.type)) {
    throw new ProblemError('validation-failed', `type "${c.type}" is not in category "${c.category}" (ENISA RSIT)`, {
      errors: [{ location: 'body', pointer: '/type', message: `allowed: ${RSIT[c.category as Category].join(', ')}` }],
    });
  }
  c.hosts.forEach((h, i) => {
    if (!h.ip && !h.hostname) {
      throw new ProblemError('validation-failed', `hosts[${i}] needs an ip or a hostname`, {
        errors: [{ location: 'body', pointer: `/hosts/${i}`, message: 'ip or hostname required' }],
      });
    }
    if (h.ip && !isIpAddress(h.ip)) {
      throw new ProblemError('validation-failed', `hosts[${i}].ip is not an IP address`, {
        errors: [{ location: 'body', pointer: `/hosts/${i}/ip`, message: 'not an IPv4 or IPv6 address' }],
      });
    }
  });
  c.indicators.forEach((ind, i) => {
    if ((ind.kind === 'ipv4' || ind.kind === 'ipv6') && !isIpAddress(ind.value)) {
      throw new ProblemError('validation-failed', `indicators[${i}] is not an IP address`, {
        errors: [{ location: 'body', pointer: `/indicators/${i}/value`, message: 'not an IP address' }],
      });
    }
  });
  if (c.firstSeen && c.lastSeen && Date.parse(c.firstSeen) > Date.parse(c.lastSeen)) {
    throw new ProblemError('validation-failed', 'firstSeen is after lastSeen', {
      errors: [{ location: 'body', pointer: '/lastSeen', message: 'earlier than firstSeen' }],
    });
  }
}

function contentFromCreate(input: IncidentCreate): IncidentContent {
  return {
    title: input.title,
    summary: input.summary ?? null,
    category: input.category,
    type: input.type ?? null,
    severity: input.severity,
    tlp: input.tlp,
    phase: input.phase ?? 'triage',
    firstSeen: input.firstSeen ?? null,
    lastSeen: input.lastSeen ?? null,
    reporter: input.reporter,
    poc: input.poc ?? null,
    hosts: input.hosts ?? [],
    intruderActivity: input.intruderActivity ?? null,
    vulnerabilities: input.vulnerabilities ?? [],
    systemChanges: input.systemChanges ?? [],
    installedSoftware: input.installedSoftware ?? [],
    evidence: input.evidence ?? [],
    indicators: input.indicators ?? [],
  };
}

/** What a journal entry says changed: values for short fields, sizes for long or personal ones. */
function describeChange(key: keyof IncidentContent, before: unknown, after: unknown): unknown {
  if (Array.isArray(before) || Array.isArray(after)) {
    return {
      from: Array.isArray(before) ? before.length : 0,
      to: Array.isArray(after) ? after.length : 0,
      unit: 'items',
    };
  }
  if (key === 'reporter' || key === 'poc' || key === 'intruderActivity' || key === 'summary') return { replaced: true };
  return { from: before ?? null, to: after ?? null };
}

type Journal = (tx: Tx, incident: Incident, entry: Parameters<typeof appendJournalEntries>[1][number]) => Promise<JournalEntry>;

/** A label set by this node on an incident (a holder applying its originator's label), journalled as `label-changed`. */
async function relabel(
  ctx: {
    clock: Clock;
    teamId: string;
    find: (tx: Tx, id: string, forUpdate?: boolean) => Promise<Incident>;
    journal: Journal;
  },
  tx: Tx,
  incidentId: string,
  tlp: Tlp,
  changes: Record<string, unknown>,
): Promise<Incident> {
  const before = await ctx.find(tx, incidentId, true);
  if (before.tlp === tlp) return before;
  const at = ctx.clock();
  await setIncidentTlp(tx, incidentId, tlp, at);
  const after = await ctx.find(tx, incidentId);
  await ctx.journal(tx, after, {
    incidentId,
    at,
    actor: 'node',
    actorTeam: ctx.teamId,
    kind: 'label-changed',
    changes: { ...changes, from: before.tlp, to: tlp },
  });
  return after;
}

/**
 * An address or network to search for, as the search rows hold it: canonical, and an IPv4-mapped
 * IPv6 address (::ffff:203.0.113.99, what a dual-stack socket logs) or network as the IPv4 one it
 * names, so either spelling finds the same incidents (issue 13).
 */
function searchNetwork(text: string): string | null {
  if (isIpAddress(text)) return parseAddress(text)?.address ?? text;
  const network = canonicalNetwork(text);
  const mapped = network && /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})\/(\d{1,3})$/.exec(network);
  if (mapped && Number(mapped[2]) >= 96) return `${mapped[1]}/${Number(mapped[2]) - 96}`;
  return network;
}

/**
 * An indicator is matched as written (case aside); an address also in its other spellings, so
 * 203.0.113.99 finds an indicator written ::ffff:203.0.113.99 and the reverse (issue 13).
 */
function indicatorSpellings(value: string): string[] {
  const parsed = isIpAddress(value) ? parseAddress(value) : null;
  if (!parsed) return [value];
  const spellings = new Set([value, parsed.address]);
  if (parsed.family === 4) {
    const [a, b, c, d] = parsed.address.split('.').map(Number) as [number, number, number, number];
    spellings.add(`::ffff:${parsed.address}`);
    spellings.add(`::ffff:${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`);
  }
  return [...spellings];
}

/** The filter of GET /api/v1/incidents, from its query: a host is an address, a network or a name. */
async function listByQuery(db: Db, query: IncidentListQuery): Promise<{ items: Incident[]; nextCursor: string | null }> {
  const filter: IncidentFilter = { limit: query.limit ?? 50 };
  if (query.phase) filter.phase = query.phase;
  if (query.category) filter.category = query.category;
  if (query.tlp) filter.tlp = query.tlp;
  if (query.severity) filter.severity = query.severity;
  if (query.updatedSince) filter.updatedSince = new Date(query.updatedSince);
  if (query.indicator) filter.indicator = indicatorSpellings(query.indicator);
  if (query.externalRef) filter.externalRef = query.externalRef;
  if (query.team) filter.team = query.team;
  if (query.host) {
    const network = searchNetwork(query.host);
    if (network) filter.hostNetwork = network;
    else if (query.host.includes('/')) {
      // A host name has no slash: this is a network written wrongly (host bits set, a prefix
      // too long), which would otherwise match nothing without a word.
      throw new ProblemError('validation-failed', `host "${query.host}" is not a network: give it without host bits (e.g. 192.0.2.0/24)`, {
        errors: [{ location: 'querystring', pointer: '/host', message: 'not a valid CIDR network' }],
      });
    } else filter.hostName = query.host;
  }
  if (query.cursor) filter.beforeSeq = decodeCursor(query.cursor, { s: 'number' }).s as number;
  const page = await listIncidents(db, filter);
  return {
    items: page.items,
    nextCursor: page.more && page.lastSeq !== null ? encodeCursor({ s: page.lastSeq }) : null,
  };
}

type PatchContext = {
  db: Db;
  clock: Clock;
  mustFind: (dbOrTx: Db | Tx, refOrId: string, forUpdate?: boolean) => Promise<Incident>;
  journal: Journal;
};

function patchIncident(ctx: PatchContext, refOrId: string, patch: IncidentPatch, actor: Actor, ifMatch?: number): Promise<Incident> {
  return ctx.db.transaction().execute((tx) => patchIncidentInTx(ctx, tx, refOrId, patch, actor, ifMatch));
}

async function patchIncidentInTx(
  ctx: PatchContext,
  tx: Tx,
  refOrId: string,
  patch: IncidentPatch,
  actor: Actor,
  ifMatch?: number,
): Promise<Incident> {
  const current = await ctx.mustFind(tx, refOrId, true);
  if (ifMatch !== undefined && ifMatch !== current.version) {
    throw new ProblemError('version-mismatch', `incident is at version ${current.version}, not ${ifMatch}`, {
      currentVersion: current.version,
    });
  }
  const { id, ref, externalRefs, version, createdBy, createdAt, updatedAt, ...before } = current;
  const after: IncidentContent = { ...before };
  for (const [key, value] of Object.entries(patch) as Array<[keyof IncidentContent, unknown]>) {
    if (value === undefined) continue;
    (after as Record<string, unknown>)[key] = value;
  }
  if (patch.category && !patch.type && after.type && !(RSIT[after.category as Category] as readonly string[]).includes(after.type)) {
    after.type = null; // a new category without a type drops a type that no longer fits
  }
  if (after.phase !== before.phase && !canMovePhase(before.phase, after.phase)) {
    throw new ProblemError('phase-transition-not-allowed', `cannot move from ${before.phase} to ${after.phase}`, {
      allowed: allowedNextPhases(before.phase),
    });
  }
  checkContent(after);
  const changes: Record<string, unknown> = {};
  for (const key of Object.keys(after) as Array<keyof IncidentContent>) {
    if (key === 'phase') continue;
    if (JSON.stringify(after[key]) !== JSON.stringify(before[key])) changes[key] = describeChange(key, before[key], after[key]);
  }
  const phaseChanged = after.phase !== before.phase;
  if (!phaseChanged && Object.keys(changes).length === 0) return current;
  const at = ctx.clock();
  if (!(await updateIncidentContent(tx, id, version, after, at))) {
    throw new ProblemError('version-mismatch', 'incident changed concurrently; read it again');
  }
  const updated = await ctx.mustFind(tx, id);
  if (Object.keys(changes).length) {
    await ctx.journal(tx, updated, {
      incidentId: id,
      at,
      actor: actor.subject,
      actorTeam: actor.team,
      kind: 'updated',
      changes,
    });
  }
  if (phaseChanged) {
    await ctx.journal(tx, updated, {
      incidentId: id,
      at,
      actor: actor.subject,
      actorTeam: actor.team,
      kind: 'phase-changed',
      changes: { from: before.phase, to: after.phase },
    });
  }
  return updated;
}

/** Most API creations in one transaction: bounds the counter's hold and the work redone when a group fails. */
const CREATION_GROUP_MAX = 32;

/** The operations on many incidents at once (a campaign's chunk): getMany and appendManyInTx. */
function bulkOperations(deps: Parameters<typeof appendMany>[0] & { db: Db }): Pick<IncidentService, 'getMany' | 'appendManyInTx'> {
  return {
    getMany: (ids) => findIncidentsByIds(deps.db, ids),
    appendManyInTx: (tx, entries) => appendMany(deps, tx, entries),
  };
}

/**
 * appendInTx for many entries: the incidents read in one statement, the entries written in one,
 * the change order moved in one, then the listeners (the audit's lock comes last), as journal()
 * does for one.
 */
async function appendMany(
  deps: {
    clock: Clock;
    notifyListeners: (tx: Tx, changes: ReadonlyArray<{ incident: Incident; entry: JournalEntry }>) => Promise<void>;
  },
  tx: Tx,
  entries: Parameters<IncidentService['appendManyInTx']>[1],
): Promise<JournalEntry[]> {
  if (entries.length === 0) return [];
  const found = new Map((await findIncidentsByIds(tx, [...new Set(entries.map((e) => e.incidentId))])).map((i) => [i.id, i] as const));
  const incidentsOf = entries.map((e) => {
    const incident = found.get(e.incidentId.toLowerCase());
    if (!incident) throw new ProblemError('not-found', `no incident ${e.incidentId}`);
    return incident;
  });
  const at = deps.clock();
  const saved = await appendJournalEntries(
    tx,
    entries.map((entry, i) => ({
      incidentId: incidentsOf[i]!.id,
      at,
      actor: entry.actor.subject,
      actorTeam: entry.actor.team,
      kind: entry.kind,
      changes: entry.changes ?? null,
      note: entry.note ?? null,
    })),
  );
  await markIncidentsChanged(tx, [...new Set(entries.flatMap((e, i) => (e.kind !== 'created' ? [incidentsOf[i]!.id] : [])))]);
  await deps.notifyListeners(
    tx,
    saved.map((entry, i) => ({ incident: incidentsOf[i]!, entry })),
  );
  return saved;
}

export function createIncidentService(deps: {
  db: Db;
  clock: Clock;
  config: Pick<Config, 'referencePrefix' | 'teamId'>;
  /** Records erasures and legal holds; needed only by those (tests that only create incidents leave it out). */
  audit?: AuditLog;
}): IncidentService {
  const { db, clock, config } = deps;
  const listeners: IncidentChangeListener[] = [];
  const batchListeners: IncidentChangesListener[] = [];

  /** Every listener, for changes made in one transaction: each one-by-one listener per change first. */
  async function notifyListeners(tx: Tx, changes: ReadonlyArray<{ incident: Incident; entry: JournalEntry }>): Promise<void> {
    for (const { incident, entry } of changes) for (const listener of listeners) await listener(tx, incident, entry);
    for (const listener of batchListeners) await listener(tx, changes);
  }

  async function journal(tx: Tx, incident: Incident, entry: Parameters<typeof appendJournalEntries>[1][number]): Promise<JournalEntry> {
    const [saved] = await appendJournalEntries(tx, [entry]);
    // Every change moves the incident to the end of the change order the pull feed follows (a
    // new row got its place when it was inserted). Before the listeners: they may append to the
    // audit log, whose lock comes last in every transaction.
    if (entry.kind !== 'created') await markIncidentChanged(tx, incident.id);
    await notifyListeners(tx, [{ incident, entry: saved! }]);
    return saved!;
  }

  async function mustFind(dbOrTx: Db | Tx, refOrId: string, forUpdate = false): Promise<Incident> {
    const incident = await findIncident(dbOrTx, refOrId, forUpdate);
    if (!incident) throw new ProblemError('not-found', `no incident ${refOrId}`);
    return incident;
  }

  async function createManyInTx(tx: Tx, items: Array<{ input: IncidentCreate; actor: Actor; id?: string }>): Promise<Incident[]> {
    if (items.length === 0) return [];
    const contents = items.map(({ input }) => {
      const content = contentFromCreate(input);
      checkContent(content);
      return content;
    });
    const at = clock();
    const stamp = at.toISOString();
    const ids = items.map((item) => item.id ?? randomUUID());
    // Numbered in the statement that stores them (insertNumberedIncidents); the rows are built
    // from what was written rather than read back, to keep the counter's section short.
    const saved = await insertNumberedIncidents(
      tx,
      { prefix: config.referencePrefix, year: at.getUTCFullYear() },
      contents.map((content, i) => ({
        id: ids[i]!,
        createdBy: items[i]!.actor.subject,
        at,
        content,
        journal: {
          incidentId: ids[i]!,
          at,
          actor: items[i]!.actor.subject,
          actorTeam: items[i]!.actor.team,
          kind: 'created',
          changes: { phase: content.phase },
        },
      })),
    );
    const incidents: Incident[] = contents.map((content, i) => ({
      id: ids[i]!,
      ref: saved[i]!.ref,
      ...content,
      externalRefs: [],
      version: 1,
      createdBy: items[i]!.actor.subject,
      createdAt: stamp,
      updatedAt: stamp,
    }));
    // A new row has its place in the change order already; the listeners still see each creation.
    await notifyListeners(
      tx,
      incidents.map((incident, i) => ({ incident, entry: saved[i]!.entry })),
    );
    return incidents;
  }

  async function createInTx(tx: Tx, input: IncidentCreate, actor: Actor): Promise<Incident> {
    return (await createManyInTx(tx, [{ input, actor }]))[0]!;
  }

  const personalData = createPersonalDataOperations({ db, clock, audit: deps.audit, find: mustFind, journal });

  /**
   * Creations through the API share transactions (ADR 0031): gap-free reference numbers hold the
   * counter's row from numbering to commit, so one creation at a time would pass through that
   * section. A group is numbered in one statement and committed once; each creation still runs
   * every listener, and a group that fails runs again one creation at a time.
   */
  const creations = createGroupCommit<{ input: IncidentCreate; actor: Actor }, Incident>(db, (tx, items) => createManyInTx(tx, items), {
    maxItems: CREATION_GROUP_MAX,
    // One group at a time: a second one would only wait on the counter the first holds to its
    // commit, and both would be smaller.
    inFlight: 1,
  });

  return {
    ...personalData,
    ...bulkOperations({ db, clock, notifyListeners }),
    addListener(listener) {
      listeners.push(listener);
    },
    addBatchListener(listener) {
      batchListeners.push(listener);
    },
    createInTx,
    createManyInTx,
    async retractInTx(tx, incidentId, retraction) {
      const before = await mustFind(tx, incidentId, true);
      if (before.retracted) return before;
      const at = clock();
      await setIncidentRetraction(tx, incidentId, retraction, at);
      const after = await mustFind(tx, incidentId);
      await journal(tx, after, {
        incidentId,
        at,
        actor: 'node',
        actorTeam: config.teamId,
        kind: 'retracted',
        changes: { correctionId: retraction.correctionId, originator: retraction.originator, reason: retraction.reason },
        note: retraction.note,
      });
      return after;
    },
    relabelInTx: (tx, incidentId, tlp, changes) =>
      relabel({ clock, teamId: config.teamId, find: mustFind, journal }, tx, incidentId, tlp, changes),
    async appendInTx(tx, incidentId, entry) {
      const incident = await mustFind(tx, incidentId);
      return journal(tx, incident, {
        incidentId: incident.id,
        at: clock(),
        actor: entry.actor.subject,
        actorTeam: entry.actor.team,
        kind: entry.kind,
        changes: entry.changes ?? null,
        note: entry.note ?? null,
      });
    },
    create(input, actor) {
      // Refused before it joins a group: a bad input fails alone, without rolling back the others.
      checkContent(contentFromCreate(input));
      return creations.run({ input, actor });
    },
    get(refOrId) {
      return mustFind(db, refOrId);
    },
    list: (query) => listByQuery(db, query),
    patch: (refOrId, patch, actor, ifMatch) => patchIncident({ db, clock, mustFind, journal }, refOrId, patch, actor, ifMatch),
    patchInTx: (tx, refOrId, patch, actor) => patchIncidentInTx({ db, clock, mustFind, journal }, tx, refOrId, patch, actor),
    addNote(refOrId, note, actor) {
      return db.transaction().execute(async (tx) => {
        const incident = await mustFind(tx, refOrId);
        return journal(tx, incident, {
          incidentId: incident.id,
          at: clock(),
          actor: actor.subject,
          actorTeam: actor.team,
          kind: 'note',
          note,
        });
      });
    },
    async journal(refOrId, cursor, limit) {
      const incident = await mustFind(db, refOrId);
      const after = cursor ? (decodeCursor(cursor, { j: 'number' }).j as number) : 0;
      const page = await listJournal(db, incident.id, after, limit);
      const last = page.items.at(-1);
      return { items: page.items, nextCursor: page.more && last ? encodeCursor({ j: last.id }) : null };
    },
  };
}
