import type { Contact } from '../../../schemas/common.schema.js';
import type { Host, Incident, JournalEntry } from '../../../schemas/incident.schema.js';
import { buildXml, el, HIKESHI_FORMAT, IODEF_NS, RESTRICTION_OF, type XmlNode } from './iodef-xml.js';

/**
 * An incident as an IODEF v2 document (RFC 7970), pure: what the caller passes is what goes
 * (the incident as the sharing policy redacted it for a recipient, or as we hold it). Every
 * field with an IODEF home goes there; the lecture's fields without one (phase, the intruder's
 * activity, the RSIT category and type, changes, installed software, the exact TLP 2.0 label)
 * travel as AdditionalData with formatid "hikeshi", and our import reads them back.
 */
export interface IodefExportContext {
  teamId: string;
  teamName: string;
  teamEmail?: string;
  /** When the document is generated (GenerationTime). */
  now: Date;
  /** Journal entries for History: only in the team's own export (notes are not redacted by the policy). */
  journal?: JournalEntry[];
}

/** IANA protocol numbers for Service@ip-protocol; any other protocol name travels as AdditionalData. */
export const IP_PROTOCOLS: Record<string, string> = { icmp: '1', tcp: '6', udp: '17', sctp: '132', 'ipv6-icmp': '58' };
const SYSTEM_CATEGORY: Record<Host['role'], string> = { source: 'source', target: 'target', intermediary: 'intermediate' };

export const extra = (meaning: string, value: string, dtype = 'string'): XmlNode =>
  el('AdditionalData', { dtype, meaning, formatid: HIKESHI_FORMAT }, value);

function contactOf(c: Contact, role: string, extRole?: string): XmlNode {
  return el(
    'Contact',
    { role, 'ext-role': extRole, type: 'person' },
    el('ContactName', {}, c.name),
    c.postalAddress !== undefined && el('PostalAddress', {}, el('PAddress', {}, c.postalAddress)),
    c.email !== undefined && el('Email', {}, el('EmailTo', {}, c.email)),
    c.phone !== undefined && el('Telephone', { type: 'wired' }, el('TelephoneNumber', {}, c.phone)),
    c.mobile !== undefined && el('Telephone', { type: 'mobile' }, el('TelephoneNumber', {}, c.mobile)),
    c.fax !== undefined && el('Telephone', { type: 'fax' }, el('TelephoneNumber', {}, c.fax)),
    c.organisation !== undefined &&
      el('Contact', { role, 'ext-role': extRole, type: 'organization' }, el('ContactName', {}, c.organisation)),
    // IODEF's Timezone is an offset; ours is often a zone name (Asia/Tokyo): both travel as AdditionalData.
    c.timeZone !== undefined && extra('timeZone', c.timeZone),
    c.language !== undefined && extra('language', c.language),
  );
}

function systemOf(h: Host): XmlNode {
  const ipv6 = h.ip?.includes(':') ?? false;
  const protocolNumber = h.protocol !== undefined ? IP_PROTOCOLS[h.protocol.toLowerCase()] : undefined;
  const ports = h.ports ?? [];
  const services: XmlNode[] =
    ports.length > 0
      ? ports.map((p) => el('Service', { 'ip-protocol': protocolNumber }, el('Port', {}, String(p))))
      : protocolNumber !== undefined
        ? [el('Service', { 'ip-protocol': protocolNumber })]
        : [];
  return el(
    'System',
    { category: SYSTEM_CATEGORY[h.role], spoofed: h.spoofedSource === undefined ? undefined : h.spoofedSource ? 'yes' : 'no' },
    el(
      'Node',
      {},
      h.hostname !== undefined && el('DomainData', {}, el('Name', {}, h.hostname)),
      h.ip !== undefined && el('Address', { category: ipv6 ? 'ipv6-addr' : 'ipv4-addr' }, h.ip),
    ),
    ...services,
    h.description !== undefined && el('Description', {}, h.description),
    // The exact protocol name, when IODEF's number would lose it (e.g. "tcp" vs "TCP", or an unknown one).
    h.protocol !== undefined && extra('protocol', h.protocol),
  );
}

function evidenceData(incident: Incident): XmlNode | null {
  if (incident.evidence.length === 0) return null;
  return el(
    'EventData',
    {},
    el('Description', {}, 'Evidence'),
    el(
      'Record',
      {},
      ...incident.evidence.map((e) =>
        el(
          'RecordData',
          {},
          e.collectedAt !== undefined && el('DateTime', {}, e.collectedAt),
          e.description !== undefined && el('Description', {}, e.description),
          e.content !== undefined && el('RecordItem', { dtype: 'string', meaning: 'content' }, e.content),
          extra('kind', e.kind),
          e.timeZone !== undefined && extra('timeZone', e.timeZone),
          e.source !== undefined && extra('source', e.source),
        ),
      ),
    ),
  );
}

