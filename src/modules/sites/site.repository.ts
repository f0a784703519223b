import { sql, type QueryCreator, type RawBuilder } from 'kysely';
import type { DbOrTx, Tx } from '../../db/database.js';
import { jsonbParameter } from '../../db/jsonb-parameter.js';
import type { DatabaseSchema } from '../../db/tables.js';
import type { Poc } from '../../../schemas/site.schema.js';

/** A site as the service handles it: camelCase, real dates; the wire form is the service's job. */
export interface SiteRecord {
  id: string;
  name: string;
  description: string | null;
  pocs: Poc[];
  networks: string[];
  asns: number[];
  domains: string[];
  /** The peer team that runs the site's own node (migration 0037), or null. */
  teamId: string | null;
  version: number;
  createdAt: Date;
  updatedAt: Date;
}

export interface SiteScopes {
  networks: string[];
  asns: number[];
  domains: string[];
}

interface SiteRow {
  id: string;
  name: string;
  description: string | null;
  pocs: unknown;
  networks: unknown;
  asns: unknown;
  domains: unknown;
  team_id: string | null;
  version: number;
  created_at: Date | string;
  updated_at: Date | string;
}

function toSiteRecord(row: SiteRow): SiteRecord {
  return {
    id: row.id,
    name: row.name,
    description: row.description,
    pocs: row.pocs as Poc[],
    networks: row.networks as string[],
    // json_agg hands bigints over as JSON numbers; ASNs stay below 2^32.
    asns: (row.asns as Array<number | string>).map(Number),
    domains: row.domains as string[],
    teamId: row.team_id,
    version: row.version,
    createdAt: new Date(row.created_at),
    updatedAt: new Date(row.updated_at),
  };
}

/**
 * The site row with its scopes gathered by correlated subqueries (each on its site_id index), so
 * a site or a page of sites costs one round trip. json_agg rather than array_agg: both drivers
 * parse json the same way, while array parsing differs between pg and PGlite. Scopes keep the
 * order they were given in (by row id).
 */
const siteColumns = [
  'site.id',
  'site.name',
  'site.description',
  'site.pocs',
  'site.team_id',
  'site.version',
  'site.created_at',
  'site.updated_at',
  sql<string[]>`coalesce((select json_agg(n.network::text order by n.id) from site_network n where n.site_id = site.id), '[]')`.as(
    'networks',
  ),
  sql<number[]>`coalesce((select json_agg(a.asn order by a.id) from site_asn a where a.site_id = site.id), '[]')`.as('asns'),
  sql<string[]>`coalesce((select json_agg(d.domain order by d.id) from site_domain d where d.site_id = site.id), '[]')`.as('domains'),
] as const;

function selectSites(db: DbOrTx) {
  return db.selectFrom('site').select(siteColumns);
}

export async function findSiteById(db: DbOrTx, id: string): Promise<SiteRecord | null> {
  const row = await selectSites(db).where('site.id', '=', id).executeTakeFirst();
  return row ? toSiteRecord(row) : null;
}

/** The sites with these ids (unknown ids are left out), in no particular order. */
export async function findSitesByIds(db: DbOrTx, ids: readonly string[]): Promise<SiteRecord[]> {
  if (ids.length === 0) return [];
  return (
    await selectSites(db)
      .where('site.id', 'in', [...ids])
      .execute()
  ).map(toSiteRecord);
}

export interface SiteListFilter {
  /** Case-insensitive substring of the name. */
  nameContains?: string;
  /** Keyset position: the (name, id) of the last site of the previous page. */
  after?: { name: string; id: string } | null;
  limit: number;
}

/** Sites ordered by (name, id); keyset pagination, so pages stay stable while sites are added. */
export async function listSites(db: DbOrTx, filter: SiteListFilter): Promise<SiteRecord[]> {
  let query = selectSites(db);
  if (filter.nameContains) {
    const escaped = filter.nameContains.replace(/[\\%_]/g, (c) => `\\${c}`);
    query = query.where('site.name', 'ilike', `%${escaped}%`);
  }
  const after = filter.after;
  if (after) {
    query = query.where((eb) => eb(eb.refTuple('site.name', 'site.id'), '>', eb.tuple(after.name, after.id)));
  }
  const rows = await query.orderBy('site.name').orderBy('site.id').limit(filter.limit).execute();
  return rows.map(toSiteRecord);
}

/** The version of a site, with its row locked until the transaction ends; null when absent. */
export async function lockSiteVersion(tx: Tx, id: string): Promise<number | null> {
  const row = await tx.selectFrom('site').select('version').where('id', '=', id).forUpdate().executeTakeFirst();
  return row ? row.version : null;
}

