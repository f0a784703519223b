/**
 * The text a person at a team without a node reads (ADR 0028): a signed federation document
 * rendered as labelled lines, with what it is, its TLP label and how to answer. A pure function
 * of the document as signed, so it carries exactly what the policy let go and nothing more (the
 * same values as the attached JSON, never anything read elsewhere).
 */

const WHAT: Record<string, string> = {
  'incident.report': 'an incident report',
  'incident.update': 'an update of an incident we exchanged (a change, a new label or a retraction)',
  'incident.correction': 'a correction of an incident we reported',
  'investigation.request': 'a request to investigate',
  'investigation.result': 'the result of an investigation you asked for',
  'forum.inquiry': 'an inquiry to the members of a forum',
  'forum.inquiry-answer': 'an answer to a forum inquiry',
  'key.rotation': 'the new key of our node',
  'vendor.question': 'a question about a product',
  'relay.forward': 'a report to pass on',
};

const TLP_MEANING: Record<string, string> = {
  CLEAR: 'no limit on disclosure',
  GREEN: 'for your community, not for public channels',
  AMBER: 'for your organisation and its clients on a need-to-know basis only',
  'AMBER+STRICT': 'for your organisation only',
  RED: 'for you, the named recipient, only',
};

/** A member name as words: `intruderActivity` as "Intruder activity". */
export function labelOf(name: string): string {
  const words = name.replace(/([a-z0-9])([A-Z])/g, '$1 $2').replace(/[_-]+/g, ' ');
  return words.charAt(0).toUpperCase() + words.slice(1).toLowerCase();
}

/** Labelled lines, nested values indented; nulls and empty lists are left out. */
export function renderValue(value: unknown, indent = ''): string[] {
  if (value === null || value === undefined) return [];
  if (Array.isArray(value)) {
    return value.flatMap((item) => {
      const lines = renderValue(item, `${indent}  `);
      if (lines.length === 0) return [];
      return [`${indent}- ${lines[0]!.trimStart()}`, ...lines.slice(1)];
    });
  }
  if (typeof value === 'object') {
    const lines: string[] = [];
    for (const [key, inner] of Object.entries(value as Record<string, unknown>)) {
      if (inner === null || inner === undefined || (Array.isArray(inner) && inner.length === 0)) continue;
      if (typeof inner === 'object') {
        lines.push(`${indent}${labelOf(key)}:`, ...renderValue(inner, `${indent}  `));
      } else {
        const text = String(inner);
        if (text.includes('\n')) lines.push(`${indent}${labelOf(key)}:`, ...text.split(/\r?\n/).map((l) => `${indent}  ${l}`));
        else lines.push(`${indent}${labelOf(key)}: ${text}`);
      }
    }
    return lines;
  }
  return [`${indent}${String(value)}`];
}

export interface TeamMailFacts {
  ourTeam: { teamId: string; teamName: string };
  ourFingerprint: string;
  theirFingerprint: string;
}

/** Our reference number in a document, when it names one (the incident it is about). */
export function referenceOf(document: Record<string, unknown>): string | null {
  const body = document['body'];
  const ref = body && typeof body === 'object' ? (body as Record<string, unknown>)['ref'] : undefined;
  return typeof ref === 'string' ? ref : null;
}

export function teamMailText(document: Record<string, unknown>, facts: TeamMailFacts): string {
  const type = String(document['type']);
  const tlp = String(document['tlp'] ?? '');
  const ref = referenceOf(document);
  const { teamId, teamName } = facts.ourTeam;
  return [
    `TLP:${tlp}: ${TLP_MEANING[tlp] ?? 'see https://www.first.org/tlp/'}.`,
    '',
    `${teamName} (${teamId}) sends you ${WHAT[type] ?? `a signed document of type ${type}`}.`,
    ...(ref ? [`Our reference:  ${ref}`] : []),
    `Document:       ${String(document['id'])} (${type})`,
    `Sent:           ${String(document['created'])}`,
    '',
    '---------------------------------------------------------------------------',
    ...renderValue(document['body']),
    '---------------------------------------------------------------------------',
    '',
    ...(type === 'forum.inquiry' ? inquiryAnswerHelp(document, facts) : replyHelp(ref, facts)),
    '',
    `The attachment hikeshi-message.json is the same document signed by our node key`,
    `${facts.ourFingerprint}: "document" in RFC 8785 canonical form and "signature", a detached`,
    'OpenPGP signature over those bytes (Hikeshi federation protocol §3.1), for your tools.',
    '',
  ].join('\n');
}

/** How to answer a share, an update or any other document: a signed reply, naming ours, giving theirs. */
function replyHelp(ref: string | null, facts: TeamMailFacts): string[] {
  return [
    'To answer, reply to this mail signed with your OpenPGP key (the one we pinned for you,',
    `${facts.theirFingerprint})${ref ? `, and keep our reference ${ref}` : ''}: your reply is filed with`,
    'this here and tells us that this mail reached you. If you track this under a reference',
    'number of your own, write it on a line of its own as "Reference: <yours>" and we file',
    'it with ours. A reply signed by another key is held for a handler.',
  ];
}

/** The inquiry id of a forum.inquiry document, which a reply must name (headers are not signed). */
export function inquiryIdOf(document: Record<string, unknown>): string | null {
  const body = document['body'];
  const id = body && typeof body === 'object' ? (body as Record<string, unknown>)['inquiry'] : undefined;
  return typeof id === 'string' ? id : null;
}

/** How a person answers a forum inquiry by mail: the lines the node reads back (forum/inquiry-mail-answer.ts). */
function inquiryAnswerHelp(document: Record<string, unknown>, facts: TeamMailFacts): string[] {
  const id = inquiryIdOf(document) ?? '';
  return [
    'To answer, reply to this mail signed with your OpenPGP key (the one we pinned for you,',
    `${facts.theirFingerprint}), with these lines of your own (not quoted):`,
    '',
    `  Inquiry: ${id}`,
    '  Answer: seen            (or: not-seen, or: affected)',
    '  Reference: <your reference number, if you have an incident about it>',
    '',
    'Anything else you write goes with your answer as its note. Keep the Inquiry line: your',
    'signature covers it and not the mail headers, so it is what ties your answer to this',
    'inquiry. A later answer replaces an earlier one. A reply signed by another key, or',
    'without an Answer line, is held for a handler.',
  ];
}

/** The Subject: our team, the kind of document and our reference; never content (headers are not encrypted). */
export function teamMailSubject(document: Record<string, unknown>, teamId: string): string {
  const ref = referenceOf(document);
  return `[${teamId}] ${String(document['type'])}${ref ? ` ${ref}` : ''}`;
}
