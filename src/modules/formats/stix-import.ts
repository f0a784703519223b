import { INCIDENT_FIELDS } from '../../../schemas/federation.schema.js';
import { createHash } from 'node:crypto';
import type { Tlp } from '../../../schemas/common.schema.js';
import { IncidentCreateSchema, type IncidentCreate } from '../../../schemas/incident.schema.js';
import { canonicalize } from '../../crypto/index.js';
import { ProblemError } from '../../http/problem.js';
import { stricterTlp } from '../policy/index.js';
import { HIKESHI_EXTENSION_ID, keysTo, tlpOfMarking, type StixBundle, type StixObject } from './stix-common.js';
import { compileOnFirstUse } from '../../util/compile-on-first-use.js';

/**
 * A STIX 2.1 bundle as incidents of ours: a pure mapping, checked first. Every `incident` object
 * becomes one incident; a bundle without one files its indicators and observed data as one
 * incident named after the bundle. Our own extension (stix-export.ts) maps back field by field,
 * so a round trip of our export keeps every field; another tool's incident gets the fields STIX
 * has (name, description, markings, indicators) and conservative defaults for the rest.
 *
 * The label: the strictest TLP marking on the object (official TLP 2.0 ids, TLP 1.0 ids as their
 * 2.0 equivalents, or a bundled `tlp` marking definition); with none, AMBER: an unlabelled report
 * stays with those who need to know it until a handler decides otherwise (docs/stix.md).
 */
export interface StixCandidate {
  /** The STIX id the incident was filed under: the incident object's, or the bundle's. */
  objectId: string;
  /** Where it points when the content fails our own rules (a JSON pointer into the bundle). */
  pointer: string;
  /** sha256 of the canonical JSON of what it maps to: the same content again files nothing. */
  digest: string;
  input: IncidentCreate;
  /** The originator's reference number, when the bundle says it. */
  sourceRef: string | null;
}

export const MAX_STIX_OBJECTS = 20_000;
const UUID = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}';
const ID = new RegExp(`^([a-z0-9][a-z0-9-]{1,248}[a-z0-9])--${UUID}$`, 'i');
const TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?Z$/;
const TIME_PROPERTIES = ['created', 'modified', 'valid_from', 'valid_until', 'first_observed', 'last_observed', 'first_seen', 'last_seen'];
/** Cyber-observables: no created/modified, spec_version optional. */
const SCO_TYPES = new Set([
  'artifact',
  'autonomous-system',
  'directory',
  'domain-name',
  'email-addr',
  'email-message',
  'file',
  'ipv4-addr',
  'ipv6-addr',
  'mac-addr',
  'mutex',
  'network-traffic',
  'process',
  'software',
  'url',
  'user-account',
  'windows-registry-key',
  'x509-certificate',
]);

const invalid = (pointer: string, message: string): ProblemError =>
  new ProblemError('import-invalid', `the STIX bundle is not valid: ${message}`, { pointer });

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function checkTime(obj: Record<string, unknown>, key: string, at: string): void {
  const v = obj[key];
  if (v === undefined) return;
  if (typeof v !== 'string' || !TIMESTAMP.test(v) || Number.isNaN(Date.parse(v))) {
    throw invalid(`${at}/${key}`, `${key} must be a STIX timestamp (RFC 3339, UTC, Z)`);
  }
}

