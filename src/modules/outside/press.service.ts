import { randomUUID } from 'node:crypto';
import type { Clock } from '../../clock.js';
import type { Config } from '../../config.js';
import type { Db, DbOrTx } from '../../db/database.js';
import { ProblemError } from '../../http/problem.js';
import type { Tlp } from '../../../schemas/common.schema.js';
import type { Incident } from '../../../schemas/incident.schema.js';
import type { PressStatement, PressStatementCreate, PublishedPressStatement } from '../../../schemas/outside.schema.js';
import type { AuditLog } from '../audit/audit.module.js';
import { findIncident, type IncidentService } from '../incidents/incidents.module.js';
import { findNonClearInPressText, type PressTextFinding, type PressTextSource } from '../policy/index.js';
import type { SharingOutcome, SharingService } from '../sharing/index.js';
import {
  findStatement,
  insertStatement,
  listStatements,
  publishStatement,
  withdrawStatement,
  type StatementRow,
} from './press.repository.js';

/**
 * Press statements (issue 17 part 4, domain §4, ADR 0023). A statement speaks only from TLP:CLEAR
 * content: every incident it names must be allowed to the press by the sharing policy (purpose
 * `press`, chosen by the drafter), and its words must carry nothing that is not CLEAR
 * (findNonClearInPressText). A second handler approves it, which publishes it at /press; the
 * checks run again then, since a label may have changed in between. It can be withdrawn. Every
 * step is audited, with ids and rule names only.
 */
export interface PressService {
  draft(input: PressStatementCreate, actor: string): Promise<PressStatement>;
  list(): Promise<PressStatement[]>;
  get(id: string): Promise<PressStatement>;
  approve(id: string, actor: string): Promise<PressStatement>;
  withdraw(id: string, reason: string, actor: string): Promise<PressStatement>;
  published(): Promise<PublishedPressStatement[]>;
  publishedOne(id: string): Promise<PublishedPressStatement>;
}

export interface PressDeps {
  db: Db;
  clock: Clock;
  config: Pick<Config, 'teamId'>;
  audit: AuditLog;
  sharing: Pick<SharingService, 'evaluate' | 'record'>;
  incidents: Pick<IncidentService, 'list'>;
}

/** The press as a recipient: one, the public. */
const PRESS = { outside: 'press', id: 'press' } as const;
/** The labels whose incidents a statement must not name; every incident of each is checked. */
const NOT_CLEAR: Tlp[] = ['GREEN', 'AMBER', 'AMBER+STRICT', 'RED'];
const CHECKED_PER_PAGE = 100;

interface Checked {
  incidents: Incident[];
  outcomes: SharingOutcome[];
  denied: Array<{ incidentId: string; ref: string; deniedBy: string[] }>;
  findings: PressTextFinding[];
}

async function refs(dbOrTx: DbOrTx, ids: string[]): Promise<Array<{ id: string; ref: string }>> {
  const out: Array<{ id: string; ref: string }> = [];
  for (const id of ids) out.push({ id, ref: (await findIncident(dbOrTx, id))?.ref ?? id });
  return out;
}

async function viewOf(db: DbOrTx, row: StatementRow): Promise<PressStatement> {
  const { incidents: ids, ...rest } = row;
  return { ...rest, incidents: await refs(db, ids) };
}

/**
 * Where the texts name an incident that is not CLEAR, among every such incident (except `named`),
 * page by page (keyset), so memory stays one page however many the team holds: a statement is
 * rare and human-paced, and a leak to the public is worse than a wait.
 */
async function notClearFindings(incidents: PressDeps['incidents'], texts: string[], named: Set<string>): Promise<PressTextFinding[]> {
  const findings: PressTextFinding[] = [];
  for (const tlp of NOT_CLEAR) {
    let cursor: string | null = null;
    do {
      const page: { items: Incident[]; nextCursor: string | null } = await incidents.list({
        tlp,
        limit: CHECKED_PER_PAGE,
        ...(cursor ? { cursor } : {}),
      });
      const sources = page.items.filter((i) => !named.has(i.id)).map((incident) => ({ incident, hidden: 'all' as const }));
      findings.push(...findNonClearInPressText(texts, sources));
      cursor = page.nextCursor;
    } while (cursor);
  }
  return findings;
}

