import Type, { type Static } from 'typebox';
import { DateTimeSchema, named } from './common.schema.js';
import { ASSURANCES, RELATIONSHIPS, TRUST_LEVELS } from './policy.schema.js';
import { TeamProfileInputSchema, TeamTypeSchema } from './profile.schema.js';

/**
 * Federation identity: the signed profile a node publishes at GET /federation/v1/profile, and
 * the peers (other teams' nodes) it has pinned a key for. docs/federation-protocol.md
 * ("Identity") is the normative description; these schemas are its machine-readable form.
 */

export const TeamIdSchema = Type.String({
  pattern: '^[a-z0-9][a-z0-9-]{1,62}$',
  description: 'A team id: lower-case letters, digits and hyphens, 2-63 characters.',
});
export const FingerprintSchema = Type.String({
  pattern: '^[0-9A-F]{40}$',
  description: 'OpenPGP v4 primary key fingerprint: 40 upper-case hex digits.',
});
const BaseUrlSchema = Type.String({ minLength: 8, maxLength: 2048, pattern: '^https?://' });
/** Real keys are a few KiB; the same bound src/crypto applies when parsing. */
const ArmoredPublicKeySchema = Type.String({
  minLength: 1,
  maxLength: 1024 * 1024,
  description: 'Armored OpenPGP public key (v4).',
});
const ArmoredSignatureSchema = Type.String({
  minLength: 1,
  maxLength: 64 * 1024,
  description: 'Armored OpenPGP detached signature.',
});

// ---------------------------------------------------------------------------------------------
// The signed profile (wire format between nodes)

export const ProfileFederationSchema = named(
  'ProfileFederation',
  Type.Object(
    {
      requiresSealed: Type.Boolean({ description: 'The node asks peers to seal every message to it, whatever the TLP.' }),
      endpoint: Type.String({
        pattern: '^https?://',
        maxLength: 2100,
        description: 'Base of the federation API: publicUrl + "/federation/v1".',
      }),
    },
    { additionalProperties: false },
  ),
);

const p = TeamProfileInputSchema.properties;
export const PublishedProfileSchema = named(
  'PublishedProfile',
  Type.Object(
    {
      teamId: TeamIdSchema,
      name: p.name,
      shortName: p.shortName,
      type: TeamTypeSchema,
      country: p.country,
      timeZone: p.timeZone,
      languages: p.languages,
      contacts: p.contacts,
      constituency: p.constituency,
      referencePrefix: Type.String({
        pattern: '^[A-Z0-9][A-Z0-9-]{0,15}$',
        description: "Prefix of the team's incident reference numbers.",
      }),
      publicUrl: BaseUrlSchema,
      publicKey: ArmoredPublicKeySchema,
      fingerprint: FingerprintSchema,
      updatedAt: DateTimeSchema,
      federation: ProfileFederationSchema,
      // Every section of the RFC 2350 description is signed with the rest (issue 13): the
      // rfc2350.txt a team serves is then what its signed profile says, not only its contacts.
      charter: Type.Object(
        {
          mission: p.mission,
          sponsorship: p.sponsorship,
          affiliation: p.affiliation,
          authority: p.authority,
        },
        { additionalProperties: false, description: 'RFC 2350 §3 (the constituency is `constituency`).' },
      ),
      members: p.members,
      policies: p.policies,
      services: p.services,
      reportingForms: p.reportingForms,
      disclaimers: p.disclaimers,
    },
    { additionalProperties: false, description: "The part of a team's profile it publishes to other nodes: every RFC 2350 section." },
  ),
);
export type PublishedProfile = Static<typeof PublishedProfileSchema>;

export const ProfileDocumentSchema = named(
  'ProfileDocument',
  Type.Object(
    {
      v: Type.Literal(1),
      type: Type.Literal('profile'),
      from: TeamIdSchema,
      created: DateTimeSchema,
      profile: PublishedProfileSchema,
    },
    { additionalProperties: false, description: 'Signed by the key it carries (profile.publicKey): a self-signature.' },
  ),
);
export type ProfileDocument = Static<typeof ProfileDocumentSchema>;

