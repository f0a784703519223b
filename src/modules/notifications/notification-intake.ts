import {
  addressOf,
  canonicalLines,
  contentTypeOf,
  decodedBody,
  mailText,
  parseEntity,
  splitMultipart,
  type UnclaimedMailHandler,
} from '../exchange/exchange.module.js';
import type { SiteNotificationService } from './site-notification.service.js';

/**
 * What comes back from a site by mail (issue 19 part 3, ADR 0026), taken before the exchange
 * would quarantine it (it is unsigned, and sites are not peers):
 * - a delivery status notification (RFC 3464: multipart/report; report-type=delivery-status)
 *   whose returned message or Original-Envelope-Id names one of our notification Message-IDs:
 *   failed -> bounced (the POC address marked failing), delivered -> delivered;
 * - a reply whose In-Reply-To or References names one: journaled on the incident, answered.
 * Anything else is left to the quarantine. Nothing here is verified (a bounce is unsigned by
 * nature), so it only changes a notification's state and a contact's failing flag, and the
 * reply's text is read by people. Nothing of a mail's body is logged.
 */

const ANGLED = /<([^<>\s]{1,900})>/g;
const idsIn = (text: string | undefined): string[] => [...(text ?? '').matchAll(ANGLED)].map((m) => m[1]!);

/** The fields of a message/delivery-status body (per-message and per-recipient groups folded together; the first wins). */
function statusFields(text: string): Map<string, string> {
  const fields = new Map<string, string>();
  for (const line of canonicalLines(text)
    .replace(/\r\n[ \t]+/g, ' ')
    .split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    if (!fields.has(name)) fields.set(name, line.slice(colon + 1).trim());
  }
  return fields;
}

interface DeliveryReport {
  messageIds: string[];
  action: string | null;
  detail: string;
}

function readDeliveryReport(raw: Buffer): DeliveryReport {
  const top = parseEntity(canonicalLines(raw.toString('latin1')));
  const messageIds: string[] = [];
  let fields = new Map<string, string>();
  for (const partText of splitMultipart(top.body, contentTypeOf(top).params.get('boundary'), 16)) {
    const part = parseEntity(partText);
    const type = contentTypeOf(part).type;
    if (type === 'message/delivery-status') fields = statusFields(decodedBody(part).toString('latin1'));
    else if (type === 'message/rfc822' || type === 'text/rfc822-headers') {
      const returned = parseEntity(canonicalLines(decodedBody(part).toString('latin1')));
      messageIds.push(...idsIn(returned.headers.get('message-id')));
    }
  }
  const envelopeId = fields.get('original-envelope-id');
  if (envelopeId) messageIds.push(...(idsIn(envelopeId).length ? idsIn(envelopeId) : [envelopeId]));
  const detail = [fields.get('status'), fields.get('diagnostic-code')].filter(Boolean).join(' ') || 'the mail server reported a failure';
  return { messageIds, action: fields.get('action')?.toLowerCase().split(/\s/)[0] ?? null, detail: detail.slice(0, 500) };
}

export function createNotificationMailHandler(
  notifications: Pick<SiteNotificationService, 'deliveryStatus' | 'answered'>,
): UnclaimedMailHandler {
  return async ({ raw, headers }) => {
    const type = contentTypeOf({ headers, body: '' });
    if (type.type === 'multipart/report' && (type.params.get('report-type') ?? '').toLowerCase() === 'delivery-status') {
      const report = readDeliveryReport(raw);
      if (report.action !== 'failed' && report.action !== 'delivered') return null;
      const id = await notifications.deliveryStatus(report.messageIds, { action: report.action, detail: report.detail });
      return id ? { detail: `delivery status (${report.action}) for notification ${id}` } : null;
    }
    const ids = [...idsIn(headers.get('in-reply-to')), ...idsIn(headers.get('references'))];
    if (ids.length === 0) return null;
    const id = await notifications.answered(ids, { from: addressOf(headers.get('from')), text: (await mailText(raw)).trim() });
    return id ? { detail: `reply to notification ${id}` } : null;
  };
}
