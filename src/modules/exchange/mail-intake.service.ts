import { randomUUID } from 'node:crypto';
import type { FastifyBaseLogger } from 'fastify';
import type { Clock } from '../../clock.js';
import {
  detachedSignatureIssuer,
  MAX_MAILED_CLEAR_SIGNED_LENGTH as MAX_MAILED_TEXT,
  SealedMessageError,
  verifyClearSigned,
  verifyDetachedBytes,
  type NodeSigner,
  type PeerKey,
} from '../../crypto/index.js';
import type { Db } from '../../db/database.js';
import { ProblemError } from '../../http/problem.js';
import type { AuditLog } from '../audit/audit.module.js';
import type { DeliveryWorker } from './delivery-worker.js';
import type { Inbox } from './inbox.service.js';
import { insertQuarantinedMail, quarantinedMailTotals } from './mail-quarantine.repository.js';
import {
  addressOf,
  canonicalLines,
  contentTypeOf,
  decodedBody,
  mailText,
  MimeError,
  parseEntity,
  splitMultipart,
  type MimeEntity,
} from './mail-mime.js';
import { composeEnvelopeMail, type MailChannel } from './mail-outgoing.js';
import type { ExchangePeer, PeerKeyring } from './peer-keyring.js';
import type { TeamReplies } from './mail-team-reply.js';

/**
 * The incoming side of the e-mail channel (ADR 0025). A message is identified by its From
 * address (a peer's e-mail address), then nothing in it counts until its OpenPGP signature
 * verifies against that peer's pinned key:
 *
 *   multipart/encrypted  opened with the node key (bounded), then read as below
 *   multipart/signed     the signed part checked against the pinned key; a federation envelope
 *                        inside goes through the same inbox as over HTTP (idempotency by
 *                        document id, the signed receipt, which goes back by mail); a text
 *                        part is a report a person wrote (`HumanReportHandler`)
 *   clear-signed text    a report a person wrote with GnuPG
 *
 * Anything else (unsigned, a bad or unknown signature, malformed MIME, a document the inbox
 * refuses) is kept whole in the mail quarantine with a stable reason, and audited: nothing is
 * lost and nothing throws out of here.
 */

/** A report a person wrote and signed with GnuPG, verified against a peer's pinned key. */
export interface HumanReport {
  peerTeam: string;
  subject: string;
  text: string;
  /** The signing key's fingerprint. */
  signerFingerprint: string;
  /** The mail's Message-ID (unverified: headers are not signed), for de-duplication. */
  mailMessageId: string | null;
  encrypted: boolean;
}

/** Files a human report (a domain module's work); answers what it became. */
export type HumanReportHandler = (report: HumanReport) => Promise<{ incidentId: string; ref: string; created: boolean }>;

/**
 * A mail the exchange would quarantine (unsigned, or from no peer), offered first to the
 * registered handlers: a delivery status notification or a reply about a site notification
 * (ADR 0026). Nothing in it is verified.
 */
export interface UnclaimedMail {
  raw: Buffer;
  /** The top-level headers, names lower-cased. */
  headers: Map<string, string>;
  envelopeFrom: string | null;
  /** Why the exchange would hold it. */
  heldReason: string;
}

/**
 * A signed reply from a correspondent who is not a peer (a vendor's statement, ADR 0024), once
 * its signature verified against the key the handler named.
 */
export interface SignedReply {
  /** The signed text (the clear-signed block's text, or the PGP/MIME text part). */
  text: string;
  /** What the signature covers, kept as evidence: the clear-signed block, or the signed MIME part and the detached signature. */
  signedText: string;
  signerFingerprint: string;
  encrypted: boolean;
}

/**
 * Recognises a reply to something a module mailed (by In-Reply-To or References): answers the key
 * that must have signed it and what to do with it once it verified, or null to leave the mail to
 * the exchange. `accept` throwing a ProblemError quarantines the mail with its code as reason.
 */