export async function insertSite(
  tx: Tx,
  site: { id: string; name: string; description: string | null; pocs: Poc[]; teamId: string | null; at: Date },
): Promise<void> {
  await tx
    .insertInto('site')
    .values({
      id: site.id,
      name: site.name,
      description: site.description,
      pocs: JSON.stringify(site.pocs),
      team_id: site.teamId,
      version: 1,
      created_at: site.at,
      updated_at: site.at,
    })
    .execute();
}

/** Applies the given fields and moves the version on by one. */
export async function updateSite(
  tx: Tx,
  id: string,
  fields: { name?: string; description?: string | null; pocs?: Poc[]; teamId?: string | null },
  at: Date,
): Promise<void> {
  await tx
    .updateTable('site')
    .set((eb) => ({
      ...(fields.name !== undefined ? { name: fields.name } : {}),
      ...(fields.description !== undefined ? { description: fields.description } : {}),
      ...(fields.pocs !== undefined ? { pocs: JSON.stringify(fields.pocs) } : {}),
      ...(fields.teamId !== undefined ? { team_id: fields.teamId } : {}),
      version: eb('version', '+', 1),
      updated_at: at,
    }))
    .where('id', '=', id)
    .execute();
}

export async function deleteSite(tx: Tx, id: string): Promise<boolean> {
  const result = await tx.deleteFrom('site').where('id', '=', id).executeTakeFirst();
  return Number(result.numDeletedRows) > 0;
}

export async function replaceNetworks(tx: Tx, siteId: string, networks: string[]): Promise<void> {
  await tx.deleteFrom('site_network').where('site_id', '=', siteId).execute();
  for (const chunk of chunks(networks)) {
    await tx
      .insertInto('site_network')
      .values(chunk.map((network) => ({ site_id: siteId, network })))
      .execute();
  }
}

export async function replaceAsns(tx: Tx, siteId: string, asns: number[]): Promise<void> {
  await tx.deleteFrom('site_asn').where('site_id', '=', siteId).execute();
  for (const chunk of chunks(asns)) {
    await tx
      .insertInto('site_asn')
      .values(chunk.map((asn) => ({ site_id: siteId, asn })))
      .execute();
  }
}

export async function replaceDomains(tx: Tx, siteId: string, domains: string[]): Promise<void> {
  await tx.deleteFrom('site_domain').where('site_id', '=', siteId).execute();
  for (const chunk of chunks(domains)) {
    await tx
      .insertInto('site_domain')
      .values(chunk.map((domain) => ({ site_id: siteId, domain })))
      .execute();
  }
}

/** Keeps each statement well under PostgreSQL's 65,535 bind parameters. */
function chunks<T>(items: T[], size = 5000): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/**
 * Serialises every write that changes scopes, so the "one owner per scope" check and the insert
 * that follows it cannot interleave with another writer's (there is no unique index to lean on).
 * A transaction-level advisory lock: released at commit or rollback. The key is arbitrary but
 * fixed ("hike" in ASCII).
 */
export async function lockScopeWrites(tx: Tx): Promise<void> {
  await sql`select pg_advisory_xact_lock(${0x68696b65})`.execute(tx);
}

export interface ScopeOwner {
  kind: 'network' | 'asn' | 'domain';
  value: string;
  siteId: string;
}

/** Scopes among the given ones that another site already holds. */
export async function findScopeOwners(tx: Tx, scopes: Partial<SiteScopes>, exceptSiteId: string): Promise<ScopeOwner[]> {
  const owners: ScopeOwner[] = [];
  for (const chunk of chunks(scopes.networks ?? [])) {
    const rows = await tx
      .selectFrom('site_network')
      .select(['site_id', sql<string>`network::text`.as('value')])
      .where('network', 'in', chunk)
      .where('site_id', '<>', exceptSiteId)
      .execute();
    owners.push(...rows.map((r) => ({ kind: 'network' as const, value: r.value, siteId: r.site_id })));
  }
  for (const chunk of chunks(scopes.asns ?? [])) {
    const rows = await tx
      .selectFrom('site_asn')
      .select(['site_id', 'asn'])
      .where('asn', 'in', chunk)
      .where('site_id', '<>', exceptSiteId)
      .execute();
    owners.push(...rows.map((r) => ({ kind: 'asn' as const, value: String(r.asn), siteId: r.site_id })));
  }
  for (const chunk of chunks(scopes.domains ?? [])) {
    const rows = await tx
      .selectFrom('site_domain')
      .select(['site_id', 'domain'])
      .where('domain', 'in', chunk)
      .where('site_id', '<>', exceptSiteId)
      .execute();
    owners.push(...rows.map((r) => ({ kind: 'domain' as const, value: r.domain, siteId: r.site_id })));
  }
  return owners;
}

/**
 * Longest-prefix match, for an address given as an SQL expression of type inet (a parameter, or
 * a column of a set of addresses): the one rule every address look-up uses. `>>=` is answered by
 * the GiST inet_ops index; the family test keeps an IPv4 address from ever matching an IPv6
 * network and vice versa whatever the operator does at the edges (::/0, ::ffff:0:0/96). Ties
 * (the same prefix twice) go to the oldest row.
 */
