import Type, { type Static } from 'typebox';
import { AsnSchema, CidrSchema, DateTimeSchema, DomainSchema, named } from './common.schema.js';

/**
 * The team's description, laid out as RFC 2350 lays it out (§4 of domain.md: what, for whom,
 * position, with whom). `GET /rfc2350.txt` renders it in the RFC's section order.
 */
export const TEAM_TYPES = ['coordination-centre', 'national', 'sector', 'corporate', 'product'] as const;
export const TeamTypeSchema = Type.Enum(TEAM_TYPES, {
  description: 'Kind of CSIRT (domain §3): coordination centre, national, sector, corporate, product/vendor.',
});

const text = (max = 4000) => Type.String({ minLength: 1, maxLength: max });

export const TeamContactsSchema = named(
  'TeamContacts',
  Type.Object(
    {
      email: Type.String({ format: 'email', maxLength: 320 }),
      phone: Type.Optional(text(64)),
      hotline24x7: Type.Optional(text(64)),
      fax: Type.Optional(text(64)),
      mobile: Type.Optional(text(64)),
      postalAddress: Type.Optional(text(1000)),
      businessHours: Type.Optional(
        Type.Object(
          { description: text(500), timeZone: text(64) },
          { additionalProperties: false, description: 'e.g. "Mon-Fri 09:00-17:30", "Asia/Tokyo".' },
        ),
      ),
      otherChannels: Type.Optional(Type.Array(text(500), { maxItems: 20 })),
    },
    { additionalProperties: false },
  ),
);

export const ConstituencySchema = named(
  'Constituency',
  Type.Object(
    {
      description: text(),
      networks: Type.Array(CidrSchema, { maxItems: 10000 }),
      asns: Type.Array(AsnSchema, { maxItems: 10000 }),
      domains: Type.Array(DomainSchema, { maxItems: 10000 }),
      products: Type.Array(text(200), { maxItems: 1000 }),
    },
    { additionalProperties: false },
  ),
);

export const TeamPoliciesSchema = named(
  'TeamPolicies',
  Type.Object(
    {
      incidentTypes: Type.Optional(text()),
      supportLevel: Type.Optional(text()),
      cooperation: Type.Optional(text()),
      disclosure: Type.Optional(text()),
      lawEnforcement: Type.Optional(text()),
      press: Type.Optional(text()),
      communication: Type.Optional(text()),
    },
    { additionalProperties: false },
  ),
);

/** RFC 2350 §5: incident response with its three parts (5.1.1-5.1.3), and proactive activities (5.2). */
export const TeamServicesSchema = named(
  'TeamServices',
  Type.Object(
    {
      incidentResponse: Type.Optional(text()),
      triage: Type.Optional(Type.String({ minLength: 1, maxLength: 4000, description: 'RFC 2350 5.1.1 Incident Triage.' })),
      coordination: Type.Optional(Type.String({ minLength: 1, maxLength: 4000, description: 'RFC 2350 5.1.2 Incident Coordination.' })),
      resolution: Type.Optional(Type.String({ minLength: 1, maxLength: 4000, description: 'RFC 2350 5.1.3 Incident Resolution.' })),
      proactive: Type.Optional(Type.Array(text(500), { maxItems: 50 })),
    },
    { additionalProperties: false },
  ),
);

/** The part of the profile a team edits (PUT /api/v1/profile). */
export const TeamProfileInputSchema = named(
  'TeamProfileInput',
  Type.Object(
    {
      name: text(200),
      shortName: text(32),
      type: TeamTypeSchema,
      country: Type.String({ pattern: '^[A-Z]{2}$', description: 'ISO 3166-1 alpha-2.' }),
      timeZone: text(64),
      languages: Type.Array(Type.String({ pattern: '^[a-zA-Z]{2,3}(-[A-Za-z0-9]{2,8})*$' }), {
        minItems: 1,
        maxItems: 20,
      }),
      mission: text(),
      constituency: ConstituencySchema,
      sponsorship: Type.Optional(text()),
      affiliation: Type.Optional(text()),
      authority: Type.Optional(text()),
      contacts: TeamContactsSchema,
      members: Type.Optional(Type.Array(text(200), { maxItems: 200 })),
      policies: TeamPoliciesSchema,
      services: Type.Optional(TeamServicesSchema),
      reportingForms: Type.Optional(text()),
      disclaimers: Type.Optional(text()),
      securityTxt: Type.Optional(
        Type.Object(
          {
            expires: Type.Optional(DateTimeSchema),
            policyUrl: Type.Optional(Type.String({ format: 'uri' })),
          },
          { additionalProperties: false },
        ),
      ),
      federation: Type.Optional(
        Type.Object(
          {
            requiresSealed: Type.Optional(
              Type.Boolean({
                description:
                  "Ask peers to send every message sealed (encrypted to this node's key), whatever its TLP. Published in the signed profile (GET /federation/v1/profile); default false.",
              }),
            ),
          },
          { additionalProperties: false, description: 'What this node asks of peer nodes.' },
        ),
      ),
    },
    { additionalProperties: false },
  ),
);
export type TeamProfileInput = Static<typeof TeamProfileInputSchema>;

export const TeamProfileSchema = named(
  'TeamProfile',
  Type.Object(
    {
      teamId: Type.String(),
      ...TeamProfileInputSchema.properties,
      referencePrefix: Type.String({ description: "Prefix of this team's incident reference numbers." }),
      publicKey: Type.String({ description: "The node's armored OpenPGP public key." }),
      fingerprint: Type.String({ description: 'Fingerprint of the node key, 40 hex digits.' }),
      publicUrl: Type.String({ description: 'Where peers reach this node.' }),
      updatedAt: DateTimeSchema,
    },
    { additionalProperties: false },
  ),
);
export type TeamProfile = Static<typeof TeamProfileSchema>;

export const ProfilePreviewSchema = named(
  'ProfilePreview',
  Type.Object(
    {
      rfc2350: Type.String({ description: 'rfc2350.txt as the draft would serve it.' }),
      securityTxt: Type.String({
        description: 'security.txt as the draft would serve it, before the clear signature the node adds when it serves the saved one.',
      }),
    },
    { additionalProperties: false },
  ),
);
