import Type, { type Static } from 'typebox';
import { AsnSchema, CidrSchema, DateTimeSchema, DomainSchema, UuidSchema, named } from './common.schema.js';

/**
 * The constituency directory (domain §1): a site is an organisation with computers and
 * networks; a POC is the person, mailbox or phone it is reached at. Contacts must be known before
 * an incident, and the network scopes (CIDR blocks, AS numbers, domains) answer "whom do we tell
 * about this address?" through GET /sites/lookup.
 */

const text = (max: number) => Type.String({ minLength: 1, maxLength: max });

export const CHANNEL_KINDS = ['email', 'phone', 'mobile', 'fax', 'hotline', 'postal', 'url', 'other'] as const;
export type ChannelKind = (typeof CHANNEL_KINDS)[number];
export const ChannelKindSchema = named(
  'ChannelKind',
  Type.Union(
    CHANNEL_KINDS.map((k) => Type.Literal(k)),
    {
      description: 'hotline: a 24x7 number; postal: a postal address; url: a web form or page.',
    },
  ),
);

export const PocChannelSchema = named(
  'PocChannel',
  Type.Object(
    {
      kind: ChannelKindSchema,
      value: text(1000),
      note: Type.Optional(text(500)),
    },
    {
      additionalProperties: false,
      description: 'One way to reach the POC, e.g. { "kind": "phone", "value": "+81-3-0000-0000", "note": "ask for the duty officer" }.',
    },
  ),
);
export type PocChannel = Static<typeof PocChannelSchema>;

export const PocSchema = named(
  'Poc',
  Type.Object(
    {
      name: text(200),
      role: Type.Optional(text(200)),
      channels: Type.Array(PocChannelSchema, { minItems: 1, maxItems: 50 }),
      languages: Type.Array(Type.String({ pattern: '^[a-zA-Z]{2,3}(-[A-Za-z0-9]{1,8})*$', maxLength: 35 }), {
        maxItems: 20,
        description: 'BCP 47 language tags the POC answers in, e.g. ["ja", "en"].',
      }),
      timeZone: Type.Optional(text(64)),
      hours: Type.Optional(text(500)),
    },
    { additionalProperties: false, description: 'A point of contact: a person, mailbox or desk.' },
  ),
);
export type Poc = Static<typeof PocSchema>;

const siteFields = {
  name: text(200),
  description: Type.String({ maxLength: 4000 }),
  pocs: Type.Array(PocSchema, { maxItems: 100 }),
  networks: Type.Array(CidrSchema, {
    maxItems: 10000,
    description: 'CIDR blocks without host bits; stored in canonical form.',
  }),
  asns: Type.Array(AsnSchema, { maxItems: 10000 }),
  domains: Type.Array(DomainSchema, {
    maxItems: 10000,
    description: 'Stored lower-case without a trailing dot; covers subdomains.',
  }),
  teamId: Type.String({
    pattern: '^[a-z0-9][a-z0-9-]{1,62}$',
    description:
      "The team id of the site's own Hikeshi node, a peer of ours: the site's notifications go to it as signed site.notification documents (ADR 0026) instead of by mail to its POC.",
  }),
};

export const SiteSchema = named(
  'Site',
  Type.Object(
    {
      id: UuidSchema,
      name: siteFields.name,
      description: Type.Union([siteFields.description, Type.Null()]),
      pocs: siteFields.pocs,
      networks: siteFields.networks,
      asns: siteFields.asns,
      domains: siteFields.domains,
      teamId: Type.Union([siteFields.teamId, Type.Null()], { description: "The peer team that runs the site's own node; null: none." }),
      version: Type.Integer({
        minimum: 1,
        description: 'Increases with every change; send it back in If-Match to avoid lost updates.',
      }),
      createdAt: DateTimeSchema,
      updatedAt: DateTimeSchema,
    },
    { additionalProperties: false },
  ),
);
export type Site = Static<typeof SiteSchema>;

/**
 * Scope rule: each network, AS number and domain belongs to at most one site, so a lookup has
 * one answer; a more specific network or a subdomain may belong to another site (longest match).
 */
export const SiteCreateSchema = named(
  'SiteCreate',
  Type.Object(
    {
      name: siteFields.name,
      description: Type.Optional(siteFields.description),
      pocs: Type.Optional(siteFields.pocs),
      networks: Type.Optional(siteFields.networks),
      asns: Type.Optional(siteFields.asns),
      domains: Type.Optional(siteFields.domains),
      teamId: Type.Optional(siteFields.teamId),
    },
    { additionalProperties: false },
  ),
);
export type SiteCreate = Static<typeof SiteCreateSchema>;

