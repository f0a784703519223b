import type { Clock } from '../../clock.js';
import type { Db, Tx } from '../../db/database.js';
import { ProblemError } from '../../http/problem.js';
import type { Incident, JournalEntry } from '../../../schemas/incident.schema.js';
import {
  ERASURE_SUBJECTS,
  type ErasureRequest,
  type ErasureResult,
  type ErasureSubject,
  type LegalHold,
  type LegalHoldChange,
} from '../../../schemas/personal-data.schema.js';
import type { AuditLog } from '../audit/audit.module.js';
import type { Scrubber } from '../policy/index.js';
import { findLegalHold, holdIncident, releaseIncident, type LegalHoldRow } from './incident-legal-hold.repository.js';
import { listJournal, updateIncidentContent, type NewJournalEntry } from './incident.repository.js';
import type { Actor } from './incident.service.js';
import { contentOf, erasePersonalData, namesErased } from './personal-data-erasure.js';

/**
 * Erasure of personal data and legal hold (ADR 0013), part of the incident service.
 *
 * An erasure rewrites the incident's content (personal-data-erasure.ts) and its search rows,
 * journals `updated` (fields only) and `personal-data-erased`, lets other modules erase their
 * copies (erasure listeners) and appends one audit entry, all in one transaction: it happens
 * completely or not at all. The audit entry says who, when, which subjects, the legal basis and the reason; never an
 * erased value (a reason that names one is refused). The audit chain is not touched: entries
 * never held incident content (audit.module.ts), so nothing in it needs erasing and it still
 * verifies. Earlier journal entries are not rewritten (the journal is append-only); the answer
 * lists those that still name an erased identifier.
 */

/** What an erasure listener is told. `before` and `scrub` carry personal data: never log or store them. */
export interface ErasureEvent {
  subjects: readonly ErasureSubject[];
  /** The incident as it was: to find the same people and hosts in a copy. */
  before: Incident;
  /** Scrubs the erased identifiers from a text, in any spelling; `erased` is true when it found one. */
  scrub(text: string): { text: string; erased: boolean };
  actor: Actor;
  at: string;
  journalEntry: JournalEntry;
}

/**
 * Called inside the erasure's transaction, after the incident is rewritten and before the audit
 * entry: a module holding a copy of the incident's personal data (stored messages, summaries)
 * erases it here, and a failure rolls the whole erasure back.
 */
export type ErasureListener = (tx: Tx, incident: Incident, erasure: ErasureEvent) => Promise<void>;

export interface PersonalDataOperations {
  /** Erases the subjects' personal data from the incident; refused (409 legal-hold) while it is held. */
  erasePersonalData(refOrId: string, request: ErasureRequest, actor: Actor): Promise<ErasureResult>;
  legalHold(refOrId: string): Promise<LegalHold>;
  /** Sets (or re-states) or clears the hold; audited and journalled when it changes anything. */
  setLegalHold(refOrId: string, change: LegalHoldChange, actor: Actor): Promise<LegalHold>;
  addErasureListener(listener: ErasureListener): void;
}

export interface PersonalDataDeps {
  db: Db;
  clock: Clock;
  /** Required for erasures and holds (app.ts passes it); without it they fail as a wiring bug. */
  audit: AuditLog | undefined;
  find(dbOrTx: Db | Tx, refOrId: string, forUpdate?: boolean): Promise<Incident>;
  /** The incident service's journal: appends, moves the incident in the change order, runs the change listeners. */
  journal(tx: Tx, incident: Incident, entry: NewJournalEntry): Promise<JournalEntry>;
}

const NOT_HELD: LegalHold = { hold: false, reason: null, setBy: null, setAt: null };
const view = (row: LegalHoldRow | null): LegalHold =>
  row ? { hold: true, reason: row.reason, setBy: row.setBy, setAt: row.setAt } : NOT_HELD;

const JOURNAL_PAGE = 500;

/** An `updated` entry's changes for an erasure: sizes for lists, `replaced` for the rest; no values. */
function describeErasure(before: Incident, after: Incident, fields: readonly string[]): Record<string, unknown> {
  const changes: Record<string, unknown> = {};
  for (const field of fields) {
    const from = (before as Record<string, unknown>)[field];
    const to = (after as Record<string, unknown>)[field];
    changes[field] = Array.isArray(from) && Array.isArray(to) ? { from: from.length, to: to.length, unit: 'items' } : { replaced: true };
  }
  return changes;
}

/** Ids of the incident's journal entries before `beforeId` that name an erased identifier. */
async function earlierMentions(tx: Tx, incidentId: string, beforeId: number, scrubber: Scrubber): Promise<number[]> {
  const ids: number[] = [];
  if (scrubber.empty) return ids;
  for (let after = 0; ;) {
    const page = await listJournal(tx, incidentId, after, JOURNAL_PAGE);
    for (const entry of page.items) {
      if (entry.id >= beforeId) return ids;
      if (namesErased(entry.note, scrubber) || namesErased(entry.changes, scrubber)) ids.push(entry.id);
    }
    if (!page.more || page.items.length === 0) return ids;
    after = page.items.at(-1)!.id;
  }
}

