import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { loadConfig, type Config } from '../src/config.js';
import { loadTokenSecret } from '../src/modules/profile/node-identity.js';
import { mintApiToken } from '../src/modules/tokens/token-codec.js';
import { freePort } from '../src/util/free-port.js';
import { projectRoot } from '../src/project-root.js';
import { startServer, type RunningNode } from '../src/server.js';

/**
 * `npm run demo`: the lecture's scenario (domain §2, §6, §7) across real nodes on
 * loopback, each with its own embedded database:
 *   cc     a national coordination centre, coordinating alpha and bravo
 *   alpha  a university CSIRT; one of its sites reports an intrusion
 *   bravo  an ISP's CSIRT whose constituency holds the attacking host
 * A site reports to alpha; alpha shares with bravo; bravo files the report under its own
 * reference number and answers with a signed receipt; bravo's update travels back to alpha; the
 * coordinator sees both members' activity and the related reports.
 */
interface DemoNode {
  name: string;
  config: Config;
  node: RunningNode;
  url: string;
  token: string;
}

/** The phase a journal entry moved to: ours (`to`) or a peer's (`phase.to`). */
function phaseTo(changes: { to?: unknown; phase?: { to?: unknown } } | null | undefined): string | null {
  const to = changes?.to ?? changes?.phase?.to;
  return typeof to === 'string' ? to : null;
}

const say = (line = '') => process.stdout.write(line + '\n');
const step = (n: number, text: string) => say(`\n[${n}] ${text}`);

async function startNode(name: string, teamName: string, teamType: Config['teamType'], root: string): Promise<DemoNode> {
  const port = await freePort();
  const config = loadConfig(
    {},
    {
      dataDir: path.join(root, name),
      teamId: name,
      teamName,
      teamType,
      teamEmail: `csirt@${name}.example`,
      referencePrefix: name.toUpperCase(),
      port,
      host: '127.0.0.1',
      publicUrl: `http://127.0.0.1:${port}`,
      logLevel: 'warn',
    },
  );
  const node = await startServer(config, () => {});
  const secret = await loadTokenSecret(config, false);
  const token = mintApiToken(secret, { role: 'admin', subject: `${name}-handler`, issuer: name }).token;
  return { name, config, node, url: config.publicUrl, token };
}

