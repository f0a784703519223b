import { hash } from 'node:crypto';
import type { Tlp } from '../../../schemas/common.schema.js';
import { canonicalize } from '../../crypto/index.js';

/**
 * What the STIX 2.1 export and import share: the official TLP 2.0 marking definitions, the TLP
 * 1.0 ids a bundle from an older tool may carry, our published property extension, and the
 * deterministic ids (UUIDv5) that make a re-export of the same incident name the same objects.
 */

export type StixObject = Record<string, unknown> & { type: string; id: string };
export interface StixBundle {
  type: 'bundle';
  id: string;
  objects: StixObject[];
}

/** The TLP 2.0 extension every official TLP 2.0 marking declares itself through (cti-stix-common-objects). */
export const TLP2_EXTENSION_ID = 'extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d';
/** Part of the published objects, like their ids: never a clock's. */
const TLP2_CREATED = '2022-10-01T00:00:00.000Z';

/** The official TLP 2.0 marking-definition ids, copied from the OASIS common objects (not generated). */
export const TLP2_MARKING_IDS: Record<Tlp, string> = {
  CLEAR: 'marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487',
  GREEN: 'marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb',
  AMBER: 'marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421',
  'AMBER+STRICT': 'marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003',
  RED: 'marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1',
};

/** STIX 2.1's predefined TLP 1.0 markings, read as their TLP 2.0 equivalents (WHITE is CLEAR). */
export const TLP1_MARKING_IDS: Record<string, Tlp> = {
  'marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9': 'CLEAR',
  'marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da': 'GREEN',
  'marking-definition--f88d31f6-486f-44da-b317-01333bde0b82': 'AMBER',
  'marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed': 'RED',
};

/** The label a marking id stands for, TLP 2.0 or 1.0; undefined for any other marking. */
export function tlpOfMarking(id: string): Tlp | undefined {
  for (const [tlp, markingId] of Object.entries(TLP2_MARKING_IDS)) if (markingId === id) return tlp as Tlp;
  return TLP1_MARKING_IDS[id];
}

/** A TLP 2.0 marking definition exactly as OASIS publishes it (STIX 2.1 does not predefine them, so a bundle carries them). */
export function tlp2Marking(tlp: Tlp): StixObject {
  return {
    type: 'marking-definition',
    spec_version: '2.1',
    id: TLP2_MARKING_IDS[tlp],
    created: TLP2_CREATED,
    name: `TLP:${tlp}`,
    extensions: { [TLP2_EXTENSION_ID]: { extension_type: 'property-extension', tlp_2_0: tlp.toLowerCase() } },
  };
}

/**
 * Our property extension on `incident`: the lecture's fields STIX has no home for. Fixed id, so
 * every Hikeshi node publishes the same extension; its schema is served at
 * GET /api/v1/stix/extension-schema.json and documented in docs/stix-extension.md.
 */
export const HIKESHI_EXTENSION_ID = 'extension-definition--671d50c5-68a9-4b03-8149-eb19cf3b492b';
export const HIKESHI_EXTENSION_VERSION = '1.0.0';
export const HIKESHI_EXTENSION_SCHEMA_PATH = '/api/v1/stix/extension-schema.json';

/** Namespace of our own deterministic SDO/SRO ids (fixed: a re-export must name the same objects). */
const HIKESHI_NAMESPACE = '4a5cef78-5a99-493a-9dab-8e3caa8fa3ca';
/** The namespace STIX 2.1 §2.9 fixes for deterministic SCO ids. */
const SCO_NAMESPACE = '00abedb4-aa42-466c-9c01-fed23315a9b7';

const namespaceBytes = new Map<string, Buffer>();
const VARIANT = '89ab';

/** RFC 9562 UUIDv5 (SHA-1, name-based). One-shot hash: a TAXII page makes thousands. */
export function uuidV5(namespace: string, name: string): string {
  let ns = namespaceBytes.get(namespace);
  if (ns === undefined) {
    ns = Buffer.from(namespace.replace(/-/g, ''), 'hex');
    namespaceBytes.set(namespace, ns);
  }
  const input = Buffer.allocUnsafe(16 + Buffer.byteLength(name, 'utf8'));
  ns.copy(input, 0);
  input.write(name, 16, 'utf8');
  const hex = hash('sha1', input, 'hex');
  // Version 5 in the high nibble of byte 6; variant 10 in the two high bits of byte 8.
  const variant = VARIANT[parseInt(hex[16]!, 16) & 0x3]!;
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-5${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

/** A stable id for one of our objects: the same incident and key give the same id on every export. */
export const stableId = (type: string, key: string): string => `${type}--${uuidV5(HIKESHI_NAMESPACE, key)}`;

/** A SCO's deterministic id as STIX 2.1 §2.9 defines it: UUIDv5 over the canonical JSON of its id-contributing properties. */
export const scoId = (type: string, contributing: Record<string, unknown>): string =>
  `${type}--${uuidV5(SCO_NAMESPACE, canonicalize(contributing))}`;

/** STIX timestamps are UTC with a Z; ours may carry an offset as written. */
export const stixTime = (value: string): string => new Date(value).toISOString();

/** A camelCase name in snake_case, as keysTo('snake') renames keys. */
export const snakeKey = (key: string): string => key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
const camel = (key: string): string => key.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());

/** STIX property names are snake_case; our wire names camelCase. Keys only, recursively; values untouched. */
export function keysTo(style: 'snake' | 'camel', value: unknown): unknown {
  const rename = style === 'snake' ? snakeKey : camel;
  if (Array.isArray(value)) return value.map((v) => keysTo(style, v));
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [rename(k), keysTo(style, v)]));
  }
  return value;
}

/** A string in a STIX pattern literal: backslash and quote escaped (STIX 2.1 §9.3). */
export const patternLiteral = (value: string): string => `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
