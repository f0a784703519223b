import type { InquiryAnswerKind } from '../../../schemas/forum-inquiry.schema.js';
import { ownLines, theirReference } from '../exchange/exchange.module.js';

/**
 * A forum inquiry's answer as a person writes it in a signed reply (ADR 0028), read back: pure.
 * The mail asked for these lines (exchange/mail-team-text.ts):
 *
 *   Inquiry: <id>
 *   Answer: seen | not-seen | affected
 *   Reference: <their reference number>   (optional)
 *
 * The signed text must name the inquiry: the reply headers that select our mail are not signed,
 * so without it a team's signed answer to one inquiry could be replayed as its answer to another.
 * Everything else the person wrote (their own lines, not what they quote) is the note.
 */

export interface MailedInquiryAnswer {
  answer: InquiryAnswerKind;
  ref: string | null;
  note: string | null;
}

const ANSWER_LINE = /^\s*answer\s*:\s*(seen|not[- ]seen|affected)\s*\.?\s*$/i;
const OUR_LINES = [ANSWER_LINE, /^\s*inquiry\s*:/i, /^\s*(?:our\s+)?ref(?:erence)?(?:\s+(?:number|no\.?))?\s*:/i];
/** The longest note an answer carries (as over HTTP). */
export const MAX_MAILED_NOTE = 2000;

function namesId(text: string, id: string): boolean {
  return new RegExp(`(^|[^0-9a-f-])${id.replace(/[^0-9a-f-]/gi, '')}($|[^0-9a-f-])`, 'i').test(text);
}

export function readMailedInquiryAnswer(
  text: string,
  inquiry: { id: string; ourRef: string | null },
): MailedInquiryAnswer | { problem: string } {
  if (!namesId(text, inquiry.id)) return { problem: `the signed text does not name inquiry ${inquiry.id} (keep its "Inquiry:" line)` };
  const own = ownLines(text);
  const said = own.map((line) => ANSWER_LINE.exec(line)?.[1]).find((v) => v !== undefined);
  if (!said) return { problem: 'no line "Answer: seen", "Answer: not-seen" or "Answer: affected" of its own' };
  const answer = said.toLowerCase().replace(' ', '-') as InquiryAnswerKind;
  const note = own
    .filter((line) => !OUR_LINES.some((re) => re.test(line)))
    .join('\n')
    .replace(/^\s+|\s+$/g, '')
    .slice(0, MAX_MAILED_NOTE)
    .trim();
  return { answer, ref: theirReference(text, [inquiry.ourRef, inquiry.id]), note: note === '' ? null : note };
}
