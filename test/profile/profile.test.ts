import type { LightMyRequestResponse } from 'fastify';
import t, { type Test } from 'tap';
import { TeamProfileInputSchema, type TeamProfileInput } from '../../schemas/profile.schema.js';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { verifyDocumentSignature } from '../../src/crypto/index.js';
import { telUri } from '../../src/modules/profile/rfc2350-renderer.js';
import { publicUrlWarning } from '../../src/server.js';
import { buildTestNode } from '../helpers/build-test-app.js';

const gpgAvailable = spawnSync('gpg', ['--version'], { stdio: 'ignore' }).error === undefined;

/** The team profile (RFC 2350) and the public documents rendered from it. One node for the file. */
const node = await buildTestNode(t);
const admin = node.auth.admin;

function problem(t: Test, res: LightMyRequestResponse, status: number, code: string, what = code) {
  t.equal(res.statusCode, status, `${what}: HTTP ${status} (${res.body.slice(0, 300)})`);
  t.match(res.headers['content-type'], /^application\/problem\+json/, `${what}: problem+json`);
  t.equal(res.json().code, code, `${what}: code ${code}`);
  return res.json();
}

const DAY = 86400_000;
const expires = new Date(Math.floor((Date.now() + 200 * DAY) / 1000) * 1000).toISOString().replace('.000Z', 'Z');

/** Every field of the editable profile, with values that are easy to find in the rendered text. */
const full: TeamProfileInput = {
  name: 'Example University CSIRT',
  shortName: 'EU-CSIRT',
  type: 'sector',
  country: 'JP',
  timeZone: 'Asia/Tokyo',
  languages: ['ja', 'en'],
  mission: 'MISSION: handle incidents of the university network.',
  constituency: {
    description: 'CONSTITUENCY: students and staff of Example University.',
    networks: ['192.0.2.0/24', '2001:DB8:10::/48'],
    asns: [64500, 4200000001],
    domains: ['Example-Univ.ac.jp.', 'example-univ.jp'],
    products: ['UnivPortal'],
  },
  sponsorship: 'SPONSOR: the Ministry of Examples.',
  affiliation: 'AFFILIATION: member of the Example NREN CSIRT community.',
  authority: 'AUTHORITY: by decision of the university board, 2019.',
  contacts: {
    email: 'csirt@example-univ.ac.jp',
    phone: '+81-3-5555-0100',
    hotline24x7: '+81-3-5555-0199',
    fax: '+81-3-5555-0101',
    mobile: '+81-90-5555-0102',
    postalAddress: 'POSTAL: 1-2-3 Hongo, Bunkyo-ku, Tokyo 113-0000, Japan',
    businessHours: { description: 'Mon-Fri 09:00-17:30', timeZone: 'Asia/Tokyo' },
    otherChannels: ['Matrix: #csirt:example-univ.ac.jp'],
  },
  members: ['MEMBER: Taro Suzuki (lead)', 'MEMBER: Hanako Yamada'],
  policies: {
    incidentTypes: 'INCIDENT-TYPES: all incidents on university systems.',
    supportLevel: 'SUPPORT: next business day; critical at once.',
    cooperation: 'COOPERATION: with other CSIRTs and the NREN.',
    disclosure: 'DISCLOSURE: TLP is honoured.',
    lawEnforcement: 'LAW-ENFORCEMENT: on court order only.',
    press: 'PRESS: through the university press office.',
    communication: 'COMMUNICATION: OpenPGP-signed e-mail and signed node messages.',
  },
  services: {
    incidentResponse: 'INCIDENT-RESPONSE: triage, coordination, resolution.',
    triage: 'TRIAGE: authenticity first, then severity.',
    coordination: 'COORDINATION: with the sites and teams involved.',
    resolution: 'RESOLUTION: advice; we do not operate sites.',
    proactive: ['PROACTIVE: vulnerability scanning', 'PROACTIVE: awareness training'],
  },
  reportingForms: 'FORMS: https://csirt.example-univ.ac.jp/report',
  disclaimers: 'DISCLAIMER: no liability.',
  securityTxt: { expires, policyUrl: 'https://csirt.example-univ.ac.jp/policy' },
};