function indicatorOf(ind: Incident['indicators'][number], i: number, teamId: string): XmlNode {
  let observable: XmlNode;
  if (ind.kind === 'ipv4' || ind.kind === 'ipv6') observable = el('Address', { category: `${ind.kind}-addr` }, ind.value);
  else if (ind.kind === 'domain') observable = el('DomainData', {}, el('Name', {}, ind.value));
  else if (ind.kind === 'email') observable = el('Address', { category: 'e-mail' }, ind.value);
  else if (ind.kind === 'asn') observable = el('Address', { category: 'asn' }, ind.value);
  else if (ind.kind === 'url') observable = el('Address', { category: 'site-uri' }, ind.value);
  else observable = extra(ind.kind, ind.value);
  return el(
    'Indicator',
    {},
    el('IndicatorID', { name: teamId, version: '1' }, `ind-${i + 1}`),
    ind.description !== undefined && el('Description', {}, ind.description),
    el('Observable', {}, observable),
  );
}

const IMPACT: Record<Incident['severity'], string> = { low: 'low', medium: 'medium', high: 'high', critical: 'high' };

/** The IODEF-Document for `incident`; `incident` is what may go (already redacted where it leaves for a peer). */
export function incidentToIodef(incident: Incident, ctx: IodefExportContext): string {
  const language = incident.reporter.language;
  const lang = language !== undefined && /^[a-zA-Z]{1,8}(-[a-zA-Z0-9]{1,8})*$/.test(language) ? language : 'en';
  const journal = ctx.journal ?? [];
  const hosts = incident.hosts;
  const doc = el(
    'IODEF-Document',
    { xmlns: IODEF_NS, version: '2.00', 'xml:lang': lang },
    el(
      'Incident',
      { purpose: 'reporting', restriction: RESTRICTION_OF[incident.tlp] },
      el('IncidentID', { name: ctx.teamId }, incident.ref),
      incident.firstSeen !== null && el('StartTime', {}, incident.firstSeen),
      incident.lastSeen !== null && el('EndTime', {}, incident.lastSeen),
      el('ReportTime', {}, incident.createdAt),
      el('GenerationTime', {}, ctx.now.toISOString()),
      el('Description', {}, incident.title),
      incident.summary !== null && el('Description', {}, incident.summary),
      el('Discovery', { source: 'external-notification' }, el('Description', {}, 'Reported to the creator by the reporter contact')),
      el(
        'Assessment',
        { occurrence: 'actual' },
        el('IncidentCategory', {}, incident.type ? `${incident.category}/${incident.type}` : incident.category),
        el('SystemImpact', { severity: IMPACT[incident.severity] }),
      ),
      ...incident.vulnerabilities.map((v) =>
        el(
          'Method',
          {},
          v.cve !== undefined &&
            el('Reference', {}, el('URL', {}, `https://www.cve.org/CVERecord?id=${v.cve}`), el('Description', {}, v.cve)),
          v.description !== undefined && el('Description', {}, v.description),
        ),
      ),
      el(
        'Contact',
        { role: 'creator', type: 'organization' },
        el('ContactName', {}, ctx.teamName),
        ctx.teamEmail !== undefined && el('Email', {}, el('EmailTo', {}, ctx.teamEmail)),
        extra('teamId', ctx.teamId),
      ),
      contactOf(incident.reporter, 'reporter'),
      incident.poc !== null && contactOf(incident.poc, 'ext-value', 'poc'),
      hosts.length > 0 && el('EventData', {}, el('Description', {}, 'Hosts involved'), el('Flow', {}, ...hosts.map(systemOf))),
      evidenceData(incident),
      incident.indicators.length > 0 && el('IndicatorData', {}, ...incident.indicators.map((ind, i) => indicatorOf(ind, i, ctx.teamId))),
      journal.length > 0 &&
        el(
          'History',
          {},
          ...journal.map((j) =>
            el(
              'HistoryItem',
              { action: 'ext-value', 'ext-action': j.kind },
              el('DateTime', {}, j.at),
              el('Description', {}, j.note ?? `${j.kind} by ${j.actor} (${j.team})`),
            ),
          ),
        ),
      extra('tlp', `TLP:${incident.tlp}`),
      extra('phase', incident.phase),
      extra('category', incident.category),
      incident.type !== null && extra('type', incident.type),
      extra('severity', incident.severity),
      incident.intruderActivity !== null && extra('intruderActivity', incident.intruderActivity),
      incident.systemChanges.length > 0 && extra('systemChanges', JSON.stringify(incident.systemChanges)),
      incident.installedSoftware.length > 0 && extra('installedSoftware', JSON.stringify(incident.installedSoftware)),
    ),
  );
  return buildXml(doc);
}
