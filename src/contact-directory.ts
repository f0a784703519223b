import type { Clock } from './clock.js';
import type { Config } from './config.js';
import type { Db } from './db/database.js';
import { ProblemError } from './http/problem.js';
import type { AuditLog } from './modules/audit/audit.module.js';
import { createContactsModule, type ContactDirectory, type ContactsModule, type ForumListing } from './modules/contacts/contacts.module.js';
import type { ForumService } from './modules/forum/forum.module.js';
import type { PeersModule } from './modules/peers/peers.module.js';
import type { SiteService } from './modules/sites/site.service.js';

/**
 * What contact determination reads of this node's own data, wired here in the composition root
 * (it may reach into modules): the site responsible (the sites module's lookup), the active peers
 * with the signed profiles their keys were pinned from, and the active members of the newest
 * roster of each forum we hold. Read-only.
 */
export function createContactDirectory(deps: {
  db: Db;
  sites: Pick<SiteService, 'lookup'>;
  peers: Pick<PeersModule, 'activeWithProfiles'>;
  forums: Pick<ForumService, 'list' | 'signedRoster'>;
}): ContactDirectory {
  const { db, sites, peers, forums } = deps;
  return {
    async lookupSite(query) {
      try {
        const { site, matched } = await sites.lookup(query);
        const scope = matched.kind === 'asn' ? `AS${matched.value}` : matched.value;
        return { siteId: site.id, siteName: site.name, matched: scope, pocs: site.pocs };
      } catch (err) {
        if (err instanceof ProblemError && err.code === 'not-found') return null;
        throw err;
      }
    },
    async activePeers() {
      return (await peers.activeWithProfiles()).map((p) => ({
        teamId: p.teamId,
        name: p.name,
        url: p.url ?? '',
        relationship: p.relationship,
        fingerprint: p.fingerprint,
        publicKey: p.publicKey,
        signedProfile: p.signedProfile ?? '',
        profileFetchedAt: p.profileFetchedAt ?? new Date(0),
      }));
    },
    async forumMemberships() {
      const out = new Map<string, ForumListing[]>();
      for (const { id: forum } of await forums.list()) {
        for (const m of (await forums.signedRoster(db, forum))?.document.members ?? []) {
          if (m.status !== 'active') continue;
          out.set(m.team, [...(out.get(m.team) ?? []), { forum, fingerprint: m.fingerprint }]);
        }
      }
      return out;
    },
  };
}

/** The contacts module as buildApp mounts it: this node's data, its configuration, the app's fetch seam. */
export function wireContacts(deps: {
  config: Pick<Config, 'contacts'>;
  db: Db;
  clock: Clock;
  audit: AuditLog;
  fetch: typeof fetch | undefined;
  sites: Pick<SiteService, 'lookup'>;
  peers: Pick<PeersModule, 'activeWithProfiles'>;
  forums: Pick<ForumService, 'list' | 'signedRoster'>;
}): ContactsModule {
  return createContactsModule({
    db: deps.db,
    clock: deps.clock,
    audit: deps.audit,
    fetch: deps.fetch ?? globalThis.fetch,
    directory: createContactDirectory(deps),
    settings: deps.config.contacts,
  });
}