export type SignedReplyHandler = (
  headers: Map<string, string>,
) => Promise<{ label: string; key: PeerKey; accept(reply: SignedReply): Promise<{ detail: string }> } | null>;

/** Takes an unclaimed mail it recognises (answers what it did, ids only) or answers null to leave it to the quarantine. */
export type UnclaimedMailHandler = (mail: UnclaimedMail) => Promise<{ detail: string } | null>;

export type MailOutcome =
  | { kind: 'filed'; what: 'message' | 'receipt' | 'human-report' | 'unclaimed-mail' | 'signed-reply'; detail: string }
  | { kind: 'quarantined'; id: string; reason: string; detail: string }
  /** Not kept: the mail server is told to try later (the quarantine is full). */
  | { kind: 'deferred'; detail: string };

export interface MailIntake {
  receive(raw: Buffer, meta: { envelopeFrom: string | null; source: string | null }): Promise<MailOutcome>;
  onHumanReport(handler: HumanReportHandler): void;
  /** Registers a handler offered every mail before it is quarantined (in registration order). */
  onUnclaimedMail(handler: UnclaimedMailHandler): void;
  /** Registers a handler asked, before anything else, whether a mail is a signed reply it waits for. */
  onSignedReply(handler: SignedReplyHandler): void;
}

export interface MailIntakeDeps {
  db: Db;
  clock: Clock;
  signer: NodeSigner;
  peers: Pick<PeerKeyring, 'findByEmail' | 'keyOf'>;
  audit: AuditLog;
  log: FastifyBaseLogger;
  inbox: Pick<Inbox, 'receive'>;
  worker: Pick<DeliveryWorker, 'receiptByMail'>;
  /** Replies of teams without a node that name our reference number instead of our mail (ADR 0028). */
  teamReplies?: Pick<TeamReplies, 'byReference'>;
  /** Sends receipts back; absent: receipts are not mailed (the sender's resend then gets the stored one). */
  mail: MailChannel | null;
  maxMessageBytes: number;
}

/** The mail quarantine's bounds: past them a new mail is deferred (the sending server keeps it). */
export const MAIL_QUARANTINE_BOUNDS = { messages: 1000, bytes: 64 * 1024 * 1024 } as const;

/** Why a mail is held, and what is known of it. */
class Held extends Error {
  constructor(
    readonly reason: string,
    readonly detail: string,
    readonly issuer: string | null = null,
  ) {
    super(detail);
  }
}

type Correspondent = NonNullable<Awaited<ReturnType<SignedReplyHandler>>>;

interface Context {
  peer: ExchangePeer | null;
  /** A reply a module recognised: its key, not a peer's, must have signed it. */
  correspondent: Correspondent | null;
  subject: string;
  messageId: string | null;
  encrypted: boolean;
  /** The verified PGP/MIME signed part, its signature and the signing key. */
  signed?: { part: string; signature: string; fingerprint: string };
}

const CLEARSIGNED = /-----BEGIN PGP SIGNED MESSAGE-----[\s\S]*?-----END PGP SIGNATURE-----/;

/** A multipart/encrypted message opened with the node key (bounded); the entity inside. */
async function open(deps: MailIntakeDeps, entity: MimeEntity): Promise<MimeEntity> {
  const parts = splitMultipart(entity.body, contentTypeOf(entity).params.get('boundary'), 4);
  if (parts.length !== 2) throw new Held('malformed-mime', 'a multipart/encrypted message has exactly two parts');
  const armored = decodedBody(parseEntity(parts[1]!)).toString('latin1');
  let plain: string;
  try {
    plain = await deps.signer.decrypt(armored, { maxPlaintextBytes: deps.maxMessageBytes });
  } catch (err) {
    const reason = err instanceof SealedMessageError ? err.reason : 'decryption-failed';
    throw new Held(reason === 'too-large' ? 'too-large' : 'decryption-failed', `the encrypted part cannot be opened (${reason})`);
  }
  const inner = parseEntity(canonicalLines(Buffer.from(plain, 'utf8').toString('latin1')));
  if (contentTypeOf(inner).type === 'multipart/encrypted') throw new Held('malformed-mime', 'an encrypted message inside an encrypted one');
  return inner;
}

