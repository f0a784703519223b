import type { Clock } from '../../clock.js';
import type { Config } from '../../config.js';
import type { Db } from '../../db/database.js';
import { ProblemError } from '../../http/problem.js';
import type { Incident, IncidentPatch } from '../../../schemas/incident.schema.js';
import type { PolicyDecision } from '../../../schemas/policy.schema.js';
import type { AuditLog } from '../audit/audit.module.js';
import type { Actor, IncidentService } from '../incidents/incidents.module.js';
import type { PolicyPayload } from '../policy/index.js';
import { payloadDigest, policyDenied, type SharingService } from '../sharing/index.js';
import { findImported, insertImported, updateImportedDigest } from './imported-object.repository.js';
import { HIKESHI_EXTENSION_SCHEMA_PATH, type StixBundle } from './stix-common.js';
import { incidentToStix, stixViewOf } from './stix-export.js';
import { incidentsFromBundle, validateBundle, type StixCandidate } from './stix-import.js';

/**
 * STIX 2.1 in and out (issue 16 part 1). An export for a team is what a share to it would carry:
 * the sharing policy decides (purpose direct, the handler's choice of recipient) and the
 * decision is recorded with the digest of the bundle, a deny is 403 policy-denied. An export
 * without a recipient is the incident as we hold it, for our own tools, audited with its digest.
 * An import files each incident of a bundle as our own incident, once: imported_object keeps
 * the STIX id and the digest of what it mapped to (stix-import.ts).
 */
export interface StixServiceDeps {
  db: Db;
  clock: Clock;
  config: Pick<Config, 'teamId' | 'publicUrl'>;
  incidents: IncidentService;
  sharing: Pick<SharingService, 'evaluate' | 'record'>;
  audit: AuditLog;
}

export type ImportOutcome = 'created' | 'updated' | 'unchanged';
export interface StixImportResult {
  format: 'stix';
  bundle: string;
  items: Array<{ objectId: string; incident: { id: string; ref: string }; outcome: ImportOutcome }>;
}

export interface StixService {
  exportIncident(refOrId: string, forTeam: string | undefined, actor: Actor): Promise<StixBundle>;
  /** Validates first (import-invalid, nothing filed), then files each incident once. */
  importBundle(value: unknown, actor: Actor, source: string | null): Promise<StixImportResult>;
}

/** A patch that makes the stored incident exactly what the candidate maps to (absent fields cleared). */
function patchOf(c: StixCandidate): IncidentPatch {
  const i = c.input;
  return {
    title: i.title,
    summary: i.summary ?? null,
    category: i.category,
    type: i.type ?? null,
    severity: i.severity,
    tlp: i.tlp,
    ...(i.phase ? { phase: i.phase } : {}),
    firstSeen: i.firstSeen ?? null,
    lastSeen: i.lastSeen ?? null,
    reporter: i.reporter,
    poc: i.poc ?? null,
    hosts: i.hosts ?? [],
    intruderActivity: i.intruderActivity ?? null,
    vulnerabilities: i.vulnerabilities ?? [],
    systemChanges: i.systemChanges ?? [],
    installedSoftware: i.installedSoftware ?? [],
    evidence: i.evidence ?? [],
    indicators: i.indicators ?? [],
  };
}

/** Our content rules (type within category, addresses, time order) failing on a mapped incident: the bundle's fault. */
function asImportInvalid(err: unknown, c: StixCandidate): never {
  if (err instanceof ProblemError && err.code === 'validation-failed') {
    const first = (err.extensions?.['errors'] as Array<{ pointer?: string }> | undefined)?.[0];
    throw new ProblemError('import-invalid', `the STIX bundle is not valid: ${c.objectId}: ${err.detail ?? err.message}`, {
      pointer: `${c.pointer}${first?.pointer ?? ''}`,
    });
  }
  throw err;
}

