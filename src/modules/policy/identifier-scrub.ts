import type { Contact } from '../../../schemas/common.schema.js';
import type { Host } from '../../../schemas/incident.schema.js';
import type { PolicySection } from '../../../schemas/policy.schema.js';
import { canonicalDomain, parseAddress } from '../sites/sites.module.js';
import type { InternalHostPredicate } from './incident-sections.js';

/**
 * Redaction by identifier (issue 11): the names and addresses a redaction hides are hidden in
 * EVERY string of what leaves the node, whatever their spelling, not only where they stand as a
 * whole value. Pure: no I/O.
 *
 * What a hidden identifier is, and how it is found in text:
 * - an address: compared in canonical form, so every IPv6 spelling (2001:db8:0:0:0:0:0:150,
 *   2001:DB8::150, an IPv4-mapped ::ffff:192.0.2.150), zero-padded IPv4 octets, `IP:port`,
 *   `[v6]:port`, UNC paths (`\\10.0.0.5\c$`) and URLs all match;
 * - a host name or domain: the name and every subdomain of it (`www.victim.example`,
 *   `admin@victim.example`), in any case, with or without the root's trailing dot. A victim's
 *   host name also hides its organisation's domain (`mail.victim.example` hides
 *   `victim.example`): that is what names the victim;
 * - a single-label name (an internal host `fileserver01`): as a whole word;
 * - an e-mail address: the whole address; an address at a hidden domain is hidden too;
 * - a person's or organisation's name, a postal address: the phrase in any case, white space
 *   folded; a phone number: its digits, however they are grouped;
 * - with `internal` set (the internal hosts section is redacted): every private or special-use
 *   address and every internal name in the text, listed as a host or not, since an internal
 *   address names the constituency's inside whichever host it belongs to.
 *
 * Each found identifier is replaced by `[redacted]`; the caller decides whether a field is
 * rewritten or dropped (an indicator's value, a typed field such as an address or e-mail).
 */

export const REDACTED = '[redacted]';

/** true for a string the redaction wrote as a marker: `[redacted]` or `[redacted: <section> needs <level>]`. */
export const isRedactionMarker = (value: string): boolean => value === REDACTED || /^\[redacted: [A-Za-z]+ needs [a-z]+\]$/.test(value);

export interface HiddenIdentifiers {
  /** Canonical addresses (parseAddress) -> the section that hides them. */
  addresses: Map<string, PolicySection>;
  /** Lower-case domains; their subdomains are hidden with them. */
  domains: Map<string, PolicySection>;
  /** Lower-case single-label host names, matched as words. */
  labels: Map<string, PolicySection>;
  /** Lower-case e-mail addresses. */
  emails: Map<string, PolicySection>;
  /** Names, organisations, postal addresses: matched as phrases, any case. */
  phrases: Map<string, PolicySection>;
  /** Phone numbers as their digits (6 or more). */
  phones: Map<string, PolicySection>;
  /** When set, every address or name the predicate calls internal is hidden too, under this section. */
  internal: { predicate: InternalHostPredicate; section: PolicySection } | null;
}

export function emptyIdentifiers(): HiddenIdentifiers {
  return {
    addresses: new Map(),
    domains: new Map(),
    labels: new Map(),
    emails: new Map(),
    phrases: new Map(),
    phones: new Map(),
    internal: null,
  };
}

/** A few second-level labels under which registrants get third-level names (co.jp, ac.uk, com.au). */
const SECOND_LEVEL = new Set([
  'ac',
  'co',
  'com',
  'ed',
  'edu',
  'go',
  'gov',
  'gr',
  'lg',
  'ne',
  'net',
  'or',
  'org',
  'mil',
  'ltd',
  'plc',
  'sch',
  'nhs',
  'gob',
  'govt',
]);

/**
 * The organisation's domain of a host name, approximated without the Public Suffix List: the
 * last two labels, or three under a country's second-level label (victim.co.jp). Null for a
 * name that is its own organisational domain or shorter.
 */
export function organisationalDomain(name: string): string | null {
  const labels = name.split('.');
  if (labels.length < 3) return null;
  const tld = labels.at(-1)!;
  const second = labels.at(-2)!;
  const keep = tld.length === 2 && SECOND_LEVEL.has(second) ? 3 : 2;
  return labels.length > keep ? labels.slice(-keep).join('.') : null;
}

