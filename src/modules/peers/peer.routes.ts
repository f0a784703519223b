import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { ProblemResponse, errorResponses } from '../../../schemas/common.schema.js';
import {
  PeerAddSchema,
  PeerKeyListSchema,
  PeerListQuerySchema,
  PeerListSchema,
  PeerMailAddSchema,
  PeerMailKeySchema,
  PeerPatchSchema,
  PeerSchema,
  PeerTeamIdParamsSchema,
  PeerVerifySchema,
  PeerWithHintSchema,
  SignedProfileSchema,
  type Peer,
  type PeerKeyEntry,
  type SignedProfile,
} from '../../../schemas/peer.schema.js';
import { principalOf, requireRole } from '../../http/auth.js';
import { ProblemError } from '../../http/problem.js';
import type { PeerDetails, PeerKeyRow } from './peer.repository.js';
import { toPeerRecord, type PeerOutcome, type PeerService } from './peer.service.js';
import type { ProfilePublisher } from './signed-profile.js';

export function toWirePeer(peer: PeerDetails): Peer {
  const iso = (d: Date | null) => (d === null ? null : d.toISOString());
  return {
    ...toPeerRecord(peer),
    profileRequiresSealed: peer.profileRequiresSealed,
    sealAlways: peer.sealAlways,
    pendingFingerprint: peer.pendingFingerprint,
    keyChangedAt: iso(peer.keyChangedAt),
    verifiedAt: iso(peer.verifiedAt),
    verifiedBy: peer.verifiedBy,
    profileFetchedAt: iso(peer.profileFetchedAt),
    addedAt: peer.addedAt.toISOString(),
    addedBy: peer.addedBy,
    updatedAt: peer.updatedAt.toISOString(),
  };
}

const withHint = (outcome: PeerOutcome) => ({
  ...toWirePeer(outcome.peer),
  ...(outcome.confirm ? { confirm: outcome.confirm } : {}),
});

const toWireKey = (k: PeerKeyRow): PeerKeyEntry => ({
  fingerprint: k.fingerprint,
  publicKey: k.publicKey,
  how: k.how,
  pinnedAt: k.pinnedAt.toISOString(),
  pinnedBy: k.pinnedBy,
  retiredAt: k.retiredAt === null ? null : k.retiredAt.toISOString(),
});

/** Problems a peer operation can answer besides the generic ones. */
const peerProblems = { 409: ProblemResponse, 422: ProblemResponse, 502: ProblemResponse } as const;

