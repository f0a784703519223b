import t from 'tap';
import type { RosterDocument, RosterMember } from '../../schemas/forum.schema.js';
import { ownLines, theirReference } from '../../src/modules/exchange/mail-reply-lines.js';
import { rosterFormatFor, rosterProblem } from '../../src/modules/forum/forum-roster.js';
import { MAX_MAILED_NOTE, readMailedInquiryAnswer } from '../../src/modules/forum/inquiry-mail-answer.js';

/**
 * The pure readers behind ADR 0028's replies and rosters: what a person wrote in a signed reply
 * (their own lines, their reference number, an inquiry's answer) and the roster format rules.
 */
const INQUIRY = '3f1c2a9e-55b2-4c1e-9d7a-0b6f0c1d2e3f';
const OTHER = '9a8b7c6d-1111-4222-8333-944455556666';

t.test('own lines: quoted lines and a pasted original are not the writer’s', async (t) => {
  t.same(ownLines('mine\n> yours\n  > also yours\nmine too'), ['mine', 'mine too']);
  t.same(ownLines('top\n-----Original Message-----\nAnswer: seen'), ['top']);
  t.same(ownLines('top\r\nOn Mon, 7 Dec 2026 at 10:00, CSIRT wrote:\r\nReference: X-1'), ['top']);
  t.same(
    ownLines('Reference: OURS-1\n\nTLP:AMBER: for your organisation only.\n  Ref: THIRD-TEAM-9\n  Answer: seen'),
    ['Reference: OURS-1', ''],
    'our own text pasted without quote marks is not theirs',
  );
});

t.test('their reference number', async (t) => {
  t.equal(theirReference('Thanks.\nReference: GNU-77\n', []), 'GNU-77');
  t.equal(theirReference('Our reference: TT#2026/0042.\n', []), 'TT#2026/0042', 'trailing punctuation dropped');
  t.equal(theirReference('Ref:  INC-9 \n', []), 'INC-9');
  t.equal(theirReference('> Our reference:  ALPHA#2026-1\nok', ['ALPHA#2026-1']), null, 'quoted: ours, not theirs');
  t.equal(theirReference('Our reference:  ALPHA#2026-1\n', ['ALPHA#2026-1']), null, 'our own number repeated is not theirs');
  t.equal(theirReference('Reference: <your reference number, if any>\n', []), null, 'our template line is no number');
  t.equal(theirReference('Reference: two words\n', []), null);
  t.equal(theirReference(`Reference: ${'x'.repeat(200)}\n`, []), null, 'too long');
  t.equal(theirReference('We refer to your reference: X-1 in the text', []), null, 'only a line of its own');
});

t.test('an inquiry answer read from a signed reply', async (t) => {
  const read = readMailedInquiryAnswer(
    `> Answer: affected\nInquiry: ${INQUIRY}\nAnswer: not seen\nReference: GNU-5\n\nNothing in our logs.\n-- \nGnuPG CERT\n`,
    { id: INQUIRY, ourRef: null },
  );
  t.same(read, { answer: 'not-seen', ref: 'GNU-5', note: 'Nothing in our logs.\n-- \nGnuPG CERT' });
  t.same(readMailedInquiryAnswer(`Inquiry: ${INQUIRY}\nANSWER: Affected.\n`, { id: INQUIRY, ourRef: null }), {
    answer: 'affected',
    ref: null,
    note: null,
  });
  const quotedId = readMailedInquiryAnswer(`Answer: seen\n> Inquiry: ${INQUIRY}\n`, { id: INQUIRY, ourRef: null });
  t.match(quotedId, { answer: 'seen' }, 'the id may be in the quoted mail: the signature covers the quote too');
  t.match(readMailedInquiryAnswer(`Inquiry: ${OTHER}\nAnswer: seen\n`, { id: INQUIRY, ourRef: null }), {
    problem: /does not name inquiry/,
  });
  t.match(readMailedInquiryAnswer(`Inquiry: ${INQUIRY}0\nAnswer: seen\n`, { id: INQUIRY, ourRef: null }), { problem: /does not name/ });
  t.match(readMailedInquiryAnswer(`Inquiry: ${INQUIRY}\n> Answer: seen\n`, { id: INQUIRY, ourRef: null }), {
    problem: /no line "Answer/,
  });
  t.match(
    readMailedInquiryAnswer(`Inquiry: ${INQUIRY}\nAnswer: seen            (or: not-seen, or: affected)\n`, { id: INQUIRY, ourRef: null }),
    {
      problem: /no line "Answer/,
    },
    'our template line is no answer',
  );
  t.match(readMailedInquiryAnswer(`Inquiry: ${INQUIRY}\nAnswer: maybe\n`, { id: INQUIRY, ourRef: null }), { problem: /no line/ });
  const long = readMailedInquiryAnswer(`Inquiry: ${INQUIRY}\nAnswer: seen\n${'y'.repeat(5000)}`, { id: INQUIRY, ourRef: null });
  t.equal('note' in long && long.note?.length, MAX_MAILED_NOTE, 'the note is cut to what an answer carries');
  t.match(readMailedInquiryAnswer(`Inquiry: ${INQUIRY}\nAnswer: seen\nReference: ALPHA#1\n`, { id: INQUIRY, ourRef: 'ALPHA#1' }), {
    ref: null,
  });
});

const FP = (c: string) => c.repeat(40);
const node = (team: string, fp: string): RosterMember => ({
  team,
  url: `https://${team}.test`,
  fingerprint: fp,
  kind: 'full',
  status: 'active',
  sponsors: [],
  admitted: '2026-12-01T00:00:00Z',
});
const mail = (team: string, fp: string, email = `${team}@mail.test`): RosterMember => ({
  team,
  channel: 'mail',
  name: team,
  email,
  publicKey: '-----BEGIN PGP PUBLIC KEY BLOCK-----',
  fingerprint: fp,
  kind: 'full',
  status: 'active',
  sponsors: [],
  admitted: '2026-12-01T00:00:00Z',
});
const roster = (members: RosterMember[], v: 1 | 2): RosterDocument => ({
  v,
  type: 'forum.roster',
  forum: 'first',
  name: 'First',
  operator: 'cc',
  version: 3,
  issued: '2026-12-07T00:00:00Z',
  sponsorsNeeded: 0,
  members,
});

t.test('roster format rules', async (t) => {
  const expected = { forum: 'first', operator: 'cc' };
  t.equal(rosterFormatFor([node('cc', FP('A'))]), 1, 'nodes only: version 1');
  t.equal(rosterFormatFor([node('cc', FP('A')), mail('m', FP('B'))]), 2, 'a mail member: version 2');
  t.equal(rosterProblem(roster([node('cc', FP('A')), mail('m', FP('B'))], 2), expected), null);
  t.equal(rosterProblem(roster([node('cc', FP('A'))], 2), expected), null, 'a version-2 roster of nodes is fine');
  t.match(rosterProblem(roster([node('cc', FP('A')), mail('m', FP('B'))], 1), expected), /version-1 roster cannot list/);
  t.match(rosterProblem(roster([mail('cc', FP('A'))], 2), expected), /operator "cc" runs a node/);
  t.match(
    rosterProblem(roster([node('cc', FP('A')), mail('m', FP('B')), mail('n', FP('C'), 'M@mail.test')], 2), expected),
    /listed for both/,
  );
  t.match(rosterProblem(roster([node('cc', FP('A')), mail('m', FP('A'))], 2), expected), /key .* is listed for both/);
});
