import type { Tlp } from '../../../schemas/common.schema.js';
import type { Incident } from '../../../schemas/incident.schema.js';
import type { ActivitySummary } from '../../../schemas/policy.schema.js';
import {
  HIKESHI_EXTENSION_ID,
  HIKESHI_EXTENSION_VERSION,
  keysTo,
  patternLiteral,
  scoId,
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

/** Drops nulls and empty lists, at every depth: STIX forbids empty lists, and null says nothing. */
function compact(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(compact);
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      if (v === null || v === undefined || (Array.isArray(v) && v.length === 0)) continue;
      out[k] = compact(v);
    }
    return out;
  }
  return value;
}

export const teamIdentityId = (teamId: string): string => stableId('identity', `team/${teamId}`);

function teamIdentity(teamId: string, marking: string): StixObject {
  return {
    type: 'identity',
    spec_version: '2.1',
    id: teamIdentityId(teamId),
    created: PUBLISHED,
    modified: PUBLISHED,
    name: teamId,
    identity_class: 'organization',
    object_marking_refs: [marking],
  };
}

/** Our extension's definition object: the same on every node. */
export function extensionDefinition(schemaUrl: string, marking: string): StixObject[] {
  return [
    {
      type: 'identity',
      spec_version: '2.1',
      id: PROJECT_IDENTITY,
      created: PUBLISHED,
      modified: PUBLISHED,
      name: 'Hikeshi project',
      identity_class: 'organization',
      object_marking_refs: [marking],
    },
    {
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
    },
  ];
}

/** The extension's properties for a full incident or a summary. */
function extensionOf(view: StixView): Record<string, unknown> {
  if (view.detail === 'summary') {
    return { detail: 'summary', ...(keysTo('snake', compact(view.summary)) as Record<string, unknown>) };
  }
  const { id: _id, title: _t, summary: _s, createdBy: _c, createdAt: _ca, updatedAt: _u, retracted: _r, ...rest } = view.incident;
  return { detail: 'full', ...(keysTo('snake', compact(rest)) as Record<string, unknown>) };
}

export function incidentToStix(view: StixView, ctx: StixExportContext): StixBundle {
  const marking = TLP2_MARKING_IDS[ctx.tlp];
  const markings = { object_marking_refs: [marking] };
  const us = teamIdentityId(ctx.teamId);
  const authored = (type: string, key: string, created: string, modified: string) => ({
    type,
    spec_version: '2.1',
    id: stableId(type, `${ctx.incidentId}/${key}`),
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
          version: view.incident.version,
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
          version: view.summary.version,
        };

  const incident: StixObject = {
    ...authored('incident', 'incident', facts.created, facts.modified),
    id: stableId('incident', ctx.incidentId),
    name: facts.name,
    ...(facts.description ? { description: facts.description } : {}),
    external_references: [
      { source_name: ctx.teamId, external_id: facts.ref },
      ...facts.externalRefs.map((r) => ({ source_name: r.team, external_id: r.ref })),
    ],
    ...markings,
    extensions: { [HIKESHI_EXTENSION_ID]: { extension_type: 'property-extension', ...extensionOf(view) } },
  };

  const objects: StixObject[] = [tlp2Marking(ctx.tlp), ...extensionDefinition(ctx.extensionSchemaUrl, marking)];
  const teams = [ctx.teamId, ...new Set(facts.externalRefs.map((r) => r.team).filter((t) => t !== ctx.teamId))];
  for (const team of teams) objects.push(teamIdentity(team, marking));
  objects.push(incident);

  const scoIds: string[] = [];
  for (const indicator of facts.indicators) {
    const sco = SCO_OF[indicator.kind];
    if (!sco) continue; // asn, user-agent, other: no SCO; they travel in the extension
    const contributing = sco.hash ? { hashes: { [sco.hash]: indicator.value } } : { value: indicator.value };
    const observable: StixObject = { type: sco.type, spec_version: '2.1', id: scoId(sco.type, contributing), ...contributing, ...markings };
    if (!scoIds.includes(observable.id)) {
      scoIds.push(observable.id);
      objects.push(observable);
    }
    const path = sco.hash ? `hashes.'${sco.hash}'` : 'value';
    const key = `indicator/${indicator.kind}/${indicator.value}`;
    const sdo: StixObject = {
      ...authored('indicator', key, facts.created, facts.modified),
      name: `${indicator.kind} ${indicator.value}`,
      ...(indicator.description ? { description: indicator.description } : {}),
      pattern: `[${sco.type}:${path} = ${patternLiteral(indicator.value)}]`,
      pattern_type: 'stix',
      pattern_version: '2.1',
      valid_from: facts.created,
      ...markings,
    };
    objects.push(sdo, relationship(sdo.id, incident.id, `${key}/related-to`));
  }
  if (scoIds.length > 0 && facts.firstSeen) {
    const first = stixTime(facts.firstSeen);
    const last = facts.lastSeen && Date.parse(facts.lastSeen) >= Date.parse(facts.firstSeen) ? stixTime(facts.lastSeen) : first;
    const observed: StixObject = {
      ...authored('observed-data', 'observed-data', facts.created, facts.modified),
      first_observed: first,
      last_observed: last,
      number_observed: 1,
      object_refs: scoIds,
      ...markings,
    };
    objects.push(observed, relationship(observed.id, incident.id, 'observed-data/related-to'));
  }
  return {
    type: 'bundle',
    id: stableId('bundle', `${ctx.incidentId}/${ctx.recipient ?? ''}/${facts.version}/${view.detail}`),
    objects,
  };

  function relationship(source: string, target: string, key: string): StixObject {
    return {
      ...authored('relationship', key, facts.created, facts.modified),
      relationship_type: 'related-to',
      source_ref: source,
      target_ref: target,
      ...markings,
    };
  }
}