/** What GET returns for `full`: networks and domains in canonical form, date-times in UTC with milliseconds. */
const stored = {
  ...full,
  constituency: {
    ...full.constituency,
    networks: ['192.0.2.0/24', '2001:db8:10::/48'],
    domains: ['example-univ.ac.jp', 'example-univ.jp'],
  },
  securityTxt: { ...full.securityTxt, expires: new Date(expires).toISOString() },
};

const getProfile = () => node.app.inject({ method: 'GET', url: '/api/v1/profile', headers: node.auth.reader });
const putProfile = (payload: unknown) =>
  node.app.inject({ method: 'PUT', url: '/api/v1/profile', headers: admin, payload: payload as object });
const server = (p: Record<string, unknown>) => {
  const { teamId, referencePrefix, publicKey, fingerprint, publicUrl, updatedAt, ...rest } = p;
  return { server: { teamId, referencePrefix, publicKey, fingerprint, publicUrl, updatedAt }, rest };
};

t.test('the round trip below uses every RFC 2350 field of the profile', async (t) => {
  // federation settings are not part of RFC 2350; every other field is.
  const notRfc2350 = ['federation'];
  const missing = (schema: any, value: any, at: string): string[] =>
    Object.entries(schema.properties ?? {}).flatMap(([key, sub]: [string, any]) => {
      if (notRfc2350.includes(key) && at === '') return [];
      if (value?.[key] === undefined) return [`${at}/${key}`];
      return sub.type === 'object' ? missing(sub, value[key], `${at}/${key}`) : [];
    });
  t.strictSame(missing(TeamProfileInputSchema, full, ''), []);
});

t.test('the first profile: defaults from the configuration', async (t) => {
  const res = await getProfile();
  t.equal(res.statusCode, 200);
  const p = res.json();
  t.match(p, {
    teamId: 'alpha',
    name: 'Team alpha',
    referencePrefix: 'ALPHA',
    fingerprint: node.signer.fingerprint,
    publicUrl: node.config.publicUrl,
  });
  t.equal(p.publicKey, node.signer.armoredPublicKey, 'the node key');
});

/** The text of an OpenPGP cleartext-signed document (RFC 4880 §7), dash-escaping undone; null when it is not one. */
function clearSignedText(body: string): string | null {
  const m =
    /^-----BEGIN PGP SIGNED MESSAGE-----\r?\nHash: [A-Z0-9]+\r?\n\r?\n([\s\S]*?)\r?\n-----BEGIN PGP SIGNATURE-----\r?\n[\s\S]+-----END PGP SIGNATURE-----\r?\n?$/.exec(
      body,
    );
  // openpgp.js writes CRLF line ends, which RFC 9116 allows as well as LF.
  return m ? m[1]!.replace(/\r\n/g, '\n').replace(/^- /gm, '') : null;
}

t.test('GET /.well-known/security.txt on the first profile', async (t) => {
  const res = await node.app.inject({ method: 'GET', url: '/.well-known/security.txt' });
  t.equal(res.statusCode, 200);
  const text = clearSignedText(res.body);
  t.ok(text, 'clear-signed');
  const m = /^Expires: (.+)$/m.exec(text ?? '');
  t.ok(m, 'has Expires');
  const at = Date.parse(m![1]!);
  t.ok(at > Date.now() && at < Date.now() + 366 * DAY, `default Expires is in the future, within a year (${m![1]})`);
});

