import type { Clock } from '../../clock.js';
import type { Db } from '../../db/database.js';
import { LookupFailure } from './bounded-fetch.js';
import { findCached, storeCached, type CachedLookup, type CacheSource } from './contact-cache.repository.js';
import { namesUpToRegistrable, type ContactQuery } from './contact-query.js';
import type { UnrankedStep } from './contact-ranking.js';
import { lookupSoa, type SoaRecord } from './dns-soa.js';
import { fetchBootstrap, fetchRdap, rdapServiceFor, type BootstrapServices, type RdapAnswer, type RdapKey } from './rdap.js';
import { roleAddresses } from './rfc2142.js';
import { fetchSecurityTxt, type SecurityTxt } from './security-txt.js';

/**
 * The direct contacts, from outside sources: security.txt, RDAP abuse, the SOA mailbox, RFC 2142.
 * Every answer (or failure) is cached in the database with its expiry: an answer for the cache
 * TTL (security.txt: no later than its own Expires), a failure for the shorter failure TTL. A
 * failure is a step marked unreachable with the reason, never an error.
 */
export interface ContactsSettings {
  /** Resolvers for SOA lookups, `ip` or `ip:port`; empty: the system's. */
  dnsServers: string[];
  /** Where the IANA bootstrap files (ipv4.json, ipv6.json, asn.json, dns.json) are read from. */
  rdapBootstrapUrl: string;
  /** security.txt location template, `{domain}` replaced: https://{domain} in production. */
  securityTxtBase: string;
  timeoutMs: number;
  maxResponseBytes: number;
  cacheTtlSeconds: number;
  failureTtlSeconds: number;
  /** How long a whole route plan is reused in memory; 0: never. */
  planTtlSeconds: number;
}

export interface DirectSourcesDeps {
  db: Db;
  clock: Clock;
  fetch: typeof fetch;
  settings: ContactsSettings;
}

/** The outside parties one plan contacted (not served from the cache), for the audit. */
export type Contacted = Set<string>;

type Cached = <T>(
  source: CacheSource,
  key: string,
  contacted: Contacted,
  ask: () => Promise<T>,
  expiryOf?: (value: T, now: Date) => Date,
) => Promise<CachedLookup<T>>;

interface SourceContext extends DirectSourcesDeps {
  cached: Cached;
  limits: { timeoutMs: number; maxResponseBytes: number };
}

/** The cached entry, or the source asked now (one request per key at a time) and its answer kept. */
function createCached(deps: DirectSourcesDeps): Cached {
  const { db, clock, settings } = deps;
  const inFlight = new Map<string, Promise<CachedLookup<unknown>>>();
  return async <T>(
    source: CacheSource,
    key: string,
    contacted: Contacted,
    ask: () => Promise<T>,
    expiryOf: (value: T, now: Date) => Date = (_v, now) => new Date(now.getTime() + settings.cacheTtlSeconds * 1000),
  ): Promise<CachedLookup<T>> => {
    const now = clock();
    const hit = await findCached<T>(db, source, key, now);
    if (hit) return hit;
    const flightKey = `${source} ${key}`;
    const running = inFlight.get(flightKey);
    if (running) return running as Promise<CachedLookup<T>>;
    contacted.add(source);
    const work = (async (): Promise<CachedLookup<T>> => {
      let entry: CachedLookup<T>;
      try {
        const value = await ask();
        entry = { outcome: { ok: true, value }, fetchedAt: now, expiresAt: expiryOf(value, now) };
      } catch (err) {
        const reason = err instanceof LookupFailure ? err.message : 'the lookup failed';
        entry = { outcome: { ok: false, reason }, fetchedAt: now, expiresAt: new Date(now.getTime() + settings.failureTtlSeconds * 1000) };
      }
      await storeCached(db, source, key, entry);
      return entry;
    })().finally(() => inFlight.delete(flightKey));
    inFlight.set(flightKey, work as Promise<CachedLookup<unknown>>);
    return work;
  };
}