function checkObject(obj: unknown, at: string): StixObject {
  if (!isObject(obj)) throw invalid(at, 'every object must be a JSON object');
  const { type, id } = obj;
  if (typeof type !== 'string' || !/^[a-z0-9][a-z0-9-]{1,248}[a-z0-9]$/.test(type))
    throw invalid(`${at}/type`, 'type is missing or not a STIX type name');
  if (typeof id !== 'string' || ID.exec(id)?.[1] !== type) throw invalid(`${at}/id`, `id must be "${type}--<uuid>"`);
  const sco = SCO_TYPES.has(type);
  if (obj['spec_version'] !== '2.1' && !(sco && obj['spec_version'] === undefined))
    throw invalid(`${at}/spec_version`, 'spec_version must be "2.1"');
  if (!sco) {
    for (const key of type === 'marking-definition' ? ['created'] : ['created', 'modified']) {
      if (obj[key] === undefined) throw invalid(`${at}/${key}`, `${key} is required`);
    }
  }
  for (const key of TIME_PROPERTIES) checkTime(obj, key, at);
  const refs = obj['object_marking_refs'];
  if (refs !== undefined && (!Array.isArray(refs) || refs.some((r) => typeof r !== 'string' || !ID.test(r)))) {
    throw invalid(`${at}/object_marking_refs`, 'object_marking_refs must be a list of marking-definition ids');
  }
  if (type === 'incident' && (typeof obj['name'] !== 'string' || obj['name'].length === 0))
    throw invalid(`${at}/name`, 'an incident needs a name');
  if (type === 'indicator' && typeof obj['pattern'] !== 'string') throw invalid(`${at}/pattern`, 'an indicator needs a pattern');
  if (type === 'relationship' && (typeof obj['source_ref'] !== 'string' || typeof obj['target_ref'] !== 'string')) {
    throw invalid(`${at}/source_ref`, 'a relationship needs source_ref and target_ref');
  }
  if (obj['extensions'] !== undefined && !isObject(obj['extensions'])) throw invalid(`${at}/extensions`, 'extensions must be an object');
  return obj as StixObject;
}

/** Our own structural checks: a bundle of STIX 2.1 objects with well-formed ids and timestamps. 400 import-invalid with the first failing pointer. */
export function validateBundle(value: unknown): StixBundle {
  if (!isObject(value)) throw invalid('', 'the body must be a STIX bundle object');
  if (value['type'] !== 'bundle') throw invalid('/type', 'type must be "bundle"');
  if (typeof value['id'] !== 'string' || !new RegExp(`^bundle--${UUID}$`, 'i').test(value['id']))
    throw invalid('/id', 'id must be "bundle--<uuid>"');
  const objects = value['objects'];
  if (!Array.isArray(objects) || objects.length === 0) throw invalid('/objects', 'objects must be a non-empty list');
  if (objects.length > MAX_STIX_OBJECTS) throw invalid('/objects', `at most ${MAX_STIX_OBJECTS} objects`);
  const seen = new Set<string>();
  objects.forEach((obj, i) => {
    const checked = checkObject(obj, `/objects/${i}`);
    const version = `${checked.id}@${String(checked['modified'] ?? '')}`;
    if (seen.has(version)) throw invalid(`/objects/${i}/id`, `${checked.id} appears twice with the same modified time`);
    seen.add(version);
  });
  return { type: 'bundle', id: value['id'], objects: objects as StixObject[] };
}

const SIMPLE_PATTERN = /^\[\s*([a-z0-9-]+):(value|hashes\.(?:'([A-Za-z0-9-]+)'|([A-Za-z0-9-]+)))\s*=\s*'((?:[^'\\]|\\.)*)'\s*\]$/;
type Indicator = NonNullable<IncidentCreate['indicators']>[number];
const KIND_OF_TYPE: Record<string, Indicator['kind']> = {
  'ipv4-addr': 'ipv4',
  'ipv6-addr': 'ipv6',
  'domain-name': 'domain',
  url: 'url',
  'email-addr': 'email',
};
const KIND_OF_HASH: Record<string, 'md5' | 'sha1' | 'sha256'> = {
  MD5: 'md5',
  'SHA-1': 'sha1',
  SHA1: 'sha1',
  'SHA-256': 'sha256',
  SHA256: 'sha256',
};

/** `[ipv4-addr:value = '...']` and the like: the forms our export writes and most tools use. Anything else is skipped. */
export function indicatorOfPattern(pattern: string): Indicator | null {
  const m = SIMPLE_PATTERN.exec(pattern.trim());
  if (!m) return null;
  const value = m[5]!.replace(/\\(.)/g, '$1');
  if (m[2] === 'value') {
    const kind = KIND_OF_TYPE[m[1]!];
    return kind && value ? { kind, value } : null;
  }
  const kind = m[1] === 'file' ? KIND_OF_HASH[(m[3] ?? m[4])!.toUpperCase()] : undefined;
  return kind && value ? { kind, value } : null;
}

