import { createHash, randomUUID } from 'node:crypto';
import type { FastifyBaseLogger } from 'fastify';
import type { Clock } from '../../clock.js';
import type { Config } from '../../config.js';
import type { NodeSigner, PeerKey } from '../../crypto/index.js';
import type { Db, Tx } from '../../db/database.js';
import type { Tlp } from '../../../schemas/common.schema.js';
import type { AuditLog } from '../audit/audit.module.js';
import {
  composeSignedTextMail,
  createMailHandOver,
  mailNeedsEncryption,
  type HumanReport,
  type MailChannel,
  type MailHandOver,
} from '../exchange/exchange.module.js';
import type { IncidentService } from '../incidents/incidents.module.js';
import type { PeerDirectory } from '../peers/peers.module.js';
import {
  dropSentReceiptMail,
  enqueueReportReceipt,
  findReportReceipt,
  hasReportReceipt,
  listOwedReceipts,
  reportReceiptStore,
  setComposedReceipt,
} from './mail-report-receipt.repository.js';

/**
 * Receipts to people who mailed a signed report (issue 17; ADR 0025 "Receipts to people";
 * the lecture's domain, shared/design/domain.md §2.2, §3: the receiving CSIRT answers with its own reference number so both sides can
 * name the incident). When a report is filed, or recognised as already filed, a receipt is queued
 * in the filing's transaction and handed over by the generic mail hand-over loop, at most once.
 *
 * Where it goes: only to the e-mail address of the peer's record here (the address an admin set
 * for the pinned peer). The intake files a person's report only when its From is that address
 * and its signature verifies against that peer's pinned key, so the receipt answers the sender;
 * the From as written, Reply-To and the envelope sender are never used: nobody can make the node
 * mail an address of their choosing. A quarantined mail never reaches the filing, so gets none.
 *
 * What it says: our team, our reference number, the sender's subject and reference (their own
 * words for the report, so they recognise it), when we filed it and whom to write to. Nothing
 * else of the report: the receipt may travel in clear. It is encrypted to the peer's pinned key
 * when the report came encrypted or its label needs it (`mailNeedsEncryption`).
 */

export interface ReportReceiptDeps {
  db: Db;
  clock: Clock;
  log: FastifyBaseLogger;
  audit: AuditLog;
  config: Pick<Config, 'teamId' | 'teamName' | 'teamEmail'> & {
    delivery: Pick<Config['delivery'], 'pollMs' | 'retryBaseMs' | 'retryMaxMs' | 'leaseMs'>;
  };
  signer: Pick<NodeSigner, 'signDetached' | 'fingerprint'>;
  incidents: Pick<IncidentService, 'appendInTx'>;
  peers: Pick<PeerDirectory, 'find' | 'keyOf'>;
  /** Null: the node sends no mail (yet); receipts are recorded as owed and composed once it does. */
  mail: MailChannel | null;
}

/** What the filing answers, and what of the report the receipt may name. */
export interface FiledReport {
  incidentId: string;
  ref: string;
  filedAt: Date;
  report: HumanReport;
  /** sha256 of the signed text (mail_report's key). */
  digest: string;
  tlp: Tlp;
}

export interface ReportReceipts {
  /** Queues the receipt inside the filing's transaction; answers its id, or null (one exists, or no address). */
  queue(tx: Tx, filed: FiledReport): Promise<string | null>;
  /** Null while the node has no outgoing mail channel. */
  mailer: MailHandOver | null;
}

/** What an owed receipt needs to be composed once mail is configured (kept in `unsent`). */
interface OwedReceipt {
  subject: string;
  inReplyTo: string | null;
  text: string;
}

