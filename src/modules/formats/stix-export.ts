import type { Tlp } from '../../../schemas/common.schema.js';
import { freezeWithCanonicalText } from '../../crypto/index.js';
import type { Incident } from '../../../schemas/incident.schema.js';
import type { ActivitySummary, PolicyDecision } from '../../../schemas/policy.schema.js';
import type { PolicyPayload } from '../policy/index.js';
import {
  HIKESHI_EXTENSION_ID,
  HIKESHI_EXTENSION_VERSION,
  patternLiteral,
  scoId,
  snakeKey,
  stableId,
  stixTime,
  tlp2Marking,
  TLP2_MARKING_IDS,
  type StixBundle,
  type StixObject,
} from './stix-common.js';

/**
 * An incident as a STIX 2.1 bundle: a pure mapping from what the sharing policy let go (the
 * redacted incident, or its activity summary) to objects, with nothing read from anywhere else,
 * so the policy's decision is the only thing that decides what a bundle for a peer names.
 *
 * - `incident` SDO: name and description from title and summary; every other field of ours in
 *   our published property extension (HIKESHI_EXTENSION_ID), snake_case.
 * - `identity`: our team (`created_by_ref` of everything we say), each team that numbers the
 *   incident in `externalRefs`, and the Hikeshi project that publishes the extension.
 * - per indicator STIX can express: the SCO (ipv4-addr, ipv6-addr, domain-name, url,
 *   email-addr, file with a hash), an `indicator` with the pattern, and a `related-to`
 *   relationship to the incident (STIX 2.1 defines no `indicates` target that is an incident).
 * - `observed-data` over those SCOs when the incident says when it was seen.
 * - the label as the official TLP 2.0 marking definition, on every object we create.
 * Ids are UUIDv5 of the incident id and the object (SCOs: STIX's own deterministic ids), so a
 * re-export of the same incident names the same objects.
 */
export type StixView = { detail: 'full'; incident: Incident } | { detail: 'summary'; summary: ActivitySummary };

export interface StixExportContext {
  /** Our team id: the author of every object. */
  teamId: string;
  /** The incident's id (a summary carries only the reference number). */
  incidentId: string;
  /** The label the bundle travels under: the policy's for a recipient, the incident's otherwise. */
  tlp: Tlp;
  /** The recipient the bundle was made for, if any: part of the bundle id. */
  recipient?: string;
  /** Absolute URL of the extension's JSON schema on this node. */
  extensionSchemaUrl: string;
}

/** Published objects (identities of teams, the extension) carry a fixed time: same id, same object. */
const PUBLISHED = '2026-01-01T00:00:00.000Z';
const PROJECT_IDENTITY = stableId('identity', 'hikeshi-project');

const SCO_OF: Record<string, { type: string; hash?: string }> = {
  ipv4: { type: 'ipv4-addr' },
  ipv6: { type: 'ipv6-addr' },
  domain: { type: 'domain-name' },
  url: { type: 'url' },
  email: { type: 'email-addr' },
  md5: { type: 'file', hash: 'MD5' },
  sha1: { type: 'file', hash: 'SHA-1' },
  sha256: { type: 'file', hash: 'SHA-256' },
};

const snakeNames = new Map<string, string>();
const bySnakeName = (a: [string, unknown], b: [string, unknown]): number => (a[0] < b[0] ? -1 : 1);

/**
 * Drops nulls and empty lists, at every depth (STIX forbids empty lists, and null says nothing),
 * and names every key in snake_case (keysTo): one walk, since a page makes this for each incident.
 * Keys are written in canonical order (RFC 8785: UTF-16 code units), so the canonical text of
 * what holds it is JSON.stringify's (see `sorted`).
 */
function compactSnake(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(compactSnake);
  if (value && typeof value === 'object') {
    const members: Array<[string, unknown]> = [];
    for (const k of Object.keys(value)) {
      const v = (value as Record<string, unknown>)[k];
      if (v === null || v === undefined || (Array.isArray(v) && v.length === 0)) continue;
      let name = snakeNames.get(k);
      if (name === undefined) {
        name = snakeKey(k);
        if (snakeNames.size < 1000) snakeNames.set(k, name);
      }
      members.push([name, v]);
    }
    members.sort(bySnakeName);
    const out: Record<string, unknown> = {};
    for (const [name, v] of members) out[name] = compactSnake(v);
    return out;
  }
  return value;
}