t.test('PUT then GET: every field comes back', async (t) => {
  const put = await putProfile(full);
  t.equal(put.statusCode, 200, put.body.slice(0, 500));
  const got = await getProfile();
  t.equal(got.statusCode, 200);
  const { server: s, rest } = server(got.json());
  t.strictSame(rest, stored, 'editable part: as sent, networks and domains canonical');
  t.match(s, {
    teamId: 'alpha',
    referencePrefix: 'ALPHA',
    publicKey: node.signer.armoredPublicKey,
    fingerprint: node.signer.fingerprint,
    publicUrl: node.config.publicUrl,
  });
  t.strictSame(put.json(), got.json(), 'PUT answers with the stored profile');

  // a second PUT replaces: fields left out are gone
  const { members, disclaimers, ...fewer } = full;
  t.ok(members && disclaimers);
  const again = await putProfile(fewer);
  t.equal(again.statusCode, 200);
  t.equal(again.json().members, undefined, 'members removed');
  t.equal(again.json().disclaimers, undefined, 'disclaimers removed');
  t.equal((await putProfile(full)).statusCode, 200, 'restored for the documents below');

  // Each save is audited with the sections that changed, never their content.
  const entries = await node.database.db
    .selectFrom('audit_entry')
    .select(['actor', 'details'])
    .where('kind', '=', 'profile.replaced')
    .orderBy('seq')
    .execute();
  t.equal(entries.length, 3, 'one entry per save');
  t.ok((entries[0]!.details as { changed: string[] }).changed.includes('mission'), 'the first save changed the mission');
  t.strictSame((entries[1]!.details as { changed: string[] }).changed, ['disclaimers', 'members'], 'the second removed two sections');
  t.strictSame((entries[2]!.details as { changed: string[] }).changed, ['disclaimers', 'members'], 'the third put them back');
  t.notOk(JSON.stringify(entries).includes(full.mission), 'no profile content in the audit');
  t.ok(
    entries.every((e) => e.actor.length > 0),
    'the admin who saved is named',
  );
});

t.test('bad profiles: 400 validation-failed', async (t) => {
  const cases: Array<[string, unknown]> = [
    ['lower-case country', { ...full, country: 'jp' }],
    ['three-letter country', { ...full, country: 'JPN' }],
    ['CIDR with host bits', { ...full, constituency: { ...full.constituency, networks: ['192.0.2.1/24'] } }],
    ['IPv6 CIDR with host bits', { ...full, constituency: { ...full.constituency, networks: ['2001:db8::1/32'] } }],
    ['not a network', { ...full, constituency: { ...full.constituency, networks: ['example.org'] } }],
    ['prefix too long', { ...full, constituency: { ...full.constituency, networks: ['192.0.2.0/33'] } }],
    ['ASN out of range', { ...full, constituency: { ...full.constituency, asns: [4294967296] } }],
    ['bad domain', { ...full, constituency: { ...full.constituency, domains: ['exa mple.org'] } }],
    ['unknown field', { ...full, motto: 'We never sleep' }],
    ['unknown nested field', { ...full, contacts: { ...full.contacts, telegram: '@csirt' } }],
    ['bad team type', { ...full, type: 'military' }],
    ['bad e-mail', { ...full, contacts: { ...full.contacts, email: 'not an address' } }],
    ['no languages', { ...full, languages: [] }],
    ['bad language tag', { ...full, languages: ['Japanese'] }],
    ['bad Expires', { ...full, securityTxt: { expires: 'next year' } }],
    ['Expires in the past', { ...full, securityTxt: { expires: '2020-01-01T00:00:00Z' } }],
    ['Expires more than a year ahead', { ...full, securityTxt: { expires: new Date(Date.now() + 400 * DAY).toISOString() } }],
    ['missing mission', { ...full, mission: undefined }],
    ['read-only field', { ...full, fingerprint: 'AAAA' }],
  ];
  for (const [what, payload] of cases) {
    const body = problem(t, await putProfile(payload), 400, 'validation-failed', what);
    t.ok(Array.isArray(body.errors) && body.errors.length > 0, `${what}: errors[]`);
  }
  const hostBits = problem(
    t,
    await putProfile({ ...full, constituency: { ...full.constituency, networks: ['192.0.2.0/24', '192.0.2.1/24'] } }),
    400,
    'validation-failed',
  );
  t.match(hostBits.errors, [{ pointer: '/constituency/networks/1' }], 'points at the bad network');
  const { server: _s, rest } = server((await getProfile()).json());
  t.strictSame(rest, stored, 'refused PUTs change nothing');
});

