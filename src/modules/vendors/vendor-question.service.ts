import { randomUUID } from 'node:crypto';
import type { Clock } from '../../clock.js';
import { readPeerKey, verifyClearSigned } from '../../crypto/index.js';
import type { Db, Tx } from '../../db/database.js';
import { ProblemError } from '../../http/problem.js';
import type { Tlp } from '../../../schemas/common.schema.js';
import type { VendorQuestionDocument, VendorStatementDocument } from '../../../schemas/federation.schema.js';
import type {
  SentVendorStatement,
  StatementInput,
  StatementRecord as StatementRecordInput,
  VendorQuestion,
  VendorQuestionAsk,
  VendorQuestionsAsked,
  VendorStatementBody,
} from '../../../schemas/vendor.schema.js';
import type { AuditLog } from '../audit/audit.module.js';
import type { Exchange, InboxOutcome } from '../exchange/exchange.module.js';
import type { PeerDirectory } from '../peers/peers.module.js';
import type { SignedReply } from '../exchange/exchange.module.js';
import { decideVendorQuestion, vendorQuestionContent } from '../policy/index.js';
import { sendWaitingQuestions } from './vendor-question-mail.js';
import { fileStatement, recordMailedStatement, refuseStatement } from './vendor-statement-filing.js';
import { parseStatementText } from './statement-text.js';
import { receiveQuestion, receiveStatement } from './vendor-question-intake.js';
import {
  findQuestion,
  findVendor,
  insertQuestion,
  insertStatement,
  receivedQuestions,
  setQuestionState,
  statementsSentFor,
  type CaseRecord,
  type QuestionRecord,
  type VendorRecord,
} from './vendor.repository.js';
import { vendorMailState } from './vendor-mail.repository.js';
import { caseFacts, invalid, toWireQuestion, type VendorService } from './vendor.service.js';

/**
 * Questions to the vendors that are parties to a case, and their statements (issue 17 part 1,
 * docs/federation-protocol.md §5.23, §5.24). Each question is decided by the pure rule in
 * policy/vendor-rules.ts and audited, allowed or not; it carries the case's fields for that vendor
 * only. A node vendor gets a signed `vendor.question` through the outbox; an e-mail vendor's
 * goes through the `email` port (vendor-mail.ts: signed mail from its own outbox, ADR 0024), or
 * waits as `awaiting-email` while no outgoing mail channel is configured.
 */

/** The port to the signed e-mail channel (vendor-mail.ts): queue a question's mail inside the asking transaction. */
export interface VendorEmailChannel {
  queueVendorQuestion(
    tx: Tx,
    message: { to: string; fingerprint: string; publicKey: string; tlp: Tlp; question: VendorQuestionDocument['body'] },
  ): Promise<{ messageId: string }>;
}

export interface VendorQuestionDeps {
  db: Db;
  clock: Clock;
  config: { teamId: string };
  audit: AuditLog;
  peers: Pick<PeerDirectory, 'find'>;
  exchange: Pick<Exchange, 'outbox'>;
  vendors: VendorService;
  /** Absent without an outgoing mail channel: e-mail questions then wait as `awaiting-email`. */
  email?: VendorEmailChannel;
  /** Wakes the vendor mailer after a question was queued by mail. */
  kickMail?: () => void;
}

