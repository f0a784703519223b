import { createTransport } from 'nodemailer';
import type { Config } from '../../config.js';
import { micalgOf, sealForRecipient, type NodeSigner, type PeerKey } from '../../crypto/index.js';
import { encryptedEntity, envelopePart, mailMessage, mixedPart, signedEntity } from './mail-mime.js';

/**
 * The outgoing side of the e-mail channel (ADR 0025): a signed federation envelope as a PGP/MIME
 * message, encrypted to the peer's key when the label asks for it, handed to the configured
 * SMTP server. The outbox keeps the message durable: a failed hand-over is retried like a failed
 * HTTP delivery.
 */

export interface MailSender {
  /** Hands one message over for `to`; throws MailSendError with a short reason (no content, no credentials). */
  send(message: { from: string; to: string; raw: string }): Promise<void>;
  /** Closes the pooled connections (the node is stopping); a send after it opens new ones. */
  close(): void;
}

export class MailSendError extends Error {
  override name = 'MailSendError';
  /**
   * @param uncertain true when the server went silent mid-session (a socket timeout, no answer
   * to any command): it may hold the whole message, so a sender that promises at-most-once must
   * not hand it over again. A refusal with a reply code, or no connection at all, is certain.
   */
  constructor(
    message: string,
    readonly uncertain = false,
  ) {
    super(message);
  }
}

/** What a node needs to send mail: the transport and its own address. */
export interface MailChannel {
  sender: MailSender;
  from: string;
  settings: Config['mail'];
}

/**
 * Labels that travel encrypted by mail: AMBER and above. Mail passes through servers that are
 * neither ours nor the peer's and is stored on them, so the rule is stricter than HTTP's (where
 * TLS to the peer's node is end to end and only AMBER+STRICT and RED are sealed); a peer whose
 * profile asks for sealing gets everything encrypted, as over HTTP.
 */
export function mailNeedsEncryption(tlp: string, peerRequiresSealed: boolean): boolean {
  return peerRequiresSealed || tlp === 'AMBER' || tlp === 'AMBER+STRICT' || tlp === 'RED';
}

/**
 * A pooled SMTP sender: up to `maxConnections` connections, each reused for many messages (a
 * campaign's thousand mails do not open a thousand TCP and TLS sessions), closed by close().
 */
export function createSmtpSender(smtpUrl: string, timeoutMs: number, maxConnections: number): MailSender {
  // Certificates are checked by default; a loopback relay without TLS is smtp://127.0.0.1:25.
  // Opened at the first send and again after close(): a stopped node holds no connection, and
  // one started again sends as before.
  let transport: ReturnType<typeof createTransport> | null = null;
  const open = () =>
    (transport ??= createTransport({
      url: smtpUrl,
      pool: true,
      maxConnections,
      connectionTimeout: timeoutMs,
      greetingTimeout: timeoutMs,
      socketTimeout: timeoutMs,
    }));
  const host = new URL(smtpUrl).host;
  return {
    async send({ from, to, raw }) {
      try {
        await open().sendMail({ envelope: { from, to: [to] }, raw });
      } catch (err) {
        const { responseCode, code: errorCode, timeoutType } = err as { responseCode?: unknown; code?: unknown; timeoutType?: unknown };
        const code = responseCode ?? errorCode;
        const silent = responseCode === undefined && errorCode === 'ETIMEDOUT' && timeoutType === 'SOCKET_TIMEOUT';
        throw new MailSendError(
          `the mail server ${host} ${silent ? 'stopped answering during' : 'did not take'} the message${typeof code === 'number' || typeof code === 'string' ? ` (${code})` : ''}`,
          silent,
        );
      }
    },
    close() {
      transport?.close();
      transport = null;
    },
  };
}

/**
 * A signed PGP/MIME text message that says nothing but that it is a test (`hikeshi mail test`):
 * the receiver checks it with any OpenPGP mail client against the node key.
 */
