import Type, { type Static } from 'typebox';
import { TlpSchema, named } from './common.schema.js';

/**
 * Relays and signed provenance (issue 15 parts 2 and 3; docs/federation-protocol.md §5.18, §5.21, §5.22;
 * ADR 0020). A team asks a team it trusts to pass a report on to a target team (or to whoever
 * serves an address); the relay forwards the originator's signed document intact inside a
 * `relay.forward` of its own, with the chain of hops each team signed, and the target's receipt
 * travels back as `relay.delivered` (or the refusal as `relay.refused`). Every object is closed.
 *
 * This file does not import federation.schema.ts (which imports it): the originator's document
 * inside a forward is an open object here, checked against the incident.report schema only
 * after its signature verified (§3.4).
 */

const TeamIdSchema = Type.String({ pattern: '^[a-z0-9][a-z0-9-]{1,62}$', description: 'A team id.' });
const RefSchema = (description: string) => Type.String({ minLength: 1, maxLength: 200, description });
const UtcSchema = Type.String({
  format: 'date-time',
  pattern: '^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}(\\.\\d{1,9})?Z$',
  description: 'RFC 3339 date-time in UTC (ending in Z).',
});
const Sha256HexSchema = Type.String({ pattern: '^[0-9a-f]{64}$', description: 'SHA-256, lower-case hex.' });
const ArmoredSignatureSchema = Type.String({
  minLength: 1,
  maxLength: 64 * 1024,
  description: 'Armored OpenPGP detached signature over the RFC 8785 canonical bytes of the statement or document.',
});
const IpAddressSchema = Type.String({
  minLength: 2,
  maxLength: 45,
  pattern: '^[0-9A-Fa-f:.]+$',
  description: 'An IPv4 or IPv6 address.',
});

export const HOP_STATEMENT_TYPE = 'provenance.hop';

/**
 * What one team signs when it passes a report on: content-free (no incident data), so it can be
 * shown and re-verified anywhere. `prev` is the SHA-256 of the previous hop statement's canonical
 * bytes (null for the originator's), which makes the hops a chain no one can reorder or splice.
 */
export const HopStatementSchema = named(
  'HopStatement',
  Type.Object(
    {
      type: Type.Literal(HOP_STATEMENT_TYPE),
      team: TeamIdSchema,
      ref: RefSchema("The team's reference number for its copy (the originator's: the incident's)."),
      tlp: TlpSchema,
      at: UtcSchema,
      to: TeamIdSchema,
      prev: Type.Union([Sha256HexSchema, Type.Null()]),
    },
    { additionalProperties: false },
  ),
);
export type HopStatement = Static<typeof HopStatementSchema>;

/**
 * One entry of a report's `provenance` on the wire: an older, unsigned hop `{team, tlp, at?}`, or
 * a signed hop that carries the members of its statement and the signature over it.
 */
export const ReportProvenanceHopSchema = named(
  'ReportProvenanceHop',
  Type.Object(
    {
      team: TeamIdSchema,
      tlp: TlpSchema,
      at: Type.Optional(UtcSchema),
      ref: Type.Optional(RefSchema('Signed hops: the hop team’s reference number.')),
      to: Type.Optional(TeamIdSchema),
      prev: Type.Optional(Type.Union([Sha256HexSchema, Type.Null()])),
      signature: Type.Optional(ArmoredSignatureSchema),
    },
    {
      additionalProperties: false,
      description:
        'A hop of the path: team, label and time; a signed hop also has ref, to, prev and the signature of the team over {type:"provenance.hop", team, ref, tlp, at, to, prev}.',
    },
  ),
);
export type ReportProvenanceHop = Static<typeof ReportProvenanceHopSchema>;

/** A signed hop: every member present. */
export interface SignedHop {
  team: string;
  tlp: HopStatement['tlp'];
  at: string;
  ref: string;
  to: string;
  prev: string | null;
  signature: string;
}

/** Whom the originator asks the relay to reach: a team, or whoever serves an address. */
export const RelayTargetSchema = named(
  'RelayTarget',
  Type.Union(
    [
      Type.Object({ team: TeamIdSchema }, { additionalProperties: false }),
      Type.Object({ address: IpAddressSchema }, { additionalProperties: false }),
    ],
    { description: '{team}: that team; {address}: the team whose constituency holds the address.' },
  ),
);
export type RelayTarget = Static<typeof RelayTargetSchema>;

const SignedDocumentSchema = (description: string) =>
  Type.Object(
    {
      document: Type.Object({}, { additionalProperties: true, description: 'A message document, exactly as its sender signed it.' }),
      signature: ArmoredSignatureSchema,
    },
    { additionalProperties: false, description },
  );

const ArmoredKeySchema = Type.String({ minLength: 1, maxLength: 64 * 1024, description: 'An armored OpenPGP public key (v4).' });

/** relay.forward: the originator's signed report intact, the signed hops, and keys the target may lack. */
export const RelayForwardBodySchema = named(
  'RelayForwardBody',
  Type.Object(
    {
      origin: SignedDocumentSchema(
        "The originator's incident.report (with relayTo), document and signature exactly as the first relay received them.",
      ),
      hops: Type.Array(ReportProvenanceHopSchema, {
        minItems: 2,
        maxItems: 100,
        description: "Signed hops, the originator's first, the sender's last (its `to` is the receiver).",
      }),
      keys: Type.Optional(
        Type.Record(TeamIdSchema, ArmoredKeySchema, {
          maxProperties: 100,
          description:
            'Public keys of hop teams (and the originator) the receiver may not have pinned, vouched for by the sender’s signature on this document.',
        }),
      ),
    },
    { additionalProperties: false },
  ),
);
export type RelayForwardBody = Static<typeof RelayForwardBodySchema>;