/** The steps of asking and recording, each with the deps it needs. */
function questionSteps(deps: VendorQuestionDeps) {
  const { clock, audit, config } = deps;
  async function askOne(
    tx: Tx,
    kase: CaseRecord,
    vendor: VendorRecord,
    actor: string,
  ): Promise<QuestionRecord | { vendor: string; reason: string }> {
    const channel = vendor.teamId ? 'federation' : 'email';
    const peer = vendor.teamId ? await deps.peers.find(tx, vendor.teamId) : null;
    const decision = decideVendorQuestion(caseFacts(kase), {
      vendorId: vendor.id,
      channel,
      peerActive: peer ? peer.status === 'active' : null,
    });
    const base = { kind: 'vendor.question', actor, peer: vendor.teamId, decision: decision.allow ? ('allow' as const) : ('deny' as const) };
    if (!decision.allow) {
      await audit.append(tx, {
        ...base,
        details: { case: kase.id, vendor: vendor.id, channel, deniedBy: decision.deniedBy, reason: decision.reason },
      });
      return { vendor: vendor.id, reason: decision.reason };
    }
    const content = vendorQuestionContent(caseFacts(kase), vendor.id);
    const id = randomUUID();
    const body: VendorQuestionDocument['body'] = {
      case: kase.id,
      question: id,
      title: content.title,
      description: content.description,
      products: content.products,
      cveIds: content.cveIds,
      ...(content.embargoUntil ? { embargoUntil: content.embargoUntil } : {}),
    };
    let messageId: string | null = null;
    let state: QuestionRecord['state'] = 'queued';
    if (vendor.teamId) {
      messageId = (await deps.exchange.outbox.enqueue(tx, { type: 'vendor.question', to: vendor.teamId, tlp: kase.tlp as Tlp, body }, null))
        .id;
    } else if (deps.email) {
      messageId = (
        await deps.email.queueVendorQuestion(tx, {
          to: vendor.email!,
          fingerprint: vendor.fingerprint!,
          publicKey: vendor.publicKey!,
          tlp: kase.tlp as Tlp,
          question: body,
        })
      ).messageId;
    } else {
      state = 'awaiting-email';
    }
    const record: QuestionRecord = {
      id,
      direction: 'sent',
      caseId: kase.id,
      vendorId: vendor.id,
      askerTeam: config.teamId,
      channel,
      state,
      messageId,
      remoteQuestion: null,
      content,
      tlp: kase.tlp,
      createdAt: clock(),
      createdBy: actor,
    };
    await insertQuestion(tx, record);
    await audit.append(tx, {
      ...base,
      details: { case: kase.id, vendor: vendor.id, channel, question: id, state, reason: decision.reason },
    });
    return record;
  }

  const refuse = (kase: CaseRecord | null, vendorId: string, actor: string, problem: ProblemError, details: Record<string, unknown>) =>
    refuseStatement(deps, kase, vendorId, actor, problem, details);

  async function verifiedStatement(kase: CaseRecord, vendor: VendorRecord, signedText: string, actor: string) {
    if (!vendor.publicKey)
      return refuse(
        kase,
        vendor.id,
        actor,
        invalid('a clear-signed statement needs a vendor with a pinned key (an e-mail vendor)', '/signedText'),
        {},
      );
    const verification = await verifyClearSigned(signedText, await readPeerKey(vendor.publicKey));
    if (!verification.ok) {
      const problem = new ProblemError(
        'statement-signature-invalid',
        `the statement does not verify with the key pinned for "${vendor.id}": ${verification.reason}`,
        {
          reason: verification.reason,
        },
      );
      return refuse(kase, vendor.id, actor, problem, { reason: verification.reason });
    }
    const parsed = parseStatementText(verification.text);
    if (!parsed.ok)
      return refuse(kase, vendor.id, actor, invalid(`the signed statement: ${parsed.reason}`, '/signedText'), { reason: 'unparsable' });
    if (parsed.statement.caseId !== kase.id) {
      return refuse(
        kase,
        vendor.id,
        actor,
        invalid(`the signed statement is about case "${parsed.statement.caseId}", not "${kase.id}"`, '/signedText'),
        {
          reason: 'other-case',
        },
      );
    }
    return { ...parsed.statement, signingKey: verification.signingKeyFingerprint };
  }

  return { askOne, refuse, verifiedStatement };
}