export function longestPrefixMatch(address: RawBuilder<unknown>): RawBuilder<{ site_id: string; network: string; prefix_length: number }> {
  return sql`select n.site_id, n.network::text as network, masklen(n.network) as prefix_length from site_network n
    where n.network >>= ${address} and family(n.network) = family(${address})
    order by masklen(n.network) desc, n.id
    limit 1`;
}

/** One address's match (longestPrefixMatch). Exported so a test can EXPLAIN it and notice when the index stops being used. */
export function networkMatchQuery(db: QueryCreator<DatabaseSchema>, address: string) {
  return db
    .selectFrom(sql<{ site_id: string; network: string; prefix_length: number }>`(${longestPrefixMatch(sql`${address}::inet`)})`.as('m'))
    .select(['m.site_id', 'm.network', 'm.prefix_length']);
}

/*
 * Each lookup finds the matching scope row and the whole site in one statement (the match as a
 * CTE joined to the site): a lookup is one round trip, which is most of its cost on both engines.
 */

export async function findSiteByAddress(
  db: DbOrTx,
  address: string,
): Promise<{ site: SiteRecord; network: string; prefixLength: number } | null> {
  const row = await db
    .with('m', (qb) => networkMatchQuery(qb, address))
    .selectFrom('m')
    .innerJoin('site', 'site.id', 'm.site_id')
    .select(siteColumns)
    .select(['m.network as matched_network', 'm.prefix_length as matched_prefix_length'])
    .executeTakeFirst();
  return row ? { site: toSiteRecord(row), network: row.matched_network, prefixLength: Number(row.matched_prefix_length) } : null;
}

/**
 * The look-ups of many addresses in one statement (the requests that arrive together, read in a
 * group by the service): for each, in order, what findSiteByAddress answers for it alone, by
 * longestPrefixMatch run once per address. The builder is exported so a test can EXPLAIN it.
 */
export function sitesByAddressesQuery(db: DbOrTx, addresses: readonly string[]) {
  return db
    .selectFrom(
      sql<{ ord: string; site_id: string; network: string; prefix_length: number }>`(
        select q.ord, n.site_id, n.network, n.prefix_length
        from jsonb_array_elements_text(${jsonbParameter(JSON.stringify(addresses))}::jsonb) with ordinality as q(value, ord)
        cross join lateral (${longestPrefixMatch(sql`q.value::inet`)}) n
      )`.as('m'),
    )
    .innerJoin('site', 'site.id', 'm.site_id')
    .select(siteColumns)
    .select(['m.ord as matched_ord', 'm.network as matched_network', 'm.prefix_length as matched_prefix_length']);
}

/** Addresses are canonical (parseAddress); the answers are in their order, null where no site is responsible. */
export async function findSitesByAddresses(
  db: DbOrTx,
  addresses: readonly string[],
): Promise<Array<{ site: SiteRecord; network: string; prefixLength: number } | null>> {
  if (addresses.length === 0) return [];
  const rows = await sitesByAddressesQuery(db, addresses).execute();
  const out: Array<{ site: SiteRecord; network: string; prefixLength: number } | null> = addresses.map(() => null);
  for (const row of rows) {
    out[Number(row.matched_ord) - 1] = {
      site: toSiteRecord(row),
      network: row.matched_network,
      prefixLength: Number(row.matched_prefix_length),
    };
  }
  return out;
}

/** Longest registered suffix among the candidates (the caller computes them from the name). */
export async function findSiteByDomain(db: DbOrTx, suffixes: string[]): Promise<{ site: SiteRecord; domain: string } | null> {
  if (suffixes.length === 0) return null;
  const row = await db
    .with('m', (qb) =>
      qb
        .selectFrom('site_domain')
        .select(['site_id', 'domain'])
        .where('domain', 'in', suffixes)
        .orderBy(sql`length(domain)`, 'desc')
        .orderBy('site_domain.id')
        .limit(1),
    )
    .selectFrom('m')
    .innerJoin('site', 'site.id', 'm.site_id')
    .select(siteColumns)
    .select('m.domain as matched_domain')
    .executeTakeFirst();
  return row ? { site: toSiteRecord(row), domain: row.matched_domain } : null;
}

export async function findSiteByAsn(db: DbOrTx, asn: number): Promise<{ site: SiteRecord; asn: number } | null> {
  const row = await db
    .with('m', (qb) => qb.selectFrom('site_asn').select(['site_id', 'asn']).where('asn', '=', asn).orderBy('site_asn.id').limit(1))
    .selectFrom('m')
    .innerJoin('site', 'site.id', 'm.site_id')
    .select(siteColumns)
    .select('m.asn as matched_asn')
    .executeTakeFirst();
  return row ? { site: toSiteRecord(row), asn: Number(row.matched_asn) } : null;
}