async function api<T = any>(n: DemoNode, method: string, route: string, body?: unknown): Promise<T> {
  const res = await fetch(n.url + route, {
    method,
    headers: {
      authorization: `Bearer ${n.token}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  if (res.status >= 400) throw new Error(`${n.name}: ${method} ${route} -> ${res.status} ${text.slice(0, 300)}`);
  return (text ? JSON.parse(text) : null) as T;
}

const ref = (r: string) => encodeURIComponent(r);

async function until<T>(what: string, probe: () => Promise<T | null | undefined>, timeoutMs = 30_000): Promise<T> {
  const started = Date.now();
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() - started > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Each side adds the other, checks the fingerprint (here: against what the node printed), and sets the relationship. */
async function connect(a: DemoNode, b: DemoNode, relationship: string, trustLevel: string): Promise<void> {
  const peer = await api(a, 'POST', '/api/v1/peers', { url: b.url });
  await api(a, 'POST', `/api/v1/peers/${b.name}/verify`, { fingerprint: peer.fingerprint });
  await api(a, 'PATCH', `/api/v1/peers/${b.name}`, { relationship, trustLevel });
  say(
    `    ${a.name} pinned ${b.name}'s key ${peer.fingerprint.replace(/(.{4})/g, '$1 ').trim()} (confirmed out of band), ${relationship}, ${trustLevel}`,
  );
}

async function main(): Promise<void> {
  const root = await mkdtemp(path.join(os.tmpdir(), 'hikeshi-demo-'));
  const nodes: DemoNode[] = [];
  try {
    step(1, 'Three teams start their nodes (each generates its key and database)');
    const cc = await startNode('cc', 'National Coordination Centre', 'coordination-centre', root);
    const alpha = await startNode('alpha', 'Alpha University CSIRT', 'sector', root);
    const bravo = await startNode('bravo', 'Bravo ISP CSIRT', 'corporate', root);
    nodes.push(cc, alpha, bravo);
    for (const n of nodes) say(`    ${n.name.padEnd(6)} ${n.url}`);

    step(2, "bravo describes its constituency: the ISP's customer network 203.0.113.0/24 and its POC");
    await api(bravo, 'POST', '/api/v1/sites', {
      name: 'Example ISP dial-up pool',
      description: 'Dynamic addresses of residential customers',
      pocs: [
        {
          name: 'ISP abuse desk',
          role: 'abuse',
          channels: [
            { kind: 'email', value: 'abuse@isp.example' },
            { kind: 'phone', value: '+81-3-5555-0200' },
          ],
          languages: ['ja', 'en'],
        },
      ],
      networks: ['203.0.113.0/24'],
      asns: [64500],
      domains: ['example-isp.net'],
    });

    step(3, 'The teams know each other before the incident (§6): peering, out-of-band key confirmation, relationships');
    await connect(alpha, bravo, 'peer', 'partner');
    await connect(bravo, alpha, 'peer', 'partner');
    await connect(alpha, cc, 'coordinator', 'partner');
    await connect(bravo, cc, 'coordinator', 'partner');
    await connect(cc, alpha, 'member', 'partner');
    await connect(cc, bravo, 'member', 'partner');

    step(4, "A site of alpha reports an intrusion (§2.1); alpha records it with the lecture's fields (§7)");
    const report = JSON.parse(await readFile(path.join(projectRoot(), 'docs/examples/incident.json'), 'utf8'));
    const incident = await api(alpha, 'POST', '/api/v1/incidents', report);
    say(`    alpha filed ${incident.ref}: "${incident.title}" (${incident.tlp}, ${incident.severity})`);

    step(5, 'The intruder came from 203.0.113.45: alpha shares the incident with bravo, whose constituency holds it');
    await api(alpha, 'POST', `/api/v1/incidents/${ref(incident.ref)}/shares`, { peer: 'bravo' });
    const share = await until('delivery to bravo', async () => {
      const { items } = await api(alpha, 'GET', `/api/v1/incidents/${ref(incident.ref)}/shares`);
      return items.find((s: any) => s.peer === 'bravo' && s.state === 'delivered');
    });
    say(`    signed incident.report delivered; bravo's signed receipt carries its reference number ${share.peerRef}`);

    step(6, 'bravo files it under its own number and finds the responsible site in its constituency');
    const copy = await api(bravo, 'GET', `/api/v1/incidents/${ref(share.peerRef)}`);
    say(`    bravo ${copy.ref} <-> alpha ${copy.externalRefs.map((e: any) => `${e.team}:${e.ref}`).join(', ')}`);
    const lookup = await api(bravo, 'GET', '/api/v1/sites/lookup?ip=203.0.113.45');
    say(
      `    203.0.113.45 belongs to "${lookup.site.name}" (${lookup.matched.value}); POC ${lookup.site.pocs[0].channels.map((c: any) => c.value).join(', ')}`,
    );

    step(7, 'bravo contacts its customer and posts an update back to alpha');
    await api(bravo, 'POST', `/api/v1/incidents/${ref(copy.ref)}/journal`, {
      note: 'Customer of 203.0.113.45 contacted: the host was itself compromised (stepping stone) and is now disconnected.',
    });
    await api(bravo, 'PATCH', `/api/v1/incidents/${ref(copy.ref)}`, { phase: 'containment' });
    const fromBravo = await until("bravo's update at alpha", async () => {
      const { items } = await api(alpha, 'GET', `/api/v1/incidents/${ref(incident.ref)}/journal`);
      const entries = items.filter((e: any) => e.team === 'bravo');
      return entries.length >= 2 ? entries : null;
    });
    for (const e of fromBravo)
      say(
        `    alpha's journal of ${incident.ref}: [${e.team}] ${e.kind}${e.note ? `: ${e.note}` : ''}${phaseTo(e.changes) ? ` -> ${phaseTo(e.changes)}` : ''}`,
      );
    const again = await api(alpha, 'GET', `/api/v1/incidents?externalRef=${ref(copy.ref)}`);
    say(`    alpha finds its incident by bravo's number ${copy.ref}: ${again.items.map((i: any) => i.ref).join(', ')}`);

    await showCoordinator(cc, alpha, bravo, incident.ref);
    const delta = await startNode('delta', 'Delta National CSIRT (abroad)', 'national', root);
    nodes.push(delta);
    await showForum(cc, alpha, bravo, delta);
    await showRelay(cc, bravo, delta);
    await showRetraction(alpha, bravo);
    const kumo = await startNode('kumo', 'Kumo Networks PSIRT (a router vendor)', 'product', root);
    nodes.push(kumo);
    await showVendorAdvisory(alpha, kumo, incident.ref);
    await showSiteNotifications(cc);
    say('\nDone: every step crossed real HTTP between five nodes, with signed documents and receipts.');
  } finally {
    for (const n of nodes.reverse()) await n.node.close().catch(() => {});
    await rm(root, { recursive: true, force: true });
  }
}

/**
 * Issue 15: a relay through the coordination centre. bravo has never met delta; it asks cc, its
 * coordinator, to pass its report on. cc's policy decides (purpose relay) and forwards bravo's
 * signed report intact with its own signed hop; delta verifies both (bravo's key as the forum
 * roster lists it) and files it as bravo's. delta's number comes back to bravo along the path, and
 * so does delta's note on its copy.
 */
async function showRelay(cc: DemoNode, bravo: DemoNode, delta: DemoNode): Promise<void> {
  step(11, "bravo asks cc to pass a report on to delta, a team bravo does not know; delta's number comes back");
  const report = JSON.parse(await readFile(path.join(projectRoot(), 'docs/examples/incident.json'), 'utf8'));
  report.title = "Phishing kit on a server in delta's country, seen from our customers";
  const own = await api(bravo, 'POST', '/api/v1/incidents', report);
  await api(bravo, 'POST', `/api/v1/incidents/${ref(own.ref)}/relays`, { via: 'cc', to: 'delta' });
  say(`    bravo filed ${own.ref} and asked cc to relay it to delta (signed report naming the target)`);
  const relayed = await until('the relay answered at bravo', async () => {
    const { items } = await api(bravo, 'GET', `/api/v1/incidents/${ref(own.ref)}/relays`);
    return items.find((r: any) => r.state === 'delivered' || r.state === 'refused');
  });
  if (relayed.state !== 'delivered') throw new Error(`the relay was refused by ${relayed.refusedBy}: ${relayed.deniedBy.join(', ')}`);
  say(`    delta filed it as ${relayed.targetRef}; the number came back to bravo through cc (relay.delivered, delta's signed receipt)`);
  const prov = await api(delta, 'GET', `/api/v1/incidents/${ref(relayed.targetRef)}/provenance`);
  for (const h of prov.hops)
    say(
      `    delta's provenance: ${h.team} ${h.ref} TLP:${h.tlp} -> ${h.to}, signature ${h.verified ? `verified (${h.keySource} key)` : 'unverified'}`,
    );
  const noteText = 'The phishing server is taken down by its hosting provider.';
  await api(delta, 'POST', `/api/v1/incidents/${ref(relayed.targetRef)}/journal`, { note: noteText });
  const back = await until("delta's note at bravo", async () => {
    const { items } = await api(bravo, 'GET', `/api/v1/incidents/${ref(own.ref)}/journal`);
    return items.find((e: any) => e.kind === 'peer-note' && e.note === noteText);
  });
  say(`    bravo's journal of ${own.ref}: [${back.team}] ${back.kind}: ${back.note} (passed back by ${back.changes.via})`);
}

/**
 * Issue 4: the coordinator's overview of its members' activity, and its warnings. Each member
 * node sends cc an activity.summary of every change it records (as much as its sharing policy
 * lets a coordinator see: a summary of these AMBER incidents); cc correlates them and warns both
 * members, each on its own incident, naming the other's report.
 */
async function showCoordinator(cc: DemoNode, alpha: DemoNode, bravo: DemoNode, alphaRef: string): Promise<void> {
  const probe = await fetch(`${cc.url}/api/v1/overview`, { headers: { authorization: `Bearer ${cc.token}` } });
  if (probe.status === 404) return;
  step(8, 'bravo also records a report of its own about the same attacking host; the coordinator sees related activity');
  const own = JSON.parse(await readFile(path.join(projectRoot(), 'docs/examples/incident.json'), 'utf8'));
  own.title = 'SSH scanning from a customer host';
  own.category = 'information-gathering';
  own.type = 'scanner';
  own.hosts = [{ ip: '203.0.113.45', role: 'source' }];
  own.indicators = [{ kind: 'ipv4', value: '203.0.113.45' }];
  const second = await api(bravo, 'POST', '/api/v1/incidents', own);
  say(`    bravo filed ${second.ref}`);
  const overview = await until('related activity at the coordinator', async () => {
    const o = await api(cc, 'GET', '/api/v1/overview');
    return o.related?.length ? o : null;
  });
  for (const [team, count] of Object.entries(overview.byTeam ?? {})) say(`    cc overview: ${team} reported ${count}`);
  say(
    `    cc overview by category: ${Object.entries(overview.byCategory ?? {})
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')}; by phase: ${Object.entries(overview.byPhase ?? {})
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')}`,
  );
  for (const r of overview.related) {
    const reports = (r.reports ?? []).map((x: any) => `${x.team} ${x.ref}`).join(', ');
    say(`    cc related activity: ${r.kind} ${r.value} reported by ${r.teams.join(' and ')}${reports ? ` (${reports})` : ''}`);
  }

  // The warnings: an activity.related to each member, filed on its incident as a journal entry.
  for (const [member, memberRef] of [
    [alpha, alphaRef],
    [bravo, second.ref as string],
  ] as const) {
    const warning = await until(`the warning at ${member.name}`, async () => {
      const { items } = await api(member, 'GET', `/api/v1/incidents/${ref(memberRef)}/journal?limit=500`);
      return items.find((e: any) => e.kind === 'related-activity');
    });
    say(`    ${member.name}'s journal of ${memberRef}: [${warning.team}] ${warning.kind}: ${warning.note}`);
  }
}

/**
 * Issue 14: a forum. cc operates it and signs its roster; delta, a team abroad that alpha has
 * never exchanged with, is a member. alpha asks every member at once about the attacking host
 * (domain §2.3); the members whose own records hold it answer with their reference numbers.
 */
async function showForum(cc: DemoNode, alpha: DemoNode, bravo: DemoNode, delta: DemoNode): Promise<void> {
  step(9, 'A forum: cc, its secretariat, signs the roster; alpha, bravo and delta (a team abroad) are members');
  await connect(delta, cc, 'peer', 'partner');
  await connect(cc, delta, 'peer', 'partner');
  await api(cc, 'POST', '/api/v1/forums', { id: 'csirt-forum', name: 'A FIRST-like forum', role: 'operator', sponsorsNeeded: 1 });
  await api(cc, 'PUT', '/api/v1/forums/csirt-forum/draft/cc', { kind: 'full' });
  for (const member of [alpha, bravo, delta]) {
    await api(member, 'POST', '/api/v1/forums', { id: 'csirt-forum', role: 'member', operator: 'cc' });
    await api(cc, 'PUT', `/api/v1/forums/csirt-forum/draft/${member.name}`, { kind: 'full', sponsors: ['cc'] });
  }
  const published = await api(cc, 'POST', '/api/v1/forums/csirt-forum/roster');
  say(`    cc signed roster version ${published.version} and sent it to ${published.sentTo.join(', ')}`);
  for (const member of [alpha, bravo, delta])
    await until(`the roster at ${member.name}`, async () => (await api(member, 'GET', '/api/v1/forums/csirt-forum')).rosterVersion >= 1);
  // alpha and delta never met: each pins the other's key as the signed roster states it.
  for (const [from, to] of [
    [alpha, delta],
    [delta, alpha],
  ] as const) {
    const added = await api(from, 'POST', `/api/v1/forums/csirt-forum/members/${to.name}/peer`);
    say(`    ${from.name} added ${to.name} from the roster: key pinned as the roster states, assurance ${added.assurance}`);
  }

  const own = JSON.parse(await readFile(path.join(projectRoot(), 'docs/examples/incident.json'), 'utf8'));
  own.title = 'Brute force against a ministry mail server';
  own.hosts = [{ ip: '203.0.113.45', role: 'source' }];
  // Its label lets delta name it to a forum member it knows only through the roster (community).
  own.tlp = 'GREEN';
  const abroad = await api(delta, 'POST', '/api/v1/incidents', own);
  say(`    delta had filed ${abroad.ref} about the same source, in its own time zone and law`);

  step(10, 'alpha asks every member at once about 203.0.113.45; each node matches the question against its own records');
  const posted = await api(alpha, 'POST', '/api/v1/forums/csirt-forum/inquiries', {
    question: 'Do you see activity from 203.0.113.45 (SSH brute force, then intrusion) in your constituency?',
    hosts: [{ ip: '203.0.113.45' }],
    tlp: 'GREEN',
  });
  say(`    inquiry sent to ${posted.sentTo.join(', ')} (one policy decision each, purpose broadcast, audited)`);
  for (const member of [bravo, delta]) {
    const received = await until(`the inquiry at ${member.name}`, async () => {
      const { items } = await api(member, 'GET', '/api/v1/inquiries?direction=received');
      // Each node files what it receives under an id of its own.
      return items.find((i: any) => i.poster === 'alpha' && i.forum === 'csirt-forum');
    });
    const detail = await api(member, 'GET', `/api/v1/inquiries/${received.id}`);
    const match = detail.matches.find((m: any) => m.kind === 'incident');
    say(
      `    ${member.name} matched it: ${detail.matches.map((m: any) => `${m.kind} ${m.kind === 'site' ? `"${m.label}"` : m.id} (${m.matchedOn} ${m.value})`).join('; ')}`,
    );
    await api(member, 'POST', `/api/v1/inquiries/${received.id}/answer`, { answer: 'seen', ref: match.id });
  }
  const answered = await until('the answers at alpha', async () => {
    const detail = await api(alpha, 'GET', `/api/v1/inquiries/${posted.id}`);
    return detail.members.filter((m: any) => m.answer).length >= 2 ? detail : null;
  });
  for (const m of answered.members)
    say(
      `    alpha sees ${m.team}: ${m.answer ? `${m.answer.answer}${m.answer.ref ? `, their reference ${m.answer.ref}` : ''}` : 'no answer yet'}`,
    );
}

main().then(
  () => process.exit(0),
  (err) => {
    process.stderr.write(`demo failed: ${(err as Error).message}\n`);
    process.exit(1);
  },
);

/**
 * Issue 15 part 4: alpha shares a second report, finds it was a false alarm and retracts it with a
 * statement its key signs; bravo's copy is marked and kept, and its sharing policy refuses it from
 * then on. alpha sees bravo's signed acknowledgement.
 */
async function showRetraction(alpha: DemoNode, bravo: DemoNode): Promise<void> {
  step(12, 'alpha shares another report, then finds it was a false alarm and retracts it everywhere it went');
  const report = JSON.parse(await readFile(path.join(projectRoot(), 'docs/examples/incident.json'), 'utf8'));
  report.title = 'Suspected exfiltration (turned out to be a backup job)';
  const mistaken = await api(alpha, 'POST', '/api/v1/incidents', report);
  await api(alpha, 'POST', `/api/v1/incidents/${ref(mistaken.ref)}/shares`, { peer: 'bravo' });
  const share = await until('delivery to bravo', async () => {
    const { items } = await api(alpha, 'GET', `/api/v1/incidents/${ref(mistaken.ref)}/shares`);
    return items.find((s: any) => s.peer === 'bravo' && s.state === 'delivered');
  });
  await api(alpha, 'POST', `/api/v1/incidents/${ref(mistaken.ref)}/corrections`, {
    kind: 'retract',
    reason: 'false-positive',
    note: 'The transfer was the nightly backup to our own off-site storage.',
  });
  const copy = await until('the retraction at bravo', async () => {
    const c = await api(bravo, 'GET', `/api/v1/incidents/${ref(share.peerRef)}`);
    return c.retracted ? c : null;
  });
  say(`    bravo ${copy.ref}: retracted by ${copy.retracted.originator} (${copy.retracted.reason}), kept for the audit`);
  const explained = await api(bravo, 'POST', '/api/v1/policy/explain', { incident: copy.ref, peer: 'alpha', purpose: 'pull-feed' });
  say(`    bravo's sharing policy now refuses it: ${explained.deniedBy.join(', ')}`);
  const acknowledged = await until("bravo's acknowledgement at alpha", async () => {
    const { items } = await api(alpha, 'GET', `/api/v1/incidents/${ref(mistaken.ref)}/corrections`);
    return items[0]?.holders.find((h: any) => h.status === 'acknowledged');
  });
  say(`    alpha: the retraction is acknowledged by ${acknowledged.team} (${acknowledged.holderRef}), signed receipt`);
}

/**
 * Issue 17 parts 1 and 2: the intrusion went through a router; alpha asks the vendor, whose PSIRT
 * runs a node, whether the product is affected. The vendor's signed statement comes back, and
 * alpha publishes a CSAF 2.0 advisory as a trusted provider: validated, signed with its key, and
 * listed in /.well-known/csaf. The case links alpha's incident, and nothing of it reaches the vendor.
 */
async function showVendorAdvisory(alpha: DemoNode, kumo: DemoNode, intrusionRef: string): Promise<void> {
  step(13, 'The intruder used a router flaw: alpha asks the vendor (its PSIRT runs a node) and publishes a CSAF advisory');
  await connect(alpha, kumo, 'peer', 'community');
  await connect(kumo, alpha, 'peer', 'community');
  await api(alpha, 'POST', '/api/v1/vendors', { id: 'kumo', name: 'Kumo Networks', teamId: 'kumo' });
  await api(alpha, 'POST', '/api/v1/cases', {
    id: 'vc-2026-001',
    title: 'Kumo KR-200 management interface authentication bypass',
    description: 'The management interface accepts a crafted session cookie without a password.',
    tlp: 'CLEAR',
    incidents: [intrusionRef],
    products: [{ vendor: 'kumo', product: 'KR-200', versions: ['3.1', '3.2'] }],
    cveIds: ['CVE-2026-40001'],
  });
  await api(alpha, 'POST', '/api/v1/cases/vc-2026-001/questions', {});
  const question = await until("the question at kumo's node", async () => (await api(kumo, 'GET', '/api/v1/vendor-questions')).items[0]);
  say(
    `    kumo received alpha's signed question about ${question.question.products.map((p: any) => p.product).join(', ')} (case ${question.caseId})`,
  );
  await api(kumo, 'POST', `/api/v1/vendor-questions/${question.id}/statement`, {
    product: 'KR-200',
    status: 'affected',
    fixedVersions: ['3.2.1'],
    text: 'Fixed in firmware 3.2.1.',
  });
  const [statement] = await until("kumo's statement at alpha", async () => {
    const { statements } = await api(alpha, 'GET', '/api/v1/cases/vc-2026-001');
    return statements.length > 0 ? statements : null;
  });
  say(
    `    alpha recorded kumo's statement: ${statement.product} ${statement.status}, fixed in ${statement.fixedVersions.join(', ')} (signed: ${statement.signed})`,
  );
  await api(alpha, 'POST', '/api/v1/cases/vc-2026-001/advisory');
  const published = await api(alpha, 'POST', '/api/v1/cases/vc-2026-001/advisory/publish', {});
  say(`    alpha published CSAF advisory version ${published.version}: ${published.location} (+ .asc, .sha256, .sha512)`);
  const metadata = (await (await fetch(`${alpha.url}/.well-known/csaf/provider-metadata.json`)).json()) as {
    canonical_url: string;
    role: string;
    public_openpgp_keys: Array<{ fingerprint: string }>;
  };
  say(`    ${metadata.canonical_url}: role ${metadata.role}, key ${metadata.public_openpgp_keys[0]?.fingerprint}`);
}

/**
 * Issue 19: the coordination centre tells the sites of its constituency. A scan finds open DNS
 * resolvers; cc files the feed as a campaign (one incident and one notification per site, each
 * with only its own hosts), and shows the Japanese text a site's POC would read.
 */
async function showSiteNotifications(cc: DemoNode): Promise<void> {
  step(14, 'cc (the coordination centre) tells its sites: a scan of open resolvers, one notification per site');
  const poc = (email: string) => ({ name: 'NOC', channels: [{ kind: 'email', value: email }], languages: ['ja', 'en'] });
  await api(cc, 'POST', '/api/v1/sites', { name: 'Sakura University', networks: ['192.0.2.0/25'], pocs: [poc('noc@sakura-u.example')] });
  await api(cc, 'POST', '/api/v1/sites', { name: 'Minato Hosting', networks: ['192.0.2.128/25'], pocs: [poc('abuse@minato.example')] });
  await api(cc, 'POST', '/api/v1/sites', { name: 'Old Library', networks: ['198.51.100.0/24'], pocs: [] });
  const scan =
    'source.ip,source.port,protocol.transport,time.source\n192.0.2.10,53,udp,2026-12-06T01:00:00Z\n192.0.2.11,53,udp,2026-12-06T01:00:00Z\n192.0.2.200,53,udp,2026-12-06T01:05:00Z\n198.51.100.9,53,udp,2026-12-06T01:07:00Z\n203.0.113.250,53,udp,2026-12-06T01:09:00Z\nnot-an-address,53,udp,\n';
  const post = async (dryRun: boolean) => {
    const res = await fetch(
      `${cc.url}/api/v1/campaigns/open-resolvers/events?category=vulnerable&type=ddos-amplifier&counterMeasure=ddos-amplifier&dryRun=${dryRun}`,
      { method: 'POST', headers: { authorization: `Bearer ${cc.token}`, 'content-type': 'text/csv' }, body: scan },
    );
    if (!res.ok) throw new Error(`campaign: ${res.status} ${await res.text()}`);
    return (await res.json()) as any;
  };
  const plan = await post(true);
  say(`    dry run: ${plan.counts.events} events, ${plan.counts.rejected} malformed row, ${plan.counts.unmatched} in no site of cc's:`);
  for (const s of plan.sites)
    say(`      ${s.siteName}: ${s.events} host(s) -> ${s.recipients.join(', ') || 'UNREACHABLE (no POC e-mail)'}`);
  const filed = await post(false);
  for (const s of filed.sites)
    say(
      `    ${s.siteName}: ${s.incidents.join(', ')}, notification ${s.notifications.map((n: any) => `${n.state}${n.reason ? ` (${n.reason})` : ''}`).join(', ')}`,
    );
  const draft = filed.sites.find((s: any) => s.siteName === 'Minato Hosting').notifications[0];
  const { text } = await api(cc, 'GET', `/api/v1/notifications/${draft.id}`);
  say(`    what Minato Hosting's POC would read (Japanese: its POC's first language), first lines:`);
  for (const line of String(text).split('\n').slice(0, 6)) say(`      ${line}`);
  say('    A handler approves each draft (hikeshi notify approve): it goes as a signed PGP/MIME mail via HIKESHI_SMTP_URL.');
}
