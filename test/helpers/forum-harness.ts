import { forumCommands } from '../../src/cli/forum-commands.js';
import { mintApiToken, type Role } from '../../src/modules/tokens/token-codec.js';
import { buildTestNode, type Teardown, type TestNode, type TestNodeOptions } from './build-test-app.js';
import { addPeer, api, fastDelivery, partnersBoth, waitFor, type Method } from './federation-harness.js';

/**
 * The forum tests' common ground (issue 14): four teams, cc (the operator of "first" in most
 * tests), alpha and bravo (members) and mallory (the outsider), each a real node on loopback
 * with its delivery worker; peerings as a test asks; a forum founded and its first roster
 * signed, published and received. A node may also be a child process (the crash tests): every
 * helper here drives a node through its API only, as a `ForumParty`.
 */

export const FORUM_TEAMS = ['cc', 'alpha', 'bravo', 'mallory'] as const;
export type ForumTeam = (typeof FORUM_TEAMS)[number];
export type ForumNodes = Record<ForumTeam, TestNode>;

/** What an API call answers, the same for `inject` and for real HTTP. */
export interface ApiAnswer {
  statusCode: number;
  body: string;
  json(): any;
}

/** A node driven through its API: an in-process TestNode or a node in a child process. */
export interface ForumParty {
  team: string;
  /** Where peers reach it (a proxy in front of it, for a crash test). */
  url: string;
  fingerprint: string;
  call(method: Method, path: string, role: Role, payload?: unknown): Promise<ApiAnswer>;
}

export type PartyLike = ForumParty | TestNode;

/** The parts of tap's Test the founding asserts with, so the checks stay assertions of the test. */
export interface Checks {
  equal(found: unknown, wanted: unknown, message: string): unknown;
}

export function partyOf(node: PartyLike): ForumParty {
  if ('call' in node) return node;
  return {
    team: node.config.teamId,
    url: node.url,
    fingerprint: node.signer.fingerprint,
    call: async (method, path, role, payload) => {
      const res = await api(node, method, path, role, payload);
      return { statusCode: res.statusCode, body: res.body, json: () => res.json() };
    },
  };
}

/** A node in a child process, reached over real HTTP with tokens minted from its secret. */
export function processParty(options: { team: string; url: string; fingerprint: string; tokenSecret: string }): ForumParty {
  const bearer = (role: Role) =>
    `Bearer ${mintApiToken(options.tokenSecret, { role, subject: `${role}-user`, issuer: options.team }).token}`;
  return {
    team: options.team,
    url: options.url,
    fingerprint: options.fingerprint,
    call: async (method, path, role, payload) => {
      const res = await fetch(`${options.url}/api/v1${path}`, {
        method,
        headers: { authorization: bearer(role), ...(payload === undefined ? {} : { 'content-type': 'application/json' }) },
        ...(payload === undefined ? {} : { body: JSON.stringify(payload) }),
      });
      const body = await res.text();
      return { statusCode: res.status, body, json: () => JSON.parse(body) };
    },
  };
}

async function expect(party: ForumParty, what: string, res: ApiAnswer, ...statuses: number[]): Promise<ApiAnswer> {
  if (!statuses.includes(res.statusCode)) throw new Error(`${party.team}: ${what}: ${res.statusCode} ${res.body}`);
  return res;
}

/**
 * `from` pins `to`'s key at `url` (default: where `to` is reached); with `partner`, it also
 * makes `to` a bilateral partner and confirms its fingerprint, as partnersBoth does.
 */
export async function pinParty(from: PartyLike, to: PartyLike, options: { url?: string; partner?: boolean } = {}): Promise<void> {
  const a = partyOf(from);
  const b = partyOf(to);
  await expect(a, `add ${b.team}`, await a.call('POST', '/peers', 'admin', { url: options.url ?? b.url }), 200, 201);
  if (!options.partner) return;
  await expect(a, `trust ${b.team}`, await a.call('PATCH', `/peers/${b.team}`, 'admin', { trustLevel: 'partner' }), 200);
  await expect(a, `verify ${b.team}`, await a.call('POST', `/peers/${b.team}/verify`, 'admin', { fingerprint: b.fingerprint }), 200);
}

export interface ForumNodesOptions {
  /** Build options per team (its key is its team's). */
  nodes?: Partial<Record<ForumTeam, Omit<TestNodeOptions, 'key'>>>;
  /** Pairs that pin, verify and trust each other as partners. */
  partners?: Array<[ForumTeam, ForumTeam]>;
  /** One-way pins: the first pins the second's key. */
  pins?: Array<[ForumTeam, ForumTeam]>;
}