export async function composeTestMail(
  signer: NodeSigner,
  headers: { from: string; to: string; date: Date },
  teamId: string,
): Promise<string> {
  const part = [
    'Content-Type: text/plain; charset=utf-8',
    'Content-Transfer-Encoding: 7bit',
    '',
    `A test of the signed e-mail channel of Hikeshi node "${teamId}", sent ${headers.date.toISOString()}.`,
    `It is signed with the node key ${signer.fingerprint}.`,
    '',
  ].join('\r\n');
  const signature = await signer.signDetached(part);
  return mailMessage(signedEntity(part, signature, await micalgOf(signature)), { ...headers, subject: 'Hikeshi e-mail channel test' });
}

/**
 * A signed (and, with `encryptTo`, encrypted) PGP/MIME message carrying a federation envelope.
 * The signature covers the MIME part holding the envelope; the envelope keeps its own signature
 * over the canonical document, so the receiving inbox checks it exactly as over HTTP.
 */
export async function composeEnvelopeMail(
  signer: NodeSigner,
  headers: { from: string; to: string; subject: string; date: Date },
  envelopeText: string,
  encryptTo: PeerKey | null,
): Promise<string> {
  const part = envelopePart(envelopeText);
  const signature = await signer.signDetached(part);
  let entity = signedEntity(part, signature, await micalgOf(signature));
  if (encryptTo) entity = encryptedEntity(await sealForRecipient(entity, encryptTo));
  return mailMessage(entity, headers);
}

/** 76-character base64 lines: any text (Japanese too) travels 7-bit clean. */
function base64Body(text: string): string {
  return (
    Buffer.from(text.replace(/\r?\n/g, '\n'), 'utf8')
      .toString('base64')
      .match(/.{1,76}/g) ?? []
  ).join('\r\n');
}

/**
 * A text a person reads, as mail (site notifications, ADR 0026; vendor questions, ADR 0024): a
 * PGP/MIME signed text/plain part (RFC 3156), the node key's detached signature over it, and,
 * with `encryptTo`, the whole signed entity encrypted to that key. The caller picks the
 * Message-ID before the hand-over, so a bounce or a reply finds what the mail was.
 */
export async function composeSignedTextMail(
  signer: Pick<NodeSigner, 'signDetached'>,
  headers: { from: string; to: string; subject: string; date: Date; messageId: string; inReplyTo?: string },
  text: string,
  encryptTo: PeerKey | null,
): Promise<string> {
  const part = ['Content-Type: text/plain; charset=utf-8', 'Content-Transfer-Encoding: base64', '', base64Body(text)].join('\r\n');
  const signature = await signer.signDetached(part);
  let entity = signedEntity(part, signature, await micalgOf(signature));
  if (encryptTo) entity = encryptedEntity(await sealForRecipient(entity, encryptTo));
  return mailMessage(entity, headers);
}

/**
 * What a team without a node gets (ADR 0028): a text a person reads and, attached, the signed
 * federation envelope (canonical JSON and the node's detached signature) a tool can file, in one
 * multipart/mixed part the PGP/MIME signature covers whole, always encrypted to the team's pinned
 * key (mail is stored on servers that are neither ours nor theirs, and the team has a key).
 */
export async function composeTeamMail(
  signer: Pick<NodeSigner, 'signDetached'>,
  headers: { from: string; to: string; subject: string; date: Date; messageId: string },
  text: string,
  envelopeText: string,
  encryptTo: PeerKey,
): Promise<string> {
  const textPart = ['Content-Type: text/plain; charset=utf-8', 'Content-Transfer-Encoding: base64', '', base64Body(text)].join('\r\n');
  const part = mixedPart([textPart, envelopePart(envelopeText)]);
  const signature = await signer.signDetached(part);
  const entity = signedEntity(part, signature, await micalgOf(signature));
  return mailMessage(encryptedEntity(await sealForRecipient(entity, encryptTo)), headers);
}