export function createStixService(deps: StixServiceDeps): StixService {
  const { db, clock, config, incidents, sharing, audit } = deps;
  const schemaUrl = `${config.publicUrl.replace(/\/+$/, '')}${HIKESHI_EXTENSION_SCHEMA_PATH}`;
  const contextFor = (incident: Incident, tlp: Incident['tlp'], recipient?: string) => ({
    teamId: config.teamId,
    incidentId: incident.id,
    tlp,
    extensionSchemaUrl: schemaUrl,
    ...(recipient ? { recipient } : {}),
  });

  async function file(c: StixCandidate, actor: Actor, source: string | null, bundleId: string): Promise<StixImportResult['items'][number]> {
    const existing = await findImported(db, 'stix', c.objectId);
    const journal = { format: 'stix', objectId: c.objectId, bundle: bundleId, source, sourceRef: c.sourceRef };
    const auditEntry = (incidentId: string, outcome: ImportOutcome) => ({
      kind: 'format.import',
      actor: actor.subject,
      incidentId,
      decision: 'allow' as const,
      details: { format: 'stix', objectId: c.objectId, bundle: bundleId, digest: c.digest, outcome },
    });
    if (existing && existing.digest === c.digest) {
      const incident = await incidents.get(existing.incidentId);
      await audit.append(db, auditEntry(incident.id, 'unchanged'));
      return { objectId: c.objectId, incident: { id: incident.id, ref: incident.ref }, outcome: 'unchanged' };
    }
    if (existing) {
      const updated = await incidents.patch(existing.incidentId, patchOf(c), actor).catch((err: unknown) => asImportInvalid(err, c));
      await db.transaction().execute(async (tx) => {
        await updateImportedDigest(tx, {
          format: 'stix',
          objectId: c.objectId,
          from: existing.digest,
          digest: c.digest,
          source,
          at: clock(),
        });
        await incidents.appendInTx(tx, updated.id, { kind: 'imported', actor, changes: { ...journal, outcome: 'updated' } });
        await audit.append(tx, auditEntry(updated.id, 'updated'));
      });
      return { objectId: c.objectId, incident: { id: updated.id, ref: updated.ref }, outcome: 'updated' };
    }
    const created = await db.transaction().execute(async (tx) => {
      const incident = await incidents.createInTx(tx, c.input, actor).catch((err: unknown) => asImportInvalid(err, c));
      // A concurrent import of the same object won: roll this one back and answer with its result.
      if (
        !(await insertImported(tx, {
          format: 'stix',
          objectId: c.objectId,
          incidentId: incident.id,
          digest: c.digest,
          source,
          at: clock(),
        }))
      ) {
        throw new LostRace();
      }
      await incidents.appendInTx(tx, incident.id, { kind: 'imported', actor, changes: { ...journal, outcome: 'created' } });
      await audit.append(tx, auditEntry(incident.id, 'created'));
      return incident;
    });
    return { objectId: c.objectId, incident: { id: created.id, ref: created.ref }, outcome: 'created' };
  }

  return {
    async exportIncident(refOrId, forTeam, actor) {
      const incident = await incidents.get(refOrId);
      if (forTeam === undefined) {
        const bundle = incidentToStix({ detail: 'full', incident }, contextFor(incident, incident.tlp));
        await audit.append(db, {
          kind: 'format.export',
          actor: actor.subject,
          incidentId: incident.id,
          decision: 'allow',
          details: { format: 'stix', ref: incident.ref, recipient: null, bundle: bundle.id, sha256: payloadDigest(bundle) },
        });
        return bundle;
      }
      const options = {
        chosenByHandler: true,
        render: (payload: PolicyPayload, decision: PolicyDecision) =>
          incidentToStix(stixViewOf(payload, decision), contextFor(incident, decision.tlp, forTeam)),
      };
      const outcome = await db.transaction().execute(async (tx) => {
        const decided = await sharing.evaluate(tx, incident, { teamId: forTeam }, 'direct', options);
        // A one-off export is not a share: it does not widen who later updates reach.
        await sharing.record(tx, incident, decided, {
          ...options,
          actor: actor.subject,
          rememberChoice: false,
          details: { type: 'format.export', format: 'stix' },
        });
        return decided;
      });
      if (!outcome.allow) throw policyDenied(outcome);
      return outcome.content as StixBundle;
    },

    async importBundle(value, actor, source) {
      const bundle = validateBundle(value);
      const candidates = incidentsFromBundle(bundle);
      const items: StixImportResult['items'] = [];
      for (const c of candidates) {
        try {
          items.push(await file(c, actor, source, bundle.id));
        } catch (err) {
          if (!(err instanceof LostRace)) throw err;
          items.push(await file(c, actor, source, bundle.id));
        }
      }
      return { format: 'stix', bundle: bundle.id, items };
    },
  };
}

class LostRace extends Error {}
