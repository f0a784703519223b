import { createHash } from 'node:crypto';
import { canonicalize } from '../../crypto/canonical-json.js';
import { ProblemError } from '../../http/problem.js';
import type { Contact } from '../../../schemas/common.schema.js';
import { CATEGORIES, IncidentCreateSchema, RSIT, SEVERITIES, type Host, type IncidentCreate } from '../../../schemas/incident.schema.js';
import { IP_PROTOCOLS } from './iodef-export.js';
import { attr, HIKESHI_FORMAT, kids, parseIodefXml, textOf, tlpOfRestriction, type Parsed } from './iodef-xml.js';
import { compileOnFirstUse } from '../../util/compile-on-first-use.js';

/**
 * An IODEF v2 document read back into an incident, pure. Checks the structure RFC 7970 requires
 * of what we read (one Incident, its IncidentID with a name, GenerationTime, a Contact), then maps
 * the elements our export writes; AdditionalData with formatid "hikeshi" gives the exact values
 * where IODEF's own are coarser. Anything that fails: 400 import-invalid, `pointer` an XPath-like
 * path to the first failing element.
 */
export interface IodefImport {
  /** IncidentID name and value: the object's id in imported_object. */
  objectId: string;
  /** The sender's reference number and team (IncidentID value and name). */
  sourceRef: { team: string; ref: string };
  /** SHA-256 of the mapped incident's canonical JSON: the same content again is a no-op (GenerationTime changes every export). */
  digest: string;
  incident: IncidentCreate;
}

const INCIDENT_PURPOSES = new Set(['traceback', 'mitigation', 'reporting', 'watch', 'other', 'ext-value']);
const PROTOCOL_NAMES = Object.fromEntries(Object.entries(IP_PROTOCOLS).map(([name, n]) => [n, name]));
const ROLE_OF: Record<string, Host['role']> = { source: 'source', target: 'target', intermediate: 'intermediary' };
const checkIncident = compileOnFirstUse(IncidentCreateSchema);

const fail = (pointer: string, detail: string): never => {
  throw new ProblemError('import-invalid', detail, { pointer });
};

/** The hikeshi AdditionalData of a node, by meaning. */
function extras(node: Parsed): Map<string, string> {
  const out = new Map<string, string>();
  for (const a of kids(node, 'AdditionalData')) {
    const meaning = attr(a, 'meaning');
    if (attr(a, 'formatid') === HIKESHI_FORMAT && meaning !== undefined && !out.has(meaning)) out.set(meaning, textOf(a));
  }
  return out;
}

const trimmed = (n: Parsed | undefined): string | undefined => {
  const t = textOf(n).trim();
  return t === '' ? undefined : t;
};

function contactFrom(c: Parsed): Contact {
  const x = extras(c);
  const contact: Contact = { name: trimmed(kids(c, 'ContactName')[0]) ?? 'unnamed' };
  const org = kids(c, 'Contact').find((n) => attr(n, 'type') === 'organization');
  const set = (key: keyof Contact, value: string | undefined) => {
    if (value !== undefined) contact[key] = value;
  };
  set('organisation', trimmed(org ? kids(org, 'ContactName')[0] : undefined));
  set('email', trimmed(kids(kids(c, 'Email')[0] ?? {}, 'EmailTo')[0]));
  const phones = kids(c, 'Telephone');
  const phone = (type: string) => trimmed(kids(phones.find((p) => (attr(p, 'type') ?? 'wired') === type) ?? {}, 'TelephoneNumber')[0]);
  set('phone', phone('wired'));
  set('mobile', phone('mobile'));
  set('fax', phone('fax'));
  set('postalAddress', trimmed(kids(kids(c, 'PostalAddress')[0] ?? {}, 'PAddress')[0]));
  set('timeZone', x.get('timeZone') ?? trimmed(kids(c, 'Timezone')[0]));
  set('language', x.get('language'));
  return contact;
}

function hostsFrom(incident: Parsed, base: string): Host[] {
  const hosts: Host[] = [];
  kids(incident, 'EventData').forEach((ev, e) =>
    kids(ev, 'Flow').forEach((flow, f) =>
      kids(flow, 'System').forEach((sys, s) => {
        const at = `${base}/EventData[${e + 1}]/Flow[${f + 1}]/System[${s + 1}]`;
        const node = kids(sys, 'Node')[0] ?? fail(`${at}/Node`, 'a System needs a Node');
        const x = extras(sys);
        const host: Host = { role: ROLE_OF[attr(sys, 'category') ?? ''] ?? 'intermediary' };
        const ip = kids(node, 'Address').find((a) => /^ipv[46]-addr$/.test(attr(a, 'category') ?? 'ipv6-addr'));
        if (ip) host.ip = textOf(ip).trim();
        const name = trimmed(kids(kids(node, 'DomainData')[0] ?? {}, 'Name')[0]);
        if (name !== undefined) host.hostname = name;
        const services = kids(sys, 'Service');
        const ports = services.flatMap((sv, i) => {
          const p = trimmed(kids(sv, 'Port')[0]);
          if (p === undefined) return [];
          if (!/^[0-9]{1,5}$/.test(p) || Number(p) > 65535) fail(`${at}/Service[${i + 1}]/Port`, 'a port is an integer 0..65535');
          return [Number(p)];
        });
        if (ports.length > 0) host.ports = ports;
        const number = services.map((sv) => attr(sv, 'ip-protocol')).find((n) => n !== undefined);
        const protocol = x.get('protocol') ?? (number !== undefined ? (PROTOCOL_NAMES[number] ?? number) : undefined);
        if (protocol !== undefined) host.protocol = protocol;
        const spoofed = attr(sys, 'spoofed');
        if (spoofed === 'yes' || spoofed === 'no') host.spoofedSource = spoofed === 'yes';
        const description = trimmed(kids(sys, 'Description')[0]);
        if (description !== undefined) host.description = description;
        hosts.push(host);
      }),
    ),
  );
  return hosts;
}

