import { randomUUID } from 'node:crypto';
import type { Clock } from '../../clock.js';
import type { Db, Tx } from '../../db/database.js';
import { createGroupRead } from '../../db/group-read.js';
import { ProblemError } from '../../http/problem.js';
import type { Site, SiteCreate, SiteLookupQuery, SiteLookupResult, SitePage, SitePatch } from '../../../schemas/site.schema.js';
import { canonicalDomain, canonicalNetwork, domainSuffixes, parseAddress } from './network-scope.js';
import {
  deleteSite,
  findScopeOwners,
  findSitesByAddresses,
  findSiteByAsn,
  findSiteByDomain,
  findSiteById,
  insertSite,
  listSites,
  lockScopeWrites,
  lockSiteVersion,
  replaceAsns,
  replaceDomains,
  replaceNetworks,
  updateSite,
  type SiteRecord,
  type SiteScopes,
} from './site.repository.js';

export interface SiteListOptions {
  q?: string;
  limit?: number;
  cursor?: string;
}

export interface WriteOptions {
  /** The version the caller read (If-Match); the write fails with version-mismatch when stale. */
  expectedVersion?: number;
}

export interface SiteService {
  create(input: SiteCreate): Promise<Site>;
  get(id: string): Promise<Site>;
  list(options?: SiteListOptions): Promise<SitePage>;
  update(id: string, patch: SitePatch, options?: WriteOptions): Promise<Site>;
  remove(id: string, options?: WriteOptions): Promise<void>;
  /** Which site is responsible for an address, a domain or an AS: exactly one of the three. */
  lookup(query: SiteLookupQuery): Promise<SiteLookupResult>;
}

export const DEFAULT_PAGE_SIZE = 50;
export const MAX_PAGE_SIZE = 500;
const MAX_ASN = 4294967295;

function toWire(record: SiteRecord): Site {
  return {
    id: record.id,
    name: record.name,
    description: record.description,
    pocs: record.pocs,
    networks: record.networks,
    asns: record.asns,
    domains: record.domains,
    teamId: record.teamId,
    version: record.version,
    createdAt: record.createdAt.toISOString(),
    updatedAt: record.updatedAt.toISOString(),
  };
}

function invalid(location: string, pointer: string, detail: string, message: string): ProblemError {
  return new ProblemError('validation-failed', detail, { errors: [{ location, pointer, message }] });
}

/**
 * Scopes in the form they are stored and compared in, duplicates dropped (first occurrence
 * kept, so the client's order survives). A network with host bits set is refused rather than
 * silently masked: it usually means a typo, and masking would widen the site's scope.
 */
function normaliseScopes(input: Partial<SiteScopes>): Partial<SiteScopes> {
  const out: Partial<SiteScopes> = {};
  if (input.networks) {
    const networks = input.networks.map((text, i) => {
      const network = canonicalNetwork(text);
      if (!network) {
        throw invalid(
          'body',
          `/networks/${i}`,
          `"${text}" is not a CIDR block (a bad address, or host bits set right of the mask)`,
          'not a CIDR block',
        );
      }
      return network;
    });
    out.networks = [...new Set(networks)];
  }
  if (input.asns) out.asns = [...new Set(input.asns)];
  if (input.domains) out.domains = [...new Set(input.domains.map(canonicalDomain))];
  return out;
}

interface PagePosition {
  name: string;
  id: string;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The cursor is the (name, id) keyset position as base64url JSON: opaque to clients, not secret. */
function encodeCursor(position: PagePosition): string {
  return Buffer.from(JSON.stringify([position.name, position.id]), 'utf8').toString('base64url');
}

function decodeCursor(cursor: string): PagePosition {
  let parsed: unknown = null;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    // Falls through to the shape check below.
  }
  if (
    !Array.isArray(parsed) ||
    parsed.length !== 2 ||
    typeof parsed[0] !== 'string' ||
    typeof parsed[1] !== 'string' ||
    !UUID.test(parsed[1])
  ) {
    throw invalid('querystring', '/cursor', 'cursor is not one this node issued', 'unrecognised cursor');
  }
  return { name: parsed[0], id: parsed[1] };
}

export interface SiteServiceDeps {
  db: Db;
  clock: Clock;
  /**
   * Whether a team id is a peer of ours (the peers module's port): a site's own node must be
   * one, or its notifications could not be signed for, sent to or verified from it. Absent: a
   * site cannot name a node (benches that build the directory alone).
   */
  isPeer?: (db: Tx, teamId: string) => Promise<boolean>;
}