/** The signed part of a multipart/signed message, once its signature verified against the sender peer's pinned key. */
async function signedPart(deps: MailIntakeDeps, entity: MimeEntity, ctx: Context): Promise<MimeEntity> {
  const parts = splitMultipart(entity.body, contentTypeOf(entity).params.get('boundary'), 4);
  if (parts.length !== 2) throw new Held('malformed-mime', 'a multipart/signed message has exactly two parts');
  const signature = decodedBody(parseEntity(parts[1]!)).toString('latin1');
  const issuer = await detachedSignatureIssuer(signature);
  const signer = await expectedSigner(deps, ctx, issuer);
  const verdict = await verifyDetachedBytes(Buffer.from(parts[0]!, 'latin1'), signature, signer.key, deps.clock());
  if (!verdict.ok) {
    const reason = verdict.reason === 'wrong-key' ? 'wrong-key' : verdict.reason === 'malformed' ? 'signature-malformed' : 'bad-signature';
    throw new Held(
      reason,
      `the PGP/MIME signature does not verify against the key pinned for "${signer.label}" (${verdict.reason})`,
      issuer,
    );
  }
  ctx.signed = { part: parts[0]!, signature, fingerprint: verdict.signingKeyFingerprint };
  return parseEntity(parts[0]!);
}

/** The key that must have signed the mail: a recognised reply's correspondent's, else the sender peer's. */
async function expectedSigner(deps: MailIntakeDeps, ctx: Context, issuer: string | null = null): Promise<{ key: PeerKey; label: string }> {
  if (ctx.correspondent) return { key: ctx.correspondent.key, label: ctx.correspondent.label };
  if (!ctx.peer) throw new Held('unknown-sender', 'the From address is not the e-mail address of a peer', issuer);
  if (ctx.peer.status !== 'active') throw new Held('peer-not-active', `peer "${ctx.peer.teamId}" is ${ctx.peer.status} here`, issuer);
  return { key: await deps.peers.keyOf(ctx.peer), label: ctx.peer.teamId };
}

/** The receipt of a message that came by mail goes back by mail, signed. */
async function mailReceipt(deps: MailIntakeDeps, peer: ExchangePeer, receiptText: string): Promise<void> {
  if (!deps.mail || peer.email === null) return;
  try {
    const raw = await composeEnvelopeMail(
      deps.signer,
      { from: deps.mail.from, to: peer.email, subject: 'Hikeshi signed receipt', date: deps.clock() },
      receiptText,
      null,
    );
    await deps.mail.sender.send({ from: deps.mail.from, to: peer.email, raw });
  } catch (err) {
    // The message is filed; the sender mails it again when no receipt comes and gets this receipt then.
    deps.log.warn({ peer: peer.teamId, error: err instanceof Error ? err.message : 'unknown' }, 'could not mail a receipt back');
  }
}

/** Why a clear-signed text that fails is held, by the verifier's reason. */
const CLEAR_SIGNED_HELD = { 'unknown-key': 'wrong-key', malformed: 'signature-malformed', 'bad-signature': 'bad-signature' } as const;
function clearSignedHeld(reason: keyof typeof CLEAR_SIGNED_HELD, teamId: string): Held {
  return new Held(CLEAR_SIGNED_HELD[reason], `the clear-signed text does not verify against the key pinned for "${teamId}" (${reason})`);
}