/** Splits the RFC 2350 text into numbered sections: heading number -> body. */
function sections(text: string): Array<{ number: string; title: string; body: string }> {
  const out: Array<{ number: string; title: string; body: string }> = [];
  for (const line of text.split('\n')) {
    const m = /^(\d+(?:\.\d+)*\.?) (\S.*)$/.exec(line);
    if (m) out.push({ number: m[1]!, title: m[2]!, body: '' });
    else if (out.length) out.at(-1)!.body += line + '\n';
  }
  return out;
}

t.test('GET /rfc2350.txt: the sections in RFC 2350 order, with the values', async (t) => {
  const res = await node.app.inject({ method: 'GET', url: '/rfc2350.txt' });
  t.equal(res.statusCode, 200);
  t.match(res.headers['content-type'], /^text\/plain/);
  const found = sections(res.body);
  t.strictSame(
    found.map((s) => `${s.number} ${s.title}`),
    [
      '1. Document Information',
      '1.1 Date of Last Update',
      '1.2 Distribution List for Notifications',
      '1.3 Locations where this Document May Be Found',
      '1.4 Authenticating this Document',
      '2. Contact Information',
      '2.1 Name of the Team',
      '2.2 Address',
      '2.3 Time Zone',
      '2.4 Telephone Number',
      '2.5 Facsimile Number',
      '2.6 Other Telecommunication',
      '2.7 Electronic Mail Address',
      '2.8 Public Keys and Encryption Information',
      '2.9 Team Members',
      '2.10 Other Information',
      '2.11 Points of Customer Contact',
      '3. Charter',
      '3.1 Mission Statement',
      '3.2 Constituency',
      '3.3 Sponsorship and/or Affiliation',
      '3.4 Authority',
      '4. Policies',
      '4.1 Types of Incidents and Level of Support',
      '4.2 Co-operation, Interaction and Disclosure of Information',
      '4.3 Communication and Authentication',
      '5. Services',
      '5.1 Incident Response',
      '5.1.1 Incident Triage',
      '5.1.2 Incident Coordination',
      '5.1.3 Incident Resolution',
      '5.2 Proactive Activities',
      '6. Incident Reporting Forms',
      '7. Disclaimers',
    ],
    'headings in RFC 2350 order',
  );
  const body = (n: string) => found.find((s) => s.number === n)?.body ?? '';
  const profile = (await getProfile()).json();
  const expected: Record<string, string[]> = {
    '1.1': [profile.updatedAt],
    '1.3': [`${node.config.publicUrl}/rfc2350.txt`],
    '1.4': [node.signer.fingerprint],
    '2.1': [full.name, full.shortName],
    '2.2': [full.contacts.postalAddress!],
    '2.3': ['Asia/Tokyo'],
    '2.4': [full.contacts.phone!, full.contacts.hotline24x7!],
    '2.5': [full.contacts.fax!],
    '2.6': [full.contacts.mobile!, full.contacts.otherChannels![0]!],
    '2.7': [full.contacts.email],
    '2.8': [node.signer.fingerprint, `${node.config.publicUrl}/pgp-key.asc`],
    '2.9': full.members!,
    '2.10': ['ja, en', 'ALPHA#'],
    '2.11': ['Mon-Fri 09:00-17:30', full.contacts.email],
    '3.1': [full.mission],
    '3.2': [
      full.constituency.description,
      '192.0.2.0/24',
      '2001:db8:10::/48',
      'AS64500',
      'AS4200000001',
      'example-univ.ac.jp',
      'UnivPortal',
    ],
    '3.3': [full.sponsorship!, full.affiliation!],
    '3.4': [full.authority!],
    '4.1': [full.policies.incidentTypes!, full.policies.supportLevel!],
    '4.2': [full.policies.cooperation!, full.policies.disclosure!, full.policies.lawEnforcement!, full.policies.press!],
    '4.3': [full.policies.communication!],
    '5.1': [full.services!.incidentResponse!],
    '5.1.1': [full.services!.triage!],
    '5.1.2': [full.services!.coordination!],
    '5.1.3': [full.services!.resolution!],
    '5.2': full.services!.proactive!,
    '6.': [full.reportingForms!],
    '7.': [full.disclaimers!],
  };
  for (const [n, values] of Object.entries(expected)) {
    for (const v of values) t.ok(body(n).includes(v), `${n} contains ${JSON.stringify(v.slice(0, 40))}`);
  }
  t.notMatch(res.body, /Not stated\./, 'a full profile leaves no section empty');
});

