import t from 'tap';
import {
  CATEGORIES,
  CHANNEL_KINDS,
  EVIDENCE_KINDS,
  HOST_ROLES,
  INDICATOR_KINDS,
  PHASES,
  RELATIONSHIPS,
  RETRACTION_REASONS,
  SEVERITIES,
  TEAM_TYPES,
  TLPS,
  TRUST_LEVELS,
} from '../../console/src/enums.js';
import { PEER_RELATIONSHIPS, PEER_TRUST_LEVELS } from '../../schemas/peer.schema.js';
import { CHANNEL_KINDS as SCHEMA_CHANNEL_KINDS } from '../../schemas/site.schema.js';
import { TLP_LABELS } from '../../schemas/common.schema.js';
import { RETRACTION_REASONS as SCHEMA_REASONS } from '../../schemas/correction.schema.js';
import * as incident from '../../schemas/incident.schema.js';
import { TEAM_TYPES as SCHEMA_TEAM_TYPES } from '../../schemas/profile.schema.js';

// The console keeps its own copies of the incident enumerations: importing schemas/ would bundle
// TypeBox into the page. The generated client types catch a value the schema no longer has;
// this catches one the schema gained (the form would never offer it), and a changed order.
t.test("the console's enumerations are the schema's, in the schema's order", async (t) => {
  t.strictSame(PHASES, [...incident.PHASES], 'phases: the nine steps');
  t.strictSame(TLPS, [...TLP_LABELS], 'TLP labels');
  t.strictSame(CATEGORIES, [...incident.CATEGORIES], 'categories');
  t.strictSame(SEVERITIES, [...incident.SEVERITIES], 'severities');
  t.strictSame(HOST_ROLES, [...incident.HOST_ROLES], 'host roles');
  t.strictSame(INDICATOR_KINDS, [...incident.INDICATOR_KINDS], 'indicator kinds');
  t.strictSame(EVIDENCE_KINDS, [...incident.EVIDENCE_KINDS], 'evidence kinds');
  t.strictSame(RETRACTION_REASONS, [...SCHEMA_REASONS], 'retraction reasons');
  t.strictSame(TEAM_TYPES, [...SCHEMA_TEAM_TYPES], "the profile's team types");
  t.strictSame(RELATIONSHIPS, [...PEER_RELATIONSHIPS], "a peer's relationships");
  t.strictSame(TRUST_LEVELS, [...PEER_TRUST_LEVELS], 'trust levels, lowest first');
  t.strictSame(CHANNEL_KINDS, [...SCHEMA_CHANNEL_KINDS], "a site POC's channel kinds");
});
