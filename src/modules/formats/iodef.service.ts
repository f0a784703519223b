import { createHash } from 'node:crypto';
import type { Clock } from '../../clock.js';
import type { Config } from '../../config.js';
import type { Db, Tx } from '../../db/database.js';
import { ProblemError } from '../../http/problem.js';
import type { IodefImportResult } from '../../../schemas/iodef.schema.js';
import type { AuditLog } from '../audit/audit.module.js';
import { findIncident, type Actor, type IncidentService } from '../incidents/incidents.module.js';
import { policyDenied, type SharingOutcome, type SharingService } from '../sharing/index.js';
import { incidentToIodef, type IodefExportContext } from './iodef-export.js';
import { iodefToIncident } from './iodef-import.js';
import { replacementPatch } from './import-patch.js';
import { findImportedObject, insertImportedObject, lockImportedObject, setImportedDigest } from './imported-object.repository.js';

/**
 * IODEF v2 export and import (issue 16 part 4). An export `for` a team is what a share to it
 * would carry: the sharing policy decides (purpose direct, the handler's choice) and the
 * decision is audited with the digest of the document; a deny is 403 policy-denied. Without
 * `for` the export is the incident as we hold it, for our own tools, audited with the format
 * and the actor (never the content). Imports are validated before anything is written and are
 * idempotent through imported_object.
 */
export interface IodefDeps {
  db: Db;
  clock: Clock;
  config: Config;
  incidents: IncidentService;
  sharing: SharingService;
  audit: AuditLog;
}

export interface IodefService {
  exportIncident(ref: string, forTeam: string | undefined, actor: Actor): Promise<string>;
  importDocument(text: string, actor: Actor): Promise<IodefImportResult>;
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
const JOURNAL_LIMIT = 500;

export function createIodefService(deps: IodefDeps): IodefService {
  const { db, clock, config, incidents, sharing, audit } = deps;
  const context = (): IodefExportContext => ({
    teamId: config.teamId,
    teamName: config.teamName,
    teamEmail: config.teamEmail,
    now: clock(),
  });

  async function exportOwn(ref: string, actor: Actor): Promise<string> {
    const incident = await incidents.get(ref);
    const journal = (await incidents.journal(incident.id, undefined, JOURNAL_LIMIT)).items;
    const xml = incidentToIodef(incident, { ...context(), journal });
    await audit.append(db, {
      kind: 'export',
      actor: actor.subject,
      incidentId: incident.id,
      details: { format: 'iodef', ref: incident.ref, for: null, digest: sha256(xml) },
    });
    return xml;
  }

  async function exportFor(ref: string, team: string, actor: Actor): Promise<string> {
    const result = await db.transaction().execute(async (tx): Promise<{ xml: string } | { denied: SharingOutcome }> => {
      const incident = await findIncident(tx, ref);
      if (!incident) throw new ProblemError('not-found', `no incident ${ref}`);
      const options = {
        actor: actor.subject,
        chosenByHandler: true,
        // A one-off disclosure: it does not make the team a recipient of later updates.
        rememberChoice: false,
        // History is left out: journal notes are not redacted by the policy.
        render: (payload: { detail: string; incident?: typeof incident }) =>
          payload.detail === 'full' && payload.incident ? incidentToIodef(payload.incident, context()) : null,
        details: { type: 'export', format: 'iodef' },
      };
      const outcome = await sharing.evaluate(tx, incident, { teamId: team }, 'direct', options);
      await sharing.record(tx, incident, outcome, options);
      if (!outcome.allow) return { denied: outcome };
      if (typeof outcome.content !== 'string') {
        throw new ProblemError('policy-denied', `the policy allows ${team} a summary only, which an IODEF export does not carry`);
      }
      return { xml: outcome.content };
    });
    // After the commit: the refusal is on record, the handler learns why.
    if ('denied' in result) throw policyDenied(result.denied);
    return result.xml;
  }

  async function updateImported(tx: Tx, incidentId: string, mapped: ReturnType<typeof iodefToIncident>, actor: Actor): Promise<void> {
    const { phase: _ourLifecycle, ...input } = mapped.incident;
    const patch = replacementPatch(input);
    await incidents.patchInTx(tx, incidentId, patch, actor);
  }

  return {
    async exportIncident(ref, forTeam, actor) {
      return forTeam === undefined ? exportOwn(ref, actor) : exportFor(ref, forTeam, actor);
    },

    async importDocument(text, actor) {
      // Validated and mapped before anything is written: a refusal files nothing.
      const mapped = iodefToIncident(text);
      return db.transaction().execute(async (tx) => {
        await lockImportedObject(tx, 'iodef', mapped.objectId);
        const existing = await findImportedObject(tx, 'iodef', mapped.objectId);
        const record = { format: 'iodef' as const, objectId: mapped.objectId, digest: mapped.digest, source: mapped.sourceRef.team };
        let status: IodefImportResult['status'];
        let incidentId: string;
        if (existing && existing.digest === mapped.digest) {
          status = 'unchanged';
          incidentId = existing.incidentId;
        } else if (existing) {
          status = 'updated';
          incidentId = existing.incidentId;
          await updateImported(tx, incidentId, mapped, actor);
          await setImportedDigest(tx, { ...record, incidentId }, clock());
        } else {
          status = 'created';
          incidentId = (await incidents.createInTx(tx, mapped.incident, actor)).id;
          await insertImportedObject(tx, { ...record, incidentId }, clock());
        }
        if (status !== 'unchanged') {
          await incidents.appendInTx(tx, incidentId, {
            kind: 'imported',
            actor,
            changes: {
              format: 'iodef',
              objectId: mapped.objectId,
              sourceTeam: mapped.sourceRef.team,
              sourceRef: mapped.sourceRef.ref,
              status,
            },
          });
        }
        // Last: the audit append holds the chain lock until commit.
        await audit.append(tx, {
          kind: 'import',
          actor: actor.subject,
          incidentId,
          details: { format: 'iodef', objectId: mapped.objectId, digest: mapped.digest, status },
        });
        const incident = (await findIncident(tx, incidentId))!;
        return { status, ref: incident.ref, id: incident.id, objectId: mapped.objectId };
      });
    },
  };
}
