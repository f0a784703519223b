import type { TeamProfile } from '../../../schemas/profile.schema.js';

/**
 * Renders the profile as an RFC 2350 "Expectations for Computer Security Incident Response"
 * template, in the RFC's section order, so the document peers and the constituency read is
 * always the one the node actually runs with.
 */
const NOT_STATED = 'Not stated.';

function section(lines: string[], number: string, title: string, body?: string | string[]): void {
  lines.push(`${number} ${title}`, '');
  const parts = Array.isArray(body) ? body : body ? [body] : [];
  if (parts.length === 0) lines.push(`   ${NOT_STATED}`);
  for (const part of parts) for (const line of part.split('\n')) lines.push(`   ${line}`);
  lines.push('');
}

export function renderRfc2350(p: TeamProfile): string {
  const c = p.contacts;
  const lines: string[] = [`Description of ${p.name} (${p.shortName}) according to RFC 2350`, ''];
  lines.push('1. Document Information', '');
  section(lines, '1.1', 'Date of Last Update', p.updatedAt);
  section(
    lines,
    '1.2',
    'Distribution List for Notifications',
    'Changes are published at the locations below and sent to peer teams as a signed profile.',
  );
  section(lines, '1.3', 'Locations where this Document May Be Found', [
    `${p.publicUrl}/rfc2350.txt`,
    `${p.publicUrl}/federation/v1/profile (signed)`,
  ]);
  section(
    lines,
    '1.4',
    'Authenticating this Document',
    `The signed profile at ${p.publicUrl}/federation/v1/profile is signed with the team key ${p.fingerprint}.`,
  );
  lines.push('2. Contact Information', '');
  section(lines, '2.1', 'Name of the Team', `${p.name} (${p.shortName}), team id "${p.teamId}", country ${p.country}`);
  section(lines, '2.2', 'Address', c.postalAddress);
  section(lines, '2.3', 'Time Zone', p.timeZone);
  section(
    lines,
    '2.4',
    'Telephone Number',
    [c.phone, c.hotline24x7 ? `24x7 hotline: ${c.hotline24x7}` : undefined].filter((x): x is string => !!x),
  );
  section(lines, '2.5', 'Facsimile Number', c.fax);
  section(
    lines,
    '2.6',
    'Other Telecommunication',
    [c.mobile ? `Mobile: ${c.mobile}` : undefined, ...(c.otherChannels ?? [])].filter((x): x is string => !!x),
  );
  section(lines, '2.7', 'Electronic Mail Address', c.email);
  section(lines, '2.8', 'Public Keys and Encryption Information', [`Fingerprint: ${p.fingerprint}`, `Key: ${p.publicUrl}/pgp-key.asc`]);
  section(lines, '2.9', 'Team Members', p.members?.join('\n'));
  section(
    lines,
    '2.10',
    'Other Information',
    `Languages: ${p.languages.join(', ')}. Incident reference numbers: ${p.referencePrefix}#<YEAR>-<SEQ>.`,
  );
  section(
    lines,
    '2.11',
    'Points of Customer Contact',
    [
      `E-mail: ${c.email}`,
      c.businessHours ? `Business hours: ${c.businessHours.description} (${c.businessHours.timeZone})` : undefined,
      c.hotline24x7 ? `Outside business hours: ${c.hotline24x7}` : undefined,
    ].filter((x): x is string => !!x),
  );
  lines.push('3. Charter', '');
  section(lines, '3.1', 'Mission Statement', p.mission);
  const scope = p.constituency;
  section(lines, '3.2', 'Constituency', [
    scope.description,
    ...(scope.networks.length ? [`Networks: ${scope.networks.join(', ')}`] : []),
    ...(scope.asns.length ? [`ASNs: ${scope.asns.map((a) => `AS${a}`).join(', ')}`] : []),
    ...(scope.domains.length ? [`Domains: ${scope.domains.join(', ')}`] : []),
    ...(scope.products.length ? [`Products: ${scope.products.join(', ')}`] : []),
  ]);
  section(
    lines,
    '3.3',
    'Sponsorship and/or Affiliation',
    [p.sponsorship, p.affiliation].filter((x): x is string => !!x),
  );
  section(lines, '3.4', 'Authority', p.authority);
  const pol = p.policies;
  lines.push('4. Policies', '');
  section(
    lines,
    '4.1',
    'Types of Incidents and Level of Support',
    [pol.incidentTypes, pol.supportLevel].filter((x): x is string => !!x),
  );
  section(
    lines,
    '4.2',
    'Co-operation, Interaction and Disclosure of Information',
    [
      pol.cooperation,
      pol.disclosure,
      pol.lawEnforcement ? `Law enforcement: ${pol.lawEnforcement}` : undefined,
      pol.press ? `Press: ${pol.press}` : undefined,
    ].filter((x): x is string => !!x),
  );
  section(
    lines,
    '4.3',
    'Communication and Authentication',
    pol.communication ?? `OpenPGP-signed messages between nodes; key ${p.fingerprint}.`,
  );
  lines.push('5. Services', '');
  section(lines, '5.1', 'Incident Response', p.services?.incidentResponse);
  section(lines, '5.1.1', 'Incident Triage', p.services?.triage);
  section(lines, '5.1.2', 'Incident Coordination', p.services?.coordination);
  section(lines, '5.1.3', 'Incident Resolution', p.services?.resolution);
  section(lines, '5.2', 'Proactive Activities', p.services?.proactive?.join('\n'));
  lines.push('');
  section(lines, '6.', 'Incident Reporting Forms', p.reportingForms);
  section(lines, '7.', 'Disclaimers', p.disclaimers);
  return lines.join('\n');
}