/** cc, alpha, bravo and mallory listening on loopback with their delivery workers, peered as asked. */
export async function buildForumNodes(t: Teardown, options: ForumNodesOptions = {}): Promise<ForumNodes> {
  fastDelivery();
  const nodes = {} as ForumNodes;
  for (const team of FORUM_TEAMS) {
    nodes[team] = await buildTestNode(t, { listen: true, startWorker: true, ...options.nodes?.[team], key: team });
  }
  for (const [a, b] of options.partners ?? []) await partnersBoth(nodes[a], nodes[b]);
  for (const [from, to] of options.pins ?? []) await addPeer(nodes[from], nodes[to]);
  return nodes;
}

/**
 * On PostgreSQL a write can lose to a concurrent transaction of the node's own workers; the node
 * answers 503 and asks the client to send it again (docs/errors.md), which a client does.
 */
async function retried(call: () => Promise<ApiAnswer>, attempts = 5): Promise<ApiAnswer> {
  for (let attempt = 1; ; attempt++) {
    const res = await call();
    if (res.statusCode !== 503 || attempt >= attempts) return res;
    await new Promise((resolve) => setTimeout(resolve, 200 * attempt));
  }
}

export interface FoundingOptions {
  operator: PartyLike;
  forum?: string;
  name?: string;
  sponsorsNeeded?: number;
  /** Listed in the first roster, in this order (the founders: no sponsors). */
  members: PartyLike[];
  /** Join as members (POST /forums role member): each listed one that is not the operator, unless given. */
  joiners?: PartyLike[];
}

/**
 * The operator founds the forum and signs version 1 of its roster; the joiners join; every
 * listed joiner holds version 1 before this returns. Each step is an assertion of the test.
 */
export async function foundForum(t: Checks, options: FoundingOptions): Promise<{ version: number; sentTo: string[] }> {
  const forum = options.forum ?? 'first';
  const operator = partyOf(options.operator);
  const members = options.members.map(partyOf);
  const joiners = (options.joiners ?? options.members).map(partyOf).filter((p) => p.team !== operator.team);
  const created = await operator.call('POST', '/forums', 'admin', {
    id: forum,
    name: options.name ?? 'First',
    role: 'operator',
    sponsorsNeeded: options.sponsorsNeeded ?? 0,
  });
  t.equal(created.statusCode, 201, created.body);
  for (const member of members) {
    const drafted = await operator.call('PUT', `/forums/${forum}/draft/${member.team}`, 'admin', { kind: 'full' });
    t.equal(drafted.statusCode, 201, `${member.team} in the draft, as a founder: ${drafted.body}`);
  }
  for (const joiner of joiners) {
    const joined = await joiner.call('POST', '/forums', 'admin', { id: forum, role: 'member', operator: operator.team });
    t.equal(joined.statusCode, 201, `${joiner.team} joins: ${joined.body}`);
  }
  const published = await retried(() => operator.call('POST', `/forums/${forum}/roster`, 'admin'));
  t.equal(published.statusCode, 201, published.body);
  const listed = new Set(members.map((m) => m.team));
  for (const joiner of joiners.filter((j) => listed.has(j.team))) {
    await waitFor(`${joiner.team} has v1`, async () => (await forumOf(joiner, forum)).rosterVersion === 1);
  }
  return published.json();
}

/** GET /forums/{id} at a node. */
export async function forumOf(node: PartyLike, forum = 'first'): Promise<{ rosterVersion: number; ourMembership: string }> {
  return (await partyOf(node).call('GET', `/forums/${forum}`, 'reader')).json();
}

export interface InquirySummaryView {
  id: string;
  matchCount: number;
  answerCount: number;
  poster: string;
}

/** The inquiries a node received (GET /inquiries?direction=received). */
export async function receivedInquiries(node: PartyLike): Promise<InquirySummaryView[]> {
  return (await partyOf(node).call('GET', '/inquiries?direction=received', 'reader')).json().items;
}

/** One inquiry as the node's handler sees it (GET /inquiries/{id}). */
export async function showInquiry(node: PartyLike, id: string): Promise<any> {
  return (await partyOf(node).call('GET', `/inquiries/${id}`, 'reader')).json();
}

/** `hikeshi forum ...` against a running node; answers the lines it printed. */
export async function forumCli(node: TestNode, ...args: string[]): Promise<string[]> {
  const lines: string[] = [];
  await forumCommands.forum!.run([...args, '--url', node.url, '--data-dir', node.config.dataDir, '--team-id', node.config.teamId], (s) =>
    lines.push(s),
  );
  return lines;
}
