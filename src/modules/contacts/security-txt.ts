import { boundedGet, LookupFailure, type FetchLimits } from './bounded-fetch.js';

/**
 * A domain's security.txt (RFC 9116): fetched from /.well-known/security.txt (then the legacy
 * /security.txt), parsed for the fields a route plan needs. A clear-signed file is noted as
 * signed; its signature is not checked, since we hold no key that vouches for the domain's
 * security team, so `signed` is a hint, not a proof.
 */
export interface SecurityTxt {
  /** The URL that served it. */
  url: string;
  /** Contact URIs in the file's order, which RFC 9116 §2.5.3 makes the order of preference. */
  contacts: string[];
  encryption: string[];
  /** The Expires value as written (RFC 3339), null when absent. */
  expires: string | null;
  preferredLanguages: string[];
  canonical: string[];
  policy: string[];
  signed: boolean;
}

export type ParsedSecurityTxt = Omit<SecurityTxt, 'url'>;

const SIGNED_HEADER = '-----BEGIN PGP SIGNED MESSAGE-----';
const SIGNATURE_START = '-----BEGIN PGP SIGNATURE-----';

/** The text a clear-signed message signs, dash-escaping undone (RFC 4880 §7.1); null if it is not well formed. */
function clearSignedText(text: string): string | null {
  const lines = text.split(/\r?\n/);
  const blank = lines.indexOf('', 1);
  const end = lines.indexOf(SIGNATURE_START);
  if (blank === -1 || end === -1 || end < blank) return null;
  return lines
    .slice(blank + 1, end)
    .map((l) => (l.startsWith('- ') ? l.slice(2) : l))
    .join('\n');
}

/** Parses the fields (names case-insensitive, RFC 9116 §2.4); throws LookupFailure for text without a Contact field. */
export function parseSecurityTxt(raw: string): ParsedSecurityTxt {
  const signed = raw.trimStart().startsWith(SIGNED_HEADER);
  const body = signed ? clearSignedText(raw.trimStart()) : raw;
  if (body === null) throw new LookupFailure('the clear-signed security.txt is not well formed');
  const out: ParsedSecurityTxt = { contacts: [], encryption: [], expires: null, preferredLanguages: [], canonical: [], policy: [], signed };
  for (const line of body.split(/\r?\n/)) {
    const trimmed = line.trim();
    if (trimmed === '' || trimmed.startsWith('#')) continue;
    const m = /^([A-Za-z0-9-]+):\s*(.*)$/.exec(trimmed);
    // A line that is no field is skipped, as unknown fields are (RFC 9116 §2.4): one Contact suffices.
    if (!m) continue;
    const name = m[1]!.toLowerCase();
    const value = m[2]!.trim();
    if (value === '') continue;
    if (name === 'contact') out.contacts.push(value);
    else if (name === 'encryption') out.encryption.push(value);
    else if (name === 'canonical') out.canonical.push(value);
    else if (name === 'policy') out.policy.push(value);
    // Only one Expires and one Preferred-Languages may appear (§2.5.5, §2.5.8): the first wins.
    else if (name === 'expires') out.expires ??= value;
    else if (name === 'preferred-languages' && out.preferredLanguages.length === 0)
      out.preferredLanguages = value
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
  }
  if (out.contacts.length === 0) throw new LookupFailure('the security.txt has no Contact field');
  return out;
}

/** `template` has `{domain}` where the domain goes: https://{domain} in production, a loopback server in tests. */
export function securityTxtUrls(template: string, domain: string): string[] {
  const base = template.replace('{domain}', domain).replace(/\/+$/, '');
  return [`${base}/.well-known/security.txt`, `${base}/security.txt`];
}

/** The first of the two locations that serves a security.txt; throws LookupFailure with the reason otherwise. */
export async function fetchSecurityTxt(
  fetchImpl: typeof fetch,
  template: string,
  domain: string,
  limits: FetchLimits,
): Promise<SecurityTxt> {
  let lastReason = 'no security.txt';
  for (const url of securityTxtUrls(template, domain)) {
    const answer = await boundedGet(fetchImpl, url, limits, 'text/plain');
    if (answer.status === 404 || answer.status === 410) {
      lastReason = `no security.txt at ${domain} (HTTP ${answer.status})`;
      continue;
    }
    if (answer.status !== 200) throw new LookupFailure(`${new URL(answer.url).host} answered HTTP ${answer.status} for security.txt`);
    if (!/^text\/plain\b/i.test(answer.contentType))
      throw new LookupFailure(`the security.txt is served as "${answer.contentType.slice(0, 60)}", not text/plain`);
    return { url: answer.url, ...parseSecurityTxt(answer.text) };
  }
  throw new LookupFailure(lastReason);
}
