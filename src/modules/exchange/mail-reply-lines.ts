/**
 * What a person wrote in a signed reply, read back by lines (ADR 0028): pure functions. A reply
 * usually quotes our mail, and our mail names our reference number and shows the lines we ask
 * for, so only the person's own lines count: not quoted (`>`), and above the point where a mail
 * client pastes the original unquoted ("-----Original Message-----", "On ... wrote:", or our
 * text's own first line, "TLP:<label>: ...").
 */

const ORIGINAL_FOLLOWS = [
  /^-{2,}\s*original message\s*-{2,}\s*$/i,
  /^on .{1,300} wrote:\s*$/i,
  /^-{5,}\s*forwarded message/i,
  // The first line of our own text (mail-team-text.ts), pasted below a reply without quote marks.
  /^TLP:(?:CLEAR|GREEN|AMBER|AMBER\+STRICT|RED): /,
];

/** The reply's own lines: not quoted, and none from where the original is pasted below. */
export function ownLines(text: string): string[] {
  const out: string[] = [];
  for (const line of text.split(/\r?\n/)) {
    if (ORIGINAL_FOLLOWS.some((re) => re.test(line.trim()))) break;
    if (/^\s*>/.test(line)) continue;
    out.push(line);
  }
  return out;
}

/** A reference number as a team writes it: a ticket id, no spaces, 1-128 characters. */
const REFERENCE_VALUE = /^[A-Za-z0-9][A-Za-z0-9#._:/+-]{0,127}$/;
const REFERENCE_LINE = /^\s*(?:our\s+)?ref(?:erence)?(?:\s+(?:number|no\.?))?\s*:\s*(\S+)\s*$/i;

/**
 * The team's own reference number: the first own line `Reference: <theirs>` (or `Our reference:`,
 * `Ref:`) whose value is a plausible ticket id and not one of ours (a reply may repeat our line).
 */
export function theirReference(text: string, ours: ReadonlyArray<string | null>): string | null {
  for (const line of ownLines(text)) {
    const value = REFERENCE_LINE.exec(line)?.[1]?.replace(/[.,;]+$/, '');
    if (value && REFERENCE_VALUE.test(value) && !ours.includes(value)) return value;
  }
  return null;
}
