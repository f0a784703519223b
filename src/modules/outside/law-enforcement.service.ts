import { createHash, randomUUID } from 'node:crypto';
import type { Clock } from '../../clock.js';
import type { Config } from '../../config.js';
import { canonicalize, type NodeSigner } from '../../crypto/index.js';
import type { Db, DbOrTx, Tx } from '../../db/database.js';
import { ProblemError } from '../../http/problem.js';
import type { Incident } from '../../../schemas/incident.schema.js';
import type {
  LawEnforcementDecisionCreate,
  LawEnforcementPackage,
  LawEnforcementRequest,
  LawEnforcementRequestCreate,
} from '../../../schemas/outside.schema.js';
import type { PolicyDecision, PolicySection, Redaction } from '../../../schemas/policy.schema.js';
import type { AuditLog } from '../audit/audit.module.js';
import { findIncident } from '../incidents/incidents.module.js';
import { preparePayload, sectionsPresent, type PolicyPayload } from '../policy/index.js';
import { insertApproval, policyDenied, type SharingOutcome, type SharingService } from '../sharing/index.js';
import { PACKAGE_TYPE, renderPackageText, type PackageDocument } from './law-enforcement-package.js';
import {
  findPackage,
  findRequest,
  insertPackage,
  insertRequest,
  listPackagesOf,
  listRequests,
  recordDecision,
  type PackageRow,
  type RequestRow,
} from './law-enforcement.repository.js';

/**
 * Law enforcement (issue 17 part 3, domain §4, ADR 0023): a request an agency sends us (or a
 * report we decide to make), the handler's decision on it, and the signed package handed over.
 *
 * - Approving a request records the existing law-enforcement approval (sharing module) for each
 *   incident in scope, with the handler as approvedBy: the sharing policy's `law-enforcement`
 *   purpose then allows the agency, and nothing else does.
 * - A package is exactly what the policy allows for the agency (purpose law-enforcement, trust
 *   from the node setting, redaction by section and by identifier), narrowed to the sections the
 *   request asked for. Each incident's decision is a `disclosure.decision` audit entry; a denial
 *   (no approval, a RED incident not named) commits its entries and answers 4xx.
 * - Audit entries carry ids, the agency, states and digests: never incident content, nor the
 *   request's free text or the officer's contact.
 */
export interface LawEnforcementService {
  record(input: LawEnforcementRequestCreate, actor: string): Promise<LawEnforcementRequest>;
  list(): Promise<LawEnforcementRequest[]>;
  get(id: string): Promise<LawEnforcementRequest>;
  decide(id: string, input: LawEnforcementDecisionCreate, actor: string): Promise<LawEnforcementRequest>;
  makePackage(id: string, actor: string): Promise<LawEnforcementPackage>;
  download(packageId: string, actor: string): Promise<LawEnforcementPackage>;
}

export interface LawEnforcementDeps {
  db: Db;
  clock: Clock;
  config: Pick<Config, 'teamId'>;
  audit: AuditLog;
  sharing: Pick<SharingService, 'evaluate' | 'record'>;
  signer: Pick<NodeSigner, 'signDetached' | 'fingerprint'>;
}

const sha256 = (text: string): string => createHash('sha256').update(text, 'utf8').digest('hex');

function toPackage(p: PackageRow): LawEnforcementPackage {
  return {
    id: p.id,
    requestId: p.requestId,
    agency: p.agency,
    createdAt: p.createdAt,
    createdBy: p.createdBy,
    incidents: p.summary as LawEnforcementPackage['incidents'],
    payloadSha256: p.payloadSha256,
    signerFingerprint: p.signerFingerprint,
    canonicalJson: p.canonicalJson,
    jsonSignature: p.jsonSignature,
    text: p.text,
    textSignature: p.textSignature,
  };
}

