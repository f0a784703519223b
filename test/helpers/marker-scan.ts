import { sql } from 'kysely';
import type { Db } from '../../src/db/database.js';

/**
 * Disclosure and erasure tests plant marker strings and then scan the WHOLE database, not only
 * the tables they expect the data in: every row of every table of the node, as text.
 * Answers `table: row` for each row that names a marker (rows cut to `width` characters).
 */
export async function rowsNamingMarkers(db: Db, markersIn: (text: string) => string[], width = 300): Promise<string[]> {
  const tables = await sql<{ table_name: string }>`
    select table_name from information_schema.tables where table_schema = current_schema() and table_type = 'BASE TABLE' order by 1`.execute(
    db,
  );
  const found: string[] = [];
  for (const { table_name } of tables.rows) {
    const rows = await sql<{ row: string }>`select t::text as row from ${sql.table(table_name)} t`.execute(db);
    for (const { row } of rows.rows) if (markersIn(row).length > 0) found.push(`${table_name}: ${row.slice(0, width)}`);
  }
  return found;
}

export type Section = 'victims' | 'internalHosts' | 'reporter' | 'poc' | 'evidence';
export const SECTIONS: Section[] = ['victims', 'internalHosts', 'reporter', 'poc', 'evidence'];

let counter = 100;

/** An incident whose every string field names every section's identifiers, in several spellings. */
export function markedIncident(tlp: string) {
  const n = counter++;
  const tag = `m${n}x`;
  const v = {
    domain: `victim-${tag}.example`,
    ip: `192.0.2.${n}`,
    ip6: `2001:db8::${n.toString(16)}`,
    ip6long: `2001:db8:0:0:0:0:0:${n.toString(16)}`,
  };
  const i = { name: `fs-${tag}.corp`, ip: `10.77.${n}.150`, label: `fsrv${tag}` };
  const rep = { name: `Reporter-${tag}`, email: `r-${tag}@mailer.example`, phone: `+81-3-5555-0${n}` };
  const poc = { name: `Poc-${tag}`, email: `p-${tag}@mailer.example` };
  const evid = `EVID-${tag}`;
  const everything = `www.${v.domain} ${v.ip.replace(/^192\.0\.2\./, '192.000.002.')} ${v.ip6long} ${v.ip6.toUpperCase()} [${v.ip6}]:443 ::ffff:${v.ip} ${i.name.toUpperCase()}. http://${i.ip}:8080/c2 \\\\${i.label}\\c$ ${rep.name} ${rep.email} ${rep.phone.replace(/-/g, ' ')} ${poc.name} ${poc.email}`;
  const incident = {
    title: `Intrusion at ${v.domain}`,
    summary: `Seen: ${everything}`,
    category: 'intrusions',
    type: 'system-compromise',
    severity: 'high',
    tlp,
    reporter: { name: rep.name, email: rep.email, phone: rep.phone, organisation: `Org-${tag}` },
    poc: { name: poc.name, email: poc.email },
    hosts: [
      { ip: '203.0.113.45', role: 'source', description: `attacker, talked to ${everything}` },
      { ip: v.ip, hostname: `www.${v.domain}`, role: 'target', description: `victim web server ${tag}` },
      { ip: v.ip6, role: 'target' },
      { ip: i.ip, hostname: i.name, role: 'intermediary', description: 'internal file server' },
      { hostname: i.label, role: 'intermediary' },
    ],
    intruderActivity: `The intruder moved through ${everything}`,
    vulnerabilities: [{ cve: 'CVE-2026-12345', description: `exploited on ${v.ip}:22 and ${i.name}` }],
    systemChanges: [{ description: `account added on ${v.domain}`, host: `www.${v.domain}` }],
    installedSoftware: [
      {
        name: `implant on ${v.domain}`,
        version: '1.0',
        path: `\\\\${i.ip}\\share\\x.exe`,
        description: `dropped by ${everything}`,
      },
    ],
    evidence: [
      {
        kind: 'log',
        description: `${evid} log of ${v.domain}`,
        content: `${evid} sshd: Accepted password from 203.0.113.45 on ${v.ip} ${i.name}`,
        source: `${evid}-${i.label}`,
      },
    ],
    indicators: [
      { kind: 'ipv4', value: '203.0.113.45' },
      { kind: 'url', value: `http://${v.domain}/wp-login.php` },
      { kind: 'email', value: `admin@${v.domain}` },
      { kind: 'other', value: `${v.ip}:22` },
      { kind: 'url', value: `http://${i.ip}:8080/c2` },
      { kind: 'ipv6', value: v.ip6long },
      { kind: 'domain', value: `evil-${tag}.example`, description: `C2 serving ${v.domain}` },
    ],
  };
  /** What must not (or must) appear per section: lower-case needles, looked for case-insensitively. */
  const markers: Record<Section, string[]> = {
    victims: [v.domain, v.ip, `192.000.002.${n}`, v.ip6, v.ip6long],
    internalHosts: [i.name, i.ip, i.label],
    reporter: [rep.name, rep.email, '5555 0' + n, `org-${tag}`],
    poc: [poc.name, poc.email],
    evidence: [evid],
  };
  return { incident, markers, tag, attacker: `evil-${tag}.example` };
}

/** Every row of every table of `node`, as text, lower case. */
export async function everything(node: { database: { db: Db } }): Promise<string> {
  const db = node.database.db;
  const tables = await sql<{
    table_name: string;
  }>`select table_name from information_schema.tables where table_schema = current_schema() and table_type = 'BASE TABLE'`.execute(db);
  const parts: string[] = [];
  for (const { table_name } of tables.rows) {
    const rows = await sql<{ row: string }>`select t::text as row from ${sql.table(table_name)} t`.execute(db);
    for (const r of rows.rows) parts.push(r.row);
  }
  // JSON text doubles backslashes; markers never contain one.
  return parts.join('\n').toLowerCase();
}

export function assertMarkers(t: any, text: string, markers: Record<Section, string[]>, hidden: readonly Section[], where: string): void {
  for (const section of SECTIONS) {
    for (const marker of markers[section]) {
      const found = text.includes(marker.toLowerCase());
      if (hidden.includes(section)) t.notOk(found, `${where}: ${section} marker ${marker} must not be there`);
    }
  }
}

export function assertVisible(t: any, text: string, markers: Record<Section, string[]>, visible: readonly Section[], where: string): void {
  for (const section of visible)
    t.ok(text.includes(markers[section][0]!.toLowerCase()), `${where}: ${section} is visible (${markers[section][0]})`);
}