/** A Message-ID as a mail client threads by: printable, no spaces or angle brackets (so nothing can be injected into our headers). */
const MESSAGE_ID = /^\s*<([\x21-\x3b\x3d\x3f-\x7e]{1,900})>\s*$/;
/** The sender's own reference, when the signed text names it on a line of its own ("Reference: ACME-2026-17"). */
const SENDER_REFERENCE = /^[ \t]*(?:our[ \t]+|your[ \t]+)?(?:reference|ref\.?)[ \t]*:[ \t]*([A-Za-z0-9][A-Za-z0-9#:/._-]{0,79})[ \t]*$/im;

export function reportMessageId(header: string | null): string | null {
  return MESSAGE_ID.exec(header ?? '')?.[1] ?? null;
}

export function senderReference(text: string): string | null {
  return SENDER_REFERENCE.exec(text)?.[1] ?? null;
}

/** The receipt as a person reads it. */
export function receiptMailText(
  team: { teamId: string; teamName: string; teamEmail: string },
  receipt: { ref: string; filedAt: Date; subject: string | null; reference: string | null; fingerprint: string },
): string {
  return [
    `${team.teamName} (${team.teamId}) received your signed report and filed it as an incident.`,
    '',
    `Our reference:   ${receipt.ref}`,
    ...(receipt.subject ? [`Your subject:    ${receipt.subject}`] : []),
    ...(receipt.reference ? [`Your reference:  ${receipt.reference}`] : []),
    `Filed at:        ${receipt.filedAt.toISOString()}`,
    '',
    `Please name our reference ${receipt.ref} whenever you write to us about this incident:`,
    `${team.teamEmail}`,
    '',
    `This receipt is signed with the key of our node (${receipt.fingerprint}).`,
    'It repeats nothing of your report but its subject.',
    '',
  ].join('\n');
}

const sha256 = (text: string): string => createHash('sha256').update(text, 'utf8').digest('hex');

/** The receipt as a signed (and, with a key, encrypted) mail, named by its row's id. */
async function compose(
  mail: MailChannel,
  signer: Pick<NodeSigner, 'signDetached'>,
  id: string,
  to: string,
  owed: OwedReceipt,
  encryptTo: PeerKey | null,
): Promise<string> {
  const headers = {
    from: mail.from,
    to,
    subject: owed.subject,
    date: new Date(),
    messageId: `${id}@${mail.from.split('@')[1] ?? 'hikeshi.invalid'}`,
    ...(owed.inReplyTo ? { inReplyTo: owed.inReplyTo } : {}),
  };
  return composeSignedTextMail(signer, headers, owed.text, encryptTo);
}

export function createReportReceipts(deps: ReportReceiptDeps): ReportReceipts {
  const { clock, config, mail } = deps;
  const system = { subject: 'system', team: config.teamId };

  async function queue(tx: Tx, filed: FiledReport): Promise<string | null> {
    const { report } = filed;
    const threadId = reportMessageId(report.mailMessageId);
    // A report mail without a usable Message-ID is keyed by its signed text: one receipt per text.
    const reportKey = threadId ?? `sha256:${filed.digest}`;
    if (await hasReportReceipt(tx, filed.incidentId, reportKey)) return null;
    const peer = await deps.peers.find(tx, report.peerTeam);
    if (!peer?.email) {
      deps.log.warn({ peer: report.peerTeam, incidentId: filed.incidentId }, 'no receipt: the peer has no e-mail address here');
      return null;
    }
    const encrypt = report.encrypted || mailNeedsEncryption(filed.tlp, peer.requiresSealed);
    const id = randomUUID();
    const subject = report.subject
      .replace(/[\r\n\t]+/g, ' ')
      .trim()
      .slice(0, 200);
    const owed: OwedReceipt = {
      // Headers are never encrypted: our team and our reference number, nothing of the report.
      subject: `Receipt: your report is ${filed.ref} at ${config.teamId}`,
      inReplyTo: threadId,
      text: receiptMailText(config, {
        ref: filed.ref,
        filedAt: filed.filedAt,
        subject: subject || null,
        reference: senderReference(report.text),
        fingerprint: deps.signer.fingerprint,
      }),
    };
    const at = clock();
    // Without a mail channel the receipt is still owed and recorded (issue 17): composed, signed
    // and handed over once the node runs with one (composeOwed).
    const row = {
      id,
      incidentId: filed.incidentId,
      reportKey,
      peerTeam: peer.teamId,
      from: mail?.from ?? '',
      to: peer.email,
      raw: mail ? await compose(mail, deps.signer, id, peer.email, owed, encrypt ? await deps.peers.keyOf(peer) : null) : '',
      unsent: mail ? null : JSON.stringify(owed),
      encrypted: encrypt,
      at,
    };
    if (!(await enqueueReportReceipt(tx, row))) return null;
    // The journal before the audit: the audit log's lock comes last in every transaction.
    await deps.incidents.appendInTx(tx, filed.incidentId, {
      kind: 'mail-receipt-queued',
      actor: system,
      changes: { receipt: id, peer: peer.teamId, encrypted: encrypt, ...(mail ? {} : { owed: true }) },
    });
    const details = {
      receipt: id,
      report: sha256(reportKey),
      ...(mail ? { mailDigest: sha256(row.raw) } : { owed: true, textDigest: sha256(owed.text) }),
      encrypted: encrypt,
    };
    await deps.audit.append(tx, { kind: 'mail.receipt-queued', actor: 'system', peer: peer.teamId, incidentId: filed.incidentId, details });
    return id;
  }

  /** Receipts owed from a time without mail: composed and signed now, then handed over as any other. */
  async function composeOwed(channel: MailChannel): Promise<void> {
    // All of them before the pass claims any: an owed row has no mail to hand over yet.
    const skipped = new Set<string>();
    for (;;) {
      const batch = (await listOwedReceipts(deps.db, 100 + skipped.size)).filter((o) => !skipped.has(o.id));
      if (batch.length === 0) return;
      for (const owed of batch) {
        const peer = await deps.peers.find(deps.db, owed.peerTeam);
        if (!peer) {
          skipped.add(owed.id); // the peer was removed: nobody to encrypt to; it stays owed, and listed
          continue;
        }
        const key = owed.encrypted ? await deps.peers.keyOf(peer) : null;
        const raw = await compose(channel, deps.signer, owed.id, owed.to, JSON.parse(owed.unsent) as OwedReceipt, key);
        if (await setComposedReceipt(deps.db, owed.id, { from: channel.from, raw, at: clock() }))
          deps.log.info({ receipt: owed.id, peer: owed.peerTeam }, 'an owed receipt is composed now that mail is configured');
      }
    }
  }

  if (!mail) return { queue, mailer: null };
  const mailer = createMailHandOver({
    db: deps.db,
    clock,
    log: deps.log,
    settings: config.delivery,
    mail,
    store: reportReceiptStore,
    what: 'report receipt',
    beforePass: () => composeOwed(mail),
    async onSent(tx, id, uncertain) {
      const receipt = await findReportReceipt(tx, id);
      if (!receipt) return;
      await deps.incidents.appendInTx(tx, receipt.incidentId, {
        kind: 'mail-receipt-sent',
        actor: system,
        changes: { receipt: id, uncertain },
      });
      await dropSentReceiptMail(tx, id);
      // Last, as everywhere (its lock comes last). A cut hand-over: a handler checks the mail
      // server's log; the audit says which receipt.
      await deps.audit.append(tx, {
        kind: 'mail.receipt-sent',
        actor: 'system',
        peer: receipt.peerTeam,
        incidentId: receipt.incidentId,
        details: { receipt: id, mailDigest: sha256(receipt.raw), uncertain },
      });
    },
  });

  return { queue, mailer };
}
