import { sql } from 'kysely';
import type { DbOrTx } from '../../db/database.js';
import { jsonbParameter } from '../../db/jsonb-parameter.js';
import { longestPrefixMatch } from './site.repository.js';

/**
 * The constituency look-ups for many values at once (a campaign of 100,000 addresses, issue 19
 * part 4), by the same rules as one look-up (site.repository.ts): the most specific network
 * holding an address (ties to the oldest row), the longest registered domain suffix of a name,
 * the oldest row of an AS number. One statement per chunk instead of one per value: a look-up's
 * cost is mostly its round trip, and for a whole feed that is what matters.
 */
const CHUNK = 20_000;

/**
 * What the bulk look-ups found (a site id, or null for none), kept for one piece of work that
 * asks about the same values several times: a campaign run looks up each event's address to
 * group the feed, then the notifications module for each incident's owners, then the sharing
 * policy for each site's involvement. Each asks as before and by the same rules; a value already
 * answered in this run is not sent to the database again (three index probes per event were
 * most of a campaign's database time, issue 19's figure). Made for one run and dropped with it.
 */
export interface SiteLookupMemo {
  readonly addresses: Map<string, string | null>;
  readonly names: Map<string, string | null>;
}

export const createSiteLookupMemo = (): SiteLookupMemo => ({ addresses: new Map(), names: new Map() });

/** Splits values into those a memo answered (into `out`) and those still to look up. */
function fromMemo<K>(values: readonly K[], memo: Map<K, string | null> | undefined, out: Map<K, string>): K[] {
  if (!memo) return [...values];
  return values.filter((value) => {
    const known = memo.get(value);
    if (known === undefined) return true;
    if (known !== null) out.set(value, known);
    return false;
  });
}

function intoMemo<K>(values: readonly K[], memo: Map<K, string | null> | undefined, found: Map<K, string>): void {
  if (memo) for (const value of values) memo.set(value, found.get(value) ?? null);
}

/** address text → site id, for the addresses some site's network holds. Addresses are canonical (parseAddress). */
export async function siteIdsByAddress(db: DbOrTx, values: readonly string[], memo?: SiteLookupMemo): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const addresses = fromMemo(values, memo?.addresses, out);
  for (let from = 0; from < addresses.length; from += CHUNK) {
    const part = addresses.slice(from, from + CHUNK);
    // The lateral subquery is the single look-up's rule, run once per address: the GiST
    // inet_ops index answers each `>>=` probe.
    const { rows } = await sql<{ address: string; site_id: string }>`
      select a.value as address, m.site_id
      from jsonb_array_elements_text(${jsonbParameter(JSON.stringify(part))}::jsonb) as a(value)
      cross join lateral (${longestPrefixMatch(sql`a.value::inet`)}) m`.execute(db);
    for (const row of rows) out.set(row.address, row.site_id);
  }
  intoMemo(addresses, memo?.addresses, out);
  return out;
}

/** name → site id, by the longest registered suffix of each name (names canonical: canonicalDomain). */
export async function siteIdsByName(db: DbOrTx, values: readonly string[], memo?: SiteLookupMemo): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const names = fromMemo(values, memo?.names, out);
  const suffixes = new Set<string>();
  for (const name of names) {
    const labels = name.split('.');
    for (let i = 0; i < labels.length; i++) suffixes.add(labels.slice(i).join('.'));
  }
  const owner = new Map<string, string>();
  const all = [...suffixes];
  for (let from = 0; from < all.length; from += CHUNK) {
    const part = all.slice(from, from + CHUNK);
    const { rows } = await sql<{ domain: string; site_id: string }>`
      select distinct on (d.domain) d.domain, d.site_id from site_domain d
      where d.domain in (select jsonb_array_elements_text(${jsonbParameter(JSON.stringify(part))}::jsonb))
      order by d.domain, d.id`.execute(db);
    for (const row of rows) owner.set(row.domain, row.site_id);
  }
  for (const name of names) {
    const labels = name.split('.');
    for (let i = 0; i < labels.length; i++) {
      const site = owner.get(labels.slice(i).join('.'));
      if (site) {
        out.set(name, site);
        break;
      }
    }
  }
  intoMemo(names, memo?.names, out);
  return out;
}

/** AS number → site id. */
export async function siteIdsByAsn(db: DbOrTx, asns: readonly number[]): Promise<Map<number, string>> {
  const out = new Map<number, string>();
  for (let from = 0; from < asns.length; from += CHUNK) {
    const part = asns.slice(from, from + CHUNK);
    const { rows } = await sql<{ asn: string | number; site_id: string }>`
      select distinct on (a.asn) a.asn, a.site_id from site_asn a
      where a.asn in (select (jsonb_array_elements_text(${jsonbParameter(JSON.stringify(part))}::jsonb))::bigint)
      order by a.asn, a.id`.execute(db);
    for (const row of rows) out.set(Number(row.asn), row.site_id);
  }
  return out;
}

/** Each site's name and the e-mail addresses of its POCs (in the order given), for many sites at once. */
export async function siteContactsByIds(db: DbOrTx, ids: readonly string[]): Promise<Map<string, { name: string; emails: string[] }>> {
  const out = new Map<string, { name: string; emails: string[] }>();
  for (let from = 0; from < ids.length; from += CHUNK) {
    const part = ids.slice(from, from + CHUNK);
    const { rows } = await sql<{ id: string; name: string; pocs: unknown }>`
      select s.id, s.name, s.pocs from site s
      where s.id in (select (jsonb_array_elements_text(${jsonbParameter(JSON.stringify(part))}::jsonb))::uuid)`.execute(db);
    for (const row of rows) {
      const pocs = (typeof row.pocs === 'string' ? JSON.parse(row.pocs) : row.pocs) as Array<{
        channels: Array<{ kind: string; value: string }>;
      }>;
      const emails = [
        ...new Set(pocs.flatMap((p) => p.channels.filter((c) => c.kind === 'email').map((c) => c.value.trim().toLowerCase()))),
      ];
      out.set(row.id, { name: row.name, emails });
    }
  }
  return out;
}