export function createPressService(deps: PressDeps): PressService {
  const { db, clock, config, audit, sharing, incidents } = deps;

  const view = (row: StatementRow): Promise<PressStatement> => viewOf(db, row);

  /** What the policy and the words say about a statement; `denied` and `findings` empty when it may go out. */
  async function check(title: string, text: string, refsOrIds: string[]): Promise<Checked> {
    const named: Incident[] = [];
    for (const refOrId of refsOrIds) {
      const incident = await findIncident(db, refOrId);
      if (!incident) throw new ProblemError('not-found', `no incident ${refOrId}`);
      if (!named.some((i) => i.id === incident.id)) named.push(incident);
    }
    const render = () => ({ title, text });
    const outcomes: SharingOutcome[] = [];
    for (const incident of named) outcomes.push(await sharing.evaluate(db, incident, PRESS, 'press', { chosenByHandler: true, render }));
    const denied = outcomes
      .map((o, i) => ({ incidentId: named[i]!.id, ref: named[i]!.ref, deniedBy: o.deniedBy }))
      .filter((d) => d.deniedBy.length > 0);
    const sources: PressTextSource[] = outcomes
      .map((o, i) => ({ incident: named[i]!, hidden: o.decision.redactions.map((r) => r.section) }))
      .filter((_, i) => outcomes[i]!.allow);
    const ids = new Set(named.map((i) => i.id));
    const findings = findNonClearInPressText([title, text], sources);
    findings.push(...(await notClearFindings(incidents, [title, text], ids)));
    return { incidents: named, outcomes, denied, findings };
  }

  /** Refuses (after committing the audit entry) when the statement is not CLEAR. */
  async function refuseUnlessClear(checked: Checked, actor: string, statementId: string | null): Promise<void> {
    if (checked.denied.length === 0 && checked.findings.length === 0) return;
    await audit.append(db, {
      kind: 'press.statement-refused',
      actor,
      decision: 'deny',
      details: {
        statementId,
        incidents: checked.incidents.map((i) => i.id),
        denied: checked.denied,
        findings: checked.findings,
      },
    });
    const why = [
      ...checked.denied.map((d) => `${d.ref}: ${d.deniedBy.join(', ')}`),
      ...checked.findings.map((f) => `the text names ${f.found.join(', ')} of ${f.ref}, which is not TLP:CLEAR`),
    ];
    throw new ProblemError('press-not-clear', why.join('; '), { denied: checked.denied, findings: checked.findings });
  }

  async function mustFind(dbOrTx: DbOrTx, id: string, forUpdate = false): Promise<StatementRow> {
    const row = await findStatement(dbOrTx, id, forUpdate);
    if (!row) throw new ProblemError('not-found', `no press statement ${id}`);
    return row;
  }

  return {
    async draft(input, actor) {
      const checked = await check(input.title, input.text, input.incidents);
      await refuseUnlessClear(checked, actor, null);
      const row: StatementRow = {
        id: randomUUID(),
        title: input.title,
        text: input.text,
        incidents: checked.incidents.map((i) => i.id),
        state: 'draft',
        draftedBy: actor,
        draftedAt: clock().toISOString(),
        approvedBy: null,
        publishedAt: null,
        withdrawnBy: null,
        withdrawnAt: null,
        withdrawalReason: null,
      };
      await db.transaction().execute(async (tx) => {
        await insertStatement(tx, row);
        await audit.append(tx, { kind: 'press.statement-drafted', actor, details: { statementId: row.id, incidents: row.incidents } });
      });
      return view(row);
    },

    async list() {
      const rows = await listStatements(db, { limit: 500 });
      const out: PressStatement[] = [];
      for (const row of rows) out.push(await view(row));
      return out;
    },

    async get(id) {
      return view(await mustFind(db, id));
    },

    async approve(id, actor) {
      const row = await mustFind(db, id);
      if (row.state !== 'draft') throw new ProblemError('press-statement-state', `statement ${id} is ${row.state}, not a draft`);
      if (row.draftedBy === actor) {
        await audit.append(db, {
          kind: 'press.statement-approval-refused',
          actor,
          decision: 'deny',
          details: { statementId: id, rule: 'press-same-handler' },
        });
        throw new ProblemError('press-same-handler', `${actor} drafted statement ${id}: another handler approves it`);
      }
      const checked = await check(row.title, row.text, row.incidents);
      await refuseUnlessClear(checked, actor, id);
      await db.transaction().execute(async (tx) => {
        const locked = await mustFind(tx, id, true);
        if (locked.state !== 'draft') throw new ProblemError('press-statement-state', `statement ${id} is ${locked.state}, not a draft`);
        await publishStatement(tx, id, actor, clock());
        // One disclosure decision per incident it speaks about: what went out is the statement itself.
        const details = { statementId: id, type: 'press.statement' };
        for (const [i, incident] of checked.incidents.entries())
          await sharing.record(tx, incident, checked.outcomes[i]!, { actor, chosenByHandler: true, rememberChoice: false, details });
        await audit.append(tx, {
          kind: 'press.statement-published',
          actor,
          decision: 'allow',
          details: { statementId: id, draftedBy: row.draftedBy, incidents: row.incidents },
        });
      });
      return view(await mustFind(db, id));
    },

    async withdraw(id, reason, actor) {
      await db.transaction().execute(async (tx) => {
        const row = await mustFind(tx, id, true);
        if (row.state !== 'published') throw new ProblemError('press-statement-state', `statement ${id} is ${row.state}, not published`);
        await withdrawStatement(tx, id, actor, clock(), reason.trim());
        await audit.append(tx, { kind: 'press.statement-withdrawn', actor, details: { statementId: id } });
      });
      return view(await mustFind(db, id));
    },

    async published() {
      const rows = await listStatements(db, { published: true, limit: 200 });
      const out: PublishedPressStatement[] = [];
      for (const row of rows) out.push(await publicView(row));
      return out;
    },

    async publishedOne(id) {
      const row = await findStatement(db, id);
      if (!row || row.state !== 'published') throw new ProblemError('not-found', `no published press statement ${id}`);
      return publicView(row);
    },
  };

  async function publicView(row: StatementRow): Promise<PublishedPressStatement> {
    return {
      id: row.id,
      team: config.teamId,
      title: row.title,
      text: row.text,
      incidents: (await refs(db, row.incidents)).map((r) => r.ref),
      publishedAt: row.publishedAt!,
    };
  }
}

/** The plain-text rendering of a published statement. */
export function renderPressText(s: PublishedPressStatement): string {
  const lines = [s.title, '='.repeat(Math.min(s.title.length, 72)), '', s.text.replace(/\r\n?/g, '\n'), '', `${s.team}, ${s.publishedAt}`];
  if (s.incidents.length > 0) lines.push(`Incidents: ${s.incidents.join(', ')}`);
  return `${lines.join('\n')}\n`;
}
