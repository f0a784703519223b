import { replacementPatch } from './import-patch.js';
import type { Clock } from '../../clock.js';
import type { Config } from '../../config.js';
import type { Db, Tx } from '../../db/database.js';
import { ProblemError } from '../../http/problem.js';
import type { Incident, IncidentCreate, IncidentPatch } from '../../../schemas/incident.schema.js';
import type { MispEventDocument, MispImportResult, MispPullResult } from '../../../schemas/misp.schema.js';
import type { AuditLog } from '../audit/audit.module.js';
import { canMovePhase, findIncident, type Actor, type IncidentService } from '../incidents/incidents.module.js';
import type { PolicyPayload } from '../policy/index.js';
import { payloadDigest, policyDenied, type SharingService } from '../sharing/index.js';
import { createMispClient, type MispClient } from './misp-client.js';
import { incidentToMispEvent } from './misp-export.js';
import { importInvalid, mispEventToIncident, sourcePointer, unwrapEvent, type MispMapped } from './misp-import.js';
import { findImportedEvent, readPullCursor, saveImportedEvent, savePullCursor } from './misp.repository.js';

/**
 * MISP (issue 16 part 3): export an incident as an event, import an event, push to and pull
 * from a MISP instance. Every export that can leave for another team (`forTeam`) is what a
 * share to that team would carry: the sharing policy decides and records (a deny is 403
 * policy-denied); without `forTeam` it is the incident as held, for the team's own tools, and
 * audited with the format and the actor. Audit entries hold ids and digests, never content,
 * and never the MISP key.
 */

export interface MispServiceDeps {
  db: Db;
  clock: Clock;
  config: Pick<Config, 'teamId' | 'teamName' | 'misp'>;
  incidents: Pick<IncidentService, 'get' | 'createInTx' | 'patchInTx' | 'appendInTx'>;
  sharing: Pick<SharingService, 'evaluate' | 'record'>;
  audit: AuditLog;
  /** Outgoing HTTP (tests); the global fetch when absent. */
  fetch?: typeof fetch | undefined;
}

export interface MispService {
  exportEvent(ref: string, forTeam: string | undefined, actor: Actor): Promise<MispEventDocument>;
  importEvent(body: unknown, actor: Actor, source?: string | null): Promise<MispImportResult>;
  push(ref: string, forTeam: string | undefined, actor: Actor): Promise<{ eventUuid: string; action: 'added' | 'edited'; server: string }>;
  pull(actor: Actor): Promise<MispPullResult>;
}

/** imported_object.source of an event we pushed: pulled back, it files nothing. */
const PUSHED = 'pushed:';

interface PullCursor {
  since: number;
  page: number;
  high: number;
}

function parseCursor(text: string | null): PullCursor {
  try {
    const c = JSON.parse(text ?? '') as PullCursor;
    if ([c.since, c.page, c.high].every((n) => Number.isSafeInteger(n) && n >= 0) && c.page >= 1) return c;
  } catch {
    // no cursor yet, or one we cannot read: start from the beginning (imports are idempotent)
  }
  return { since: 0, page: 1, high: 0 };
}

/** An update from a changed event: every field the event holds, and the ones it no longer holds cleared. */
function patchFrom(input: IncidentCreate, current: Incident): IncidentPatch {
  const { phase, ...content } = input;
  return {
    ...replacementPatch(content),
    ...(phase && phase !== current.phase && canMovePhase(current.phase, phase) ? { phase } : {}),
  };
}