export function createSiteService(deps: SiteServiceDeps): SiteService {
  const { db, clock } = deps;
  // Address look-ups that arrive together are one statement (group-read.ts): a look-up's cost
  // was mostly its own round trip.
  const addressLookups = createGroupRead(db, (addresses: string[]) => findSitesByAddresses(db, addresses), { maxItems: 64 });

  /** A site's node is a known peer (ADR 0026): a 422 names the field otherwise. */
  async function assertPeer(tx: Tx, teamId: string | null | undefined): Promise<void> {
    if (teamId === undefined || teamId === null) return;
    if (!deps.isPeer || !(await deps.isPeer(tx, teamId)))
      throw invalid('body', '/teamId', `"${teamId}" is not a peer of this node: add it (hikeshi peers add) first`, 'not a known peer');
  }

  async function load(id: string): Promise<Site> {
    const record = await findSiteById(db, id);
    if (!record) throw new ProblemError('not-found', `no site ${id}`);
    return toWire(record);
  }

  /** Each network, AS number and domain belongs to at most one site, so a lookup has one answer. */
  async function assertScopesFree(tx: Tx, scopes: Partial<SiteScopes>, siteId: string): Promise<void> {
    if (!scopes.networks?.length && !scopes.asns?.length && !scopes.domains?.length) return;
    await lockScopeWrites(tx);
    const owners = await findScopeOwners(tx, scopes, siteId);
    if (owners.length > 0) {
      const shown = owners.slice(0, 10).map((o) => `${o.kind} ${o.value} (site ${o.siteId})`);
      throw new ProblemError('conflict', `already held by another site: ${shown.join(', ')}${owners.length > 10 ? ', ...' : ''}`, {
        conflicts: owners.slice(0, 100),
      });
    }
  }

  function checkVersion(current: number | null, id: string, options: WriteOptions): void {
    if (current === null) throw new ProblemError('not-found', `no site ${id}`);
    if (options.expectedVersion !== undefined && options.expectedVersion !== current) {
      throw new ProblemError('version-mismatch', `site ${id} is at version ${current}, not ${options.expectedVersion}`, {
        currentVersion: current,
      });
    }
  }

  return {
    async create(input) {
      const id = randomUUID();
      const scopes = normaliseScopes(input);
      await db.transaction().execute(async (tx) => {
        await assertScopesFree(tx, scopes, id);
        await assertPeer(tx, input.teamId);
        await insertSite(tx, {
          id,
          name: input.name,
          description: input.description ?? null,
          pocs: input.pocs ?? [],
          teamId: input.teamId ?? null,
          at: clock(),
        });
        await replaceNetworks(tx, id, scopes.networks ?? []);
        await replaceAsns(tx, id, scopes.asns ?? []);
        await replaceDomains(tx, id, scopes.domains ?? []);
      });
      return load(id);
    },

    get: load,

    async list(options = {}) {
      const limit = Math.min(Math.max(options.limit ?? DEFAULT_PAGE_SIZE, 1), MAX_PAGE_SIZE);
      const after = options.cursor ? decodeCursor(options.cursor) : null;
      // One row more than asked says whether another page exists, without a count.
      const records = await listSites(db, {
        ...(options.q ? { nameContains: options.q } : {}),
        after,
        limit: limit + 1,
      });
      const items = records.slice(0, limit);
      const last = items.at(-1);
      return {
        items: items.map(toWire),
        nextCursor: records.length > limit && last ? encodeCursor({ name: last.name, id: last.id }) : null,
      };
    },

    async update(id, patch, options = {}) {
      const scopes = normaliseScopes(patch);
      await db.transaction().execute(async (tx) => {
        checkVersion(await lockSiteVersion(tx, id), id, options);
        await assertScopesFree(tx, scopes, id);
        await assertPeer(tx, patch.teamId);
        await updateSite(
          tx,
          id,
          {
            ...(patch.name !== undefined ? { name: patch.name } : {}),
            ...(patch.description !== undefined ? { description: patch.description } : {}),
            ...(patch.pocs !== undefined ? { pocs: patch.pocs } : {}),
            ...(patch.teamId !== undefined ? { teamId: patch.teamId } : {}),
          },
          clock(),
        );
        if (scopes.networks) await replaceNetworks(tx, id, scopes.networks);
        if (scopes.asns) await replaceAsns(tx, id, scopes.asns);
        if (scopes.domains) await replaceDomains(tx, id, scopes.domains);
      });
      return load(id);
    },

    async remove(id, options = {}) {
      await db.transaction().execute(async (tx) => {
        checkVersion(await lockSiteVersion(tx, id), id, options);
        await deleteSite(tx, id);
      });
    },

    async lookup(query) {
      const given = (['ip', 'domain', 'asn'] as const).filter((k) => query[k] !== undefined);
      if (given.length !== 1) throw invalid('querystring', '/', 'give exactly one of ip, domain, asn', 'exactly one of ip, domain, asn');
      if (query.ip !== undefined) {
        const parsed = parseAddress(query.ip);
        if (!parsed) throw invalid('querystring', '/ip', `"${query.ip}" is not an IPv4 or IPv6 address`, 'not an IP address');
        const match = await addressLookups.read(parsed.address);
        if (!match) throw new ProblemError('not-found', `no site is responsible for ${parsed.address}`);
        return {
          site: toWire(match.site),
          matched: { kind: 'ip', value: match.network, prefixLength: match.prefixLength },
        };
      }
      if (query.domain !== undefined) {
        const match = await findSiteByDomain(db, domainSuffixes(query.domain));
        if (!match) throw new ProblemError('not-found', `no site is responsible for ${canonicalDomain(query.domain)}`);
        return { site: toWire(match.site), matched: { kind: 'domain', value: match.domain } };
      }
      const asn = Number(/^(?:as)?(\d{1,10})$/i.exec(query.asn!.trim())?.[1] ?? NaN);
      if (!(asn <= MAX_ASN))
        throw invalid('querystring', '/asn', `"${query.asn}" is not an AS number (0 to ${MAX_ASN})`, 'not an AS number');
      const match = await findSiteByAsn(db, asn);
      if (!match) throw new ProblemError('not-found', `no site is responsible for AS${asn}`);
      return { site: toWire(match.site), matched: { kind: 'asn', value: match.asn } };
    },
  };
}