export const SignedProfileSchema = named(
  'SignedProfile',
  Type.Object(
    { document: ProfileDocumentSchema, signature: ArmoredSignatureSchema },
    {
      additionalProperties: false,
      description:
        'A signed document: `signature` is an OpenPGP detached signature over the RFC 8785 canonical bytes of `document`, by the key in `document.profile.publicKey`.',
    },
  ),
);
export type SignedProfile = Static<typeof SignedProfileSchema>;

// ---------------------------------------------------------------------------------------------
// Peers (/api/v1/peers)

// The policy's vocabulary (schemas/policy.schema.ts) is the one source of these values: the
// peer table stores what the sharing policy decides on.
export const PEER_RELATIONSHIPS = RELATIONSHIPS;
export const PEER_TRUST_LEVELS = TRUST_LEVELS;
export const PEER_ASSURANCES = ASSURANCES;
export const PEER_STATUSES = ['active', 'suspended', 'key-changed'] as const;
export const PEER_KEY_ORIGINS = ['added', 'rotation', 'reverified', 'replaced'] as const;

export const PeerRelationshipSchema = Type.Enum(PEER_RELATIONSHIPS, {
  description: 'coordinator: the team coordinates us; member: we coordinate it; peer: lateral.',
});
export const PeerTrustLevelSchema = Type.Enum(PEER_TRUST_LEVELS, {
  description: 'Ordered unknown < community < partner < close; decides what the peer may receive (capped by assurance).',
});
export const PeerAssuranceSchema = Type.Enum(PEER_ASSURANCES, {
  description:
    'How sure we are of the key: unverified (only fetched), introduced (vouched for by trusted teams), verified (confirmed out of band).',
});
export const PeerStatusSchema = Type.Enum(PEER_STATUSES, {
  description:
    'active: exchange allowed; suspended: stopped by a handler; key-changed: a key other than the pinned one was seen without a signed rotation, nothing from it is processed until re-verified.',
});

const nullableDate = Type.Union([DateTimeSchema, Type.Null()]);

export const PEER_KINDS = ['node', 'mail'] as const;
export const PeerKindSchema = Type.Enum(PEER_KINDS, {
  description:
    'node: a team whose node we exchange with (added from its signed profile); mail: a team without a node, added from its e-mail address and OpenPGP key, that takes everything by signed e-mail (ADR 0028).',
});

export const PeerSchema = named(
  'Peer',
  Type.Object(
    {
      teamId: TeamIdSchema,
      kind: PeerKindSchema,
      name: Type.String(),
      url: Type.Union([Type.String(), Type.Null()], { description: "Base URL of the peer's node; null for a team without a node." }),
      fingerprint: FingerprintSchema,
      publicKey: Type.String({ description: 'The pinned armored public key.' }),
      relationship: PeerRelationshipSchema,
      trustLevel: PeerTrustLevelSchema,
      assurance: PeerAssuranceSchema,
      status: PeerStatusSchema,
      requiresSealed: Type.Boolean({
        description: 'Messages to this peer travel sealed: its profile asks for it, or sealAlways is set.',
      }),
      profileRequiresSealed: Type.Boolean({ description: "What the peer's signed profile asks for." }),
      sealAlways: Type.Boolean({ description: 'Our own decision to seal every message to this peer.' }),
      email: Type.Union([Type.String(), Type.Null()], {
        description: 'Where the peer takes signed e-mail (PGP/MIME, RFC 3156); null: no e-mail channel. ADR 0025.',
      }),
      mailOnly: Type.Boolean({
        description: 'Messages go to this peer by e-mail only (its node is not reachable from here, or it has none).',
      }),
      pendingFingerprint: Type.Union([FingerprintSchema, Type.Null()], {
        description:
          'The key seen instead of the pinned one (status key-changed, or suspended after a key change); null when unknown or none.',
      }),
      keyChangedAt: nullableDate,
      verifiedAt: nullableDate,
      verifiedBy: Type.Union([Type.String(), Type.Null()]),
      profileFetchedAt: Type.Union([DateTimeSchema, Type.Null()], {
        description: 'When its signed profile was fetched; null for a team without a node (it has none).',
      }),
      addedAt: DateTimeSchema,
      addedBy: Type.String(),
      updatedAt: DateTimeSchema,
    },
    { additionalProperties: false },
  ),
);
export type Peer = Static<typeof PeerSchema>;