const freshness = (e: CachedLookup<unknown>) => ({ fetchedAt: e.fetchedAt.toISOString(), expiresAt: e.expiresAt.toISOString() });

function unreachable(kind: UnrankedStep['kind'], source: string, e: CachedLookup<unknown>, reason: string): UnrankedStep {
  return {
    kind,
    source,
    team: null,
    name: null,
    address: null,
    via: kind === 'rdap-abuse' || kind === 'security-txt' ? 'other' : 'email',
    matched: null,
    verified: false,
    ...freshness(e),
    status: 'unreachable',
    reason,
  };
}

async function securityTxtSteps(ctx: SourceContext, domain: string, contacted: Contacted): Promise<UnrankedStep[]> {
  const { cached, settings, clock, limits } = ctx;
  const entry = await cached<SecurityTxt>(
    'security-txt',
    domain,
    contacted,
    () => fetchSecurityTxt(ctx.fetch, settings.securityTxtBase, domain, limits),
    (file, now) => {
      const ttl = new Date(now.getTime() + settings.cacheTtlSeconds * 1000);
      const expires = file.expires === null ? NaN : Date.parse(file.expires);
      // RFC 9116 §2.5.5: after Expires the file is stale; read it again once it has expired.
      if (Number.isNaN(expires)) return ttl;
      if (expires <= now.getTime()) return new Date(now.getTime() + settings.failureTtlSeconds * 1000);
      return new Date(Math.min(expires, ttl.getTime()));
    },
  );
  const source = `security.txt of ${domain}`;
  if (!entry.outcome.ok) return [unreachable('security-txt', source, entry, entry.outcome.reason)];
  const file = entry.outcome.value;
  const expires = file.expires === null ? NaN : Date.parse(file.expires);
  if (!Number.isNaN(expires) && expires <= clock().getTime())
    return [unreachable('security-txt', `${file.url}`, entry, `the security.txt expired at ${file.expires} (RFC 9116 §2.5.5)`)];
  const caveats = [
    file.signed ? 'clear-signed (signature not checked)' : 'not signed',
    file.expires === null ? 'no Expires field' : null,
    file.canonical.length > 0 && !file.canonical.includes(file.url) ? 'served from a URL its Canonical fields do not list' : null,
  ].filter((s): s is string => s !== null);
  const details = {
    signed: file.signed,
    ...(file.encryption.length ? { encryption: file.encryption } : {}),
    ...(file.preferredLanguages.length ? { preferredLanguages: file.preferredLanguages } : {}),
    ...(file.canonical.length ? { canonical: file.canonical } : {}),
    ...(file.policy.length ? { policy: file.policy } : {}),
    ...(file.expires !== null ? { expires: file.expires } : {}),
  };
  return file.contacts.map((contact) => {
    const lower = contact.toLowerCase();
    const via = lower.startsWith('mailto:') ? 'email' : lower.startsWith('tel:') ? 'tel' : lower.startsWith('https:') ? 'web' : 'other';
    return {
      kind: 'security-txt' as const,
      source: file.url,
      team: null,
      name: null,
      address: via === 'email' ? contact.slice('mailto:'.length) : contact,
      via,
      matched: domain,
      verified: true,
      ...freshness(entry),
      status: 'reachable' as const,
      reason: caveats.join('; '),
      details,
    };
  });
}

