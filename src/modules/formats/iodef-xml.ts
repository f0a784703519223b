import { XMLBuilder, XMLParser, XMLValidator } from 'fast-xml-parser';
import { ProblemError } from '../../http/problem.js';
import type { Incident } from '../../../schemas/incident.schema.js';

/**
 * The XML side of IODEF v2 (RFC 7970): the namespace, the TLP <-> restriction mapping, a
 * builder, and a parser configured for hostile input. An import body comes from outside: a
 * DOCTYPE (the door to external entities, XXE, and to entity expansion, billion laughs) is
 * refused outright, as is any named entity beyond XML's five; nesting is capped.
 */
export const IODEF_NS = 'urn:ietf:params:xml:ns:iodef-2.0';
/** AdditionalData@formatid on the fields only this node's format has a home for. */
export const HIKESHI_FORMAT = 'hikeshi';

type Tlp = Incident['tlp'];
/** RFC 7970 restriction has TLP 1.0's colours: CLEAR is white, AMBER+STRICT is amber (the exact label travels beside). */
export const RESTRICTION_OF: Record<Tlp, string> = {
  CLEAR: 'white',
  GREEN: 'green',
  AMBER: 'amber',
  'AMBER+STRICT': 'amber',
  RED: 'red',
};
/** A foreign document's restriction read as TLP 2.0; the unknown or missing ones as the careful AMBER. */
export function tlpOfRestriction(restriction: string | undefined): Tlp {
  switch (restriction) {
    case 'white':
    case 'public':
      return 'CLEAR';
    case 'green':
      return 'GREEN';
    case 'red':
    case 'private':
      return 'RED';
    default:
      return 'AMBER';
  }
}

/** An element in fast-xml-parser's ordered form. */
export type XmlNode = Record<string, unknown>;

/** XML 1.0 cannot carry most C0 controls, nor lone surrogates: they become U+FFFD. */
const NOT_XML =
  // eslint-disable-next-line no-control-regex -- the controls are exactly what XML refuses
  /[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;
export const xmlSafe = (text: string): string => text.replace(NOT_XML, '\ufffd');

/** An element: attributes with undefined values are left out, children in order. */
export function el(name: string, attrs: Record<string, string | undefined>, ...children: Array<XmlNode | string | null | false>): XmlNode {
  const kids: XmlNode[] = [];
  for (const child of children) {
    if (child === null || child === false) continue;
    kids.push(typeof child === 'string' ? { '#text': xmlSafe(child) } : child);
  }
  const node: XmlNode = { [name]: kids };
  const a: Record<string, string> = {};
  for (const [k, v] of Object.entries(attrs)) if (v !== undefined) a[`@_${k}`] = xmlSafe(v);
  if (Object.keys(a).length > 0) node[':@'] = a;
  return node;
}

const builder = new XMLBuilder({ preserveOrder: true, ignoreAttributes: false, attributeNamePrefix: '@_', format: true });

export function buildXml(root: XmlNode): string {
  // A carriage return would be read back as a line feed (XML normalises line ends): keep it as a reference.
  return `<?xml version="1.0" encoding="UTF-8"?>\n${builder.build([root]).trimStart().replace(/\r/g, '&#13;')}`;
}

/** A parsed element: attributes as `@_name`, child elements as arrays, text as `#text`. */
export type Parsed = { [key: string]: Parsed[] | string | undefined };

const MAX_DEPTH = 40;
const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@_',
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: false,
  // With the DOCTYPE refused beforehand, only XML's own five entities and character references remain.
  processEntities: { enabled: true, maxEntityCount: 0, maxTotalExpansions: 100000, maxExpandedLength: 16 * 1024 * 1024 },
  htmlEntities: true,
  ignoreDeclaration: true,
  ignorePiTags: true,
  maxNestedTags: MAX_DEPTH,
  isArray: (_name, _path, _leaf, isAttribute) => !isAttribute,
});

const invalid = (pointer: string, detail: string) => new ProblemError('import-invalid', detail, { pointer });
const NAMED_ENTITY = /&(?!(?:lt|gt|amp|apos|quot|#[0-9]{1,7}|#x[0-9a-fA-F]{1,6});)/;

/** Parses an IODEF body safely; the root as parsed, with the IODEF namespace prefix (if any) taken off element names. */
export function parseIodefXml(text: string): { root: Parsed; rootName: string } {
  if (text.trim() === '') throw invalid('/', 'the body is empty');
  if (/<!DOCTYPE/i.test(text) || /<!ENTITY/i.test(text)) throw invalid('/', 'a DOCTYPE or entity declaration is not accepted');
  // Character data in CDATA sections and comments is not markup: an ampersand there is literal.
  if (NAMED_ENTITY.test(text.replace(/<!\[CDATA\[[\s\S]*?\]\]>|<!--[\s\S]*?-->/g, '')))
    throw invalid('/', 'only the XML entities (lt, gt, amp, apos, quot) and character references are accepted');
  const check = XMLValidator.validate(text);
  if (check !== true) throw invalid('/', `malformed XML at line ${check.err.line}, column ${check.err.col}: ${check.err.msg}`);
  let parsed: Parsed;
  try {
    parsed = parser.parse(text) as Parsed;
  } catch (err) {
    throw invalid('/', `malformed XML: ${(err as Error).message}`);
  }
  const names = Object.keys(parsed).filter((k) => !k.startsWith('?') && k !== '#text' && !k.startsWith('#'));
  if (names.length !== 1) throw invalid('/', 'the document needs exactly one root element');
  const rawName = names[0]!;
  const root = (parsed[rawName] as Parsed[])[0]!;
  const prefix = rawName.includes(':') ? rawName.slice(0, rawName.indexOf(':')) : '';
  const ns = root[prefix ? `@_xmlns:${prefix}` : '@_xmlns'];
  const rootName = rawName.slice(prefix ? prefix.length + 1 : 0);
  if (rootName !== 'IODEF-Document' || ns !== IODEF_NS) {
    throw invalid(`/${rawName}`, `the root must be IODEF-Document in the namespace ${IODEF_NS}`);
  }
  return { root: prefix ? unprefix(root, `${prefix}:`) : root, rootName };
}

/** Takes the IODEF prefix off element names (elements of other namespaces keep theirs and are ignored). */
function unprefix(node: Parsed, prefix: string): Parsed {
  const out: Parsed = {};
  for (const [k, v] of Object.entries(node)) {
    const name = k.startsWith(prefix) ? k.slice(prefix.length) : k;
    out[name] = Array.isArray(v) ? v.map((c) => (typeof c === 'object' ? unprefix(c, prefix) : c)) : v;
  }
  return out;
}

/** The child elements named `name` (possibly none). */
export const kids = (node: Parsed, name: string): Parsed[] => {
  const v = node[name];
  return Array.isArray(v) ? v.map((c) => (typeof c === 'object' ? c : { '#text': String(c) })) : [];
};
export const attr = (node: Parsed, name: string): string | undefined => {
  const v = node[`@_${name}`];
  return typeof v === 'string' ? v : undefined;
};
/** An element's text content (its character data, as written). */
export const textOf = (node: Parsed | undefined): string => {
  if (!node) return '';
  const t = node['#text'];
  return typeof t === 'string' ? t : Array.isArray(t) ? t.join('') : '';
};
