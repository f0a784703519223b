import { randomBytes, randomUUID } from 'node:crypto';
import type { simpleParser } from 'mailparser';

/**
 * PGP/MIME (RFC 3156) framing for the e-mail channel, without the OpenPGP work (src/crypto does
 * that): building multipart/signed and multipart/encrypted messages, and splitting a received
 * message into the exact bytes a signature covers. Mail is handled as latin1 strings, one
 * character per byte, so that slicing never changes a byte; every line ends in CRLF, the
 * canonical form a PGP/MIME signature covers (RFC 3156 §5).
 */

export const CRLF = '\r\n';

let mailParser: Promise<typeof simpleParser> | undefined;

/**
 * The text a mail (or a MIME part) carries, by mailparser, loaded at the first mail: a node that
 * never takes mail never loads it (issue 18: cold start).
 */
export async function mailText(source: Buffer | string): Promise<string> {
  mailParser ??= import('mailparser').then((m) => m.simpleParser);
  return (await (await mailParser)(source)).text ?? '';
}

/** Every line ending made CRLF (a message saved or piped by a tool may have lost them). */
export function canonicalLines(text: string): string {
  return text.replace(/\r?\n/g, CRLF);
}

function boundary(): string {
  return `hikeshi-${randomBytes(12).toString('hex')}`;
}

function base64Lines(bytes: Buffer): string {
  return (bytes.toString('base64').match(/.{1,76}/g) ?? []).join(CRLF);
}

/** The MIME part a federation envelope travels in (the part the PGP/MIME signature covers). */
export function envelopePart(envelopeText: string): string {
  return [
    'Content-Type: application/json; charset=utf-8; name="hikeshi-message.json"',
    'Content-Disposition: attachment; filename="hikeshi-message.json"',
    'Content-Transfer-Encoding: base64',
    '',
    base64Lines(Buffer.from(envelopeText, 'utf8')),
  ].join(CRLF);
}

/** A multipart/mixed part of several parts (a text a person reads and its attachments): what a signature then covers whole. */
export function mixedPart(parts: string[]): string {
  const b = boundary();
  return [`Content-Type: multipart/mixed; boundary="${b}"`, '', ...parts.flatMap((part) => [`--${b}`, part]), `--${b}--`, ''].join(CRLF);
}

/** A multipart/signed entity (Content-Type header and body) around a signed part and its detached signature. */
export function signedEntity(part: string, armoredSignature: string, micalg: string): string {
  const b = boundary();
  return [
    `Content-Type: multipart/signed; micalg=${micalg}; protocol="application/pgp-signature"; boundary="${b}"`,
    '',
    'This is an OpenPGP/MIME signed message (RFC 3156).',
    `--${b}`,
    part,
    `--${b}`,
    'Content-Type: application/pgp-signature; name="signature.asc"',
    'Content-Description: OpenPGP digital signature',
    '',
    canonicalLines(armoredSignature.trim()),
    `--${b}--`,
    '',
  ].join(CRLF);
}

/** A multipart/encrypted entity around an armored OpenPGP message (which holds a signed entity). */
export function encryptedEntity(armoredMessage: string): string {
  const b = boundary();
  return [
    `Content-Type: multipart/encrypted; protocol="application/pgp-encrypted"; boundary="${b}"`,
    '',
    'This is an OpenPGP/MIME encrypted message (RFC 3156).',
    `--${b}`,
    'Content-Type: application/pgp-encrypted',
    'Content-Description: PGP/MIME version identification',
    '',
    'Version: 1',
    '',
    `--${b}`,
    'Content-Type: application/octet-stream; name="encrypted.asc"',
    'Content-Description: OpenPGP encrypted message',
    'Content-Disposition: inline; filename="encrypted.asc"',
    '',
    canonicalLines(armoredMessage.trim()),
    `--${b}--`,
    '',
  ].join(CRLF);
}

/**
 * A whole message: the headers of the mail around an entity. The subject says nothing of the
 * content (mail headers are never encrypted): the document type is named only for receipts.
 */
export function mailMessage(
  entity: string,
  headers: { from: string; to: string; subject: string; date: Date; messageId?: string; inReplyTo?: string },
): string {
  const domain = headers.from.split('@')[1] ?? 'hikeshi.invalid';
  // An answer names the mail it answers (without angle brackets; the caller checked the id holds
  // no spaces, angle brackets or line breaks), so the receiver's mail client threads it.
  const thread = headers.inReplyTo ? [`In-Reply-To: <${headers.inReplyTo}>`, `References: <${headers.inReplyTo}>`] : [];
  return [
    `From: ${headers.from}`,
    `To: ${headers.to}`,
    `Subject: ${headers.subject}`,
    `Date: ${headers.date.toUTCString().replace('GMT', '+0000')}`,
    // A caller that must know the id before the hand-over (site notifications, ADR 0026) gives it.
    `Message-ID: <${headers.messageId ?? `${randomUUID()}@${domain}`}>`,
    ...thread,
    'MIME-Version: 1.0',
    entity,
  ].join(CRLF);
}