export const PeerWithHintSchema = named(
  'PeerWithHint',
  Type.Object(
    {
      ...PeerSchema.properties,
      confirm: Type.Optional(Type.String({ description: 'What a handler must confirm out of band before verifying.' })),
    },
    { additionalProperties: false },
  ),
);
export type PeerWithHint = Static<typeof PeerWithHintSchema>;

export const PeerListSchema = named('PeerList', Type.Object({ items: Type.Array(PeerSchema) }, { additionalProperties: false }));

export const PeerListQuerySchema = Type.Object(
  {
    status: Type.Optional(PeerStatusSchema),
    relationship: Type.Optional(PeerRelationshipSchema),
  },
  { additionalProperties: false },
);
export type PeerListQuery = Static<typeof PeerListQuerySchema>;

export const PeerAddSchema = named(
  'PeerAdd',
  Type.Object(
    {
      url: Type.String({
        minLength: 8,
        maxLength: 2048,
        pattern: '^https?://',
        description: "Base URL of the peer's node; its profile is fetched from <url>/federation/v1/profile.",
      }),
      relationship: Type.Optional(PeerRelationshipSchema),
      trustLevel: Type.Optional(PeerTrustLevelSchema),
    },
    { additionalProperties: false },
  ),
);
export type PeerAdd = Static<typeof PeerAddSchema>;

export const PeerMailAddSchema = named(
  'PeerMailAdd',
  Type.Object(
    {
      teamId: TeamIdSchema,
      name: Type.String({ minLength: 1, maxLength: 200, description: "The team's name." }),
      email: Type.String({
        minLength: 3,
        maxLength: 254,
        pattern: '^[^\\s@<>]+@[^\\s@<>]+$',
        description: 'Where the team reads signed e-mail (PGP/MIME, RFC 3156).',
      }),
      publicKey: Type.String({
        minLength: 1,
        maxLength: 1024 * 1024,
        description: "The team's armored OpenPGP public key (v4, with an encryption subkey), e.g. from `gpg --armor --export`.",
      }),
      fingerprint: Type.Optional(
        Type.String({
          minLength: 40,
          maxLength: 100,
          pattern: '^[0-9A-Fa-f ]+$',
          description:
            'The fingerprint the handler expects (spaces and lower case accepted): the key is refused (409 fingerprint-mismatch) when it is another. The key is still pinned unverified until POST /api/v1/peers/{teamId}/verify.',
        }),
      ),
      relationship: Type.Optional(PeerRelationshipSchema),
      trustLevel: Type.Optional(PeerTrustLevelSchema),
    },
    { additionalProperties: false },
  ),
);
export type PeerMailAdd = Static<typeof PeerMailAddSchema>;

export const PeerMailKeySchema = named(
  'PeerMailKey',
  Type.Object(
    {
      publicKey: Type.String({
        minLength: 1,
        maxLength: 1024 * 1024,
        description:
          "The team's new armored OpenPGP public key (v4, with an encryption subkey). It keeps the peer's assurance only when the pinned (old) key certified it (`gpg --local-user <old> --sign-key <new>`); otherwise it is pinned unverified.",
      }),
      fingerprint: Type.Optional(
        Type.String({
          minLength: 40,
          maxLength: 100,
          pattern: '^[0-9A-Fa-f ]+$',
          description:
            'The fingerprint the admin expects (spaces and lower case accepted): 409 fingerprint-mismatch when the key is another.',
        }),
      ),
    },
    { additionalProperties: false },
  ),
);
export type PeerMailKey = Static<typeof PeerMailKeySchema>;

