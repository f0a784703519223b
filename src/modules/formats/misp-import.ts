import type { TSchema } from 'typebox';
import { ContactSchema, TLP_LABELS, type Tlp } from '../../../schemas/common.schema.js';
import {
  CATEGORIES,
  EvidenceSchema,
  HostSchema,
  IndicatorSchema,
  IncidentCreateSchema,
  InstalledSoftwareSchema,
  PHASES,
  RSIT,
  SEVERITIES,
  SystemChangeSchema,
  VulnerabilitySchema,
  type Category,
  type IncidentCreate,
} from '../../../schemas/incident.schema.js';
import { MispEventInputSchema, type MispEventInput } from '../../../schemas/misp.schema.js';
import { ProblemError } from '../../http/problem.js';
import { compiledValidator } from '../../util/compile-on-first-use.js';
import { indicatorKindOf, parseMarker, TLP_TAGS } from './misp-mapping.js';

/**
 * A MISP event read back as an incident. Pure. Our own export comes back whole (every field
 * rides in a `hikeshi:` marker or a tag); a foreign event gives what MISP holds: its info as
 * the title, its tags (TLP, RSIT), its observables as indicators, CVEs as vulnerabilities.
 * Nothing is guessed silently: an event without a TLP tag is TLP:AMBER (need to know), one
 * without a threat level is medium.
 */

export interface MispMapped {
  uuid: string;
  input: IncidentCreate;
  /** Where each item of the incident came from in the document: `/hosts/2` -> `/Event/Attribute/5`. */
  sources: Record<string, string>;
}

type Attribute = NonNullable<MispEventInput['Attribute']>[number];

export function importInvalid(pointer: string, message: string): ProblemError {
  return new ProblemError('import-invalid', `the MISP event does not validate at ${pointer || '/'}: ${message}`, {
    pointer,
    errors: [{ location: 'body', pointer, message }],
  });
}

/** The first error of `value` against `schema` (instance path and message), or null when it validates. */
function firstError(schema: TSchema, value: unknown): { path: string; message: string } | null {
  const c = compiledValidator(schema);
  if (c.Check(value)) return null;
  const first = [...c.Errors(value)][0];
  return { path: first?.instancePath ?? '', message: first?.message ?? 'does not match' };
}

function check(schema: TSchema, value: unknown, pointer: string): void {
  const error = firstError(schema, value);
  if (error) throw importInvalid(pointer + error.path, error.message);
}

/** The event inside `{Event: {...}}`, or the body itself, with the pointer prefix to report against. */
export function unwrapEvent(body: unknown): { event: unknown; base: string } {
  if (body && typeof body === 'object' && !Array.isArray(body) && 'Event' in body)
    return { event: (body as { Event: unknown }).Event, base: '/Event' };
  return { event: body, base: '' };
}

function tagValue(tags: string[], predicate: string): string | undefined {
  for (const t of tags) {
    const m = new RegExp(`^${predicate}="([^"]*)"$`).exec(t);
    if (m) return m[1];
  }
  return undefined;
}

function fromTags(event: MispEventInput): Pick<IncidentCreate, 'tlp' | 'category' | 'type' | 'severity' | 'phase'> {
  const tags = (event.Tag ?? []).map((t) => t.name.trim());
  const lower = tags.map((t) => t.toLowerCase());
  const tlp =
    TLP_LABELS.find((l) => lower.includes(TLP_TAGS[l])) ?? (lower.includes('tlp:white') ? 'CLEAR' : ('AMBER' satisfies Tlp as Tlp));
  let category: Category = 'other';
  let type: string | undefined;
  for (const t of tags) {
    const m = /^rsit:([a-z-]+)(?:="([a-z0-9-]+)")?$/.exec(t);
    if (m && (CATEGORIES as string[]).includes(m[1]!)) {
      category = m[1] as Category;
      type = m[2] && (RSIT[category] as readonly string[]).includes(m[2]) ? m[2] : undefined;
      break;
    }
  }
  const severityTag = tagValue(tags, 'hikeshi:severity');
  const level = String(event.threat_level_id ?? '4');
  const severity = (SEVERITIES as readonly string[]).includes(severityTag ?? '')
    ? (severityTag as IncidentCreate['severity'])
    : level === '1'
      ? 'high'
      : level === '3'
        ? 'low'
        : 'medium';
  const phaseTag = tagValue(tags, 'hikeshi:phase');
  const phase = (PHASES as readonly string[]).includes(phaseTag ?? '') ? (phaseTag as IncidentCreate['phase']) : undefined;
  return { tlp, category, severity, ...(type ? { type: type as IncidentCreate['type'] } : {}), ...(phase ? { phase } : {}) };
}

/** Collects the incident's sections from the attributes, each record checked where it came from. */
class Sections {
  readonly out: Required<
    Pick<IncidentCreate, 'hosts' | 'vulnerabilities' | 'systemChanges' | 'installedSoftware' | 'evidence' | 'indicators'>
  > = { hosts: [], vulnerabilities: [], systemChanges: [], installedSoftware: [], evidence: [], indicators: [] };
  readonly fields: Partial<IncidentCreate> = {};
  readonly sources: Record<string, string> = {};