/**
 * A phone number as an RFC 3966 `tel:` URI, or null when it is not one a client could dial from
 * anywhere. Full-width digits and signs (ＮＦＫＣ) are read as their ASCII forms; the number must
 * be global (start with +); spaces become the visual separator "-"; an extension written
 * "ext. 123", "x123", "extension 123" or "内線123" becomes ";ext=123". Anything else (letters, a
 * local number) gives null, and security.txt then has no tel: line rather than a wrong one.
 */
export function telUri(phone: string): string | null {
  let text = phone.normalize('NFKC').trim();
  let ext: string | null = null;
  const extension = /\s*(?:;\s*ext=|ext\.?|extension|x|内線)\s*(\d{1,10})$/i.exec(text);
  if (extension) {
    ext = extension[1]!;
    text = text.slice(0, extension.index).trim();
  }
  text = text.replace(/[\u2010-\u2015\u2212]/g, '-').replace(/\s+/g, '-');
  if (!/^\+[\d().-]+$/.test(text)) return null;
  const digits = text.replace(/\D/g, '');
  // E.164 numbers have at most 15 digits; fewer than 4 is no number.
  if (digits.length < 4 || digits.length > 15 || !/\d$/.test(text)) return null;
  return `tel:${text.replace(/-{2,}/g, '-')}${ext ? `;ext=${ext}` : ''}`;
}

/** How long a default security.txt Expires lies ahead: under a year (RFC 9116 §2.5.5). */
export const SECURITY_TXT_DEFAULT_AHEAD_DAYS = 364;

/**
 * RFC 9116 security.txt, the text that gets clear-signed. Expires is the profile's when that is
 * still in the future, else 364 days from `now` (the start of its UTC day, so the signed file
 * changes at most once a day).
 */
export function renderSecurityTxt(p: TeamProfile, now: Date): string {
  const configured = p.securityTxt?.expires ? new Date(p.securityTxt.expires) : null;
  const day = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate());
  const expires =
    configured && configured.getTime() > now.getTime() ? configured : new Date(day + SECURITY_TXT_DEFAULT_AHEAD_DAYS * 86_400_000);
  const lines = [`Contact: mailto:${p.contacts.email}`];
  const tel = p.contacts.phone ? telUri(p.contacts.phone) : null;
  if (tel) lines.push(`Contact: ${tel}`);
  lines.push(
    `Expires: ${expires.toISOString().replace(/\.\d{3}Z$/, 'Z')}`,
    `Encryption: ${p.publicUrl}/pgp-key.asc`,
    `Preferred-Languages: ${p.languages.join(', ')}`,
    `Canonical: ${p.publicUrl}/.well-known/security.txt`,
    `Policy: ${p.securityTxt?.policyUrl ?? `${p.publicUrl}/rfc2350.txt`}`,
    // CSAF 2.0 §7.1.8: where our advisories' provider metadata is (served by the vendors module).
    `CSAF: ${p.publicUrl}/.well-known/csaf/provider-metadata.json`,
  );
  return lines.join('\n') + '\n';
}
