import { createHash } from 'node:crypto';
import type { Clock } from '../../clock.js';
import type { NodeSigner } from '../../crypto/index.js';
import type { Db, DbOrTx } from '../../db/database.js';
import { ProblemError } from '../../http/problem.js';
import type { Tlp } from '../../../schemas/common.schema.js';
import type { AdvisoryEdits, CsafAdvisory, CsafPublished, CsafPublishInput } from '../../../schemas/csaf.schema.js';
import type { AuditLog } from '../audit/audit.module.js';
import { decideAdvisoryPublication } from '../policy/index.js';
import {
  findAdvisory,
  insertAdvisory,
  lastPublishedAt,
  listPublished,
  recordPublication,
  updateEdits,
  type AdvisoryRecord,
} from './advisory.repository.js';
import { buildCsafDocument, csafFileName } from './csaf-document.js';
import { assertValidCsaf } from './csaf-validation.js';
import { listVendors, statementsOfCase, type CaseRecord } from './vendor.repository.js';
import type { VendorService } from './vendor.service.js';

/**
 * CSAF 2.0 advisories from vulnerability cases (issue 17 part 2, ADR 0024). The draft is rebuilt
 * from the case, the vendors' statements in force and the handler's edits whenever it is read;
 * publishing checks the embargo (policy/vendor-rules.ts), validates with the CSAF validator,
 * signs the exact bytes with the node key, and keeps them: a TLP:CLEAR advisory is served in the
 * public `white` folder of /.well-known/csaf, any other label to handlers only. Publishing again
 * is a revision: the version and the revision history grow, the signature is new.
 */

export interface AdvisoryServiceDeps {
  db: Db;
  clock: Clock;
  config: { teamId: string; teamName: string; publicUrl: string };
  signer: Pick<NodeSigner, 'signDetached' | 'fingerprint'>;
  audit: AuditLog;
  vendors: VendorService;
}

const sha = (algorithm: 'sha256' | 'sha512', text: string) => createHash(algorithm).update(text, 'utf8').digest('hex');
const pathOf = (a: Pick<AdvisoryRecord, 'trackingId' | 'initialRelease'>) =>
  `${a.initialRelease!.getUTCFullYear()}/${csafFileName(a.trackingId)}`;

/** The advisory's document for the case as it stands, with one more revision entry (draft: version 0). */
async function buildAdvisory(
  config: AdvisoryServiceDeps['config'],
  dbOrTx: DbOrTx,
  kase: CaseRecord,
  a: AdvisoryRecord,
  next: { status: 'draft' | 'final'; at: Date; summary: string },
) {
  const newest = new Map<string, Awaited<ReturnType<typeof statementsOfCase>>[number]>();
  for (const s of await statementsOfCase(dbOrTx, kase.id)) newest.set(JSON.stringify([s.vendorId, s.product]), s);
  const at = next.at.toISOString();
  const version = next.status === 'draft' ? 0 : a.version + 1;
  const revisionHistory = [...a.revisionHistory, { date: at, number: String(version), summary: next.summary }];
  return {
    version,
    revisionHistory,
    document: buildCsafDocument({
      trackingId: a.trackingId,
      status: next.status,
      version,
      revisionHistory,
      initialReleaseDate: a.initialRelease?.toISOString() ?? at,
      currentReleaseDate: at,
      publisher: { name: config.teamName, namespace: config.publicUrl },
      kase: { title: kase.title, description: kase.description, tlp: kase.tlp as Tlp, cveIds: kase.cveIds, products: kase.products },
      vendorNames: new Map((await listVendors(dbOrTx)).map((v) => [v.id, v.name])),
      statements: [...newest.values()].map((s) => ({
        vendor: s.vendorId,
        product: s.product,
        status: s.status,
        fixedVersions: s.fixedVersions,
        text: s.text,
      })),
      edits: a.edits,
    }),
  };
}