  push<K extends keyof Sections['out']>(section: K, schema: TSchema, record: unknown, pointer: string): void {
    check(schema, record, pointer);
    this.sources[`/${section}/${this.out[section].length}`] = pointer;
    (this.out[section] as unknown[]).push(record);
  }
}

function ours(s: Sections, a: Attribute, field: string, rest: Record<string, unknown>, at: string): void {
  switch (field) {
    case 'reference-number':
    case 'host-name':
      return; // our number is the receiving team's own business; the name rides in its host record
    case 'summary':
    case 'intruder-activity':
      s.fields[field === 'summary' ? 'summary' : 'intruderActivity'] = a.value;
      s.sources[field === 'summary' ? '/summary' : '/intruderActivity'] = at;
      return;
    case 'first-seen':
    case 'last-seen':
      s.fields[field === 'first-seen' ? 'firstSeen' : 'lastSeen'] = a.value;
      s.sources[field === 'first-seen' ? '/firstSeen' : '/lastSeen'] = at;
      return;
    case 'reporter':
    case 'poc': {
      const contact = { ...rest, name: a.value };
      check(ContactSchema, contact, at);
      s.fields[field] = contact as IncidentCreate['reporter'];
      s.sources[`/${field}`] = at;
      return;
    }
    case 'host': {
      const ip = a.type === 'hostname' ? {} : { ip: a.value };
      const name = a.type === 'hostname' ? { hostname: a.value } : {};
      return s.push('hosts', HostSchema, { ...rest, ...ip, ...name }, at);
    }
    case 'vulnerability':
      return s.push(
        'vulnerabilities',
        VulnerabilitySchema,
        a.type === 'vulnerability' ? { ...rest, cve: a.value } : { description: a.value },
        at,
      );
    case 'system-change':
      return s.push('systemChanges', SystemChangeSchema, { ...rest, description: a.value }, at);
    case 'installed-software':
      return s.push(
        'installedSoftware',
        InstalledSoftwareSchema,
        a.type === 'sha256' ? { ...rest, sha256: a.value } : { ...rest, name: a.value },
        at,
      );
    case 'evidence': {
      const { noContent, ...evidence } = rest;
      return s.push('evidence', EvidenceSchema, noContent === true ? evidence : { ...evidence, content: a.value }, at);
    }
    case 'indicator': {
      const kind = indicatorKindOf(a.type, a.value) ?? (a.type === 'text' ? 'other' : null);
      if (!kind) throw importInvalid(`${at}/type`, `attribute type ${a.type} is not an indicator type`);
      return s.push('indicators', IndicatorSchema, { kind, value: a.value, ...rest }, at);
    }
    default:
      throw importInvalid(`${at}/comment`, `unknown hikeshi field ${field}`);
  }
}

/** An attribute of a foreign event: observables as indicators, CVEs as vulnerabilities, the rest skipped. */
function foreign(s: Sections, a: Attribute, at: string): void {
  // A composite attribute (filename|sha256, ip-dst|port): the first part that is an observable.
  const types = a.type.split('|');
  const values = types.length > 1 ? a.value.split('|') : [a.value];
  for (let i = 0; i < types.length; i++) {
    const [type, value] = [types[i]!, values[i] ?? ''];
    if (type === 'vulnerability' && /^CVE-\d{4}-\d{4,}$/.test(value))
      return s.push('vulnerabilities', VulnerabilitySchema, { cve: value }, at);
    const kind = value ? indicatorKindOf(type, value) : null;
    if (kind) return s.push('indicators', IndicatorSchema, { kind, value, ...(a.comment ? { description: a.comment } : {}) }, at);
  }
}

/** Validates the event (400 import-invalid with the first failing pointer) and maps it. */
export function mispEventToIncident(body: unknown): MispMapped {
  const { event, base } = unwrapEvent(body);
  check(MispEventInputSchema, event, base);
  const e = event as MispEventInput;
  const s = new Sections();
  (e.Attribute ?? []).forEach((a, i) => {
    const at = `${base}/Attribute/${i}`;
    const marker = parseMarker(a.comment);
    if (!marker) return foreign(s, a, at);
    if (!marker.rest) throw importInvalid(`${at}/comment`, 'the hikeshi marker is not followed by a JSON object');
    ours(s, a, marker.field, marker.rest, at);
  });
  const input = {
    title: e.info.length > 300 ? `${e.info.slice(0, 299)}…` : e.info,
    ...fromTags(e),
    reporter: { name: (e.Orgc?.name || 'MISP').slice(0, 200) },
    ...s.fields,
    ...s.out,
  } as IncidentCreate;
  const mapped = { uuid: e.uuid.toLowerCase(), input, sources: { ...s.sources, '/title': `${base}/info` } };
  const error = firstError(IncidentCreateSchema, input);
  if (error) throw importInvalid(sourcePointer(mapped, error.path, base), error.message);
  return mapped;
}

/** The document pointer for a pointer into the incident (from the incident service's own checks). */
export function sourcePointer(mapped: MispMapped, incidentPointer: string, base: string): string {
  let best = '';
  for (const key of Object.keys(mapped.sources)) {
    if ((incidentPointer === key || incidentPointer.startsWith(`${key}/`)) && key.length > best.length) best = key;
  }
  return best ? mapped.sources[best]! : base;
}