function evidenceFrom(incident: Parsed): NonNullable<IncidentCreate['evidence']> {
  return kids(incident, 'EventData').flatMap((ev) =>
    kids(ev, 'Record').flatMap((rec) =>
      kids(rec, 'RecordData').map((rd) => {
        const x = extras(rd);
        const kind = x.get('kind') ?? 'log';
        const item: NonNullable<IncidentCreate['evidence']>[number] = { kind: kind as 'log' };
        const description = trimmed(kids(rd, 'Description')[0]);
        if (description !== undefined) item.description = description;
        const content = kids(rd, 'RecordItem');
        // Log lines are kept verbatim: no trimming.
        if (content.length > 0) item.content = content.map(textOf).join('\n');
        const collectedAt = trimmed(kids(rd, 'DateTime')[0]);
        if (collectedAt !== undefined) item.collectedAt = collectedAt;
        const tz = x.get('timeZone');
        if (tz !== undefined) item.timeZone = tz;
        const source = x.get('source');
        if (source !== undefined) item.source = source;
        return item;
      }),
    ),
  );
}

const ADDRESS_KIND: Record<string, string> = { 'ipv4-addr': 'ipv4', 'ipv6-addr': 'ipv6', 'e-mail': 'email', asn: 'asn', 'site-uri': 'url' };

function indicatorsFrom(incident: Parsed): NonNullable<IncidentCreate['indicators']> {
  return kids(kids(incident, 'IndicatorData')[0] ?? {}, 'Indicator').flatMap((ind) => {
    const obs = kids(ind, 'Observable')[0];
    if (!obs) return [];
    const description = trimmed(kids(ind, 'Description')[0]);
    const withDescription = (kind: string, value: string) => [
      { kind: kind as 'other', value, ...(description !== undefined ? { description } : {}) },
    ];
    const address = kids(obs, 'Address')[0];
    if (address) return withDescription(ADDRESS_KIND[attr(address, 'category') ?? 'ipv6-addr'] ?? 'other', textOf(address).trim());
    const domain = trimmed(kids(kids(obs, 'DomainData')[0] ?? {}, 'Name')[0]);
    if (domain !== undefined) return withDescription('domain', domain);
    const data = kids(obs, 'AdditionalData')[0];
    if (data) return withDescription(attr(data, 'meaning') ?? 'other', textOf(data).trim());
    return [];
  });
}

function vulnerabilitiesFrom(incident: Parsed): NonNullable<IncidentCreate['vulnerabilities']> {
  return kids(incident, 'Method').flatMap((m) => {
    const refs = kids(m, 'Reference').map((r) => [textOf(kids(r, 'Description')[0]), ...kids(r, 'URL').map(textOf)].join(' '));
    const cve = refs.join(' ').match(/CVE-\d{4}-\d{4,}/)?.[0];
    const description = trimmed(kids(m, 'Description')[0]);
    if (cve === undefined && description === undefined) return [];
    return [{ ...(cve !== undefined ? { cve } : {}), ...(description !== undefined ? { description } : {}) }];
  });
}

function jsonList(x: Map<string, string>, meaning: string, pointer: string): unknown[] | undefined {
  const text = x.get(meaning);
  if (text === undefined) return undefined;
  try {
    const value = JSON.parse(text) as unknown;
    if (Array.isArray(value)) return value;
  } catch {
    // fall through
  }
  return fail(pointer, `AdditionalData ${meaning} must hold a JSON array`);
}