async function view(db: DbOrTx, row: RequestRow, packages?: PackageRow[]): Promise<LawEnforcementRequest> {
  const incidents: Array<{ id: string; ref: string }> = [];
  for (const id of row.scope.incidents) {
    const incident = await findIncident(db, id);
    incidents.push({ id, ref: incident?.ref ?? id });
  }
  const pkgs = packages ?? (await listPackagesOf(db, [row.id])).get(row.id) ?? [];
  return {
    id: row.id,
    origin: row.origin,
    agency: { id: row.agency, name: row.agencyName },
    officer: row.officer,
    legalBasis: row.legalBasis,
    scope: { incidents, sections: row.scope.sections, information: row.scope.information },
    deadline: row.deadline,
    receivedAt: row.receivedAt,
    text: row.text,
    state: row.state,
    recordedBy: row.recordedBy,
    recordedAt: row.recordedAt,
    decision:
      row.state === 'pending' || !row.decidedBy || !row.decidedAt
        ? null
        : {
            decision: row.state === 'approved' ? 'approve' : 'decline',
            by: row.decidedBy,
            at: row.decidedAt,
            legalBasis: row.decisionBasis,
            reason: row.declineReason,
          },
    packages: pkgs.map((p) => ({ id: p.id, createdAt: p.createdAt, createdBy: p.createdBy, payloadSha256: p.payloadSha256 })),
  };
}

async function mustFindRequest(dbOrTx: DbOrTx, id: string, forUpdate = false): Promise<RequestRow> {
  const row = await findRequest(dbOrTx, id, forUpdate);
  if (!row) throw new ProblemError('not-found', `no law-enforcement request ${id}`);
  return row;
}

async function mustFindIncident(dbOrTx: DbOrTx, refOrId: string): Promise<Incident> {
  const incident = await findIncident(dbOrTx, refOrId);
  if (!incident) throw new ProblemError('not-found', `no incident ${refOrId}`);
  return incident;
}

/** The sections present that the request did not ask for: left out of the package, whatever the policy would allow. */
function outOfScope(incident: Incident, decision: PolicyDecision, asked: PolicySection[] | null): Redaction[] {
  if (asked === null) return [];
  const already = new Set(decision.redactions.map((r) => r.section));
  return sectionsPresent(incident)
    .filter((s) => !asked.includes(s) && !already.has(s))
    .map((section) => ({ section, requiredLevel: 'close' as const, reason: `${section} was not asked for in the request's scope.` }));
}

/** Records a request (pending): the incidents in scope must exist. */
async function recordRequest(deps: LawEnforcementDeps, input: LawEnforcementRequestCreate, actor: string): Promise<LawEnforcementRequest> {
  const { db, clock, audit } = deps;
  const origin = input.origin ?? 'inbound';
  if (origin === 'inbound' && !input.officer)
    throw new ProblemError('validation-failed', 'an inbound request names the officer who made it (officer.name, officer.contact)');
  return db.transaction().execute(async (tx) => {
    const incidents: Incident[] = [];
    for (const ref of input.scope.incidents) incidents.push(await mustFindIncident(tx, ref));
    const ids = [...new Set(incidents.map((i) => i.id))];
    const now = clock().toISOString();
    const row: RequestRow = {
      id: randomUUID(),
      origin,
      agency: input.agency.id,
      agencyName: input.agency.name.trim(),
      officer: input.officer ?? null,
      legalBasis: input.legalBasis.trim(),
      scope: { incidents: ids, sections: input.scope.sections ?? null, information: input.scope.information ?? null },
      deadline: input.deadline ? new Date(input.deadline).toISOString() : null,
      receivedAt: origin === 'inbound' ? new Date(input.receivedAt ?? now).toISOString() : (input.receivedAt ?? null),
      text: input.text ?? null,
      state: 'pending',
      recordedBy: actor,
      recordedAt: now,
      decidedBy: null,
      decidedAt: null,
      decisionBasis: null,
      declineReason: null,
    };
    await insertRequest(tx, row);
    await audit.append(tx, {
      kind: 'law-enforcement.request-recorded',
      actor,
      details: {
        requestId: row.id,
        origin,
        agency: row.agency,
        incidents: incidents.map((i) => ({ id: i.id, ref: i.ref })),
        sections: row.scope.sections,
        deadline: row.deadline,
      },
    });
    return view(tx, row, []);
  });
}