export const PeerPatchSchema = named(
  'PeerPatch',
  Type.Object(
    {
      relationship: Type.Optional(PeerRelationshipSchema),
      trustLevel: Type.Optional(PeerTrustLevelSchema),
      url: Type.Optional(
        Type.String({
          minLength: 8,
          maxLength: 2048,
          pattern: '^https?://',
          description: 'New base URL; it must serve a profile signed by the pinned key.',
        }),
      ),
      sealAlways: Type.Optional(Type.Boolean()),
      email: Type.Optional(
        Type.Union([Type.String({ minLength: 3, maxLength: 254, pattern: '^[^\\s@<>]+@[^\\s@<>]+$' }), Type.Null()], {
          description: "The peer's address for signed e-mail; null removes it.",
        }),
      ),
      mailOnly: Type.Optional(Type.Boolean({ description: 'Send to this peer by e-mail only (needs an email).' })),
    },
    { additionalProperties: false, minProperties: 1 },
  ),
);
export type PeerPatch = Static<typeof PeerPatchSchema>;

export const PeerVerifySchema = named(
  'PeerVerify',
  Type.Object(
    {
      fingerprint: Type.String({
        minLength: 40,
        maxLength: 100,
        pattern: '^[0-9A-Fa-f ]+$',
        description: 'The fingerprint the handler confirmed out of band; spaces and lower case are accepted.',
      }),
    },
    { additionalProperties: false },
  ),
);
export type PeerVerify = Static<typeof PeerVerifySchema>;

export const PeerTeamIdParamsSchema = Type.Object({ teamId: TeamIdSchema }, { additionalProperties: false });

export const PeerKeySchema = named(
  'PeerKey',
  Type.Object(
    {
      fingerprint: FingerprintSchema,
      publicKey: Type.String(),
      how: Type.Enum(PEER_KEY_ORIGINS, {
        description:
          'added: from the profile when the peer was added; rotation: announced by a key.rotation signed by the previous key; reverified: confirmed by a handler after a key change; replaced: an admin replaced the key of a team without a node (POST /api/v1/peers/{teamId}/mail-key).',
      }),
      pinnedAt: DateTimeSchema,
      pinnedBy: Type.String(),
      retiredAt: nullableDate,
    },
    { additionalProperties: false },
  ),
);
export type PeerKeyEntry = Static<typeof PeerKeySchema>;
export const PeerKeyListSchema = named('PeerKeyList', Type.Object({ items: Type.Array(PeerKeySchema) }, { additionalProperties: false }));

// ---------------------------------------------------------------------------------------------
// Introductions and vouches (/api/v1/peers/{teamId}/introductions, /vouches; issue 14 part 4)

export const VOUCH_KINDS = ['introduction', 'roster'] as const;
export const VOUCH_STANDINGS = [
  'counts',
  'withdrawn',
  'other-key',
  'key-in-doubt',
  'voucher-not-a-peer',
  'voucher-not-verified',
  'voucher-not-active',
  'subject-not-a-peer',
] as const;

const VouchesForSchema = Type.String({
  minLength: 1,
  maxLength: 500,
  description: 'What we vouch for, in words (e.g. "fingerprint confirmed in person at FIRST 2026"); sent with the introduction.',
});

export const IntroductionSendSchema = named(
  'IntroductionSend',
  Type.Object(
    {
      to: Type.Union(
        [
          Type.Array(TeamIdSchema, { minItems: 1, maxItems: 500, uniqueItems: true, description: 'Active peers to tell, by team id.' }),
          Type.Literal('verified-peers', { description: 'Every active peer whose key we verified, except the team introduced.' }),
        ],
        { description: 'Whom to introduce the team to.' },
      ),
      vouchesFor: Type.Optional(VouchesForSchema),
    },
    { additionalProperties: false },
  ),
);
export type IntroductionSend = Static<typeof IntroductionSendSchema>;

