import type { Clock } from '../../clock.js';
import { InvalidKeyError, normalizeFingerprint, readPeerKey } from '../../crypto/index.js';
import type { Db, DbOrTx, Tx } from '../../db/database.js';
import { ProblemError } from '../../http/problem.js';
import type { Tlp } from '../../../schemas/common.schema.js';
import type {
  CaseCreate,
  CasePatch,
  Vendor,
  VendorCreate,
  VendorPatch,
  VendorQuestion,
  VendorStatement,
  VulnerabilityCase,
} from '../../../schemas/vendor.schema.js';
import type { AuditLog } from '../audit/audit.module.js';
import { findIncident } from '../incidents/incidents.module.js';
import type { PeerDirectory } from '../peers/peers.module.js';
import type { VendorCaseFacts } from '../policy/index.js';
import {
  casesNamingVendor,
  deleteVendor,
  findCase,
  findVendor,
  insertCase,
  insertVendor,
  listCases,
  listVendors,
  questionsOfCase,
  statementsOfCase,
  updateCase,
  updateVendor,
  type CaseRecord,
  type QuestionRecord,
  type StatementRecord,
  type VendorRecord,
} from './vendor.repository.js';

/**
 * Vendors as contacts and VINCE-like vulnerability cases (issue 17 part 1, ADR 0024). A vendor is
 * a node peer (questions travel as signed documents) or an e-mail address with a pinned OpenPGP
 * key. A case links our incidents by reference number only: nothing of their content is copied
 * into it. Every change is audited with ids, never with descriptions or keys.
 */

export interface VendorServiceDeps {
  db: Db;
  clock: Clock;
  audit: AuditLog;
  peers: Pick<PeerDirectory, 'find'>;
}

export function invalid(detail: string, pointer: string): ProblemError {
  return new ProblemError('validation-failed', detail, { errors: [{ location: 'body', pointer, message: detail }] });
}

export const toWireVendor = (v: VendorRecord): Vendor => ({
  id: v.id,
  name: v.name,
  channel: v.teamId ? 'federation' : 'email',
  teamId: v.teamId,
  email: v.email,
  fingerprint: v.fingerprint,
  createdAt: v.createdAt.toISOString(),
  updatedAt: v.updatedAt.toISOString(),
});

export const toWireQuestion = (q: QuestionRecord, delivery: string | null): VendorQuestion => ({
  id: q.id,
  direction: q.direction,
  caseId: q.caseId,
  vendor: q.vendorId,
  askerTeam: q.askerTeam,
  channel: q.channel,
  state: q.state,
  delivery,
  tlp: q.tlp as Tlp,
  question: q.content,
  createdAt: q.createdAt.toISOString(),
});

export const toWireStatement = (s: StatementRecord): VendorStatement => ({
  vendor: s.vendorId,
  product: s.product,
  status: s.status,
  fixedVersions: s.fixedVersions,
  text: s.text,
  provenance: s.provenance,
  signed: s.provenance !== 'manual',
  recordedAt: s.recordedAt.toISOString(),
  recordedBy: s.recordedBy,
});

export function caseFacts(c: CaseRecord): VendorCaseFacts {
  return {
    id: c.id,
    title: c.title,
    description: c.description,
    tlp: c.tlp as Tlp,
    products: c.products,
    cveIds: c.cveIds,
    embargoUntil: c.embargoUntil,
    parties: c.parties,
  };
}

/** A key pinned only when it parses and has the fingerprint the handler checked out of band. */
async function pinnedKey(
  publicKey: string | undefined,
  fingerprint: string | undefined,
): Promise<{ publicKey: string; fingerprint: string }> {
  if (!publicKey || !fingerprint) throw invalid('an e-mail vendor needs publicKey and fingerprint', '/publicKey');
  let key;
  try {
    key = await readPeerKey(publicKey);
  } catch (err) {
    if (err instanceof InvalidKeyError) throw invalid(`publicKey is not a usable OpenPGP key: ${err.message}`, '/publicKey');
    throw err;
  }
  if (key.fingerprint !== normalizeFingerprint(fingerprint)) {
    throw new ProblemError('fingerprint-mismatch', `the key's fingerprint is ${key.fingerprint}, not the one given`);
  }
  return { publicKey: key.armored, fingerprint: key.fingerprint };
}