/** A present field replaces the stored one; scopes and POCs are replaced as whole lists. */
export const SitePatchSchema = named(
  'SitePatch',
  Type.Object(
    {
      name: Type.Optional(siteFields.name),
      description: Type.Optional(Type.Union([siteFields.description, Type.Null()], { description: 'null clears it.' })),
      pocs: Type.Optional(siteFields.pocs),
      networks: Type.Optional(siteFields.networks),
      asns: Type.Optional(siteFields.asns),
      domains: Type.Optional(siteFields.domains),
      teamId: Type.Optional(
        Type.Union([siteFields.teamId, Type.Null()], { description: 'null: the site runs no node (or we stop using it).' }),
      ),
    },
    { additionalProperties: false, minProperties: 1 },
  ),
);
export type SitePatch = Static<typeof SitePatchSchema>;

export const SitePageSchema = named(
  'SitePage',
  Type.Object(
    {
      items: Type.Array(SiteSchema),
      nextCursor: Type.Union([Type.String(), Type.Null()], {
        description: 'Pass as ?cursor= for the next page; null at the end.',
      }),
    },
    { additionalProperties: false },
  ),
);
export type SitePage = Static<typeof SitePageSchema>;

export const SiteListQuerySchema = Type.Object(
  {
    q: Type.Optional(Type.String({ minLength: 1, maxLength: 200, description: 'Case-insensitive substring of the site name.' })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 50 })),
    cursor: Type.Optional(Type.String({ maxLength: 400, description: 'Opaque cursor from a previous page (same q).' })),
  },
  { additionalProperties: false },
);
export type SiteListQuery = Static<typeof SiteListQuerySchema>;

export const SiteIdParamsSchema = Type.Object({ id: UuidSchema }, { additionalProperties: false });

/**
 * Optimistic concurrency for writes. Header objects stay open: every request carries headers
 * this route does not care about.
 */
export const IfMatchHeadersSchema = Type.Object({
  'if-match': Type.Optional(
    Type.String({
      maxLength: 100,
      description: 'The version read earlier, as an entity tag: "3" (or *). A stale version gets 412 version-mismatch.',
    }),
  ),
});

export const SiteLookupQuerySchema = Type.Object(
  {
    ip: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 64,
        description: 'IPv4 or IPv6 address: the longest network containing it wins.',
      }),
    ),
    domain: Type.Optional(DomainSchema),
    // Text, not an integer: query conversion would read "1.5" as AS1 and "0x10" as AS16.
    asn: Type.Optional(Type.String({ pattern: '^(?:[Aa][Ss])?[0-9]{1,10}$', description: 'AS number, e.g. 64500 or AS64500.' })),
  },
  { additionalProperties: false, minProperties: 1, maxProperties: 1, description: 'Exactly one of ip, domain, asn.' },
);
export type SiteLookupQuery = Static<typeof SiteLookupQuerySchema>;

export const SCOPE_KINDS = ['ip', 'domain', 'asn'] as const;
export type ScopeKind = (typeof SCOPE_KINDS)[number];

export const SiteLookupMatchSchema = named(
  'SiteLookupMatch',
  Type.Union(
    [
      Type.Object(
        {
          kind: Type.Literal('ip'),
          value: Type.String({ description: 'The matching network, e.g. 192.0.2.0/24.' }),
          prefixLength: Type.Integer({ minimum: 0, maximum: 128 }),
        },
        { additionalProperties: false },
      ),
      Type.Object(
        {
          kind: Type.Literal('domain'),
          value: Type.String({ description: 'The registered domain that is a suffix of the one asked.' }),
        },
        { additionalProperties: false },
      ),
      Type.Object({ kind: Type.Literal('asn'), value: AsnSchema }, { additionalProperties: false }),
    ],
    { description: "Which of the site's scopes answered the lookup." },
  ),
);
export type SiteLookupMatch = Static<typeof SiteLookupMatchSchema>;

export const SiteLookupResultSchema = named(
  'SiteLookupResult',
  Type.Object({ site: SiteSchema, matched: SiteLookupMatchSchema }, { additionalProperties: false }),
);
export type SiteLookupResult = Static<typeof SiteLookupResultSchema>;