t.test('GET /.well-known/security.txt: RFC 9116 fields', async (t) => {
  const res = await node.app.inject({ method: 'GET', url: '/.well-known/security.txt' });
  t.equal(res.statusCode, 200);
  t.match(res.headers['content-type'], /^text\/plain/);
  const lines = (clearSignedText(res.body) ?? '').trimEnd().split('\n');
  const field = (name: string) => lines.filter((l) => l.startsWith(`${name}: `)).map((l) => l.slice(name.length + 2));
  t.strictSame(field('Contact'), ['mailto:csirt@example-univ.ac.jp', 'tel:+81-3-5555-0100'], 'an RFC 3966 tel: URI, separators kept');
  t.strictSame(field('Expires'), [expires], 'Expires as set');
  t.match(field('Expires')[0], /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/, 'RFC 3339 in UTC');
  t.ok(Date.parse(field('Expires')[0]!) > Date.now(), 'in the future');
  t.strictSame(field('Encryption'), [`${node.config.publicUrl}/pgp-key.asc`]);
  t.strictSame(field('Preferred-Languages'), ['ja, en']);
  t.strictSame(field('Canonical'), [`${node.config.publicUrl}/.well-known/security.txt`]);
  t.strictSame(field('Policy'), ['https://csirt.example-univ.ac.jp/policy']);
  t.ok(
    lines.every((l) => /^[A-Z][A-Za-z-]*: \S/.test(l)),
    'only "Field: value" lines',
  );

  // Expires given with an offset is written in UTC
  const offset = new Date(Date.parse(expires) + 9 * 3600_000).toISOString().replace('.000Z', '+09:00'); // the same instant
  const put = await putProfile({ ...full, securityTxt: { expires: offset } });
  t.equal(put.statusCode, 200);
  t.equal(put.json().securityTxt.expires, new Date(expires).toISOString(), 'stored and returned in UTC');
  const again = await node.app.inject({ method: 'GET', url: '/.well-known/security.txt' });
  t.match(again.body, new RegExp(`^Expires: ${expires.replace(/[.+]/g, '\\$&')}$`, 'm'), 'converted to UTC');
  t.match(
    again.body,
    new RegExp(`^Policy: ${node.config.publicUrl.replace(/[.]/g, '\\.')}/rfc2350\\.txt$`, 'm'),
    'Policy defaults to the RFC 2350 document',
  );
  t.equal((await putProfile(full)).statusCode, 200);
});

t.test('GET /pgp-key.asc is the node key', async (t) => {
  const res = await node.app.inject({ method: 'GET', url: '/pgp-key.asc' });
  t.equal(res.statusCode, 200);
  t.match(res.headers['content-type'], /^application\/pgp-keys/);
  t.equal(res.body, node.signer.armoredPublicKey);
  t.match(res.body, /^-----BEGIN PGP PUBLIC KEY BLOCK-----/);
  t.notMatch(res.body, /PRIVATE/);
});

t.test('public documents need no token; the profile API does', async (t) => {
  for (const url of ['/rfc2350.txt', '/.well-known/security.txt', '/pgp-key.asc', '/healthz', '/readyz']) {
    t.equal((await node.app.inject({ method: 'GET', url })).statusCode, 200, `${url} is public`);
  }
  problem(t, await node.app.inject({ method: 'GET', url: '/api/v1/profile' }), 401, 'unauthenticated');
});