// ---------------------------------------------------------------------------------------------
// Reading

export interface MimeEntity {
  /** Header names lower-cased, values unfolded; the first of a repeated header wins. */
  headers: Map<string, string>;
  /** The body, latin1 (one character per byte), CRLF lines. */
  body: string;
}

export interface ContentType {
  type: string;
  params: Map<string, string>;
}

export class MimeError extends Error {
  override name = 'MimeError';
}

/** Headers and body of an entity (a whole message or one part). Throws MimeError when there is no header block. */
export function parseEntity(text: string): MimeEntity {
  const end = text.indexOf(CRLF + CRLF);
  const headerBlock = end < 0 ? text : text.slice(0, end);
  const body = end < 0 ? '' : text.slice(end + 4);
  const headers = new Map<string, string>();
  if (headerBlock.length > 256 * 1024) throw new MimeError('the header block is too large');
  for (const line of headerBlock.replace(/\r\n[ \t]+/g, ' ').split(CRLF)) {
    if (line === '') continue;
    const colon = line.indexOf(':');
    if (colon <= 0) throw new MimeError('a header line has no name');
    const name = line.slice(0, colon).trim().toLowerCase();
    if (!headers.has(name)) headers.set(name, line.slice(colon + 1).trim());
  }
  return { headers, body };
}

/** `type/subtype; a=b; c="d"` into a lower-cased type and its parameters (names lower-cased). */
export function contentTypeOf(entity: MimeEntity): ContentType {
  const raw = entity.headers.get('content-type') ?? 'text/plain; charset=us-ascii';
  const [type = '', ...rest] = raw.match(/(?:[^;"]+|"(?:[^"\\]|\\.)*")+/g) ?? [];
  const params = new Map<string, string>();
  for (const param of rest) {
    const eq = param.indexOf('=');
    if (eq < 0) continue;
    let value = param.slice(eq + 1).trim();
    if (value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1).replace(/\\(.)/g, '$1');
    params.set(param.slice(0, eq).trim().toLowerCase(), value);
  }
  return { type: type.trim().toLowerCase(), params };
}

/**
 * The body parts of a multipart body, each exactly as it stands between its delimiters (RFC
 * 2046 §5.1.1: the CRLF before a delimiter belongs to the delimiter). Preamble and epilogue are
 * dropped. Throws MimeError when the boundary is missing or the closing delimiter never comes.
 */
export function splitMultipart(body: string, boundaryValue: string | undefined, maxParts = 16): string[] {
  if (!boundaryValue || boundaryValue.length > 70) throw new MimeError('the multipart has no usable boundary');
  const delimiter = `--${boundaryValue}`;
  const text = CRLF + body;
  const parts: string[] = [];
  let at = text.indexOf(CRLF + delimiter);
  if (at < 0) throw new MimeError('the multipart boundary never occurs');
  for (;;) {
    const afterDelimiter = at + CRLF.length + delimiter.length;
    if (text.startsWith('--', afterDelimiter)) return parts;
    const lineEnd = text.indexOf(CRLF, afterDelimiter);
    if (lineEnd < 0) throw new MimeError('the multipart ends without its closing delimiter');
    const next = text.indexOf(CRLF + delimiter, lineEnd);
    if (next < 0) throw new MimeError('the multipart ends without its closing delimiter');
    parts.push(text.slice(lineEnd + CRLF.length, next));
    if (parts.length > maxParts) throw new MimeError(`the multipart has more than ${maxParts} parts`);
    at = next;
  }
}

/** The decoded body of a single part (base64, quoted-printable or as is), as bytes. */
export function decodedBody(entity: MimeEntity): Buffer {
  const encoding = (entity.headers.get('content-transfer-encoding') ?? '7bit').toLowerCase();
  if (encoding === 'base64') return Buffer.from(entity.body.replace(/[^A-Za-z0-9+/=]/g, ''), 'base64');
  if (encoding === 'quoted-printable') {
    const text = entity.body
      .replace(/=\r\n/g, '')
      .replace(/=([0-9A-Fa-f]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
    return Buffer.from(text, 'latin1');
  }
  return Buffer.from(entity.body, 'latin1');
}

/** The address in a From-like header (`Name <a@b>` or `a@b`), lower-cased; null when there is none. */
export function addressOf(header: string | undefined): string | null {
  if (!header) return null;
  const angle = /<([^<>\s]+@[^<>\s]+)>/.exec(header);
  const bare = angle ? angle[1] : /([^\s<>,;"]+@[^\s<>,;"]+)/.exec(header)?.[1];
  return bare ? bare.toLowerCase().slice(0, 254) : null;
}