function parseAny(text: string): string | null {
  const v4 = parseIpv4Loose(text);
  if (v4) return v4;
  return parseAddress(text)?.address ?? null;
}

/** The four octets of an IPv4 address, leading zeros allowed (192.000.002.150, as a log may print it), read as decimal. */
export function parseIpv4Octets(text: string): number[] | null {
  // By character codes rather than a split and a pattern per part: the policy asks this of every
  // host of every incident a feed page decides, and the scrubber of every dotted number in a text
  // (issue 18: 3 % of a TAXII page's CPU profile).
  const octets: number[] = [];
  let value = 0;
  let digits = 0;
  for (let i = 0; i <= text.length; i++) {
    const c = i < text.length ? text.charCodeAt(i) : 0x2e; // the end closes the last octet as a dot would
    if (c === 0x2e) {
      if (digits === 0 || value > 255 || octets.length === 4) return null;
      octets.push(value);
      value = 0;
      digits = 0;
    } else if (c >= 0x30 && c <= 0x39 && digits < 3) {
      value = value * 10 + (c - 0x30);
      digits++;
    } else return null;
  }
  return octets.length === 4 ? octets : null;
}

const parseIpv4Loose = (text: string): string | null => parseIpv4Octets(text)?.join('.') ?? null;

/** Adds a host's address and name (and a victim's organisational domain) to `ids`. */
export function hideHost(
  ids: HiddenIdentifiers,
  host: Pick<Host, 'ip' | 'hostname'>,
  section: PolicySection,
  options: { organisation?: boolean } = {},
): void {
  if (host.ip) {
    const address = parseAny(host.ip);
    if (address) ids.addresses.set(address, section);
  }
  if (host.hostname) {
    const name = canonicalDomain(host.hostname);
    if (name.length === 0) return;
    const address = parseAny(name);
    if (address) ids.addresses.set(address, section);
    else if (!name.includes('.')) ids.labels.set(name, section);
    else {
      ids.domains.set(name, section);
      const org = options.organisation ? organisationalDomain(name) : null;
      if (org) ids.domains.set(org, section);
    }
  }
}

/** Adds every identifying string of a contact to `ids`. */
export function hideContact(ids: HiddenIdentifiers, contact: Contact, section: PolicySection): void {
  for (const phrase of [contact.name, contact.organisation, contact.postalAddress]) {
    if (phrase && phrase.trim().length >= 3) ids.phrases.set(phrase.trim().replace(/\s+/g, ' ').toLowerCase(), section);
  }
  if (contact.email) ids.emails.set(contact.email.trim().toLowerCase(), section);
  for (const phone of [contact.phone, contact.fax, contact.mobile]) {
    const digits = phone?.replace(/\D/g, '') ?? '';
    if (digits.length >= 6) ids.phones.set(digits, section);
  }
}

export function hasIdentifiers(ids: HiddenIdentifiers): boolean {
  return (
    ids.internal !== null ||
    ids.addresses.size + ids.domains.size + ids.labels.size + ids.emails.size + ids.phrases.size + ids.phones.size > 0
  );
}

const escapeRegExp = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