export function createMispService(deps: MispServiceDeps): MispService {
  const { db, clock, config, incidents, sharing, audit } = deps;
  const org = { name: config.teamName, teamId: config.teamId };

  function client(): MispClient {
    const { url, key, timeoutMs, maxResponseBytes } = config.misp;
    if (!url || !key)
      throw new ProblemError('misp-not-configured', 'set HIKESHI_MISP_URL and HIKESHI_MISP_KEY to push to or pull from MISP');
    return createMispClient({ url, key, timeoutMs, maxResponseBytes, ...(deps.fetch ? { fetch: deps.fetch } : {}) });
  }

  /** The event a team may receive: decided and recorded by the sharing policy with `forTeam`, else as held and audited. */
  async function exportFor(ref: string, forTeam: string | undefined, actor: Actor, kind: 'export' | 'push', server?: string) {
    const incident = await incidents.get(ref);
    const details = { format: 'misp', kind, ...(server ? { server } : {}) };
    if (forTeam === undefined) {
      const document = incidentToMispEvent(incident, org);
      await audit.append(db, {
        kind: `format.${kind}`,
        actor: actor.subject,
        incidentId: incident.id,
        details: { ...details, eventUuid: document.Event.uuid, payloadSha256: payloadDigest(document) },
      });
      return document;
    }
    const render = (p: PolicyPayload) => {
      // A handler's choice is a need to know of its own: full detail, as for a share.
      if (p.detail !== 'full') throw new Error(`a MISP export needs full detail; the policy allows ${forTeam} a summary`);
      return incidentToMispEvent(p.incident, org);
    };
    const options = { chosenByHandler: true, render };
    const outcome = await db.transaction().execute(async (tx) => {
      const decided = await sharing.evaluate(tx, incident, { teamId: forTeam }, 'direct', options);
      await sharing.record(tx, incident, decided, { ...options, rememberChoice: false, actor: actor.subject, details });
      return decided;
    });
    if (!outcome.allow) throw policyDenied(outcome);
    return outcome.content as MispEventDocument;
  }

  async function fileEvent(tx: Tx, mapped: MispMapped, digest: string, actor: Actor, source: string | null) {
    const existing = await findImportedEvent(tx, mapped.uuid);
    // Our own pushed event coming back by pull is not a new report, and MISP's copy (maybe
    // redacted for a peer) never overwrites the incident it was made from.
    if (existing?.digest === digest || existing?.source?.startsWith(PUSHED))
      return { status: 'unchanged' as const, incidentId: existing.incidentId };
    const note = { format: 'misp', objectId: mapped.uuid, source, digest };
    let incidentId: string;
    const current = existing ? await findIncident(tx, existing.incidentId, true) : undefined;
    if (current) {
      incidentId = current.id;
      await incidents.patchInTx(tx, incidentId, patchFrom(mapped.input, current), actor);
    } else {
      incidentId = (await incidents.createInTx(tx, mapped.input, actor)).id;
    }
    await incidents.appendInTx(tx, incidentId, { kind: 'imported', actor, changes: note });
    await saveImportedEvent(tx, { eventUuid: mapped.uuid, incidentId, digest, source, at: clock() });
    return { status: current ? ('updated' as const) : ('created' as const), incidentId };
  }

  async function importEvent(body: unknown, actor: Actor, source: string | null = null): Promise<MispImportResult> {
    const mapped = mispEventToIncident(body);
    const { event, base } = unwrapEvent(body);
    const digest = payloadDigest(event);
    const filed = await db.transaction().execute(async (tx) => {
      let result;
      try {
        result = await fileEvent(tx, mapped, digest, actor, source);
      } catch (err) {
        // The incident's own rules (addresses that parse, a type within its category): a pointer into the event.
        if (err instanceof ProblemError && err.code === 'validation-failed') {
          const first = (err.extensions?.['errors'] as Array<{ pointer?: string; message?: string }> | undefined)?.[0];
          throw importInvalid(sourcePointer(mapped, first?.pointer ?? '', base), first?.message ?? err.message);
        }
        throw err;
      }
      await audit.append(tx, {
        kind: 'format.import',
        actor: actor.subject,
        incidentId: result.incidentId,
        details: { format: 'misp', objectId: mapped.uuid, digest, status: result.status, source },
      });
      return result;
    });
    const incident = await incidents.get(filed.incidentId);
    return { status: filed.status, eventUuid: mapped.uuid, incident: { id: incident.id, ref: incident.ref } };
  }

  async function pull(actor: Actor): Promise<MispPullResult> {
    const misp = client();
    const source = `misp:${misp.server}`;
    const limit = config.misp.pageSize;
    const cursor = parseCursor(await readPullCursor(db, source));
    const totals = { pages: 0, created: 0, updated: 0, unchanged: 0, invalid: 0 };
    for (;;) {
      // A failure here leaves the cursor at the last page filed whole: the next pull resumes there.
      const events = await misp.search(cursor.since, cursor.page, limit);
      for (const item of events) {
        try {
          const result = await importEvent(item, actor, source);
          totals[result.status]++;
        } catch (err) {
          if (!(err instanceof ProblemError && err.code === 'import-invalid')) throw err;
          totals.invalid++;
        }
        const stamp = Number((unwrapEvent(item).event as { timestamp?: unknown } | null)?.timestamp);
        if (Number.isSafeInteger(stamp) && stamp > cursor.high) cursor.high = stamp;
      }
      totals.pages++;
      if (events.length < limit) {
        // MISP's timestamp filter is "at or after": the newest event comes again next time, unchanged.
        Object.assign(cursor, { since: Math.max(cursor.since, cursor.high), page: 1 });
        await savePullCursor(db, source, JSON.stringify(cursor), clock());
        break;
      }
      cursor.page++;
      await savePullCursor(db, source, JSON.stringify(cursor), clock());
    }
    await audit.append(db, { kind: 'format.pull', actor: actor.subject, details: { format: 'misp', server: misp.server, ...totals } });
    return { ...totals, since: cursor.since };
  }

  return {
    exportEvent: (ref, forTeam, actor) => exportFor(ref, forTeam, actor, 'export'),
    importEvent,
    async push(ref, forTeam, actor) {
      const misp = client();
      const document = await exportFor(ref, forTeam, actor, 'push', misp.server);
      const uuid = document.Event.uuid;
      const exists = await misp.exists(uuid);
      if (exists) await misp.edit(uuid, document);
      else await misp.add(document);
      const incident = await incidents.get(ref);
      await saveImportedEvent(db, {
        eventUuid: uuid,
        incidentId: incident.id,
        digest: payloadDigest(document.Event),
        source: `${PUSHED}${misp.server}`,
        at: clock(),
      });
      return { eventUuid: uuid, action: exists ? 'edited' : 'added', server: misp.server };
    },
    pull,
  };
}