export function createAdvisoryService(deps: AdvisoryServiceDeps) {
  const { db, clock, config, audit } = deps;
  const publicBase = `${config.publicUrl}/.well-known/csaf`;

  async function mustFindAdvisory(dbOrTx: DbOrTx, caseId: string, forUpdate = false): Promise<AdvisoryRecord> {
    const advisory = await findAdvisory(dbOrTx, caseId, forUpdate);
    if (!advisory) throw new ProblemError('not-found', `case "${caseId}" has no advisory draft yet`);
    return advisory;
  }

  async function view(caseId: string): Promise<CsafAdvisory> {
    const kase = await deps.vendors.mustFindCase(db, caseId);
    const a = await mustFindAdvisory(db, caseId);
    // Never published: a draft (status draft, version 0); published: the revision publishing again would make.
    const draft = await buildAdvisory(
      config,
      db,
      kase,
      a,
      a.version === 0 ? { status: 'draft', at: clock(), summary: 'Draft' } : { status: 'final', at: clock(), summary: 'Revision' },
    );
    return {
      caseId,
      trackingId: a.trackingId,
      publishedVersion: a.version,
      publishedAt: a.publishedAt?.toISOString() ?? null,
      location: a.folder && a.initialRelease ? `${publicBase}/${a.folder}/${pathOf(a)}` : null,
      edits: a.edits,
      document: draft.document,
    };
  }

  const published = (a: AdvisoryRecord): CsafPublished => ({
    caseId: a.caseId,
    trackingId: a.trackingId,
    version: a.version,
    location: a.folder ? `${publicBase}/${a.folder}/${pathOf(a)}` : null,
    document: a.documentText!,
    signature: a.signature!,
    sha256: sha('sha256', a.documentText!),
    sha512: sha('sha512', a.documentText!),
  });

  return {
    view,

    async draft(caseId: string, actor: string): Promise<CsafAdvisory> {
      await db.transaction().execute(async (tx) => {
        await deps.vendors.mustFindCase(tx, caseId);
        if (await insertAdvisory(tx, caseId, `${config.teamId}-${caseId}`, clock())) {
          await audit.append(tx, { kind: 'csaf.advisory-drafted', actor, details: { case: caseId } });
        }
      });
      return view(caseId);
    },

    async edit(caseId: string, edits: AdvisoryEdits, actor: string): Promise<CsafAdvisory> {
      await db.transaction().execute(async (tx) => {
        await mustFindAdvisory(tx, caseId, true);
        await updateEdits(tx, caseId, edits, clock());
        await audit.append(tx, {
          kind: 'csaf.advisory-edited',
          actor,
          details: { case: caseId, notes: edits.notes?.length ?? 0, remediations: edits.remediations?.length ?? 0 },
        });
      });
      return view(caseId);
    },

    async publish(caseId: string, input: CsafPublishInput, actor: string): Promise<CsafPublished> {
      const outcome = await db.transaction().execute(async (tx) => {
        const kase = await deps.vendors.mustFindCase(tx, caseId, true);
        const a = await mustFindAdvisory(tx, caseId, true);
        const now = clock();
        const decision = decideAdvisoryPublication({ tlp: kase.tlp as Tlp, embargoUntil: kase.embargoUntil }, now);
        if (!decision.allow) {
          await audit.append(tx, {
            kind: 'csaf.advisory-published',
            actor,
            decision: 'deny',
            details: { case: caseId, deniedBy: decision.deniedBy, embargoUntil: decision.embargoUntil },
          });
          return { denied: decision, published: null };
        }
        const summary = input.summary ?? (a.version === 0 ? 'Initial release' : 'Revision');
        const next = await buildAdvisory(config, tx, kase, a, { status: 'final', at: now, summary });
        await assertValidCsaf(next.document);
        const documentText = JSON.stringify(next.document, null, 2) + '\n';
        const signature = await deps.signer.signDetached(documentText);
        const record = {
          version: next.version,
          revisionHistory: next.revisionHistory,
          initialRelease: a.initialRelease ?? now,
          currentRelease: now,
          documentText,
          signature,
          folder: decision.folder,
        };
        await recordPublication(tx, caseId, record, now);
        await audit.append(tx, {
          kind: 'csaf.advisory-published',
          actor,
          decision: 'allow',
          details: {
            case: caseId,
            trackingId: a.trackingId,
            version: next.version,
            folder: decision.folder,
            sha256: sha('sha256', documentText),
            reason: decision.reason,
          },
        });
        return { denied: null, published: published({ ...a, ...record, publishedAt: now }) };
      });
      if (outcome.denied) throw new ProblemError('embargo-in-force', outcome.denied.reason, { embargoUntil: outcome.denied.embargoUntil });
      return outcome.published!;
    },

    async getPublished(caseId: string): Promise<CsafPublished> {
      const a = await mustFindAdvisory(db, caseId);
      if (!a.documentText) throw new ProblemError('not-found', `the advisory of case "${caseId}" is not published`);
      return published(a);
    },

    /** The public white folder: what /.well-known/csaf serves. */
    async whiteFolder(): Promise<Array<{ path: string; documentText: string; signature: string; currentRelease: Date }>> {
      return (await listPublished(db, 'white')).map((a) => ({
        path: pathOf(a),
        documentText: a.documentText!,
        signature: a.signature!,
        currentRelease: a.currentRelease!,
      }));
    },

    lastPublishedAt: () => lastPublishedAt(db),
    sha,
  };
}

export type AdvisoryService = ReturnType<typeof createAdvisoryService>;
