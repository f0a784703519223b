import type { Incident } from '../../../schemas/incident.schema.js';
import type { MispAttribute, MispEventDocument } from '../../../schemas/misp.schema.js';
import { INDICATOR_ATTRIBUTES, markerComment, SEVERITY_THREAT_LEVEL, TLP_DISTRIBUTION, TLP_TAGS, uuidV5 } from './misp-mapping.js';

/**
 * An incident as a MISP event (MISP core format). Pure: the caller decides what incident goes
 * in (the one held, or the redacted one a share to a peer would carry) and audits it.
 *
 * Observables become MISP's own attribute types, so a MISP instance correlates them and feeds
 * IDSs: hosts as ip-src (the source of the access, to_ids) or ip-dst (targets and stepping
 * stones, never to_ids: blocking a victim is not the intent), indicators by kind, CVEs as
 * `vulnerability`, installed software's hashes as sha256. What MISP has no field for rides in
 * the `hikeshi:` comment marker (misp-mapping.ts), so our own import gets every field back.
 */

export interface MispOrg {
  name: string;
  /** The team id: the organisation's uuid is derived from it. */
  teamId: string;
}

/** The event's date: the day the activity was first seen as the reporter wrote it, else the day we filed it. */
function eventDate(incident: Incident): string {
  return (incident.firstSeen ?? incident.createdAt).slice(0, 10);
}

function analysisOf(phase: Incident['phase']): string {
  if (phase === 'triage') return '0';
  return phase === 'closed' ? '2' : '1';
}

function eventTags(incident: Incident): Array<{ name: string }> {
  const rsit = incident.type ? `rsit:${incident.category}="${incident.type}"` : `rsit:${incident.category}`;
  return [TLP_TAGS[incident.tlp], rsit, `hikeshi:phase="${incident.phase}"`, `hikeshi:severity="${incident.severity}"`].map((name) => ({
    name,
  }));
}

/** Builds the attribute list; each uuid is UUIDv5 of the incident id and the attribute, numbered when one repeats. */
class AttributeList {
  readonly items: MispAttribute[] = [];
  private readonly seen = new Map<string, number>();
  constructor(private readonly incidentId: string) {}

  add(category: string, type: string, value: string, toIds: boolean, comment: string): void {
    const key = `${this.incidentId}/attribute/${category}/${type}/${value}`;
    const n = this.seen.get(key) ?? 0;
    this.seen.set(key, n + 1);
    this.items.push({
      uuid: uuidV5(n === 0 ? key : `${key}#${n}`),
      type,
      category,
      value,
      to_ids: toIds,
      distribution: '5',
      comment,
      disable_correlation: !toIds && type === 'text',
    });
  }
}

function addReportFields(list: AttributeList, incident: Incident): void {
  list.add('Internal reference', 'text', incident.ref, false, markerComment('reference-number'));
  if (incident.summary) list.add('Other', 'comment', incident.summary, false, markerComment('summary'));
  if (incident.intruderActivity) list.add('Other', 'text', incident.intruderActivity, false, markerComment('intruder-activity'));
  if (incident.firstSeen) list.add('Other', 'datetime', incident.firstSeen, false, markerComment('first-seen'));
  if (incident.lastSeen) list.add('Other', 'datetime', incident.lastSeen, false, markerComment('last-seen'));
  const { name: reporterName, ...reporter } = incident.reporter;
  list.add('Other', 'text', reporterName, false, markerComment('reporter', reporter));
  if (incident.poc) {
    const { name, ...poc } = incident.poc;
    list.add('Other', 'text', name, false, markerComment('poc', poc));
  }
}

function addHosts(list: AttributeList, incident: Incident): void {
  for (const host of incident.hosts) {
    const { ip, hostname, ...rest } = host;
    const toIds = host.role === 'source';
    if (ip) {
      list.add('Network activity', host.role === 'source' ? 'ip-src' : 'ip-dst', ip, toIds, markerComment('host', { hostname, ...rest }));
      // The name as an attribute of its own, for MISP's correlation; the host record above carries it back.
      if (hostname) list.add('Network activity', 'hostname', hostname, toIds, markerComment('host-name'));
    } else if (hostname) {
      list.add('Network activity', 'hostname', hostname, toIds, markerComment('host', rest));
    }
  }
}

function addSections(list: AttributeList, incident: Incident): void {
  for (const v of incident.vulnerabilities) {
    if (v.cve) list.add('External analysis', 'vulnerability', v.cve, false, markerComment('vulnerability', { description: v.description }));
    else if (v.description) list.add('External analysis', 'text', v.description, false, markerComment('vulnerability'));
  }
  for (const { description, ...rest } of incident.systemChanges)
    list.add('Other', 'text', description, false, markerComment('system-change', rest));
  for (const software of incident.installedSoftware) {
    const { sha256, name, ...rest } = software;
    if (sha256) list.add('Artifacts dropped', 'sha256', sha256, true, markerComment('installed-software', { name, ...rest }));
    else list.add('Artifacts dropped', 'text', name, false, markerComment('installed-software', rest));
  }
  for (const { content, ...rest } of incident.evidence) {
    // The log itself is the value when there is one; otherwise the kind stands in (MISP needs a value).
    const value = content && content.length > 0 ? content : rest.kind;
    list.add('Other', 'text', value, false, markerComment('evidence', { ...rest, ...(content ? {} : { noContent: true }) }));
  }
  for (const indicator of incident.indicators) {
    const a = INDICATOR_ATTRIBUTES[indicator.kind];
    list.add(a.category, a.type, indicator.value, a.toIds, markerComment('indicator', { description: indicator.description }));
  }
}

export function incidentToMispEvent(incident: Incident, org: MispOrg): MispEventDocument {
  const list = new AttributeList(incident.id);
  addReportFields(list, incident);
  addHosts(list, incident);
  addSections(list, incident);
  return {
    Event: {
      uuid: uuidV5(`${incident.id}/event`),
      info: incident.title,
      date: eventDate(incident),
      threat_level_id: SEVERITY_THREAT_LEVEL[incident.severity],
      analysis: analysisOf(incident.phase),
      distribution: TLP_DISTRIBUTION[incident.tlp],
      published: false,
      timestamp: String(Math.floor(Date.parse(incident.updatedAt) / 1000)),
      Orgc: { name: org.name, uuid: uuidV5(`team/${org.teamId}`) },
      Attribute: list.items,
      Tag: eventTags(incident),
    },
  };
}
