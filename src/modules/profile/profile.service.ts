import { isDeepStrictEqual } from 'node:util';
import type { Config } from '../../config.js';
import type { Db } from '../../db/database.js';
import type { AuditLog } from '../audit/audit.module.js';
import type { Clock } from '../../clock.js';
import { ProblemError } from '../../http/problem.js';
import type { TeamProfile, TeamProfileInput } from '../../../schemas/profile.schema.js';
import { findProfile, updateProfile } from './profile.repository.js';
import { canonicalNetwork } from '../sites/sites.module.js';

/** The profile a node starts with: enough to be valid, with every blank a team should fill in. */
export function defaultProfile(config: Config): TeamProfileInput {
  return {
    name: config.teamName,
    shortName: config.teamId,
    type: config.teamType,
    country: config.teamCountry,
    timeZone: config.teamTimeZone,
    languages: ['en'],
    mission: `${config.teamName} handles computer security incidents for its constituency.`,
    constituency: {
      description: 'Describe the users, sites and networks this team serves.',
      networks: [],
      asns: [],
      domains: [],
      products: [],
    },
    contacts: { email: config.teamEmail },
    policies: {},
  };
}

export interface ProfileService {
  get(): Promise<TeamProfile>;
  /** Saves the editable part; audited as `profile.replaced` with the names of the sections that changed. */
  replace(input: TeamProfileInput, actor: string): Promise<TeamProfile>;
  /**
   * The profile as it would read after replace(input), checked the same way, nothing saved: what
   * the console shows as rfc2350.txt and security.txt before the admin saves.
   */
  draft(input: TeamProfileInput): Promise<TeamProfile>;
}

/** security.txt's Expires may be this far ahead at most (RFC 9116 recommends under a year). */
export const SECURITY_TXT_MAX_AHEAD_MS = 366 * 86_400_000;

export function createProfileService(deps: {
  db: Db;
  config: Pick<Config, 'referencePrefix' | 'publicUrl'>;
  clock: Clock;
  /**
   * The profile is what the node publishes about the team (rfc2350.txt, security.txt, the signed
   * profile peers pin): a change to it is recorded like a change to a peer.
   */
  audit?: AuditLog;
}): ProfileService {
  const { db, config, clock } = deps;
  async function get(): Promise<TeamProfile> {
    const row = await findProfile(db);
    if (!row) throw new ProblemError('service-unavailable', 'the node has no profile yet: run "hikeshi init"');
    return {
      teamId: row.teamId,
      ...row.profile,
      referencePrefix: config.referencePrefix,
      publicKey: row.publicKey,
      fingerprint: row.fingerprint,
      publicUrl: config.publicUrl,
      updatedAt: row.updatedAt.toISOString(),
    };
  }
  /** Checks a profile as PUT /profile takes it and puts it in the stored form (canonical networks, domains, UTC). */
  function normalise(input: TeamProfileInput): TeamProfileInput {
    const networks: string[] = [];
    for (const [i, n] of input.constituency.networks.entries()) {
      const c = canonicalNetwork(n);
      if (!c) {
        throw new ProblemError('validation-failed', `constituency network "${n}" is not a CIDR block`, {
          errors: [
            {
              location: 'body',
              pointer: `/constituency/networks/${i}`,
              message: 'not a CIDR block (or host bits set right of the mask)',
            },
          ],
        });
      }
      networks.push(c);
    }
    if (input.securityTxt?.expires) {
      // RFC 9116 §2.5.5: Expires is in the future, and "less than a year" ahead is recommended.
      const expires = Date.parse(input.securityTxt.expires);
      const now = clock().getTime();
      if (expires <= now || expires > now + SECURITY_TXT_MAX_AHEAD_MS) {
        throw new ProblemError('validation-failed', 'securityTxt.expires must be in the future and at most a year ahead (RFC 9116)', {
          errors: [{ location: 'body', pointer: '/securityTxt/expires', message: 'must be after now and within 366 days' }],
        });
      }
    }
    return {
      ...input,
      constituency: {
        ...input.constituency,
        networks,
        domains: input.constituency.domains.map((d) => d.toLowerCase().replace(/\.$/, '')),
      },
      // date-times are stored and returned in UTC, like everywhere else on the wire
      ...(input.securityTxt?.expires
        ? { securityTxt: { ...input.securityTxt, expires: new Date(input.securityTxt.expires).toISOString() } }
        : {}),
    };
  }
  return {
    get,
    async replace(input, actor) {
      const next = normalise(input);
      await db.transaction().execute(async (tx) => {
        const before = (await findProfile(tx))?.profile as Record<string, unknown> | undefined;
        await updateProfile(tx, next, clock());
        // Section names only: the values are public anyway, and an audit entry names what changed, not the content.
        const sections = [...new Set([...Object.keys(before ?? {}), ...Object.keys(next)])].sort();
        const changed = sections.filter((k) => !isDeepStrictEqual((before ?? {})[k], (next as Record<string, unknown>)[k]));
        await deps.audit?.append(tx, { kind: 'profile.replaced', actor, details: { changed } });
      });
      return get();
    },
    async draft(input) {
      // Only what the node sets (team id, key, prefix, URL) comes from the live profile: a field the
      // draft leaves out is absent, as it would be after saving. updatedAt is now, as saving sets it.
      const { teamId, referencePrefix, publicKey, fingerprint, publicUrl } = await get();
      const draft = normalise(input);
      return { teamId, ...draft, referencePrefix, publicKey, fingerprint, publicUrl, updatedAt: clock().toISOString() };
    },
  };
}