/** Approves (an approval per incident in scope, approvedBy the handler) or declines a pending request. */
async function decideRequest(
  deps: LawEnforcementDeps,
  id: string,
  input: LawEnforcementDecisionCreate,
  actor: string,
): Promise<LawEnforcementRequest> {
  const { db, clock, audit } = deps;
  if (input.decision === 'approve' && !input.legalBasis)
    throw new ProblemError('validation-failed', 'an approval states the legal basis the disclosure rests on (legalBasis)');
  if (input.decision === 'decline' && !input.reason) throw new ProblemError('validation-failed', 'a decline states its reason (reason)');
  return db.transaction().execute(async (tx) => {
    const row = await mustFindRequest(tx, id, true);
    if (row.state !== 'pending') throw new ProblemError('law-enforcement-request-decided', `request ${id} is already ${row.state}`);
    const at = clock();
    const approvals: string[] = [];
    if (input.decision === 'approve') {
      const legalBasis = input.legalBasis!.trim();
      for (const incidentId of row.scope.incidents) {
        const approval = await insertApproval(tx, { incidentId, recipient: row.agency, legalBasis, approvedBy: actor, at });
        approvals.push(approval.id);
        // The same entry a handler's approval on the incident writes (sharing.routes.ts).
        await audit.append(tx, {
          kind: 'law-enforcement.approval',
          actor,
          incidentId,
          details: { approvalId: approval.id, recipient: row.agency, legalBasis, requestId: row.id },
        });
      }
    }
    const state = input.decision === 'approve' ? 'approved' : 'declined';
    await recordDecision(tx, id, {
      state,
      by: actor,
      at,
      basis: input.decision === 'approve' ? input.legalBasis!.trim() : null,
      reason: input.decision === 'decline' ? input.reason!.trim() : null,
    });
    await audit.append(tx, {
      kind: 'law-enforcement.request-decided',
      actor,
      decision: state === 'approved' ? 'allow' : 'deny',
      details: { requestId: id, agency: row.agency, decision: input.decision, approvals, incidents: row.scope.incidents },
    });
    return view(tx, (await findRequest(tx, id))!);
  });
}

