import { ProblemError } from '../../http/problem.js';
import type { VendorStatus } from '../../../schemas/vendor.schema.js';
import type { SignedReply } from '../exchange/exchange.module.js';
import { decideVendorStatement } from '../policy/index.js';
import { parseStatementText } from './statement-text.js';
import type { VendorQuestionDeps } from './vendor-question.service.js';
import {
  findCase,
  findQuestion,
  findVendor,
  insertStatement,
  setQuestionState,
  type CaseRecord,
  type VendorRecord,
} from './vendor.repository.js';
import { caseFacts, invalid } from './vendor.service.js';

/**
 * Recording a vendor's statement about one of our cases, whichever way it came to a person's
 * hands: entered or pasted by a handler, or mailed in signed as a reply to our question (ADR
 * 0024). One rule (`decideVendorStatement`) and one audit for all of them.
 */

type Deps = Pick<VendorQuestionDeps, 'db' | 'clock' | 'audit'>;

/** A refused statement is audited in its own committed transaction, then refused to the caller. */
export async function refuseStatement(
  deps: Deps,
  kase: CaseRecord | null,
  vendorId: string,
  actor: string,
  problem: ProblemError,
  details: Record<string, unknown>,
): Promise<never> {
  await deps.db.transaction().execute((tx) =>
    deps.audit.append(tx, {
      kind: 'vendor.statement-refused',
      actor,
      decision: 'deny',
      details: { case: kase?.id ?? null, vendor: vendorId, code: problem.code, ...details },
    }),
  );
  throw problem;
}

export interface StatementToFile {
  kase: CaseRecord;
  vendor: VendorRecord;
  product: string;
  status: VendorStatus;
  fixedVersions: string[];
  text: string | null;
  /** openpgp: signed by the vendor's pinned key (signedText and signingKey set); manual: unsigned. */
  provenance: 'openpgp' | 'manual';
  signedText: string | null;
  signingKey: string | null;
  actor: string;
  /** A mailed reply: the question it answers (marked answered) and the channel, for the audit. */
  question?: string;
}

/** Decided by the rule, then recorded and audited in one transaction; a refusal is audited and thrown. */
export async function fileStatement(deps: Deps, s: StatementToFile): Promise<void> {
  const { kase, vendor, actor } = s;
  const decision = decideVendorStatement(caseFacts(kase), vendor.id, s.product);
  if (!decision.allow) {
    const code = decision.deniedBy === 'not-a-party' ? 'not-a-case-party' : 'validation-failed';
    return refuseStatement(deps, kase, vendor.id, actor, new ProblemError(code, decision.reason), { deniedBy: decision.deniedBy });
  }
  await deps.db.transaction().execute(async (tx) => {
    await insertStatement(tx, {
      direction: 'received',
      caseId: kase.id,
      vendorId: vendor.id,
      product: s.product,
      status: s.status,
      fixedVersions: s.fixedVersions,
      text: s.text,
      provenance: s.provenance,
      signedText: s.signedText,
      messageId: null,
      recordedAt: deps.clock(),
      recordedBy: actor,
    });
    if (s.question) await setQuestionState(tx, s.question, 'answered');
    await deps.audit.append(tx, {
      kind: 'vendor.statement-recorded',
      actor,
      peer: vendor.teamId,
      details: {
        case: kase.id,
        vendor: vendor.id,
        provenance: s.provenance,
        signingKey: s.signingKey,
        ...(s.question ? { question: s.question, channel: 'email' } : {}),
      },
    });
  });
}

/**
 * A vendor's signed reply to our question by mail, its signature already verified against the
 * vendor's pinned key by the mail intake: parsed as a statement a person wrote, checked to be
 * about the question's case, then filed as a pasted clear-signed statement is. A refusal is a
 * ProblemError: the intake quarantines the mail with its code.
 */
export async function recordMailedStatement(deps: Deps, questionId: string, reply: SignedReply): Promise<{ detail: string }> {
  const question = await findQuestion(deps.db, questionId);
  const kase = question ? await findCase(deps.db, question.caseId) : null;
  const vendor = question?.vendorId ? await findVendor(deps.db, question.vendorId) : null;
  if (!question || !kase || !vendor) throw new ProblemError('not-found', 'the question this mail answers is gone');
  const actor = `mail:${vendor.id}`;
  const parsed = parseStatementText(reply.text);
  if (!parsed.ok)
    return refuseStatement(deps, kase, vendor.id, actor, invalid(`the signed statement: ${parsed.reason}`, '/signedText'), {
      reason: 'unparsable',
      question: question.id,
    });
  if (parsed.statement.caseId !== kase.id)
    return refuseStatement(
      deps,
      kase,
      vendor.id,
      actor,
      invalid(`the signed statement is about case "${parsed.statement.caseId.slice(0, 64)}", not "${kase.id}"`, '/signedText'),
      { reason: 'other-case', question: question.id },
    );
  await fileStatement(deps, {
    kase,
    vendor,
    product: parsed.statement.product,
    status: parsed.statement.status,
    fixedVersions: parsed.statement.fixedVersions,
    text: parsed.statement.text,
    provenance: 'openpgp',
    signedText: reply.signedText,
    signingKey: reply.signerFingerprint,
    actor,
    question: question.id,
  });
  return { detail: `statement of vendor ${vendor.id} on case ${kase.id} recorded` };
}
