import type { NodeSigner, PeerKey } from '../../crypto/index.js';
import { composeSignedTextMail } from '../exchange/exchange.module.js';

/**
 * A site notification as mail (ADR 0026): a PGP/MIME signed text/plain part (RFC 3156), the node
 * key's detached signature over it, and, when the label needs it (AMBER and up), the whole signed
 * entity encrypted to the POC's pinned key. The Message-ID is ours, chosen before the hand-over,
 * so a bounce or a reply finds the notification, and the Subject names only our reference
 * number (headers are never encrypted).
 */
export async function composeNotificationMail(
  signer: NodeSigner,
  headers: { from: string; to: string; subject: string; date: Date; messageId: string },
  text: string,
  encryptTo: PeerKey | null,
): Promise<string> {
  return composeSignedTextMail(signer, headers, text, encryptTo);
}