/**
 * The object with its keys in canonical order (RFC 8785: UTF-16 code units). An object whose
 * keys are in that order at every depth is canonicalised by JSON.stringify itself (canonicalize's
 * fast path), far cheaper than sorting while writing; a page of thousands of objects makes each.
 */
function sorted<T extends Record<string, unknown>>(object: T): T {
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(object).sort()) out[key] = object[key];
  return out as T;
}

export const teamIdentityId = (teamId: string): string => stableId('identity', `team/${teamId}`);

/**
 * The objects an export carries unchanged whatever the incident (the label's TLP 2.0 marking,
 * the Hikeshi project's identity and extension definition, a team's identity): made and
 * canonicalised once, frozen (freezeWithCanonicalText), and the same instances in every export,
 * so a TAXII page of thousands of incidents neither makes nor canonicalises them again for each.
 */
const published = new Map<string, StixObject>();
/** Team identities come from incidents' external references: the memo is cleared past this. */
const MAX_PUBLISHED = 10_000;

function publishedObject(key: string, make: () => StixObject): StixObject {
  let object = published.get(key);
  if (object === undefined) {
    if (published.size >= MAX_PUBLISHED) published.clear();
    object = freezeWithCanonicalText(make());
    published.set(key, object);
  }
  return object;
}

function teamIdentity(teamId: string, marking: string): StixObject {
  return publishedObject(`identity|${teamId}|${marking}`, () => ({
    type: 'identity',
    spec_version: '2.1',
    id: teamIdentityId(teamId),
    created: PUBLISHED,
    modified: PUBLISHED,
    name: teamId,
    identity_class: 'organization',
    object_marking_refs: [marking],
  }));
}

/** Our extension's definition object: the same on every node. */
export function extensionDefinition(schemaUrl: string, marking: string): StixObject[] {
  return [
    publishedObject(`project|${marking}`, () => ({
      type: 'identity',
      spec_version: '2.1',
      id: PROJECT_IDENTITY,
      created: PUBLISHED,
      modified: PUBLISHED,
      name: 'Hikeshi project',
      identity_class: 'organization',
      object_marking_refs: [marking],
    })),
    publishedObject(`extension|${schemaUrl}|${marking}`, () => ({
      type: 'extension-definition',
      spec_version: '2.1',
      id: HIKESHI_EXTENSION_ID,
      created_by_ref: PROJECT_IDENTITY,
      created: PUBLISHED,
      modified: PUBLISHED,
      name: 'Hikeshi incident report',
      description:
        "The fields of a Hikeshi incident report STIX 2.1 has no home for: reference number, phase, RSIT category and type, severity, hosts with their roles, the intruder's activity, the reporter and the person in charge (when not redacted), vulnerabilities, system changes, installed software, evidence, all indicators.",
      schema: schemaUrl,
      version: HIKESHI_EXTENSION_VERSION,
      extension_types: ['property-extension'],
      object_marking_refs: [marking],
    })),
  ];
}

/** The extension's properties for a full incident or a summary. */
function extensionOf(view: StixView): Record<string, unknown> {
  if (view.detail === 'summary') {
    return { detail: 'summary', ...(compactSnake(view.summary) as Record<string, unknown>) };
  }
  const { id: _id, title: _t, summary: _s, createdBy: _c, createdAt: _ca, updatedAt: _u, retracted: _r, ...rest } = view.incident;
  return { detail: 'full', ...(compactSnake(rest) as Record<string, unknown>) };
}

export function incidentToStix(view: StixView, ctx: StixExportContext): StixBundle {
  const version = view.detail === 'full' ? view.incident.version : view.summary.version;
  return {
    type: 'bundle',
    id: stableId('bundle', `${ctx.incidentId}/${ctx.recipient ?? ''}/${version}/${view.detail}`),
    objects: incidentStixObjects(view, ctx),
  };
}

/**
 * The objects of `incidentToStix`'s bundle, without the bundle (a TAXII page serves objects).
 * The objects every incident carries alike (marking, identities, extension definition) are the
 * shared frozen instances of `publishedObject`.
 */