/** A registered handler's outcome for a mail about to be held, or null. Its errors leave the mail to the quarantine. */
async function offerUnclaimed(
  handlers: UnclaimedMailHandler[],
  log: FastifyBaseLogger,
  held: Held,
  raw: Buffer,
  entity: MimeEntity | null,
  envelopeFrom: string | null,
): Promise<MailOutcome | null> {
  if (!entity) return null;
  for (const handler of handlers) {
    try {
      const taken = await handler({ raw, headers: entity.headers, envelopeFrom, heldReason: held.reason });
      if (taken) return { kind: 'filed', what: 'unclaimed-mail', detail: taken.detail };
    } catch (err) {
      log.error({ err }, 'an unclaimed-mail handler failed');
    }
  }
  return null;
}

/** Keeps a mail whole in the quarantine with its reason, audited; defers it when the quarantine is full. */
async function hold(
  deps: MailIntakeDeps,
  held: Held,
  raw: Buffer,
  meta: { envelopeFrom: string | null; source: string | null },
  headerFrom: string | null,
  messageId: string | null,
): Promise<MailOutcome> {
  const { db, clock, audit, log } = deps;
  const totals = await quarantinedMailTotals(db);
  const id = randomUUID();
  if (totals.count >= MAIL_QUARANTINE_BOUNDS.messages || totals.bytes + raw.length > MAIL_QUARANTINE_BOUNDS.bytes) {
    await audit.append(db, {
      kind: 'mail-refused',
      actor: headerFrom ?? meta.envelopeFrom ?? 'unknown',
      decision: 'deny',
      details: { reason: 'quarantine-full', held: held.reason, sizeBytes: raw.length },
    });
    return { kind: 'deferred', detail: 'the mail quarantine is full; try later' };
  }
  await insertQuarantinedMail(db, {
    id,
    envelopeFrom: meta.envelopeFrom?.slice(0, 320) ?? null,
    headerFrom: headerFrom?.slice(0, 320) ?? null,
    messageId: messageId?.slice(0, 998) ?? null,
    reason: held.reason.slice(0, 64),
    detail: held.detail.slice(0, 1000),
    issuerFingerprint: held.issuer?.slice(0, 40) ?? null,
    raw: raw.toString('base64'),
    sizeBytes: raw.length,
    sourceAddress: meta.source?.slice(0, 64) ?? null,
    at: clock(),
  });
  await audit.append(db, {
    kind: 'mail-quarantined',
    actor: headerFrom ?? meta.envelopeFrom ?? 'unknown',
    decision: 'deny',
    details: { quarantineId: id, reason: held.reason, detail: held.detail.slice(0, 300), issuer: held.issuer, sizeBytes: raw.length },
  });
  log.info({ quarantineId: id, reason: held.reason, sizeBytes: raw.length }, 'mail quarantined');
  return { kind: 'quarantined', id, reason: held.reason, detail: held.detail };
}

/** A team's signed text naming one of our mails by reference; a refusal where it is filed (ProblemError) holds the mail with that code. */
async function byReference(
  teamReplies: Pick<TeamReplies, 'byReference'>,
  peer: ExchangePeer,
  signed: SignedReply & { subject: string },
): Promise<{ detail: string } | null> {
  try {
    return await teamReplies.byReference(peer, signed);
  } catch (err) {
    if (err instanceof ProblemError)
      throw new Held(err.code, `${peer.teamId}: the reply was refused: ${err.detail ?? err.message}`.slice(0, 1000));
    throw err;
  }
}

/** The first registered handler that recognises the mail as a reply it waits for. */
async function correspondentOf(handlers: SignedReplyHandler[], headers: Map<string, string>): Promise<Correspondent | null> {
  for (const handler of handlers) {
    const found = await handler(headers);
    if (found) return found;
  }
  return null;
}

