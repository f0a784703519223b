import type { Clock } from '../../clock.js';
import type { Db, DbOrTx } from '../../db/database.js';
import { ProblemError } from '../../http/problem.js';
import type { Incident } from '../../../schemas/incident.schema.js';
import type {
  IncidentPolicy,
  IncidentPolicyPut,
  LawEnforcementApprovalCreate,
  LawEnforcementApprovalRecord,
} from '../../../schemas/sharing.schema.js';
import type { AuditLog } from '../audit/audit.module.js';
import { findIncident } from '../incidents/incidents.module.js';
import { findIncidentPolicy, insertApproval, listApprovals, putHandlerPolicy } from './sharing.repository.js';

/**
 * The policy facts a handler sets on one incident: the teams named for TLP:RED, per-incident
 * section minimums, and law-enforcement approvals (with their legal basis). Each change is
 * audited with the act: naming a RED recipient or approving a disclosure to the police is a
 * disclosure decision in the making.
 */
export interface IncidentPolicyService {
  get(refOrId: string): Promise<IncidentPolicy>;
  put(refOrId: string, input: IncidentPolicyPut, actor: string): Promise<IncidentPolicy>;
  approveLawEnforcement(refOrId: string, input: LawEnforcementApprovalCreate, actor: string): Promise<LawEnforcementApprovalRecord>;
}

export function createIncidentPolicyService(deps: { db: Db; clock: Clock; audit: AuditLog }): IncidentPolicyService {
  const { db, clock, audit } = deps;

  async function mustFind(dbOrTx: DbOrTx, refOrId: string, forUpdate = false): Promise<Incident> {
    const incident = await findIncident(dbOrTx, refOrId, forUpdate);
    if (!incident) throw new ProblemError('not-found', `no incident ${refOrId}`);
    return incident;
  }

  async function view(dbOrTx: DbOrTx, incident: Incident): Promise<IncidentPolicy> {
    const facts = await findIncidentPolicy(dbOrTx, incident.id);
    const approvals = await listApprovals(dbOrTx, incident.id);
    return {
      incidentId: incident.id,
      ref: incident.ref,
      tlp: incident.tlp,
      redRecipients: facts?.redRecipients ?? [],
      chosenRecipients: facts?.chosenRecipients ?? [],
      sectionMinimums: facts?.sectionMinimums ?? {},
      provenance: facts?.provenance ?? null,
      lawEnforcementApprovals: approvals,
      version: facts?.version ?? 0,
      updatedAt: facts ? facts.updatedAt.toISOString() : null,
      updatedBy: facts?.updatedBy ?? null,
    };
  }

  return {
    async get(refOrId) {
      return view(db, await mustFind(db, refOrId));
    },

    async put(refOrId, input, actor) {
      return db.transaction().execute(async (tx) => {
        const incident = await mustFind(tx, refOrId, true);
        const before = await findIncidentPolicy(tx, incident.id);
        await putHandlerPolicy(tx, incident.id, input, actor, clock());
        await audit.append(tx, {
          kind: 'policy.incident-updated',
          actor,
          incidentId: incident.id,
          details: {
            ref: incident.ref,
            redRecipients: { from: before?.redRecipients ?? [], to: input.redRecipients },
            sectionMinimums: { from: before?.sectionMinimums ?? {}, to: input.sectionMinimums },
          },
        });
        return view(tx, incident);
      });
    },

    async approveLawEnforcement(refOrId, input, actor) {
      return db.transaction().execute(async (tx) => {
        const incident = await mustFind(tx, refOrId, true);
        const approval = await insertApproval(tx, {
          incidentId: incident.id,
          recipient: input.recipient,
          legalBasis: input.legalBasis.trim(),
          approvedBy: actor,
          at: clock(),
        });
        await audit.append(tx, {
          kind: 'law-enforcement.approval',
          actor,
          incidentId: incident.id,
          peer: input.recipient,
          details: {
            ref: incident.ref,
            approvalId: approval.id,
            recipient: approval.recipient,
            legalBasis: approval.legalBasis,
          },
        });
        return approval;
      });
    },
  };
}