t.test('/healthz and /readyz', async (t) => {
  const health = await node.app.inject({ method: 'GET', url: '/healthz' });
  t.equal(health.statusCode, 200);
  t.strictSame(health.json(), { status: 'ok' });
  const ready = await node.app.inject({ method: 'GET', url: '/readyz' });
  t.equal(ready.statusCode, 200);
  t.strictSame(ready.json(), { status: 'ready', engine: node.database.engine });
});

t.test('security.txt verifies with gpg --verify against the node key', { skip: gpgAvailable ? false : 'gpg is not on PATH' }, async (t) => {
  const home = mkdtempSync(path.join(tmpdir(), 'hikeshi-gpg-'));
  const env = { ...process.env, GNUPGHOME: home, LC_ALL: 'C' };
  t.teardown(() => {
    spawnSync('gpgconf', ['--kill', 'all'], { env, stdio: 'ignore' });
    rmSync(home, { recursive: true, force: true });
  });
  const gpg = (args: string[], input?: string) => spawnSync('gpg', ['--batch', '--no-tty', ...args], { env, input, timeout: 30_000 });
  t.equal(gpg(['--import'], node.signer.armoredPublicKey).status, 0, 'key imported');
  const res = await node.app.inject({ method: 'GET', url: '/.well-known/security.txt' });
  const file = path.join(home, 'security.txt');
  writeFileSync(file, res.body);
  const verified = gpg(['--status-fd', '1', '--verify', file]);
  t.equal(verified.status, 0, verified.stderr.toString());
  t.match(verified.stdout.toString(), new RegExp(`VALIDSIG ${node.signer.fingerprint}`), 'signed by the node key');
  writeFileSync(file, res.body.replace('Contact: mailto:', 'Contact: mailto:evil-'));
  t.not(gpg(['--verify', file]).status, 0, 'a changed line does not verify');
});

t.test('tel: URIs per RFC 3966, or none', async (t) => {
  const cases: Array<[string, string | null]> = [
    ['+81-3-5555-0100', 'tel:+81-3-5555-0100'],
    ['+81 3 5555 0100', 'tel:+81-3-5555-0100'],
    ['+81-3-5555-0100 ext. 123', 'tel:+81-3-5555-0100;ext=123'],
    ['+81 (3) 5555.0100 x7', 'tel:+81-(3)-5555.0100;ext=7'],
    ['＋８１－３－５５５５－０１００', 'tel:+81-3-5555-0100'],
    ['+81-3-5555-0100 内線 45', 'tel:+81-3-5555-0100;ext=45'],
    ['03-5555-0100', null],
    ['call us', null],
    ['+1-800-FLOWERS', null],
    ['+12', null],
    ['', null],
  ];
  for (const [phone, uri] of cases) t.equal(telUri(phone), uri, JSON.stringify(phone));
});

t.test('the start-up warning for a public URL that is not https', async (t) => {
  t.equal(publicUrlWarning('https://csirt.example.org'), null);
  t.equal(publicUrlWarning('http://127.0.0.1:8080'), null, 'loopback: a node on one machine');
  t.equal(publicUrlWarning('http://localhost:8080'), null);
  t.equal(publicUrlWarning('http://[::1]:8080'), null);
  t.match(publicUrlWarning('http://csirt.example.org'), /not https/);
  t.match(publicUrlWarning('http://192.0.2.10:8080'), /HIKESHI_PUBLIC_URL/);
});

t.test('the signed profile carries every RFC 2350 section', async (t) => {
  t.equal((await putProfile(full)).statusCode, 200);
  const res = await node.app.inject({ method: 'GET', url: '/federation/v1/profile' });
  t.equal(res.statusCode, 200);
  const published = res.json().document.profile;
  t.match(published.charter, {
    mission: full.mission,
    sponsorship: full.sponsorship,
    affiliation: full.affiliation,
    authority: full.authority,
  });
  t.same(published.policies, full.policies);
  t.same(published.services, full.services);
  t.same(published.members, full.members);
  t.equal(published.reportingForms, full.reportingForms);
  t.equal(published.disclaimers, full.disclaimers);
  const verdict = await verifyDocumentSignature(res.json(), node.signer.publicKey);
  t.match(verdict, { ok: true }, 'and the signature covers them');
});