async function checkCaseReferences(
  tx: Tx,
  input: { products?: CaseRecord['products']; parties?: string[]; incidents?: string[] },
): Promise<void> {
  const known = new Set((await listVendors(tx)).map((v) => v.id));
  (input.products ?? []).forEach((p, i) => {
    if (!known.has(p.vendor)) throw invalid(`products[${i}].vendor: no vendor "${p.vendor}"`, `/products/${i}/vendor`);
  });
  (input.parties ?? []).forEach((v, i) => {
    if (!known.has(v)) throw invalid(`parties[${i}]: no vendor "${v}"`, `/parties/${i}`);
  });
  for (const [i, ref] of (input.incidents ?? []).entries()) {
    if (!(await findIncident(tx, ref))) throw invalid(`incidents[${i}]: no incident ${ref}`, `/incidents/${i}`);
  }
}

/** The case with its questions (and their delivery) and statements. */
async function caseView(db: Db, record: CaseRecord, deliveryOf: (q: QuestionRecord) => Promise<string | null>): Promise<VulnerabilityCase> {
  const questions = await questionsOfCase(db, record.id);
  return {
    id: record.id,
    title: record.title,
    description: record.description,
    tlp: record.tlp as Tlp,
    incidents: record.incidentRefs,
    products: record.products,
    cveIds: record.cveIds,
    embargoUntil: record.embargoUntil?.toISOString() ?? null,
    parties: record.parties,
    version: record.version,
    createdAt: record.createdAt.toISOString(),
    updatedAt: record.updatedAt.toISOString(),
    questions: await Promise.all(questions.map(async (q) => toWireQuestion(q, await deliveryOf(q)))),
    statements: (await statementsOfCase(db, record.id)).map(toWireStatement),
  };
}

async function mustFindVendor(dbOrTx: DbOrTx, id: string): Promise<VendorRecord> {
  const vendor = await findVendor(dbOrTx, id);
  if (!vendor) throw new ProblemError('not-found', `no vendor "${id}"`);
  return vendor;
}

async function mustFindCase(dbOrTx: DbOrTx, id: string, forUpdate = false): Promise<CaseRecord> {
  const found = await findCase(dbOrTx, id, forUpdate);
  if (!found) throw new ProblemError('not-found', `no vulnerability case "${id}"`);
  return found;
}