export function incidentStixObjects(view: StixView, ctx: StixExportContext): StixObject[] {
  const marking = TLP2_MARKING_IDS[ctx.tlp];
  const markings = { object_marking_refs: [marking] };
  const ours = teamIdentity(ctx.teamId, marking);
  const us = ours.id;
  const authored = (type: string, key: string, created: string, modified: string, id?: string) => ({
    type,
    spec_version: '2.1',
    id: id ?? stableId(type, `${ctx.incidentId}/${key}`),
    created_by_ref: us,
    created,
    modified,
  });

  const facts =
    view.detail === 'full'
      ? {
          ref: view.incident.ref,
          name: view.incident.title,
          description: view.incident.summary,
          created: stixTime(view.incident.createdAt),
          modified: stixTime(view.incident.updatedAt),
          firstSeen: view.incident.firstSeen,
          lastSeen: view.incident.lastSeen,
          indicators: view.incident.indicators,
          externalRefs: view.incident.externalRefs,
        }
      : {
          ref: view.summary.ref,
          name: `${view.summary.ref}: ${view.summary.category}${view.summary.type ? ` / ${view.summary.type}` : ''}`,
          description: null,
          created: stixTime(view.summary.updatedAt),
          modified: stixTime(view.summary.updatedAt),
          firstSeen: view.summary.firstSeen,
          lastSeen: view.summary.lastSeen,
          indicators: view.summary.indicators as Array<{ kind: string; value: string; description?: string }>,
          externalRefs: [] as Incident['externalRefs'],
        };

  const incident: StixObject = sorted({
    ...authored('incident', 'incident', facts.created, facts.modified, stableId('incident', ctx.incidentId)),
    name: facts.name,
    ...(facts.description ? { description: facts.description } : {}),
    external_references: [
      { external_id: facts.ref, source_name: ctx.teamId },
      ...facts.externalRefs.map((r) => ({ external_id: r.ref, source_name: r.team })),
    ],
    ...markings,
    extensions: { [HIKESHI_EXTENSION_ID]: sorted({ extension_type: 'property-extension', ...extensionOf(view) }) },
  });

  const objects: StixObject[] = [
    publishedObject(`marking|${ctx.tlp}`, () => tlp2Marking(ctx.tlp)),
    ...extensionDefinition(ctx.extensionSchemaUrl, marking),
    ours,
  ];
  for (const team of new Set(facts.externalRefs.map((r) => r.team).filter((t) => t !== ctx.teamId)))
    objects.push(teamIdentity(team, marking));
  objects.push(incident);

  const scoIds: string[] = [];
  for (const indicator of facts.indicators) {
    const sco = SCO_OF[indicator.kind];
    if (!sco) continue; // asn, user-agent, other: no SCO; they travel in the extension
    const contributing = sco.hash ? { hashes: { [sco.hash]: indicator.value } } : { value: indicator.value };
    const observable: StixObject = sorted({
      type: sco.type,
      spec_version: '2.1',
      id: scoId(sco.type, contributing),
      ...contributing,
      ...markings,
    });
    if (!scoIds.includes(observable.id)) {
      scoIds.push(observable.id);
      objects.push(observable);
    }
    const path = sco.hash ? `hashes.'${sco.hash}'` : 'value';
    const key = `indicator/${indicator.kind}/${indicator.value}`;
    const sdo: StixObject = sorted({
      ...authored('indicator', key, facts.created, facts.modified),
      name: `${indicator.kind} ${indicator.value}`,
      ...(indicator.description ? { description: indicator.description } : {}),
      pattern: `[${sco.type}:${path} = ${patternLiteral(indicator.value)}]`,
      pattern_type: 'stix',
      pattern_version: '2.1',
      valid_from: facts.created,
      ...markings,
    });
    objects.push(sdo, relationship(sdo.id, incident.id, `${key}/related-to`));
  }
  if (scoIds.length > 0 && facts.firstSeen) {
    const first = stixTime(facts.firstSeen);
    const last = facts.lastSeen && Date.parse(facts.lastSeen) >= Date.parse(facts.firstSeen) ? stixTime(facts.lastSeen) : first;
    const observed: StixObject = sorted({
      ...authored('observed-data', 'observed-data', facts.created, facts.modified),
      first_observed: first,
      last_observed: last,
      number_observed: 1,
      object_refs: scoIds,
      ...markings,
    });
    objects.push(observed, relationship(observed.id, incident.id, 'observed-data/related-to'));
  }
  return objects;

  function relationship(source: string, target: string, key: string): StixObject {
    return sorted({
      ...authored('relationship', key, facts.created, facts.modified),
      relationship_type: 'related-to',
      source_ref: source,
      target_ref: target,
      ...markings,
    });
  }
}

/** The policy's payload as what the export maps: the redacted incident under the decided label, or the summary. */
export function stixViewOf(payload: PolicyPayload, decision: PolicyDecision): StixView {
  return payload.detail === 'full'
    ? { detail: 'full', incident: { ...payload.incident, tlp: decision.tlp } }
    : { detail: 'summary', summary: payload.summary };
}
