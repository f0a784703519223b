import { Resolver } from 'node:dns/promises';
import { LookupFailure } from './bounded-fetch.js';

/**
 * The DNS SOA mailbox (RFC 1035 §3.3.13 RNAME; RFC 2142 §7): the zone's administrator, named as
 * a domain whose first label is the mailbox's local part. The resolvers are configuration
 * (HIKESHI_CONTACTS_DNS_SERVERS, `ip` or `ip:port`), so tests answer from a server on loopback.
 */
export interface SoaRecord {
  /** The zone apex that answered. */
  zone: string;
  /** The zone's primary name server (MNAME). */
  nameServer: string;
  /** RNAME converted to an address, null when it cannot be one. */
  mailbox: string | null;
  serial: number;
}

/** hostmaster.example.org -> hostmaster@example.org; a `\.` in the first label is a dot of the local part. */
export function soaMailbox(rname: string): string | null {
  const name = rname.replace(/\.$/, '');
  let i = 0;
  let local = '';
  for (; i < name.length; i++) {
    const c = name[i];
    if (c === '\\' && i + 1 < name.length) {
      local += name[++i];
      continue;
    }
    if (c === '.') break;
    local += c;
  }
  const domain = name.slice(i + 1);
  if (local === '' || domain === '' || !domain.includes('.') || /[\s@<>()[\],;:"\\]/.test(local)) return null;
  return `${local}@${domain.toLowerCase()}`;
}

export interface SoaSettings {
  /** Empty: the system's resolvers. */
  servers: string[];
  timeoutMs: number;
}

const NO_SUCH_RECORD = new Set(['ENODATA', 'ENOTFOUND']);

/**
 * The SOA of the zone holding `names[0]`: each name in turn, most specific first (the caller
 * stops at the registrable domain), until one is a zone apex. A name with no SOA goes on to its
 * parent; a resolver that does not answer fails the lookup.
 */
export async function lookupSoa(settings: SoaSettings, names: string[]): Promise<SoaRecord> {
  const resolver = new Resolver({ timeout: settings.timeoutMs, tries: 1 });
  if (settings.servers.length > 0) resolver.setServers(settings.servers);
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      resolver.cancel();
      reject(new LookupFailure(`no DNS answer within ${settings.timeoutMs} ms`));
    }, settings.timeoutMs);
  });
  try {
    return await Promise.race([walk(resolver, names), deadline]);
  } finally {
    clearTimeout(timer);
  }
}

async function walk(resolver: Resolver, names: string[]): Promise<SoaRecord> {
  for (const name of names) {
    try {
      const soa = await resolver.resolveSoa(name);
      return { zone: name, nameServer: soa.nsname, mailbox: soaMailbox(soa.hostmaster), serial: soa.serial };
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      if (typeof code === 'string' && NO_SUCH_RECORD.has(code)) continue;
      throw new LookupFailure(`the DNS did not answer the SOA of ${name} (${typeof code === 'string' ? code : 'error'})`);
    }
  }
  throw new LookupFailure(`no SOA record for ${names[0]} or its parents`);
}
