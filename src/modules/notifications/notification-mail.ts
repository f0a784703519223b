import { micalgOf, sealForRecipient, type NodeSigner, type PeerKey } from '../../crypto/index.js';
import { encryptedEntity, mailMessage, signedEntity } from '../exchange/exchange.module.js';

/**
 * A site notification as mail (ADR 0026): a PGP/MIME signed text/plain part (RFC 3156), the node
 * key's detached signature over it, and, when the label needs it (AMBER and up), the whole signed
 * entity encrypted to the POC's pinned key. The Message-ID is ours, chosen before the hand-over,
 * so a bounce or a reply finds the notification, and the Subject names only our reference
 * number (headers are never encrypted).
 */
const CRLF = '\r\n';

/** 76-character base64 lines: Japanese text travels 7-bit clean. */
function base64Body(text: string): string {
  return (
    Buffer.from(text.replace(/\r?\n/g, '\n'), 'utf8')
      .toString('base64')
      .match(/.{1,76}/g) ?? []
  ).join(CRLF);
}

export async function composeNotificationMail(
  signer: NodeSigner,
  headers: { from: string; to: string; subject: string; date: Date; messageId: string },
  text: string,
  encryptTo: PeerKey | null,
): Promise<string> {
  const part = ['Content-Type: text/plain; charset=utf-8', 'Content-Transfer-Encoding: base64', '', base64Body(text)].join(CRLF);
  const signature = await signer.signDetached(part);
  let entity = signedEntity(part, signature, await micalgOf(signature));
  if (encryptTo) entity = encryptedEntity(await sealForRecipient(entity, encryptTo));
  return mailMessage(entity, headers);
}