/** Parses and maps an IODEF document; throws 400 import-invalid with the first failing path. */
export function iodefToIncident(text: string): IodefImport {
  const { root } = parseIodefXml(text);
  const base = '/IODEF-Document/Incident[1]';
  if (attr(root, 'version') !== '2.00') fail('/IODEF-Document/@version', 'version must be "2.00"');
  const incidents = kids(root, 'Incident');
  if (incidents.length === 0) fail('/IODEF-Document/Incident', 'an IODEF-Document needs an Incident');
  if (incidents.length > 1) fail('/IODEF-Document/Incident[2]', 'one Incident per document is imported');
  const inc = incidents[0]!;
  if (!INCIDENT_PURPOSES.has(attr(inc, 'purpose') ?? '')) fail(`${base}/@purpose`, 'Incident needs a purpose (RFC 7970 3.2)');
  const id = kids(inc, 'IncidentID')[0] ?? fail(`${base}/IncidentID`, 'Incident needs an IncidentID');
  const idName = attr(id, 'name')?.trim() || fail(`${base}/IncidentID/@name`, 'IncidentID needs a name');
  const idValue = trimmed(id) ?? fail(`${base}/IncidentID`, 'IncidentID needs a value');
  if (trimmed(kids(inc, 'GenerationTime')[0]) === undefined) fail(`${base}/GenerationTime`, 'Incident needs a GenerationTime');
  const contacts = kids(inc, 'Contact');
  if (contacts.length === 0) fail(`${base}/Contact`, 'Incident needs a Contact');
  contacts.forEach((c, i) => {
    if (attr(c, 'role') === undefined || attr(c, 'type') === undefined)
      fail(`${base}/Contact[${i + 1}]`, 'a Contact needs a role and a type');
  });

  const x = extras(inc);
  const descriptions = kids(inc, 'Description').map((d) => textOf(d).trim());
  const impact = attr(kids(kids(inc, 'Assessment')[0] ?? {}, 'SystemImpact')[0] ?? {}, 'severity');
  const category = x.get('category') ?? 'other';
  const reporter =
    contacts.find((c) => attr(c, 'role') === 'reporter') ?? contacts.find((c) => attr(c, 'role') === 'creator') ?? contacts[0]!;
  const poc = contacts.find((c) => attr(c, 'role') === 'ext-value' && attr(c, 'ext-role') === 'poc');
  const tlpLabel = x.get('tlp')?.replace(/^TLP:/, '');
  const incident: Record<string, unknown> = {
    title: descriptions[0] || `IODEF incident ${idValue} from ${idName}`.slice(0, 300),
    category: (CATEGORIES as string[]).includes(category) ? category : 'other',
    severity: x.get('severity') ?? ((SEVERITIES as readonly string[]).includes(impact ?? '') ? impact : 'medium'),
    tlp: tlpLabel ?? tlpOfRestriction(attr(inc, 'restriction')),
    reporter: contactFrom(reporter),
    hosts: hostsFrom(inc, base),
    vulnerabilities: vulnerabilitiesFrom(inc),
    evidence: evidenceFrom(inc),
    indicators: indicatorsFrom(inc),
  };
  const type = x.get('type') ?? (category === 'other' && !x.has('category') ? 'undetermined' : undefined);
  if (type !== undefined && (RSIT[incident.category as keyof typeof RSIT] as readonly string[]).includes(type)) incident.type = type;
  if (descriptions[1]) incident.summary = descriptions[1];
  if (poc) incident.poc = contactFrom(poc);
  const start = trimmed(kids(inc, 'StartTime')[0]);
  const end = trimmed(kids(inc, 'EndTime')[0]);
  if (start !== undefined) incident.firstSeen = start;
  if (end !== undefined) incident.lastSeen = end;
  const phase = x.get('phase');
  if (phase !== undefined) incident.phase = phase;
  const activity = x.get('intruderActivity');
  if (activity !== undefined) incident.intruderActivity = activity;
  const changes = jsonList(x, 'systemChanges', `${base}/AdditionalData[@meaning='systemChanges']`);
  if (changes) incident.systemChanges = changes;
  const software = jsonList(x, 'installedSoftware', `${base}/AdditionalData[@meaning='installedSoftware']`);
  if (software) incident.installedSoftware = software;

  const error = checkIncident.Check(incident) ? undefined : [...checkIncident.Errors(incident)][0];
  if (error)
    fail(
      `${base}${pointerOf(error.instancePath)}`,
      `the incident read from it is invalid at ${error.instancePath || '/'}: ${error.message}`,
    );
  const mapped = incident as IncidentCreate;
  return {
    objectId: `${idName}:${idValue}`.slice(0, 400),
    sourceRef: { team: idName, ref: idValue },
    digest: createHash('sha256').update(canonicalize(mapped)).digest('hex'),
    incident: mapped,
  };
}

/** Where in the document a field of the mapped incident came from, as near as the mapping allows. */
function pointerOf(instancePath: string): string {
  const [, field, index] = instancePath.split('/');
  const n = index !== undefined && /^\d+$/.test(index) ? `[${Number(index) + 1}]` : '';
  switch (field) {
    case 'title':
    case 'summary':
      return `/Description[${field === 'title' ? 1 : 2}]`;
    case 'reporter':
    case 'poc':
      return `/Contact[@role='${field === 'reporter' ? 'reporter' : 'ext-value'}']`;
    case 'hosts':
      return `/EventData/Flow/System${n}`;
    case 'evidence':
      return `/EventData/Record/RecordData${n}`;
    case 'indicators':
      return `/IndicatorData/Indicator${n}`;
    case 'vulnerabilities':
      return `/Method${n}`;
    case 'firstSeen':
      return '/StartTime';
    case 'lastSeen':
      return '/EndTime';
    default:
      return field ? `/AdditionalData[@meaning='${field}']` : '';
  }
}