/** /api/v1/peers: a team's handlers manage whom their node exchanges with. */
export function peerApiRoutes(peers: PeerService): FastifyPluginAsync {
  return async (instance) => {
    const app = instance.withTypeProvider<TypeBoxTypeProvider>();
    const actor = (request: Parameters<typeof principalOf>[0]) => principalOf(request).subject;
    await instance.register(peerKeyRoutes(peers));

    app.post(
      '/peers',
      {
        preHandler: requireRole('admin'),
        schema: {
          tags: ['peers'],
          operationId: 'addPeer',
          summary: 'Add a peer: fetch its signed profile from <url>/federation/v1/profile, check the self-signature, pin the key',
          description:
            'The key is pinned with assurance `unverified`. The answer carries the fingerprint and a `confirm` hint: a handler confirms the fingerprint with the team out of band, then calls POST /api/v1/peers/{teamId}/verify.',
          body: PeerAddSchema,
          response: { 201: PeerWithHintSchema, ...errorResponses, ...peerProblems },
        },
      },
      async (request, reply) => {
        const outcome = await peers.add(request.body, actor(request));
        request.log.info({ peer: outcome.peer.teamId, fingerprint: outcome.peer.fingerprint }, 'peer added');
        return reply.code(201).header('location', `/api/v1/peers/${outcome.peer.teamId}`).send(withHint(outcome));
      },
    );

    app.post(
      '/peers/mail',
      {
        preHandler: requireRole('admin'),
        schema: {
          tags: ['peers'],
          operationId: 'addMailPeer',
          summary: 'Add a team without a node: its team id, name, e-mail address and armored OpenPGP public key (ADR 0028)',
          description:
            "Nothing is fetched. The key is pinned with assurance `unverified` (422 peer-key-invalid when it cannot sign and encrypt; 409 fingerprint-mismatch when `fingerprint` is given and is another key's); the answer carries a `confirm` hint, as for POST /api/v1/peers. The team takes every message by signed, encrypted e-mail.",
          body: PeerMailAddSchema,
          response: { 201: PeerWithHintSchema, ...errorResponses, ...peerProblems },
        },
      },
      async (request, reply) => {
        const outcome = await peers.addMail(request.body, actor(request));
        request.log.info({ peer: outcome.peer.teamId, fingerprint: outcome.peer.fingerprint }, 'team without a node added');
        return reply.code(201).header('location', `/api/v1/peers/${outcome.peer.teamId}`).send(withHint(outcome));
      },
    );

    app.get(
      '/peers',
      {
        preHandler: requireRole('reader'),
        schema: {
          tags: ['peers'],
          operationId: 'listPeers',
          summary: 'List peers, by team id',
          querystring: PeerListQuerySchema,
          response: { 200: PeerListSchema, ...errorResponses },
        },
      },
      async (request) => ({ items: (await peers.list(request.query)).map(toWirePeer) }),
    );

    app.get(
      '/peers/:teamId',
      {
        preHandler: requireRole('reader'),
        schema: {
          tags: ['peers'],
          operationId: 'getPeer',
          summary: 'Read a peer',
          params: PeerTeamIdParamsSchema,
          response: { 200: PeerSchema, ...errorResponses },
        },
      },
      async (request) => toWirePeer(await peers.get(request.params.teamId)),
    );

    app.get(
      '/peers/:teamId/profile',
      {
        preHandler: requireRole('reader'),
        schema: {
          tags: ['peers'],
          operationId: 'getPeerProfile',
          summary: "The peer's signed profile exactly as received (re-verifiable)",
          params: PeerTeamIdParamsSchema,
          response: { 200: SignedProfileSchema, ...errorResponses, 409: ProblemResponse },
        },
      },
      async (request, reply) => {
        const peer = await peers.get(request.params.teamId);
        if (peer.signedProfile === null)
          throw new ProblemError('peer-has-no-node', `"${peer.teamId}" is a team without a node: it has no signed profile`);
        // fastify sends a string as is: the bytes the peer served, not a re-serialisation (the
        // cast only tells the type provider so).
        return reply.type('application/json; charset=utf-8').send(peer.signedProfile as unknown as SignedProfile);
      },
    );

    app.get(
      '/peers/:teamId/keys',
      {
        preHandler: requireRole('reader'),
        schema: {
          tags: ['peers'],
          operationId: 'listPeerKeys',
          summary: 'Every key pinned for the peer, oldest first; the current one has no retiredAt',
          params: PeerTeamIdParamsSchema,
          response: { 200: PeerKeyListSchema, ...errorResponses },
        },
      },
      async (request) => ({ items: (await peers.keys(request.params.teamId)).map(toWireKey) }),
    );

    app.patch(
      '/peers/:teamId',
      {
        preHandler: requireRole('admin'),
        schema: {
          tags: ['peers'],
          operationId: 'updatePeer',
          summary: 'Change relationship, trust level, contact URL or sealing',
          description: "A new url must serve this team's profile signed by the pinned key (else 409 fingerprint-mismatch or 422).",
          params: PeerTeamIdParamsSchema,
          body: PeerPatchSchema,
          response: { 200: PeerSchema, ...errorResponses, ...peerProblems },
        },
      },
      async (request) => toWirePeer(await peers.patch(request.params.teamId, request.body, actor(request))),
    );

    app.delete(
      '/peers/:teamId',
      {
        preHandler: requireRole('admin'),
        schema: {
          tags: ['peers'],
          operationId: 'deletePeer',
          summary: 'Remove the peer and its pinned keys (the audit log keeps the record)',
          params: PeerTeamIdParamsSchema,
          response: { 204: { type: 'null', description: 'Removed.' }, ...errorResponses, 409: ProblemResponse },
        },
      },
      async (request, reply) => {
        await peers.remove(request.params.teamId, actor(request));
        return reply.code(204).send(null);
      },
    );
  };
}

