import { requestNode } from './cli-context.js';

/**
 * `hikeshi group list|show|create|update|delete|member-add|member-remove` and
 * `hikeshi trust <team>`: like the peer commands, these talk to the running node's API (the
 * embedded database admits one process), take the node's base URL and a bearer token, and return
 * the text to print. A refusal by the node becomes a GroupCommandError carrying the problem
 * code, so the caller can print it and pick an exit status.
 */

/** Kept as a name of its own for callers that catch refusals from these commands. */
export { NodeRefusedError as GroupCommandError } from './cli-context.js';

interface WireGroup {
  id: string;
  name: string;
  kind: string;
  description: string | null;
  ourMembership: string;
  floorFull: string | null;
  floorLiaison: string | null;
  memberCount: number;
  version: number;
  updatedAt: string;
}

interface WireMember {
  groupId: string;
  teamId: string;
  level: string;
  since: string;
  source: string;
}

interface WireTrust {
  teamId: string;
  relationship: string;
  assurance: string;
  status: string;
  bilateral: string;
  level: string;
  floor: string;
  cap: string;
  reasons: string[];
  memberships: Array<{ group: string; level: string; counts: boolean }>;
  exchange: boolean;
}

export interface GroupInput {
  id: string;
  name: string;
  kind: 'forum' | 'national' | 'sector' | 'other';
  description?: string;
  ourMembership?: 'full' | 'liaison' | 'none';
  floorFull?: 'unknown' | 'community' | 'partner';
  floorLiaison?: 'unknown' | 'community' | 'partner';
}

export type GroupChanges = Partial<Omit<GroupInput, 'id' | 'description' | 'floorFull' | 'floorLiaison'>> & {
  description?: string | null;
  floorFull?: GroupInput['floorFull'] | null;
  floorLiaison?: GroupInput['floorLiaison'] | null;
};

const call = requestNode;

const seg = encodeURIComponent;

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0))).join('  ');
  return [line(header), ...rows.map(line)].join('\n');
}

function floors(g: WireGroup): string {
  return `full members at least ${g.floorFull ?? 'community (default)'}; liaisons at least ${g.floorLiaison ?? 'unknown (default: no effect)'}`;
}

function describe(g: WireGroup): string[] {
  const counts = g.ourMembership === 'none' ? 'we are not a member: its memberships give no trust floor' : floors(g);
  return [
    `Group:       ${g.name} (${g.id}), ${g.kind}`,
    ...(g.description ? [`Description: ${g.description}`] : []),
    `We are:      ${g.ourMembership === 'none' ? 'not a member' : `a ${g.ourMembership} member`}`,
    `Trust:       ${counts}`,
    `Members:     ${g.memberCount}`,
  ];
}

export async function groupList(baseUrl: string, token: string): Promise<string> {
  const { items } = (await call(baseUrl, token, 'GET', '/api/v1/groups')) as { items: WireGroup[] };
  if (items.length === 0)
    return 'No trust groups yet. Create one with: hikeshi group create <id> --name <name> --kind forum|national|sector|other';
  return table(
    ['GROUP', 'KIND', 'WE ARE', 'FULL FLOOR', 'LIAISON FLOOR', 'MEMBERS', 'NAME'],
    items.map((g) => [g.id, g.kind, g.ourMembership, g.floorFull ?? '-', g.floorLiaison ?? '-', String(g.memberCount), g.name]),
  );
}

export async function groupShow(baseUrl: string, token: string, id: string): Promise<string> {
  const group = (await call(baseUrl, token, 'GET', `/api/v1/groups/${seg(id)}`)) as WireGroup;
  const { items } = (await call(baseUrl, token, 'GET', `/api/v1/groups/${seg(id)}/members`)) as { items: WireMember[] };
  const lines = describe(group);
  if (items.length > 0)
    lines.push(
      '',
      table(
        ['TEAM', 'LEVEL', 'SINCE', 'SOURCE'],
        items.map((m) => [m.teamId, m.level, m.since, m.source]),
      ),
    );
  return lines.join('\n');
}

export async function groupCreate(baseUrl: string, adminToken: string, input: GroupInput): Promise<string> {
  const group = (await call(baseUrl, adminToken, 'POST', '/api/v1/groups', input)) as WireGroup;
  return [`Created trust group ${group.id}.`, ...describe(group)].join('\n');
}

export async function groupUpdate(baseUrl: string, adminToken: string, id: string, changes: GroupChanges): Promise<string> {
  const group = (await call(baseUrl, adminToken, 'PATCH', `/api/v1/groups/${seg(id)}`, changes)) as WireGroup;
  return [`Updated trust group ${group.id}.`, ...describe(group)].join('\n');
}

export async function groupDelete(baseUrl: string, adminToken: string, id: string): Promise<string> {
  await call(baseUrl, adminToken, 'DELETE', `/api/v1/groups/${seg(id)}`);
  return `Deleted trust group ${id} and its memberships.`;
}

export async function groupMemberAdd(
  baseUrl: string,
  adminToken: string,
  id: string,
  teamId: string,
  level: 'full' | 'liaison',
  options: { since?: string; source?: string } = {},
): Promise<string> {
  const member = (await call(baseUrl, adminToken, 'POST', `/api/v1/groups/${seg(id)}/members`, {
    teamId,
    level,
    ...options,
  })) as WireMember;
  return `${member.teamId} is a ${member.level} member of ${member.groupId} (since ${member.since}, source ${member.source}).\nSee its effective trust with: hikeshi trust ${member.teamId}`;
}

export async function groupMemberRemove(baseUrl: string, adminToken: string, id: string, teamId: string): Promise<string> {
  await call(baseUrl, adminToken, 'DELETE', `/api/v1/groups/${seg(id)}/members/${seg(teamId)}`);
  return `${teamId} is no longer a member of ${id}.`;
}

/** A peer's effective trust level and how it was reached. */
export async function trustShow(baseUrl: string, token: string, teamId: string): Promise<string> {
  const t = (await call(baseUrl, token, 'GET', `/api/v1/policy/trust/${seg(teamId)}`)) as WireTrust;
  return [
    `Team:            ${t.teamId} (${t.relationship}, key ${t.assurance}, ${t.status})`,
    `Effective trust: ${t.level}    (bilateral ${t.bilateral}, floor ${t.floor}, cap ${t.cap})`,
    ...(t.exchange ? [] : [`Nothing is sent to ${t.teamId} while it is ${t.status}.`]),
    ...(t.memberships.length
      ? [`Groups:          ${t.memberships.map((m) => `${m.group} (${m.level}${m.counts ? '' : ', a group we are not in'})`).join(', ')}`]
      : []),
    'Why:',
    ...t.reasons.map((r) => `  - ${r}`),
  ].join('\n');
}