async function rdapSteps(ctx: SourceContext, key: RdapKey, contacted: Contacted): Promise<UnrankedStep[]> {
  const { cached, settings, limits } = ctx;
  const boot = await cached<BootstrapServices>('rdap-bootstrap', key.registry, contacted, () =>
    fetchBootstrap(ctx.fetch, settings.rdapBootstrapUrl, key.registry, limits),
  );
  const what = key.registry === 'asn' ? `AS${key.asn}` : key.registry === 'dns' ? key.domain : key.address;
  const source = `RDAP for ${what}`;
  if (!boot.outcome.ok) return [unreachable('rdap-abuse', source, boot, boot.outcome.reason)];
  const service = rdapServiceFor(boot.outcome.value, key);
  if (service === null) return [unreachable('rdap-abuse', source, boot, `the IANA bootstrap names no RDAP server for ${what}`)];
  const entry = await cached<RdapAnswer>('rdap', `${key.registry} ${what}`, contacted, () => fetchRdap(ctx.fetch, service, key, limits));
  if (!entry.outcome.ok) return [unreachable('rdap-abuse', source, entry, entry.outcome.reason)];
  const answer = entry.outcome.value;
  if (answer.contacts.length === 0) return [unreachable('rdap-abuse', answer.url, entry, 'the RDAP answer names no abuse contact')];
  return answer.contacts.flatMap((c) =>
    [...c.emails.map((a) => ({ a, via: 'email' as const })), ...c.tels.map((a) => ({ a, via: 'tel' as const }))].map(({ a, via }) => ({
      kind: 'rdap-abuse' as const,
      source: answer.url,
      team: null,
      name: c.name ?? c.handle,
      address: a,
      via,
      matched: what,
      verified: true,
      ...freshness(entry),
      status: 'reachable' as const,
      reason: null,
    })),
  );
}

async function soaSteps(ctx: SourceContext, name: string, registrable: string, contacted: Contacted): Promise<UnrankedStep[]> {
  const { cached, settings } = ctx;
  const entry = await cached<SoaRecord>('soa', name, contacted, () =>
    lookupSoa({ servers: settings.dnsServers, timeoutMs: settings.timeoutMs }, namesUpToRegistrable(name, registrable)),
  );
  const source = `the SOA of ${name}`;
  if (!entry.outcome.ok) return [unreachable('soa-mailbox', source, entry, entry.outcome.reason)];
  const soa = entry.outcome.value;
  if (soa.mailbox === null) return [unreachable('soa-mailbox', `the SOA of ${soa.zone}`, entry, 'the SOA RNAME is not a mailbox')];
  return [
    {
      kind: 'soa-mailbox',
      source: `the SOA of ${soa.zone} (RNAME)`,
      team: null,
      name: null,
      address: soa.mailbox,
      via: 'email',
      matched: soa.zone,
      verified: true,
      ...freshness(entry),
      status: 'reachable',
      reason: 'the zone administrator, who may not handle abuse',
    },
  ];
}

function rfc2142Steps(registrable: string): UnrankedStep[] {
  return roleAddresses(registrable).map(({ role, address }) => ({
    kind: 'rfc2142' as const,
    source: `RFC 2142 ${role}@ of ${registrable}`,
    team: null,
    name: null,
    address,
    via: 'email' as const,
    matched: registrable,
    verified: false,
    fetchedAt: null,
    expiresAt: null,
    status: 'reachable' as const,
    reason: 'unverified: a conventional role address, not known to exist',
  }));
}

export function createDirectSources(deps: DirectSourcesDeps) {
  const ctx: SourceContext = {
    ...deps,
    cached: createCached(deps),
    limits: { timeoutMs: deps.settings.timeoutMs, maxResponseBytes: deps.settings.maxResponseBytes },
  };
  /** Every direct step for the query; the sources run side by side. */
  async function directSteps(query: ContactQuery, contacted: Contacted): Promise<UnrankedStep[]> {
    if (query.kind === 'ip') return rdapSteps(ctx, { registry: query.family === 4 ? 'ipv4' : 'ipv6', address: query.value }, contacted);
    if (query.kind === 'asn') return rdapSteps(ctx, { registry: 'asn', asn: query.asn }, contacted);
    const parts = await Promise.all([
      securityTxtSteps(ctx, query.value, contacted),
      rdapSteps(ctx, { registry: 'dns', domain: query.registrable }, contacted),
      soaSteps(ctx, query.value, query.registrable, contacted),
    ]);
    return [...parts.flat(), ...rfc2142Steps(query.registrable)];
  }

  return { directSteps };
}