export function createVendorQuestionService(deps: VendorQuestionDeps) {
  const { db, clock, audit, config } = deps;
  const { askOne, verifiedStatement } = questionSteps(deps);
  const delivery = async (q: QuestionRecord): Promise<string | null> => {
    if (q.direction !== 'sent' || !q.messageId) return null;
    if (q.channel === 'email') return vendorMailState(db, q.id);
    return (await deps.exchange.outbox.find(db, q.messageId))?.state ?? null;
  };

  return {
    async ask(caseId: string, input: VendorQuestionAsk, actor: string): Promise<VendorQuestionsAsked> {
      const outcome = await db.transaction().execute(async (tx) => {
        const kase = await deps.vendors.mustFindCase(tx, caseId, true);
        const questions: QuestionRecord[] = [];
        const skipped: Array<{ vendor: string; reason: string }> = [];
        for (const vendorId of input.vendors ?? kase.parties) {
          const vendor = await findVendor(tx, vendorId);
          if (!vendor) throw invalid(`no vendor "${vendorId}"`, '/vendors');
          const asked = await askOne(tx, kase, vendor, actor);
          if ('reason' in asked) skipped.push(asked);
          else questions.push(asked);
        }
        return { questions, skipped };
      });
      if (outcome.questions.some((q) => q.channel === 'federation')) deps.exchange.outbox.kick();
      if (outcome.questions.some((q) => q.channel === 'email' && q.state === 'queued')) deps.kickMail?.();
      return {
        questions: await Promise.all(outcome.questions.map(async (q) => toWireQuestion(q, await delivery(q)))),
        skipped: outcome.skipped,
      };
    },

    /** A statement a handler records by hand, or pastes clear-signed by the vendor. */
    async record(caseId: string, input: StatementRecordInput, actor: string): Promise<void> {
      const kase = await deps.vendors.mustFindCase(db, caseId);
      const vendor = await deps.vendors.mustFindVendor(db, input.vendor);
      const byHand = input.signedText === undefined;
      if (byHand && (!input.product || !input.status)) throw invalid('give product and status, or signedText', '/product');
      if (!byHand && (input.product || input.status || input.fixedVersions || input.text)) {
        throw invalid('a pasted statement carries its own product, status, fixed versions and text', '/signedText');
      }
      const signed = byHand ? null : await verifiedStatement(kase, vendor, input.signedText!, actor);
      await fileStatement(deps, {
        kase,
        vendor,
        product: signed?.product ?? input.product!,
        status: signed?.status ?? input.status!,
        fixedVersions: signed?.fixedVersions ?? input.fixedVersions ?? [],
        text: signed ? signed.text : (input.text ?? null),
        provenance: signed ? 'openpgp' : 'manual',
        signedText: signed ? input.signedText! : null,
        signingKey: signed?.signingKey ?? null,
        actor,
      });
    },

    /** A vendor's signed reply by mail to one of our questions (the mail intake verified its signature). */
    recordMailed: (questionId: string, reply: SignedReply) => recordMailedStatement(deps, questionId, reply),

    /** Questions that waited as awaiting-email, now that the e-mail channel exists (the mailer's every pass). */
    sendWaiting: () => sendWaitingQuestions(deps),

    /** Inbox handlers (inside the inbox's transaction). */
    receiveQuestion: (tx: Tx, doc: VendorQuestionDocument): Promise<InboxOutcome> => receiveQuestion(deps, tx, doc),
    receiveStatement: (tx: Tx, doc: VendorStatementDocument): Promise<InboxOutcome> => receiveStatement(deps, tx, doc),

    async listReceived(): Promise<VendorQuestion[]> {
      return (await receivedQuestions(db)).map((q) => toWireQuestion(q, null));
    },

    async getReceived(id: string): Promise<VendorQuestion> {
      const q = await findQuestion(db, id);
      if (!q || q.direction !== 'received') throw new ProblemError('not-found', `no received vendor question ${id}`);
      return toWireQuestion(q, null);
    },

    /**
     * What we answered a question asked of us with, per product, and where each signed statement
     * is in the outbox. A reader may see it: it is our own answer, already disclosed to the asker.
     */
    async sentStatements(id: string): Promise<SentVendorStatement[]> {
      const q = await findQuestion(db, id);
      if (!q || q.direction !== 'received') throw new ProblemError('not-found', `no received vendor question ${id}`);
      const sent = await statementsSentFor(db, q.id);
      return Promise.all(
        sent.map(async (s) => ({
          product: s.product,
          status: s.status,
          fixedVersions: s.fixedVersions,
          text: s.text,
          delivery: s.messageId ? ((await deps.exchange.outbox.find(db, s.messageId))?.state ?? null) : null,
          recordedAt: s.recordedAt.toISOString(),
          recordedBy: s.recordedBy,
        })),
      );
    },

    /** Our statement, as the vendor, to the team that asked: a signed `vendor.statement` through the outbox. */
    async answer(id: string, input: StatementInput, actor: string): Promise<VendorQuestion> {
      const answered = await db.transaction().execute(async (tx) => {
        const q = await findQuestion(tx, id);
        if (!q || q.direction !== 'received') throw new ProblemError('not-found', `no received vendor question ${id}`);
        if (!q.content.products.some((p) => p.product === input.product))
          throw invalid(`the question names no product "${input.product}"`, '/product');
        const body: VendorStatementBody = {
          case: q.caseId,
          question: q.remoteQuestion!,
          product: input.product,
          status: input.status,
          fixedVersions: input.fixedVersions ?? [],
          ...(input.text ? { text: input.text } : {}),
        };
        const sent = await deps.exchange.outbox.enqueue(
          tx,
          { type: 'vendor.statement', to: q.askerTeam!, tlp: q.tlp as Tlp, body, ...(q.messageId ? { inReplyTo: q.messageId } : {}) },
          null,
        );
        await insertStatement(tx, {
          direction: 'sent',
          caseId: q.id,
          vendorId: config.teamId,
          product: input.product,
          status: input.status,
          fixedVersions: body.fixedVersions,
          text: input.text ?? null,
          provenance: 'federation',
          signedText: null,
          messageId: sent.id,
          recordedAt: clock(),
          recordedBy: actor,
        });
        await setQuestionState(tx, q.id, 'answered');
        await audit.append(tx, {
          kind: 'vendor.statement-sent',
          actor,
          peer: q.askerTeam,
          decision: 'allow',
          details: { case: q.caseId, question: q.id, status: input.status, message: sent.id },
        });
        return { ...q, state: 'answered' as const };
      });
      deps.exchange.outbox.kick();
      return toWireQuestion(answered, null);
    },

    delivery,
  };
}

export type VendorQuestionService = ReturnType<typeof createVendorQuestionService>;