function indicatorOfSco(sco: StixObject): Indicator | null {
  const kind = KIND_OF_TYPE[sco.type];
  if (kind && typeof sco['value'] === 'string' && sco['value']) return { kind, value: sco['value'] };
  if (sco.type === 'file' && isObject(sco['hashes'])) {
    for (const [alg, v] of Object.entries(sco['hashes'])) {
      const hashKind = KIND_OF_HASH[alg.toUpperCase()];
      if (hashKind && typeof v === 'string') return { kind: hashKind, value: v };
    }
  }
  return null;
}

/** The strictest TLP among an object's markings; the bundled `tlp` definitions (TLP 1.0 style) count too. */
function tlpOf(obj: StixObject, byId: Map<string, StixObject>): Tlp | null {
  let tlp: Tlp | null = null;
  for (const ref of (obj['object_marking_refs'] as string[] | undefined) ?? []) {
    let label = tlpOfMarking(ref);
    const def = byId.get(ref);
    if (!label && def && def['definition_type'] === 'tlp' && isObject(def['definition'])) {
      const named = String(def['definition']['tlp']).toUpperCase();
      label = named === 'WHITE' ? 'CLEAR' : (['GREEN', 'AMBER', 'RED'] as Tlp[]).find((t) => t === named);
    }
    if (label) tlp = tlp ? stricterTlp(tlp, label) : label;
  }
  return tlp;
}

const DEFAULT_TLP: Tlp = 'AMBER';
const check = compileOnFirstUse(IncidentCreateSchema);

function dedupe(indicators: Indicator[]): Indicator[] {
  const seen = new Set<string>();
  return indicators.filter((i) => !seen.has(`${i.kind} ${i.value}`) && !!seen.add(`${i.kind} ${i.value}`));
}

/** What our extension says, back in our field names; null for another tool's incident. */
function fromExtension(obj: StixObject): { fields: Record<string, unknown>; detail: string } | null {
  const ext = (obj['extensions'] as Record<string, unknown> | undefined)?.[HIKESHI_EXTENSION_ID];
  if (!isObject(ext)) return null;
  const { extension_type: _t, detail, ...rest } = ext;
  return { fields: keysTo('camel', rest) as Record<string, unknown>, detail: typeof detail === 'string' ? detail : 'full' };
}

/** Our fields the extension carries: all but those STIX's own properties and markings carry (name, description, markings, indicators). */
const CARRIED_BY_STIX: ReadonlySet<string> = new Set(['title', 'summary', 'tlp', 'indicators']);
const REPORT_FIELDS = [...INCIDENT_FIELDS.filter((f) => !CARRIED_BY_STIX.has(f)), 'phase'] as const;