export function createPersonalDataOperations(deps: PersonalDataDeps): PersonalDataOperations {
  const { db, clock, find, journal } = deps;
  const erasureListeners: ErasureListener[] = [];

  const auditLog = (): AuditLog => {
    if (!deps.audit) throw new Error('erasure and legal hold need the audit log: pass audit to createIncidentService');
    return deps.audit;
  };

  return {
    addErasureListener(listener) {
      erasureListeners.push(listener);
    },

    async legalHold(refOrId) {
      const incident = await find(db, refOrId);
      return view(await findLegalHold(db, incident.id));
    },

    async setLegalHold(refOrId, change, actor) {
      const audit = auditLog();
      return db.transaction().execute(async (tx) => {
        // The incident's row lock orders a hold against an erasure of the same incident.
        const incident = await find(tx, refOrId, true);
        const current = await findLegalHold(tx, incident.id);
        if (!change.hold && !current) return NOT_HELD;
        if (change.hold && current?.reason === change.reason) return view(current);
        const at = clock();
        if (change.hold) await holdIncident(tx, { incidentId: incident.id, reason: change.reason, setBy: actor.subject, at });
        else await releaseIncident(tx, incident.id);
        // The journal says that it happened; the reason (which may name a case or a person) is in
        // the hold and the audit log, not in the append-only journal every reader sees.
        const kind = change.hold ? 'legal-hold-set' : 'legal-hold-cleared';
        await journal(tx, incident, {
          incidentId: incident.id,
          at,
          actor: actor.subject,
          actorTeam: actor.team,
          kind,
          changes: { hold: change.hold },
        });
        await audit.append(tx, {
          kind: `incident.${kind}`,
          actor: actor.subject,
          incidentId: incident.id,
          details: {
            ref: incident.ref,
            reason: change.reason,
            ...(current ? { previous: { reason: current.reason, setBy: current.setBy, setAt: current.setAt } } : {}),
          },
        });
        return view(await findLegalHold(tx, incident.id));
      });
    },

    async erasePersonalData(refOrId, request, actor) {
      const audit = auditLog();
      // One order for the record, whatever order the request named them in.
      const subjects = ERASURE_SUBJECTS.filter((s) => request.subjects.includes(s));
      const outcome = await db.transaction().execute(async (tx): Promise<{ result: ErasureResult } | { heldSince: string }> => {
        const before = await find(tx, refOrId, true);
        const erased = erasePersonalData(before, new Set(subjects));
        // The reason and the legal basis stay in the audit log for good: they must not carry
        // what is being erased.
        for (const [pointer, text] of [
          ['/reason', request.reason],
          ['/legalBasis', request.legalBasis],
        ] as const) {
          if (namesErased(text, erased.scrubber)) {
            throw new ProblemError(
              'validation-failed',
              `${pointer.slice(1)} names personal data this erasure removes; the audit log would keep it`,
              {
                errors: [{ location: 'body', pointer, message: 'must not name the personal data being erased' }],
              },
            );
          }
        }
        const record = { ref: before.ref, subjects, legalBasis: request.legalBasis, reason: request.reason };
        const hold = await findLegalHold(tx, before.id);
        if (hold) {
          // The refusal is recorded and committed; the caller gets the 409 after the commit.
          await audit.append(tx, {
            kind: 'incident.personal-data-erasure-refused',
            actor: actor.subject,
            incidentId: before.id,
            decision: 'deny',
            details: { ...record, refusedBecause: 'legal-hold', heldSince: hold.setAt },
          });
          return { heldSince: hold.setAt };
        }
        const at = clock();
        const who = { incidentId: before.id, at, actor: actor.subject, actorTeam: actor.team };
        let after = before;
        let firstEntry: number | null = null;
        if (erased.fields.length > 0) {
          // Rewrites the content and replaces the search rows (incident_host, incident_indicator).
          if (!(await updateIncidentContent(tx, before.id, before.version, contentOf(erased.incident), at))) {
            throw new ProblemError('version-mismatch', 'incident changed concurrently; try again');
          }
          after = await find(tx, before.id);
          // An `updated` entry as for any change of content, so that the change listeners that keep
          // derived copies in step (the coordination feed and its correlation rows, update notices
          // to peers) rewrite theirs from the erased incident. It says which fields changed and
          // never a value: neither the old ones (erased) nor the new.
          const updated = await journal(tx, after, {
            ...who,
            kind: 'updated',
            changes: describeErasure(before, after, erased.fields),
          });
          firstEntry = updated.id;
        }
        const entry = await journal(tx, after, {
          ...who,
          kind: 'personal-data-erased',
          changes: { subjects, legalBasis: request.legalBasis, fields: erased.fields },
        });
        const earlier = await earlierMentions(tx, before.id, firstEntry ?? entry.id, erased.scrubber);
        const event: ErasureEvent = {
          subjects,
          before,
          scrub: (text) => {
            const { text: out, sections } = erased.scrubber.scrub(text);
            return { text: out, erased: sections.length > 0 };
          },
          actor,
          at: at.toISOString(),
          journalEntry: entry,
        };
        for (const listener of erasureListeners) await listener(tx, after, event);
        // Last: the audit append holds the chain lock until commit.
        await audit.append(tx, {
          kind: 'incident.personal-data-erased',
          actor: actor.subject,
          incidentId: before.id,
          decision: 'allow',
          details: {
            ...record,
            fields: erased.fields,
            version: { from: before.version, to: after.version },
            journalEntry: entry.id,
            earlierJournalEntries: earlier.length,
          },
        });
        const result: ErasureResult = {
          ref: after.ref,
          subjects,
          erasedAt: at.toISOString(),
          version: after.version,
          fields: erased.fields,
          journalEntry: entry.id,
          earlierJournalEntries: earlier,
        };
        return { result };
      });
      if ('heldSince' in outcome) {
        const detail = `the incident is under legal hold since ${outcome.heldSince}; clear the hold first (PUT .../legal-hold)`;
        throw new ProblemError('legal-hold', detail, { heldSince: outcome.heldSince });
      }
      return outcome.result;
    },
  };
}
