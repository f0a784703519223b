import {
  canonicalize,
  DEFAULT_MAX_CLOCK_SKEW_MS,
  InvalidKeyError,
  readPeerKey,
  signDocument,
  verifyDocumentSignature,
  type NodeSigner,
  type PeerKey,
} from '../../crypto/index.js';
import { ProblemError } from '../../http/problem.js';
import type { TeamProfile } from '../../../schemas/profile.schema.js';
import { ProfileDocumentSchema, type ProfileDocument, type PublishedProfile } from '../../../schemas/peer.schema.js';
import { compileOnFirstUse } from '../../util/compile-on-first-use.js';

/**
 * The node's signed team profile: what a peer fetches to learn who we are and which key to pin.
 * It is self-signed (by the key it carries), which proves only that whoever serves it holds that
 * key; that the key belongs to the team is what a human confirms out of band (the fingerprint).
 */

export function publishedProfileOf(profile: TeamProfile, signer: Pick<NodeSigner, 'armoredPublicKey' | 'fingerprint'>): PublishedProfile {
  return {
    teamId: profile.teamId,
    name: profile.name,
    shortName: profile.shortName,
    type: profile.type,
    country: profile.country,
    timeZone: profile.timeZone,
    languages: profile.languages,
    contacts: profile.contacts,
    constituency: profile.constituency,
    referencePrefix: profile.referencePrefix,
    publicUrl: profile.publicUrl,
    // The signing key, not the key column of the profile row: the published key must be the one
    // that made the signature, or the document could never verify.
    publicKey: signer.armoredPublicKey,
    fingerprint: signer.fingerprint,
    updatedAt: profile.updatedAt,
    charter: {
      mission: profile.mission,
      ...(profile.sponsorship ? { sponsorship: profile.sponsorship } : {}),
      ...(profile.affiliation ? { affiliation: profile.affiliation } : {}),
      ...(profile.authority ? { authority: profile.authority } : {}),
    },
    ...(profile.members ? { members: profile.members } : {}),
    policies: profile.policies,
    ...(profile.services ? { services: profile.services } : {}),
    ...(profile.reportingForms ? { reportingForms: profile.reportingForms } : {}),
    ...(profile.disclaimers ? { disclaimers: profile.disclaimers } : {}),
    federation: {
      requiresSealed: profile.federation?.requiresSealed ?? false,
      endpoint: `${profile.publicUrl.replace(/\/+$/, '')}/federation/v1`,
    },
  };
}

export interface ProfilePublisher {
  /** The signed profile as JSON text, ready to send. */
  current(): Promise<string>;
}

/**
 * Signs once per profile version rather than per request: a signature costs a few
 * milliseconds, and the profile endpoint is public. `created` is therefore the time this
 * version was first signed by this process.
 */
export function createProfilePublisher(deps: {
  profiles: { get(): Promise<TeamProfile> };
  signer: NodeSigner;
  clock: () => Date;
}): ProfilePublisher {
  let cached: { canonicalProfile: string; text: string } | null = null;
  return {
    async current() {
      const profile = publishedProfileOf(await deps.profiles.get(), deps.signer);
      const canonicalProfile = canonicalize(profile);
      if (cached?.canonicalProfile === canonicalProfile) return cached.text;
      const document: ProfileDocument = {
        v: 1,
        type: 'profile',
        from: profile.teamId,
        created: deps.clock().toISOString(),
        profile,
      };
      const envelope = await signDocument(document, deps.signer);
      cached = { canonicalProfile, text: JSON.stringify(envelope) };
      return cached.text;
    },
  };
}

const checkProfileDocument = compileOnFirstUse(ProfileDocumentSchema);

export interface VerifiedProfile {
  document: ProfileDocument;
  key: PeerKey;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const invalid = (detail: string) => new ProblemError('peer-profile-invalid', detail);

/**
 * Checks a received signed profile. The signature is checked first, against the key the
 * document itself carries, and only then the schema: nothing is stripped, coerced or
 * defaulted before the signature is known to cover exactly what was received.
 *
 * @throws ProblemError 'peer-profile-invalid' with a detail naming the first failed check.
 */
export async function verifySignedProfile(envelope: unknown, now: Date): Promise<VerifiedProfile> {
  if (!isPlainObject(envelope) || !isPlainObject(envelope['document'])) {
    throw invalid('the profile is not a signed document { document, signature }');
  }
  const document = envelope['document'];
  const profile = document['profile'];
  if (!isPlainObject(profile) || typeof profile['publicKey'] !== 'string') {
    throw invalid('the profile document carries no public key');
  }
  let key: PeerKey;
  try {
    key = await readPeerKey(profile['publicKey']);
  } catch (err) {
    if (err instanceof InvalidKeyError) throw invalid(`the profile's public key is not usable: ${err.message}`);
    throw err;
  }
  const verdict = await verifyDocumentSignature(envelope, key, { now });
  if (!verdict.ok) {
    const why = {
      malformed: 'the signed document is malformed',
      'wrong-key': 'the profile is not signed by the key it carries',
      'bad-signature': 'the profile signature does not verify',
    }[verdict.reason];
    throw invalid(why);
  }
  if (profile['fingerprint'] !== key.fingerprint) {
    throw invalid(`the profile names fingerprint ${String(profile['fingerprint']).slice(0, 40)} but its key is ${key.fingerprint}`);
  }
  if (!checkProfileDocument.Check(document)) {
    const errors = [...checkProfileDocument.Errors(document)].slice(0, 5).map((e) => `${e.instancePath || '/'} ${e.message}`);
    throw invalid(`the profile document does not match the v1 schema: ${errors.join('; ')}`);
  }
  const checked = document as ProfileDocument;
  if (checked.from !== checked.profile.teamId) {
    throw invalid(`the document is from "${checked.from}" but describes team "${checked.profile.teamId}"`);
  }
  if (Date.parse(checked.created) > now.getTime() + DEFAULT_MAX_CLOCK_SKEW_MS) {
    throw invalid('the profile was created in the future');
  }
  return { document: checked, key };
}

/** "ABCD 1234 ..." as GnuPG prints it: easier to read aloud on the phone. */
export function groupFingerprint(fingerprint: string): string {
  const groups = fingerprint.match(/.{1,4}/g) ?? [fingerprint];
  return `${groups.slice(0, 5).join(' ')}  ${groups.slice(5).join(' ')}`.trim();
}