/** Every incident the bundle describes, mapped and checked against our incident schema (import-invalid with its pointer otherwise). */
export function incidentsFromBundle(bundle: StixBundle): StixCandidate[] {
  const byId = new Map(bundle.objects.map((o) => [o.id, o]));
  const indexOf = new Map(bundle.objects.map((o, i) => [o.id, i]));
  const incidents = bundle.objects.filter((o) => o.type === 'incident');
  const linked = (target: string): StixObject[] =>
    bundle.objects
      .filter((o) => o.type === 'relationship' && (o['target_ref'] === target || o['source_ref'] === target))
      .map((r) => byId.get((r['target_ref'] === target ? r['source_ref'] : r['target_ref']) as string))
      .filter((o): o is StixObject => !!o);
  const indicatorsFrom = (objects: StixObject[]): Indicator[] => {
    const out: Indicator[] = [];
    for (const o of objects) {
      if (o.type === 'indicator') {
        const found = indicatorOfPattern(String(o['pattern']));
        if (found) out.push(typeof o['description'] === 'string' ? { ...found, description: o['description'].slice(0, 2000) } : found);
      } else if (o.type === 'observed-data') {
        for (const ref of (o['object_refs'] as unknown[] | undefined) ?? []) {
          const sco = byId.get(String(ref));
          const found = sco && indicatorOfSco(sco);
          if (found) out.push(found);
        }
      } else {
        const found = indicatorOfSco(o);
        if (found) out.push(found);
      }
    }
    return dedupe(out);
  };
  const reporterOf = (obj: StixObject) => {
    const author = byId.get(String(obj['created_by_ref']));
    return { name: typeof author?.['name'] === 'string' && author['name'] ? author['name'].slice(0, 200) : 'unknown (STIX import)' };
  };

  if (incidents.length === 0) {
    const members = bundle.objects.filter((o) => o.type !== 'marking-definition');
    const indicators = indicatorsFrom(members);
    if (indicators.length === 0) throw invalid('/objects', 'the bundle has no incident and no indicator or observable we can file');
    const labels = members.map((o) => tlpOf(o, byId)).filter((t): t is Tlp => !!t);
    const input: IncidentCreate = {
      title: `Indicators from STIX ${bundle.id}`.slice(0, 300),
      category: 'other',
      type: 'undetermined',
      severity: 'medium',
      tlp: labels.length ? labels.reduce(stricterTlp) : DEFAULT_TLP,
      reporter: reporterOf(members[0]!),
      indicators,
    };
    return [candidate(bundle.id, '', input, null)];
  }

  return incidents.map((obj) => {
    const at = `/objects/${indexOf.get(obj.id)!}`;
    const ours = fromExtension(obj);
    const refs = (obj['external_references'] as Array<Record<string, unknown>> | undefined) ?? [];
    const sourceRef = typeof refs[0]?.['external_id'] === 'string' ? refs[0]['external_id'] : null;
    const related = incidents.length === 1 ? bundle.objects : linked(obj.id);
    const fields: Record<string, unknown> = {};
    if (ours) for (const key of REPORT_FIELDS) if (ours.fields[key] !== undefined) fields[key] = ours.fields[key];
    // A summary carries hosts without descriptions and no reporter: filed as what it is.
    const ownIndicators = ours && Array.isArray(ours.fields['indicators']) ? (ours.fields['indicators'] as Indicator[]) : null;
    const markingTlp = tlpOf(obj, byId);
    const extensionTlp = ours && typeof ours.fields['tlp'] === 'string' ? (ours.fields['tlp'] as Tlp) : null;
    const input = {
      title: String(obj['name']).slice(0, 300),
      ...(typeof obj['description'] === 'string' ? { summary: obj['description'] } : {}),
      category: 'other',
      type: 'undetermined',
      severity: 'medium',
      ...fields,
      reporter: fields['reporter'] ?? reporterOf(obj),
      // Both the marking and our own field, when they disagree: the stricter one.
      tlp: markingTlp && extensionTlp ? stricterTlp(markingTlp, extensionTlp) : (markingTlp ?? extensionTlp ?? DEFAULT_TLP),
      indicators: ownIndicators ?? indicatorsFrom(related.filter((o) => o.id !== obj.id)),
    } as IncidentCreate;
    if (fields['type'] === undefined && ours) delete (input as { type?: unknown }).type;
    return candidate(obj.id, ours ? `${at}/extensions/${HIKESHI_EXTENSION_ID}` : at, input, sourceRef);
  });
}

function candidate(objectId: string, pointer: string, input: IncidentCreate, sourceRef: string | null): StixCandidate {
  if (!check.Check(input)) {
    const first = check.Errors(input)[0] as { instancePath?: string; message?: string } | undefined;
    const path = (first?.instancePath ?? '').replace(
      /\/([a-zA-Z]+)/g,
      (_, k: string) => `/${k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)}`,
    );
    throw invalid(`${pointer}${path}`, `${objectId} does not map to a valid incident: ${first?.message ?? 'invalid'}`);
  }
  const digest = createHash('sha256').update(canonicalize(input)).digest('hex');
  return { objectId, pointer, digest, input, sourceRef };
}
