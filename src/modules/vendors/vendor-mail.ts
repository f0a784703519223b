import { randomUUID } from 'node:crypto';
import type { FastifyBaseLogger } from 'fastify';
import type { Clock } from '../../clock.js';
import type { Config } from '../../config.js';
import { readPeerKey, type NodeSigner } from '../../crypto/index.js';
import type { Db } from '../../db/database.js';
import type { VendorQuestionDocument } from '../../../schemas/federation.schema.js';
import type { AuditLog } from '../audit/audit.module.js';
import {
  composeSignedTextMail,
  createMailHandOver,
  mailNeedsEncryption,
  type MailChannel,
  type MailHandOver,
  type SignedReply,
  type SignedReplyHandler,
} from '../exchange/exchange.module.js';
import type { VendorEmailChannel } from './vendor-question.service.js';
import { enqueueVendorMail, vendorMailStore } from './vendor-mail.repository.js';
import { findEmailQuestionByMessage, findVendor, setQuestionState } from './vendor.repository.js';

/**
 * Vendor questions by signed e-mail (ADR 0024, "The e-mail channel"): the `VendorEmailChannel`
 * the question service queues into, inside the asking transaction; the hand-over of the vendor
 * mail outbox (at most once, retried with backoff, exchange/mail-hand-over.ts); and the reply
 * handler the mail intake asks whether a mail answers one of our questions.
 *
 * The mail is a text a person reads and answers: the question, then the statement form of
 * statement-text.ts to fill in and clear-sign. It is PGP/MIME signed with the node key and, when
 * the case's label needs it (AMBER and up, `mailNeedsEncryption`), encrypted to the vendor's
 * pinned key. Its Message-ID (a uuid at our domain) is kept as the question's message id: the
 * vendor's reply names it in In-Reply-To or References, and that is how the reply finds its
 * question and the key that must have signed it.
 */

export interface VendorMailDeps {
  db: Db;
  clock: Clock;
  log: FastifyBaseLogger;
  audit: AuditLog;
  config: { teamId: string; teamName: string; delivery: Pick<Config['delivery'], 'pollMs' | 'retryBaseMs' | 'retryMaxMs' | 'leaseMs'> };
  signer: Pick<NodeSigner, 'signDetached'>;
  mail: MailChannel;
}

/** The question as a person reads it, with the form a statement is written in. */
export function questionMailText(team: { teamId: string; teamName: string }, tlp: string, q: VendorQuestionDocument['body']): string {
  const products = q.products.map((p) => `  - ${p.product}${p.versions.length ? ` (versions ${p.versions.join(', ')})` : ''}`);
  return [
    `TLP:${tlp}`,
    '',
    `${team.teamName} (${team.teamId}) coordinates a vulnerability that may concern your products,`,
    'and asks whether they are affected.',
    '',
    `Case: ${q.case}`,
    `Title: ${q.title}`,
    ...(q.cveIds.length ? [`CVE: ${q.cveIds.join(', ')}`] : []),
    ...(q.embargoUntil ? [`Embargo until: ${q.embargoUntil} (do not publish before)`] : []),
    'Products:',
    ...products,
    '',
    q.description,
    '',
    'Please answer by replying to this message with a statement per product, clear-signed with',
    'the OpenPGP key we hold for you (gpg --clearsign), in this form:',
    '',
    `Case: ${q.case}`,
    `Product: ${q.products[0]?.product ?? ''}`,
    'Status: affected | not affected | under investigation',
    'Fixed-Versions: (comma-separated, if any)',
    'Statement: (free text, may run over several lines)',
    '',
    `Question ${q.question}`,
    '',
  ].join('\n');
}

export function createVendorEmailChannel(deps: VendorMailDeps): VendorEmailChannel {
  const { mail, clock, config } = deps;
  return {
    async queueVendorQuestion(tx, message) {
      const key = await readPeerKey(message.publicKey);
      // The vendor's key was pinned with this fingerprint; a mismatch is a bug of ours, never sent.
      if (key.fingerprint !== message.fingerprint) throw new Error('the vendor key does not have its pinned fingerprint');
      const encrypt = mailNeedsEncryption(message.tlp, false);
      const id = randomUUID();
      const domain = mail.from.split('@')[1] ?? 'hikeshi.invalid';
      const raw = await composeSignedTextMail(
        deps.signer,
        {
          from: mail.from,
          to: message.to,
          // Headers are never encrypted: the case id and our team, nothing of the content.
          subject: `Vulnerability coordination: a question from ${config.teamId} (case ${message.question.case})`,
          date: clock(),
          messageId: `${id}@${domain}`,
        },
        questionMailText(config, message.tlp, message.question),
        encrypt ? key : null,
      );
      await enqueueVendorMail(tx, {
        questionId: message.question.question,
        from: mail.from,
        to: message.to,
        raw,
        encrypted: encrypt,
        at: clock(),
      });
      return { messageId: id };
    },
  };
}

/** The vendor mail outbox's hand-over: a question handed to the mail server is `sent`. */
export function createVendorMailer(deps: VendorMailDeps, sendWaiting: () => Promise<unknown>): MailHandOver {
  return createMailHandOver({
    db: deps.db,
    clock: deps.clock,
    log: deps.log,
    settings: deps.config.delivery,
    mail: deps.mail,
    store: vendorMailStore,
    what: 'vendor question',
    beforePass: async () => void (await sendWaiting()),
    async onSent(tx, questionId, uncertain) {
      await setQuestionState(tx, questionId, 'sent');
      // A cut hand-over: a handler checks the mail server's log; the audit says which question.
      if (uncertain)
        await deps.audit.append(tx, { kind: 'vendor.question-send-uncertain', actor: 'system', details: { question: questionId } });
    },
  });
}

const ANGLED = /<([^<>\s]{1,900})>/g;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * The mail intake asks this first: a mail whose In-Reply-To or References names one of our
 * vendor questions' Message-IDs must be signed by that vendor's pinned key, and is recorded as
 * the vendor's statement. Nothing in the headers is trusted beyond choosing the key.
 */
export function createVendorReplyHandler(
  db: Db,
  record: (questionId: string, reply: SignedReply) => Promise<{ detail: string }>,
): SignedReplyHandler {
  return async (headers) => {
    const named = [headers.get('in-reply-to'), headers.get('references')].flatMap((h) => [...(h ?? '').matchAll(ANGLED)].map((m) => m[1]!));
    for (const id of named.slice(0, 50)) {
      const local = id.split('@')[0]!;
      if (!UUID.test(local)) continue;
      const question = await findEmailQuestionByMessage(db, local.toLowerCase());
      const vendor = question?.vendorId ? await findVendor(db, question.vendorId) : null;
      if (!question || !vendor?.publicKey) continue;
      return { label: vendor.id, key: await readPeerKey(vendor.publicKey), accept: (reply) => record(question.id, reply) };
    }
    return null;
  };
}