export function createLawEnforcementService(deps: LawEnforcementDeps): LawEnforcementService {
  const { db, clock, config, audit, sharing, signer } = deps;

  /** Evaluates each incident in scope for the agency; the content is narrowed to the asked sections. */
  async function evaluateScope(
    tx: Tx,
    row: RequestRow,
  ): Promise<Array<{ incident: Incident; outcome: SharingOutcome; redactions: Redaction[] }>> {
    const out: Array<{ incident: Incident; outcome: SharingOutcome; redactions: Redaction[] }> = [];
    for (const id of row.scope.incidents) {
      const incident = await mustFindIncident(tx, id);
      let extra: Redaction[] = [];
      const render = (payload: PolicyPayload, decision: PolicyDecision): unknown => {
        if (payload.detail !== 'full') return payload.summary;
        extra = outOfScope(incident, decision, row.scope.sections);
        if (extra.length === 0) return payload.incident;
        const narrowed = preparePayload(incident, { ...decision, redactions: [...decision.redactions, ...extra] });
        return narrowed.detail === 'full' ? narrowed.incident : narrowed.summary;
      };
      const outcome = await sharing.evaluate(tx, incident, { outside: 'law-enforcement', id: row.agency }, 'law-enforcement', { render });
      out.push({ incident, outcome, redactions: outcome.allow ? [...outcome.decision.redactions, ...extra] : [] });
    }
    return out;
  }

  async function buildPackage(row: RequestRow, items: Awaited<ReturnType<typeof evaluateScope>>, actor: string): Promise<PackageRow> {
    const id = randomUUID();
    const createdAt = clock().toISOString();
    const doc: PackageDocument = {
      type: PACKAGE_TYPE,
      version: 1,
      packageId: id,
      team: config.teamId,
      signerFingerprint: signer.fingerprint,
      createdAt,
      createdBy: actor,
      agency: { id: row.agency, name: row.agencyName },
      officer: row.officer,
      request: { id: row.id, origin: row.origin, legalBasis: row.legalBasis, receivedAt: row.receivedAt, deadline: row.deadline },
      approval: { by: row.decidedBy ?? '', at: row.decidedAt ?? '', legalBasis: row.decisionBasis ?? '' },
      policyVersion: items[0]?.outcome.decision.policyVersion ?? '',
      incidents: items.map(({ incident, outcome, redactions }) => ({
        ref: incident.ref,
        tlp: outcome.decision.tlp,
        detail: outcome.decision.detail,
        redactions,
        payloadSha256: outcome.payloadSha256 ?? '',
        content: outcome.content,
      })),
    };
    // A JSON round trip first, as for every payload that travels (undefined members dropped).
    const canonicalJson = canonicalize(JSON.parse(JSON.stringify(doc)));
    const text = renderPackageText(doc);
    return {
      id,
      requestId: row.id,
      agency: row.agency,
      summary: items.map(({ incident, outcome, redactions }) => ({
        id: incident.id,
        ref: incident.ref,
        tlp: outcome.decision.tlp,
        detail: outcome.decision.detail,
        redactions: redactions.map((r) => r.section),
      })),
      canonicalJson,
      jsonSignature: await signer.signDetached(canonicalJson),
      text,
      textSignature: await signer.signDetached(text),
      signerFingerprint: signer.fingerprint,
      payloadSha256: sha256(canonicalJson),
      createdBy: actor,
      createdAt,
    };
  }

  return {
    record: (input, actor) => recordRequest(deps, input, actor),

    async list() {
      const rows = await listRequests(db, 500);
      const packages = await listPackagesOf(
        db,
        rows.map((r) => r.id),
      );
      const out: LawEnforcementRequest[] = [];
      for (const row of rows) out.push(await view(db, row, packages.get(row.id) ?? []));
      return out;
    },

    async get(id) {
      return view(db, await mustFindRequest(db, id));
    },

    decide: (id, input, actor) => decideRequest(deps, id, input, actor),

    async makePackage(id, actor) {
      const request = await mustFindRequest(db, id);
      if (request.state !== 'approved') {
        // Refused before any decision: the audit says who tried, for which agency and request.
        await audit.append(db, {
          kind: 'law-enforcement.disclosure-refused',
          actor,
          decision: 'deny',
          details: { requestId: id, agency: request.agency, state: request.state, rule: 'law-enforcement-not-approved' },
        });
        throw new ProblemError('law-enforcement-not-approved', `request ${id} is ${request.state}: a handler must approve it first`);
      }
      let denied: SharingOutcome | null = null;
      const made = await db.transaction().execute(async (tx) => {
        const row = await mustFindRequest(tx, id, true);
        const items = await evaluateScope(tx, row);
        denied = items.find((i) => !i.outcome.allow)?.outcome ?? null;
        const pkg = denied ? null : await buildPackage(row, items, actor);
        if (pkg) await insertPackage(tx, pkg);
        const details = { requestId: id, ...(pkg ? { packageId: pkg.id } : {}), type: PACKAGE_TYPE };
        for (const { incident, outcome } of items) await sharing.record(tx, incident, outcome, { actor, details });
        if (pkg)
          await audit.append(tx, {
            kind: 'law-enforcement.package-made',
            actor,
            decision: 'allow',
            details: {
              requestId: id,
              packageId: pkg.id,
              agency: row.agency,
              incidents: pkg.summary.map((s) => s.id),
              payloadSha256: pkg.payloadSha256,
            },
          });
        return pkg;
      });
      // The denials are committed with their reasons; the caller learns which rules refused.
      if (!made) throw policyDenied(denied!);
      return toPackage(made);
    },

    async download(packageId, actor) {
      const pkg = await findPackage(db, packageId);
      if (!pkg) throw new ProblemError('not-found', `no law-enforcement package ${packageId}`);
      await audit.append(db, {
        kind: 'law-enforcement.package-downloaded',
        actor,
        details: { packageId, requestId: pkg.requestId, agency: pkg.agency, payloadSha256: pkg.payloadSha256 },
      });
      return toPackage(pkg);
    },
  };
}