export const IntroductionsSentSchema = named(
  'IntroductionsSent',
  Type.Object(
    {
      subject: TeamIdSchema,
      items: Type.Array(
        Type.Object(
          {
            to: TeamIdSchema,
            fingerprint: FingerprintSchema,
            messageId: Type.Union([Type.String({ format: 'uuid' }), Type.Null()], {
              description: 'The peer.introduction queued for that peer; null for a withdrawal that could not be sent (no longer a peer).',
            }),
            withdrawn: Type.Boolean(),
          },
          { additionalProperties: false },
        ),
      ),
    },
    { additionalProperties: false, description: 'One peer.introduction per peer, queued in the outbox.' },
  ),
);

export const VouchSchema = named(
  'Vouch',
  Type.Object(
    {
      kind: Type.Enum(VOUCH_KINDS, {
        description: "introduction: a peer.introduction the voucher signed; roster: a forum's signed roster lists the key.",
      }),
      voucher: Type.String({ description: 'The introducing team, or the forum.' }),
      fingerprint: FingerprintSchema,
      vouchesFor: Type.Union([Type.String(), Type.Null()]),
      counts: Type.Boolean({ description: 'Whether this vouch counts towards assurance introduced now.' }),
      standing: Type.Enum(VOUCH_STANDINGS, {
        description:
          'Why it counts or not: counts; withdrawn; other-key (not the key we pin); key-in-doubt (a key change is flagged); voucher-not-a-peer, -not-verified, -not-active; subject-not-a-peer (kept for when the team is added).',
      }),
      withdrawn: Type.Boolean(),
      withdrawnAt: nullableDate,
      statedAt: DateTimeSchema,
      createdAt: DateTimeSchema,
      updatedAt: DateTimeSchema,
      messageId: Type.Union([Type.String({ format: 'uuid' }), Type.Null()]),
      statement: Type.Union(
        [
          Type.Object(
            { document: Type.String(), signature: Type.String() },
            {
              additionalProperties: false,
              description: 'The RFC 8785 text of the signed document as received and its detached signature.',
            },
          ),
          Type.Null(),
        ],
        { description: 'The newest signed statement (introduction or withdrawal); null for a roster vouch (the forum keeps the roster).' },
      ),
    },
    { additionalProperties: false },
  ),
);

export const VouchReportSchema = named(
  'VouchReport',
  Type.Object(
    {
      teamId: TeamIdSchema,
      assurance: Type.Union([PeerAssuranceSchema, Type.Null()], { description: 'The stored assurance; null when the team is not a peer.' }),
      fingerprint: Type.Union([FingerprintSchema, Type.Null()], { description: 'The key we pin for the team; null when not a peer.' }),
      needed: Type.Integer({ description: 'Introductions needed (HIKESHI_INTRODUCTIONS_NEEDED).' }),
      counting: Type.Object(
        {
          roster: Type.Array(Type.String(), { description: 'Forums whose roster vouch counts.' }),
          introductions: Type.Array(Type.String(), { description: 'Teams whose introduction counts.' }),
        },
        { additionalProperties: false },
      ),
      reason: Type.Union([Type.String(), Type.Null()], { description: 'The assurance rule in words.' }),
      items: Type.Array(VouchSchema),
      sent: Type.Array(
        Type.Object(
          {
            to: TeamIdSchema,
            fingerprint: FingerprintSchema,
            messageId: Type.String({ format: 'uuid' }),
            vouchesFor: Type.Union([Type.String(), Type.Null()]),
            sentAt: DateTimeSchema,
            sentBy: Type.String(),
            withdrawnAt: nullableDate,
          },
          { additionalProperties: false },
        ),
        { description: 'The introductions of this team we sent.' },
      ),
    },
    { additionalProperties: false },
  ),
);
export type VouchReportWire = Static<typeof VouchReportSchema>;