/** /federation/v1/profile: public, anyone may fetch it; its signature is what counts. */
/** /api/v1/peers/{teamId}/verify, /refresh, /suspend, /resume: the key and the exchange state of one peer. */
function peerKeyRoutes(peers: PeerService): FastifyPluginAsync {
  return async (instance) => {
    const app = instance.withTypeProvider<TypeBoxTypeProvider>();
    const actor = (request: Parameters<typeof principalOf>[0]) => principalOf(request).subject;
    app.post(
      '/peers/:teamId/verify',
      {
        preHandler: requireRole('admin'),
        schema: {
          tags: ['peers'],
          operationId: 'verifyPeer',
          summary: 'Record that a human confirmed the fingerprint out of band',
          description:
            "The fingerprint must be the pinned key's (assurance becomes verified) or, when the peer is key-changed, the new key's: the new key is then pinned in place of the old. Anything else is 409 fingerprint-mismatch and changes nothing.",
          params: PeerTeamIdParamsSchema,
          body: PeerVerifySchema,
          response: { 200: PeerSchema, ...errorResponses, ...peerProblems },
        },
      },
      async (request) => toWirePeer((await peers.verify(request.params.teamId, request.body.fingerprint, actor(request))).peer),
    );

    app.post(
      '/peers/:teamId/mail-key',
      {
        preHandler: requireRole('admin'),
        schema: {
          tags: ['peers'],
          operationId: 'replaceMailPeerKey',
          summary: 'Pin a new key for a team without a node in place of the old one (ADR 0028)',
          description:
            "Only for a peer of kind mail (409 conflict for a node, which changes keys by a signed key.rotation). The new key must sign and encrypt (422 peer-key-invalid), be `fingerprint`'s when given (409 fingerprint-mismatch), and be no other team's and no key this team retired (409). It keeps the peer's assurance only when the old pinned key certified it; otherwise assurance is unverified and the answer carries a `confirm` hint. Audited `peer.key-replaced`. From then on, replies signed by the old key are quarantined (wrong-key) and queued mail is encrypted to the new key.",
          params: PeerTeamIdParamsSchema,
          body: PeerMailKeySchema,
          response: { 200: PeerWithHintSchema, ...errorResponses, ...peerProblems },
        },
      },
      async (request) => {
        const outcome = await peers.replaceMailKey(request.params.teamId, request.body, actor(request));
        request.log.info({ peer: outcome.peer.teamId, fingerprint: outcome.peer.fingerprint }, 'key of a team without a node replaced');
        return withHint(outcome);
      },
    );

    app.post(
      '/peers/:teamId/refresh',
      {
        preHandler: requireRole('admin'),
        schema: {
          tags: ['peers'],
          operationId: 'refreshPeer',
          summary: "Fetch the peer's profile again (name, sealing); a different key is flagged, never pinned",
          params: PeerTeamIdParamsSchema,
          response: { 200: PeerWithHintSchema, ...errorResponses, ...peerProblems },
        },
      },
      async (request) => withHint(await peers.refresh(request.params.teamId, actor(request))),
    );

    app.post(
      '/peers/:teamId/suspend',
      {
        preHandler: requireRole('admin'),
        schema: {
          tags: ['peers'],
          operationId: 'suspendPeer',
          summary: 'Stop exchanging with the peer (idempotent)',
          params: PeerTeamIdParamsSchema,
          response: { 200: PeerSchema, ...errorResponses },
        },
      },
      async (request) => toWirePeer(await peers.suspend(request.params.teamId, actor(request))),
    );

    app.post(
      '/peers/:teamId/resume',
      {
        preHandler: requireRole('admin'),
        schema: {
          tags: ['peers'],
          operationId: 'resumePeer',
          summary: 'Resume exchanging with a suspended peer (back to key-changed if a key change was flagged meanwhile)',
          params: PeerTeamIdParamsSchema,
          response: { 200: PeerSchema, ...errorResponses, 409: ProblemResponse },
        },
      },
      async (request) => toWirePeer(await peers.resume(request.params.teamId, actor(request))),
    );
  };
}

export function peerFederationRoutes(publisher: ProfilePublisher): FastifyPluginAsync {
  return async (instance) => {
    const app = instance.withTypeProvider<TypeBoxTypeProvider>();
    app.get(
      '/profile',
      {
        schema: {
          tags: ['federation'],
          operationId: 'getSignedProfile',
          summary: "This node's team profile, signed by its own key (a self-signature)",
          description:
            "Verify the signature against document.profile.publicKey, check that the key's fingerprint equals document.profile.fingerprint, then confirm that fingerprint with the team out of band.",
          // 429: /federation/v1 takes a limited number of requests per source address (app.ts).
          response: { 200: SignedProfileSchema, 429: ProblemResponse, 503: ProblemResponse },
        },
      },
      // Sent as the signed text itself (fastify does not re-serialise strings).
      async (_request, reply) =>
        reply.type('application/json; charset=utf-8').send((await publisher.current()) as unknown as SignedProfile),
    );
  };
}