export function createVendorService(deps: VendorServiceDeps) {
  const { db, clock, audit } = deps;

  return {
    db,
    mustFindVendor,
    mustFindCase,

    async listVendors(): Promise<Vendor[]> {
      return (await listVendors(db)).map(toWireVendor);
    },

    async getVendor(id: string): Promise<Vendor> {
      return toWireVendor(await mustFindVendor(db, id));
    },

    async createVendor(input: VendorCreate, actor: string): Promise<Vendor> {
      const byTeam = input.teamId !== undefined;
      if (byTeam === (input.email !== undefined)) throw invalid('give either teamId or email (with publicKey and fingerprint)', '/teamId');
      if (byTeam && (input.publicKey || input.fingerprint)) throw invalid('a node vendor has its key pinned as a peer', '/publicKey');
      if (byTeam && !(await deps.peers.find(db, input.teamId!))) throw new ProblemError('unknown-peer', `no peer "${input.teamId}"`);
      const key = byTeam ? null : await pinnedKey(input.publicKey, input.fingerprint);
      const at = clock();
      const record: VendorRecord = {
        id: input.id,
        name: input.name,
        teamId: input.teamId ?? null,
        email: input.email ?? null,
        publicKey: key?.publicKey ?? null,
        fingerprint: key?.fingerprint ?? null,
        createdAt: at,
        createdBy: actor,
        updatedAt: at,
      };
      await db.transaction().execute(async (tx) => {
        if (!(await insertVendor(tx, record)))
          throw new ProblemError('conflict', `a vendor "${input.id}" (or one for team "${input.teamId}") exists already`);
        await audit.append(tx, {
          kind: 'vendor.created',
          actor,
          peer: record.teamId,
          details: { vendor: record.id, channel: byTeam ? 'federation' : 'email', fingerprint: record.fingerprint },
        });
      });
      return toWireVendor(record);
    },

    async patchVendor(id: string, patch: VendorPatch, actor: string): Promise<Vendor> {
      return db.transaction().execute(async (tx) => {
        const before = await mustFindVendor(tx, id);
        if (before.teamId && (patch.email || patch.publicKey || patch.fingerprint)) {
          throw invalid('a node vendor has no e-mail channel: its key is the peer key', '/email');
        }
        if ((patch.publicKey === undefined) !== (patch.fingerprint === undefined))
          throw invalid('a new key needs its fingerprint', '/fingerprint');
        const key = patch.publicKey ? await pinnedKey(patch.publicKey, patch.fingerprint) : null;
        const changes = {
          name: patch.name ?? before.name,
          email: patch.email ?? before.email,
          publicKey: key?.publicKey ?? before.publicKey,
          fingerprint: key?.fingerprint ?? before.fingerprint,
        };
        await updateVendor(tx, id, changes, clock());
        await audit.append(tx, {
          kind: 'vendor.updated',
          actor,
          peer: before.teamId,
          details: { vendor: id, changed: Object.keys(patch).sort(), fingerprint: changes.fingerprint },
        });
        return toWireVendor(await mustFindVendor(tx, id));
      });
    },

    async deleteVendor(id: string, actor: string): Promise<void> {
      await db.transaction().execute(async (tx) => {
        const vendor = await mustFindVendor(tx, id);
        const cases = await casesNamingVendor(tx, id);
        if (cases.length > 0) throw new ProblemError('conflict', `vendor "${id}" is named in case(s) ${cases.join(', ')}`);
        await deleteVendor(tx, id);
        await audit.append(tx, { kind: 'vendor.deleted', actor, peer: vendor.teamId, details: { vendor: id } });
      });
    },

    async createCase(input: CaseCreate, actor: string): Promise<CaseRecord> {
      const at = clock();
      const record: CaseRecord = {
        id: input.id,
        title: input.title,
        description: input.description,
        tlp: input.tlp,
        incidentRefs: input.incidents ?? [],
        products: input.products,
        cveIds: input.cveIds ?? [],
        embargoUntil: input.embargoUntil ? new Date(input.embargoUntil) : null,
        parties: input.parties ?? [...new Set(input.products.map((p) => p.vendor))],
        version: 1,
        createdAt: at,
        createdBy: actor,
        updatedAt: at,
      };
      await db.transaction().execute(async (tx) => {
        await checkCaseReferences(tx, { products: record.products, parties: record.parties, incidents: record.incidentRefs });
        if (!(await insertCase(tx, record))) throw new ProblemError('conflict', `a vulnerability case "${input.id}" exists already`);
        await audit.append(tx, {
          kind: 'vendor.case-created',
          actor,
          details: {
            case: record.id,
            tlp: record.tlp,
            parties: record.parties,
            incidents: record.incidentRefs,
            embargoUntil: input.embargoUntil ?? null,
          },
        });
      });
      return record;
    },

    async patchCase(id: string, patch: CasePatch, actor: string): Promise<CaseRecord> {
      return db.transaction().execute(async (tx) => {
        const before = await mustFindCase(tx, id, true);
        await checkCaseReferences(tx, patch);
        const next: CaseRecord = {
          ...before,
          title: patch.title ?? before.title,
          description: patch.description ?? before.description,
          tlp: patch.tlp ?? before.tlp,
          incidentRefs: patch.incidents ?? before.incidentRefs,
          products: patch.products ?? before.products,
          cveIds: patch.cveIds ?? before.cveIds,
          embargoUntil:
            patch.embargoUntil === undefined ? before.embargoUntil : patch.embargoUntil === null ? null : new Date(patch.embargoUntil),
          parties: patch.parties ?? before.parties,
          version: before.version + 1,
          updatedAt: clock(),
        };
        await updateCase(tx, next);
        await audit.append(tx, {
          kind: 'vendor.case-updated',
          actor,
          details: {
            case: id,
            changed: Object.keys(patch).sort(),
            tlp: next.tlp,
            parties: next.parties,
            embargoUntil: next.embargoUntil?.toISOString() ?? null,
          },
        });
        return next;
      });
    },

    async listCases(): Promise<CaseRecord[]> {
      return listCases(db);
    },

    view: (record: CaseRecord, deliveryOf: (q: QuestionRecord) => Promise<string | null>) => caseView(db, record, deliveryOf),
  };
}

export type VendorService = ReturnType<typeof createVendorService>;
