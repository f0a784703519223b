import Type, { type Static } from 'typebox';
import { DateTimeSchema, DomainSchema, named } from './common.schema.js';

/**
 * Contact determination (issue 15 part 1; domain §7, whom to contact): GET /api/v1/contacts/resolve
 * answers a ranked route plan for an address, a host, a domain or an AS number. Each step says
 * where it came from and how fresh it is; an outside source that did not answer is a step marked
 * unreachable, never an error.
 */

const domain = DomainSchema as unknown as { minLength: number; maxLength: number; pattern: string };
const name = (description: string) =>
  Type.String({ minLength: domain.minLength, maxLength: domain.maxLength, pattern: domain.pattern, description });

export const ContactResolveQuerySchema = Type.Object(
  {
    ip: Type.Optional(Type.String({ minLength: 1, maxLength: 64, description: 'IPv4 or IPv6 address.' })),
    host: Type.Optional(name('A host name, e.g. www.example.org.')),
    domain: Type.Optional(name('A domain, e.g. example.org.')),
    // Text, not an integer: query conversion would read "1.5" as AS1 and "0x10" as AS16.
    asn: Type.Optional(Type.String({ pattern: '^(?:[Aa][Ss])?[0-9]{1,10}$', description: 'AS number, e.g. 64500 or AS64500.' })),
  },
  { additionalProperties: false, minProperties: 1, maxProperties: 1, description: 'Exactly one of ip, host, domain, asn.' },
);
export type ContactResolveQuery = Static<typeof ContactResolveQuerySchema>;

export const CONTACT_STEP_KINDS = [
  'site-poc',
  'peer',
  'forum-member',
  'coordinator',
  'security-txt',
  'rdap-abuse',
  'soa-mailbox',
  'rfc2142',
] as const;
export type ContactStepKind = (typeof CONTACT_STEP_KINDS)[number];

export const CONTACT_CHANNELS = ['node', 'email', 'tel', 'web', 'other'] as const;
export type ContactChannel = (typeof CONTACT_CHANNELS)[number];

export const ContactStepSchema = named(
  'ContactStep',
  Type.Object(
    {
      rank: Type.Integer({ minimum: 1, description: '1 is the first to try.' }),
      kind: Type.Enum(CONTACT_STEP_KINDS, {
        description:
          "site-poc: our own site's POC; peer / forum-member: a team whose signed profile declares the network, ASN or domain; coordinator: our coordinator; security-txt (RFC 9116), rdap-abuse (RFC 9083), soa-mailbox (the zone's SOA RNAME), rfc2142 (role addresses, unverified): direct contacts.",
      }),
      source: Type.String({ description: 'Where the step comes from: a site, a signed profile, a URL, a zone.' }),
      team: Type.Union([Type.String(), Type.Null()], { description: 'The team (peer team id) for a node step, else null.' }),
      name: Type.Union([Type.String(), Type.Null()], { description: 'Who: a POC, a team, an RDAP entity.' }),
      address: Type.Union([Type.String(), Type.Null()], {
        description: 'How to reach it: a node URL, a mailbox, a tel: number, a web form; null when unreachable.',
      }),
      via: Type.Enum(CONTACT_CHANNELS, { description: 'node: through Hikeshi (signed messages); email, tel, web: out of band.' }),
      matched: Type.Union([Type.String(), Type.Null()], {
        description: 'The scope that matched, e.g. 192.0.2.0/24, example.org, AS64500.',
      }),
      verified: Type.Boolean({
        description:
          'true when a source states this contact (our directory, a signed profile, a security.txt, an RDAP record, an SOA); false for a guess (RFC 2142 role addresses). A security.txt or an SOA proves only who controls the domain.',
      }),
      fetchedAt: Type.Union([DateTimeSchema, Type.Null()], { description: 'When the source was read (null: our own data, read now).' }),
      expiresAt: Type.Union([DateTimeSchema, Type.Null()], { description: 'Until when the cached answer is used.' }),
      status: Type.Enum(['reachable', 'unreachable'] as const),
      reason: Type.Union([Type.String(), Type.Null()], { description: 'Why a step is unreachable, or a caveat (expired, unsigned).' }),
      details: Type.Optional(
        Type.Object(
          {
            encryption: Type.Optional(Type.Array(Type.String())),
            preferredLanguages: Type.Optional(Type.Array(Type.String())),
            canonical: Type.Optional(Type.Array(Type.String())),
            policy: Type.Optional(Type.Array(Type.String())),
            signed: Type.Optional(Type.Boolean({ description: 'The security.txt was PGP clear-signed (the signature is not checked).' })),
            expires: Type.Optional(Type.String()),
            forums: Type.Optional(Type.Array(Type.String())),
          },
          { additionalProperties: false },
        ),
      ),
    },
    { additionalProperties: false },
  ),
);
export type ContactStep = Static<typeof ContactStepSchema>;

export const RoutePlanSchema = named(
  'RoutePlan',
  Type.Object(
    {
      query: Type.Object(
        {
          kind: Type.Enum(['ip', 'host', 'domain', 'asn'] as const),
          value: Type.String({ description: 'The value asked, in canonical form.' }),
        },
        { additionalProperties: false },
      ),
      resolvedAt: DateTimeSchema,
      steps: Type.Array(ContactStepSchema),
    },
    { additionalProperties: false, description: 'Whom to contact, first to last.' },
  ),
);
export type RoutePlan = Static<typeof RoutePlanSchema>;
