import { randomUUID } from 'node:crypto';
import type { Tx } from '../../db/database.js';
import { ProblemError } from '../../http/problem.js';
import type { VendorQuestionDocument, VendorStatementDocument } from '../../../schemas/federation.schema.js';
import type { InboxOutcome } from '../exchange/exchange.module.js';
import { decideVendorStatement } from '../policy/index.js';
import type { VendorQuestionDeps } from './vendor-question.service.js';
import { findCase, findVendorByTeam, insertQuestion, insertStatement } from './vendor.repository.js';
import { caseFacts } from './vendor.service.js';

/**
 * The two vendor document types as the inbox hands them over (signature verified, schema
 * checked), inside its transaction (docs/federation-protocol.md §5.23, §5.24).
 */

/** Inbox: a `vendor.question` to this node as a vendor (the sender's signature verified). */
export async function receiveQuestion(deps: VendorQuestionDeps, tx: Tx, doc: VendorQuestionDocument): Promise<InboxOutcome> {
  const { audit, clock } = deps;
  const { body } = doc;
  const { case: caseId, question, ...content } = body;
  const inserted = await insertQuestion(tx, {
    id: randomUUID(),
    direction: 'received',
    caseId,
    vendorId: null,
    askerTeam: doc.from,
    channel: 'federation',
    state: 'received',
    messageId: doc.id,
    remoteQuestion: question,
    content: { ...content, embargoUntil: content.embargoUntil ?? null },
    tlp: doc.tlp,
    createdAt: clock(),
    createdBy: doc.from,
  });
  if (!inserted) return { status: 'noted', incidentId: null, ref: null };
  await audit.append(tx, { kind: 'vendor.question-received', actor: doc.from, peer: doc.from, details: { case: caseId, question } });
  return { status: 'applied', incidentId: null, ref: null };
}

/** Inbox: a party vendor's signed statement about one of our cases. */
export async function receiveStatement(deps: VendorQuestionDeps, tx: Tx, doc: VendorStatementDocument): Promise<InboxOutcome> {
  const { audit, clock } = deps;
  const { body } = doc;
  const vendor = await findVendorByTeam(tx, doc.from);
  const kase = await findCase(tx, body.case);
  // The inbox refuses and audits a ProblemError; the same code whether the case exists or not.
  if (!vendor || !kase) throw new ProblemError('not-a-case-party', `"${doc.from}" is not a party vendor of case "${body.case}"`);
  const decision = decideVendorStatement(caseFacts(kase), vendor.id, body.product);
  if (!decision.allow) throw new ProblemError('not-a-case-party', decision.reason);
  await insertStatement(tx, {
    direction: 'received',
    caseId: kase.id,
    vendorId: vendor.id,
    product: body.product,
    status: body.status,
    fixedVersions: body.fixedVersions,
    text: body.text ?? null,
    provenance: 'federation',
    signedText: null,
    messageId: doc.id,
    recordedAt: clock(),
    recordedBy: doc.from,
  });
  await audit.append(tx, {
    kind: 'vendor.statement-recorded',
    actor: doc.from,
    peer: doc.from,
    details: { case: kase.id, vendor: vendor.id, provenance: 'federation', message: doc.id },
  });
  return { status: 'applied', incidentId: null, ref: null };
}
