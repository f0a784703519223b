import type { Tlp } from '../../../schemas/common.schema.js';
import type { VendorQuestionDocument } from '../../../schemas/federation.schema.js';
import { decideVendorQuestion, type VendorRuleDecision } from '../policy/index.js';
import type { VendorQuestionDeps } from './vendor-question.service.js';
import { awaitingEmailQuestions, findCase, findVendor, setQuestionState } from './vendor.repository.js';
import { caseFacts } from './vendor.service.js';

/**
 * Questions to e-mail vendors that were asked before the e-mail channel was configured wait as
 * `awaiting-email` (ADR 0024). Once the channel exists, the mailer queues them at the start of
 * every pass. Each is decided again against the case as it is now (a case that became TLP:RED, or
 * a vendor no longer a party, is refused: state `refused`, audited), and goes under the case's
 * current label (a raised label encrypts it); the content is what was asked, as audited then.
 */
export async function sendWaitingQuestions(deps: VendorQuestionDeps): Promise<number> {
  const email = deps.email;
  if (!email) return 0;
  return deps.db.transaction().execute(async (tx) => {
    const waiting = await awaitingEmailQuestions(tx, 20);
    for (const q of waiting) {
      const kase = await findCase(tx, q.caseId);
      const vendor = q.vendorId ? await findVendor(tx, q.vendorId) : null;
      const decision: VendorRuleDecision =
        kase && vendor?.email && vendor.publicKey
          ? decideVendorQuestion(caseFacts(kase), { vendorId: vendor.id, channel: 'email', peerActive: null })
          : { allow: false, deniedBy: 'gone', reason: 'the case or the e-mail vendor is gone' };
      const base = {
        kind: 'vendor.question',
        actor: 'system',
        peer: null,
        decision: decision.allow ? ('allow' as const) : ('deny' as const),
      };
      const which = { case: q.caseId, vendor: q.vendorId, channel: 'email', question: q.id };
      if (!decision.allow) {
        await setQuestionState(tx, q.id, 'refused');
        await deps.audit.append(tx, { ...base, details: { ...which, deniedBy: decision.deniedBy, reason: decision.reason } });
        continue;
      }
      const body: VendorQuestionDocument['body'] = {
        case: q.caseId,
        question: q.id,
        title: q.content.title,
        description: q.content.description,
        products: q.content.products,
        cveIds: q.content.cveIds,
        ...(q.content.embargoUntil ? { embargoUntil: q.content.embargoUntil } : {}),
      };
      const { messageId } = await email.queueVendorQuestion(tx, {
        to: vendor!.email!,
        fingerprint: vendor!.fingerprint!,
        publicKey: vendor!.publicKey!,
        tlp: kase!.tlp as Tlp,
        question: body,
      });
      await setQuestionState(tx, q.id, 'queued', messageId);
      await deps.audit.append(tx, {
        ...base,
        details: {
          ...which,
          state: 'queued',
          was: 'awaiting-email',
          reason: decision.reason,
        },
      });
    }
    return waiting.length;
  });
}