const EMAIL = /[A-Za-z0-9._%+!#$&'*/=?^`{|}~-]+@((?:[A-Za-z0-9_-]+\.)*[A-Za-z0-9_-]+)\.?/g;
// Hex groups and colons (two or more), with an optional dotted IPv4 tail; not inside a longer word.
const IPV6 = /(?<![0-9A-Za-z:.])(?:[0-9A-Fa-f]{1,4})?(?::[0-9A-Fa-f]{0,4}){2,8}(?:\.\d{1,3}){0,3}(?![0-9A-Za-z:]|\.\d)/g;
const IPV4 = /(?<![0-9.])\d{1,3}(?:\.\d{1,3}){3}(?![0-9]|\.\d)/g;
const DOMAIN =
  /(?<![A-Za-z0-9_.-])(?:[A-Za-z0-9_](?:[A-Za-z0-9_-]*[A-Za-z0-9_])?\.)+[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?\.?(?![A-Za-z0-9_-])/g;
const PHONE = /\+?\d[\d\s().\-/]{4,}\d/g;

/** The scrubber for one set of hidden identifiers. */
export interface Scrubber {
  /** The text with every hidden identifier replaced by `[redacted]`, and the sections that caused it. */
  scrub(text: string): { text: string; sections: PolicySection[] };
  /** true when nothing is hidden: every text comes back as it was. */
  readonly empty: boolean;
}

export function createScrubber(ids: HiddenIdentifiers): Scrubber {
  if (!hasIdentifiers(ids)) return { empty: true, scrub: (text) => ({ text, sections: [] }) };
  const internal = ids.internal;

  const domainSection = (raw: string): PolicySection | null => {
    const name = canonicalDomain(raw);
    if (name.length === 0) return null;
    let rest = name;
    for (;;) {
      const hit = ids.domains.get(rest);
      if (hit) return hit;
      const dot = rest.indexOf('.');
      if (dot < 0) break;
      rest = rest.slice(dot + 1);
    }
    if (internal && internal.predicate({ hostname: name, role: 'source' })) return internal.section;
    return null;
  };
  const addressSection = (canonical: string): PolicySection | null => {
    const hit = ids.addresses.get(canonical);
    if (hit) return hit;
    if (internal && internal.predicate({ ip: canonical, role: 'source' })) return internal.section;
    return null;
  };

  const words = [...ids.labels.keys()].map((l) => [l, ids.labels.get(l)!] as const);
  const phrases = [...ids.phrases.keys()].map((p) => [p, ids.phrases.get(p)!] as const);
  const literal = [...words, ...phrases].sort((a, b) => b[0].length - a[0].length);
  const literalSection = new Map<string, PolicySection>(literal.map(([k, s]) => [k, s]));
  // ASCII words need word boundaries ("ken" must not hide "token"); a phrase in a script without
  // spaces (山田太郎) is matched wherever it stands.
  const piece = (p: string): string => {
    const body = p.split(' ').map(escapeRegExp).join('\\s+');
    const head = /^[A-Za-z0-9_]/.test(p) ? '(?<![\\p{L}\\p{N}_])' : '';
    const tail = /[A-Za-z0-9_]$/.test(p) ? '(?![\\p{L}\\p{N}_])' : '';
    return `${head}${body}${tail}`;
  };
  const literalPattern = literal.length > 0 ? new RegExp(literal.map(([p]) => piece(p)).join('|'), 'giu') : null;

  return {
    empty: false,
    scrub(text) {
      const sections = new Set<PolicySection>();
      let out = text;
      const hit = (s: PolicySection | null | undefined): boolean => {
        if (!s) return false;
        sections.add(s);
        return true;
      };
      // E-mail first: its domain part would otherwise be cut out and leave the local part.
      // Each pattern below needs a character most texts lack ('@', ':', '.'): a text without it is
      // not searched (same result, and most of a page's fields are short words).
      const dotted = out.includes('.');
      if (out.includes('@')) {
        out = out.replace(EMAIL, (m, domain: string) =>
          hit(ids.emails.get(m.toLowerCase().replace(/\.$/, ''))) || hit(domainSection(domain)) ? REDACTED : m,
        );
      }
      if (out.includes(':'))
        out = out.replace(IPV6, (m) => {
          if (!m.includes('::') && m.split(':').length < 3) return m;
          const direct = parseAddress(m);
          if (direct && hit(addressSection(direct.address))) return REDACTED;
          // "2001:db8::150:22" may be an address and a port: check the address without the last group.
          const cut = m.lastIndexOf(':');
          const shorter = cut > 0 ? parseAddress(m.slice(0, cut)) : null;
          if (shorter && hit(addressSection(shorter.address))) return REDACTED;
          return m;
        });
      if (dotted) {
        out = out.replace(IPV4, (m) => {
          const address = parseIpv4Loose(m);
          return address && hit(addressSection(address)) ? REDACTED : m;
        });
        out = out.replace(DOMAIN, (m) => (hit(domainSection(m)) ? REDACTED : m));
      }
      if (literalPattern) {
        out = out.replace(literalPattern, (m) => (hit(literalSection.get(m.toLowerCase().replace(/\s+/g, ' '))) ? REDACTED : m));
      }
      if (ids.phones.size > 0) out = out.replace(PHONE, (m) => (hit(ids.phones.get(m.replace(/\D/g, ''))) ? REDACTED : m));
      return { text: out, sections: [...sections] };
    },
  };
}