export function createMailIntake(deps: MailIntakeDeps): MailIntake {
  const { db, clock, log } = deps;
  let humanReports: HumanReportHandler | null = null;
  const unclaimedHandlers: UnclaimedMailHandler[] = [];
  const replyHandlers: SignedReplyHandler[] = [];

  async function envelope(peer: ExchangePeer, text: string, ctx: Context): Promise<MailOutcome> {
    let document: { type?: unknown; from?: unknown } = {};
    try {
      document = ((JSON.parse(text) as { document?: typeof document }).document ?? {}) as typeof document;
    } catch {
      // The inbox refuses it with its own reason below.
    }
    if (typeof document.from === 'string' && document.from !== peer.teamId)
      throw new Held('sender-mismatch', `the document says it is from "${document.from.slice(0, 64)}", the mail is from "${peer.teamId}"`);
    if (document.type === 'receipt') {
      if (!(await deps.worker.receiptByMail(peer, text)))
        throw new Held('receipt-unmatched', 'the receipt is not for a message waiting for one');
      return { kind: 'filed', what: 'receipt', detail: 'receipt recorded' };
    }
    let answer;
    try {
      answer = await deps.inbox.receive(text, `mail:${peer.email ?? peer.teamId}`.slice(0, 64), { sealed: ctx.encrypted });
    } catch (err) {
      if (err instanceof ProblemError)
        throw new Held(err.code, `the inbox refused the message: ${err.detail ?? err.message}`.slice(0, 1000));
      throw err;
    }
    if (answer.kind === 'quarantined')
      return { kind: 'quarantined', id: answer.quarantineId, reason: answer.reason, detail: answer.detail };
    await mailReceipt(deps, peer, answer.text);
    return { kind: 'filed', what: 'message', detail: answer.replay ? 'a repeat: the stored receipt was sent again' : 'filed' };
  }

  async function human(peer: ExchangePeer, text: string, signerFingerprint: string, ctx: Context): Promise<MailOutcome> {
    const signed = { text, signedText: text, signerFingerprint, encrypted: ctx.encrypted, subject: ctx.subject };
    const answered = deps.teamReplies ? await byReference(deps.teamReplies, peer, signed) : null;
    if (answered) return { kind: 'filed', what: 'signed-reply', detail: answered.detail };
    if (!humanReports) throw new Held('not-accepted', 'this node files no reports written by people');
    const filed = await humanReports({
      peerTeam: peer.teamId,
      subject: ctx.subject,
      text,
      signerFingerprint,
      mailMessageId: ctx.messageId,
      encrypted: ctx.encrypted,
    });
    return { kind: 'filed', what: 'human-report', detail: `${filed.created ? 'filed as' : 'already filed as'} ${filed.ref}` };
  }

  /** A verified reply to its module; a refusal there quarantines the mail with the problem's code. */
  async function reply(correspondent: Correspondent, signed: SignedReply): Promise<MailOutcome> {
    try {
      return { kind: 'filed', what: 'signed-reply', detail: (await correspondent.accept(signed)).detail };
    } catch (err) {
      if (err instanceof ProblemError)
        throw new Held(err.code, `${correspondent.label} refused the reply: ${err.detail ?? err.message}`.slice(0, 1000));
      throw err;
    }
  }

  async function decide(entity: MimeEntity, raw: string, ctx: Context): Promise<MailOutcome> {
    let type = contentTypeOf(entity).type;
    if (type === 'multipart/encrypted') {
      entity = await open(deps, entity);
      ctx.encrypted = true;
      type = contentTypeOf(entity).type;
    }
    if (type === 'multipart/signed') {
      const content = await signedPart(deps, entity, ctx);
      if (ctx.correspondent) {
        if (contentTypeOf(content).type === 'application/json') throw new Held('not-accepted', 'a reply carries a text, not a document');
        const { part, signature, fingerprint } = ctx.signed!;
        const text = (await mailText(Buffer.from(part, 'latin1'))).slice(0, 200_000);
        return reply(ctx.correspondent, {
          text,
          signedText: `${part}\r\n${signature}`,
          signerFingerprint: fingerprint,
          encrypted: ctx.encrypted,
        });
      }
      const peer = ctx.peer!;
      if (contentTypeOf(content).type === 'application/json') return envelope(peer, decodedBody(content).toString('utf8'), ctx);
      const text = await mailText(
        Buffer.from(`${[...content.headers].map(([k, v]) => `${k}: ${v}`).join('\r\n')}\r\n\r\n${content.body}`, 'latin1'),
      );
      return human(peer, text.slice(0, 200_000), peer.fingerprint, ctx);
    }
    // Not PGP/MIME: a clear-signed text somewhere in the message's text.
    const mailBody = await mailText(
      Buffer.from(
        ctx.encrypted ? `${[...entity.headers].map(([k, v]) => `${k}: ${v}`).join('\r\n')}\r\n\r\n${entity.body}` : raw,
        'latin1',
      ),
    );
    const block = CLEARSIGNED.exec(mailBody)?.[0];
    if (!block) throw new Held('unsigned', 'the message carries no OpenPGP signature (neither PGP/MIME nor clear-signed)');
    const signer = await expectedSigner(deps, ctx);
    const verdict = await verifyClearSigned(block, signer.key, { now: clock(), maxLength: MAX_MAILED_TEXT });
    if (!verdict.ok) throw clearSignedHeld(verdict.reason, signer.label);
    if (ctx.correspondent) {
      const signed = { text: verdict.text, signedText: block, signerFingerprint: verdict.signingKeyFingerprint, encrypted: ctx.encrypted };
      return reply(ctx.correspondent, signed);
    }
    return human(ctx.peer!, verdict.text, verdict.signingKeyFingerprint, ctx);
  }

  return {
    onHumanReport(handler) {
      humanReports = handler;
    },
    onUnclaimedMail(handler) {
      unclaimedHandlers.push(handler);
    },
    onSignedReply(handler) {
      replyHandlers.push(handler);
    },
    async receive(raw, meta) {
      const offer = (held: Held, top: MimeEntity | null) => offerUnclaimed(unclaimedHandlers, log, held, raw, top, meta.envelopeFrom);
      let headerFrom: string | null = null;
      let messageId: string | null = null;
      let top: MimeEntity | null = null;
      let correspondent: Correspondent | null = null;
      try {
        if (raw.length > deps.maxMessageBytes) throw new Held('too-large', `the message is larger than ${deps.maxMessageBytes} bytes`);
        const text = canonicalLines(raw.toString('latin1'));
        const entity = (top = parseEntity(text));
        headerFrom = addressOf(entity.headers.get('from'));
        messageId = entity.headers.get('message-id') ?? null;
        correspondent = await correspondentOf(replyHandlers, entity.headers);
        const peer = headerFrom && !correspondent ? await deps.peers.findByEmail(db, headerFrom) : null;
        const ctx: Context = {
          peer,
          correspondent,
          subject: (entity.headers.get('subject') ?? '').slice(0, 300),
          messageId,
          encrypted: false,
        };
        const outcome = await decide(entity, text, ctx);
        if (outcome.kind === 'filed') log.info({ peer: peer?.teamId, what: outcome.what }, 'mail filed');
        return outcome;
      } catch (err) {
        // A mail another module recognises (a bounce, a reply to a site notification) is not held.
        // A reply a module recognised and that fails is held as it is: no other module's to take.
        if (err instanceof Held) return (correspondent ? null : await offer(err, top)) ?? hold(deps, err, raw, meta, headerFrom, messageId);
        if (err instanceof MimeError) return hold(deps, new Held('malformed-mime', err.message), raw, meta, headerFrom, messageId);
        // An error of ours: the mail is kept all the same, and the log says what went wrong (never the content).
        log.error({ err }, 'mail intake failed');
        return hold(
          deps,
          new Held('internal-error', 'the node could not process this mail; it is kept for a handler'),
          raw,
          meta,
          headerFrom,
          messageId,
        );
      }
    },
  };
}