const OriginRefSchema = Type.Object(
  {
    team: TeamIdSchema,
    id: Type.String({ format: 'uuid', description: "The originator's message id: the relay's identity on every node of the path." }),
    ref: RefSchema("The originator's reference number."),
  },
  { additionalProperties: false },
);

/** relay.delivered: the target filed the report; its signed receipt travels back intact. */
export const RelayDeliveredBodySchema = named(
  'RelayDeliveredBody',
  Type.Object(
    {
      origin: OriginRefSchema,
      target: TeamIdSchema,
      targetRef: RefSchema("The target's reference number for its copy."),
      receipt: Type.Optional(
        SignedDocumentSchema(
          "The target's signed receipt for the relay.forward it got, exactly as received; absent when the relay itself serves the address asked for (its receipt for the request is the proof).",
        ),
      ),
      path: Type.Array(TeamIdSchema, { minItems: 1, maxItems: 100, description: 'The relays, from the first to the one that delivered.' }),
    },
    { additionalProperties: false },
  ),
);
export type RelayDeliveredBody = Static<typeof RelayDeliveredBodySchema>;

/** relay.refused: a relay's policy refused to pass the report on; the reasons in words. */
export const RelayRefusedBodySchema = named(
  'RelayRefusedBody',
  Type.Object(
    {
      origin: OriginRefSchema,
      by: TeamIdSchema,
      target: RelayTargetSchema,
      reasons: Type.Array(Type.String({ maxLength: 2000 }), { maxItems: 100 }),
      deniedBy: Type.Array(Type.String({ maxLength: 100 }), { maxItems: 100 }),
      policyVersion: Type.String({ maxLength: 200 }),
    },
    { additionalProperties: false },
  ),
);
export type RelayRefusedBody = Static<typeof RelayRefusedBodySchema>;

// ---------------------------------------------------------------------------------------------
// /api/v1

export const RelayCreateSchema = named(
  'RelayCreate',
  Type.Union(
    [
      Type.Object({ via: TeamIdSchema, to: TeamIdSchema }, { additionalProperties: false }),
      Type.Object({ via: TeamIdSchema, address: IpAddressSchema }, { additionalProperties: false }),
    ],
    { description: 'Ask the peer `via` to pass the incident on to team `to`, or to whoever serves `address`.' },
  ),
);
export type RelayCreate = Static<typeof RelayCreateSchema>;

export const RELAY_ROLES = ['requested', 'relayed', 'received'] as const;
export const RELAY_STATES = ['requested', 'forwarded', 'delivered', 'refused'] as const;

export const RelaySchema = named(
  'Relay',
  Type.Object(
    {
      origin: OriginRefSchema,
      role: Type.Enum(RELAY_ROLES, {
        description: 'requested: we asked for it; relayed: we passed it on; received: we are the target.',
      }),
      state: Type.Enum(RELAY_STATES),
      requestedFrom: Type.Union([TeamIdSchema, Type.Null()], { description: 'The team that asked us to relay (null where we asked).' }),
      via: Type.Union([TeamIdSchema, Type.Null()], { description: 'Where we sent it: the relay, or the next hop.' }),
      target: RelayTargetSchema,
      targetTeam: Type.Union([TeamIdSchema, Type.Null()]),
      targetRef: Type.Union([RefSchema("The target's reference number."), Type.Null()]),
      messageId: Type.Union([Type.String({ format: 'uuid' }), Type.Null()]),
      reasons: Type.Array(Type.String()),
      deniedBy: Type.Array(Type.String()),
      refusedBy: Type.Union([TeamIdSchema, Type.Null()]),
      createdAt: Type.String({ format: 'date-time' }),
      updatedAt: Type.String({ format: 'date-time' }),
    },
    { additionalProperties: false },
  ),
);
export type Relay = Static<typeof RelaySchema>;

export const ProvenanceHopViewSchema = named(
  'ProvenanceHopView',
  Type.Object(
    {
      team: TeamIdSchema,
      tlp: TlpSchema,
      at: Type.Union([Type.String(), Type.Null()]),
      ref: Type.Union([Type.String(), Type.Null()]),
      to: Type.Union([TeamIdSchema, Type.Null()]),
      signed: Type.Boolean(),
      verified: Type.Boolean({ description: 'The signature verified, and the hop chains to the one before.' }),
      keySource: Type.Union([Type.Enum(['pinned', 'roster', 'introduced', 'self']), Type.Null()], {
        description:
          'pinned: a peer key here; roster: carried by the relay, with the fingerprint a forum roster we hold lists for the team (its operator signed it); introduced: carried by the relay and vouched for by its signature only; self: our own hop.',
      }),
      fingerprint: Type.Union([Type.String(), Type.Null()]),
      signature: Type.Union([Type.String(), Type.Null()]),
    },
    { additionalProperties: false },
  ),
);
export type ProvenanceHopView = Static<typeof ProvenanceHopViewSchema>;

export const ProvenanceViewSchema = named(
  'ProvenanceView',
  Type.Object(
    {
      ref: Type.String(),
      originator: Type.Union([TeamIdSchema, Type.Null()], { description: 'Null: our own incident.' }),
      hops: Type.Array(ProvenanceHopViewSchema),
    },
    { additionalProperties: false },
  ),
);
export type ProvenanceView = Static<typeof ProvenanceViewSchema>;
