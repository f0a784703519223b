import { unwrap, type Schemas } from '../client/hikeshi-client.js';
import { withClient } from './cli-context.js';

/**
 * `hikeshi peer add|list|verify`: the CLI talks to the running node's API (the embedded
 * database admits one process), so these functions take the node's base URL and a bearer token
 * and return the text to print. They call it through the typed client (src/client), so a route
 * or schema change that breaks them fails the type check. A refusal by the node becomes a
 * PeerCommandError carrying the problem code, so the caller can print it and pick an exit status.
 */

/** Kept as a name of its own for callers that catch refusals from these commands. */
export { NodeRefusedError as PeerCommandError } from './cli-context.js';

type WirePeer = Schemas['Peer'];

/** "ABCD 1234 ... " as GnuPG prints it. */
export function formatFingerprint(fingerprint: string): string {
  const groups = fingerprint.match(/.{1,4}/g) ?? [fingerprint];
  return `${groups.slice(0, 5).join(' ')}  ${groups.slice(5).join(' ')}`.trim();
}

function describe(peer: WirePeer): string[] {
  const lines = [
    `Peer:         ${peer.name} (${peer.teamId})`,
    peer.kind === 'mail'
      ? `E-mail:       ${peer.email ?? '-'}    (a team without a node: everything goes by signed mail)`
      : `URL:          ${peer.url ?? '-'}`,
    `Fingerprint:  ${formatFingerprint(peer.fingerprint)}`,
    `Relationship: ${peer.relationship}    Trust level: ${peer.trustLevel}`,
    `Assurance:    ${peer.assurance}${peer.verifiedAt ? ` (verified ${peer.verifiedAt} by ${peer.verifiedBy ?? '?'})` : ''}`,
    `Status:       ${peer.status}${peer.requiresSealed ? '    (messages travel sealed)' : ''}`,
  ];
  if (peer.pendingFingerprint) lines.push(`Key seen instead of the pinned one: ${formatFingerprint(peer.pendingFingerprint)}`);
  return lines;
}

export async function peerAdd(baseUrl: string, adminToken: string, peerUrl: string): Promise<string> {
  const peer = await withClient(baseUrl, adminToken, (node) => unwrap(node.POST('/api/v1/peers', { body: { url: peerUrl } })));
  return [
    `Added peer ${peer.teamId}; its key is pinned but not yet verified.`,
    ...describe(peer),
    '',
    `Confirm this fingerprint with ${peer.name} out of band (by phone or in person, through a contact you`,
    'knew before; never through the node that served it). When it matches, record it:',
    `  hikeshi peer verify ${peer.teamId} ${peer.fingerprint}`,
  ].join('\n');
}

/** `hikeshi peer add-mail`: a team without a node, from its e-mail address and armored key (ADR 0028). */
export async function peerAddMail(baseUrl: string, adminToken: string, body: Schemas['PeerMailAdd']): Promise<string> {
  const peer = await withClient(baseUrl, adminToken, (node) => unwrap(node.POST('/api/v1/peers/mail', { body })));
  return [
    `Added team ${peer.teamId} (without a node); its key is pinned but not yet verified.`,
    ...describe(peer),
    '',
    `Confirm this fingerprint with ${peer.name} out of band (by phone or in person, through a contact you`,
    'knew before; never through the mail that brought the key). When it matches, record it:',
    `  hikeshi peer verify ${peer.teamId} ${peer.fingerprint}`,
  ].join('\n');
}

/** `hikeshi peer mail-key`: a team without a node changes its key; an admin pins the new one (ADR 0028). */
export async function peerMailKey(baseUrl: string, adminToken: string, teamId: string, body: Schemas['PeerMailKey']): Promise<string> {
  const peer = await withClient(baseUrl, adminToken, (node) =>
    unwrap(node.POST('/api/v1/peers/{teamId}/mail-key', { params: { path: { teamId } }, body })),
  );
  return [
    `Pinned a new key for ${peer.teamId} (without a node); replies signed by the old key are now held.`,
    ...describe(peer),
    ...(peer.assurance === 'verified'
      ? ['', 'The old key certified the new one: it stays verified.']
      : [
          '',
          `Confirm this fingerprint with ${peer.name} out of band (by phone or in person, through a contact you`,
          'knew before; never through the mail that brought the key). When it matches, record it:',
          `  hikeshi peer verify ${peer.teamId} ${peer.fingerprint}`,
        ]),
  ].join('\n');
}

export async function peerList(baseUrl: string, token: string): Promise<string> {
  const { items } = await withClient(baseUrl, token, (node) => unwrap(node.GET('/api/v1/peers')));
  if (items.length === 0) return 'No peers yet. Add one with: hikeshi peer add <url>';
  const rows = items.map((p) => [
    p.teamId,
    p.status,
    p.assurance,
    p.relationship,
    p.trustLevel,
    p.fingerprint,
    p.url ?? `mailto:${p.email ?? ''}`,
  ]);
  const header = ['TEAM', 'STATUS', 'ASSURANCE', 'RELATIONSHIP', 'TRUST', 'FINGERPRINT', 'URL OR MAIL'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0))).join('  ');
  return [line(header), ...rows.map(line)].join('\n');
}

/**
 * Without a fingerprint: shows what to confirm (changes nothing). With one: records that a
 * human confirmed it; the node refuses a fingerprint that is not the pinned (or pending) key's.
 */
export async function peerVerify(baseUrl: string, adminToken: string, teamId: string, fingerprint?: string): Promise<string> {
  const params = { path: { teamId } };
  if (fingerprint === undefined) {
    const peer = await withClient(baseUrl, adminToken, (node) => unwrap(node.GET('/api/v1/peers/{teamId}', { params })));
    const toConfirm = peer.status === 'key-changed' && peer.pendingFingerprint ? peer.pendingFingerprint : peer.fingerprint;
    return [
      ...describe(peer),
      '',
      peer.status === 'key-changed'
        ? `A key other than the pinned one was seen. Ask ${peer.name} out of band which key is theirs, then run:`
        : `Confirm this fingerprint with ${peer.name} out of band, then run:`,
      `  hikeshi peer verify ${peer.teamId} ${toConfirm}`,
    ].join('\n');
  }
  const peer = await withClient(baseUrl, adminToken, (node) =>
    unwrap(node.POST('/api/v1/peers/{teamId}/verify', { params, body: { fingerprint } })),
  );
  return [`Recorded: the key of ${peer.teamId} was confirmed out of band.`, ...describe(peer)].join('\n');
}

/**
 * `hikeshi peer introduce <team> --to <team,...|verified-peers>`: vouches for the key we verified
 * for <team> to the peers named. `--withdraw` takes back every introduction of it we sent.
 */
export async function peerIntroduce(
  baseUrl: string,
  adminToken: string,
  teamId: string,
  options: { to?: string[] | 'verified-peers'; vouchesFor?: string; withdraw?: boolean },
): Promise<string> {
  const path = '/api/v1/peers/{teamId}/introductions';
  const params = { path: { teamId } };
  if (options.withdraw) {
    const done = await withClient(baseUrl, adminToken, (node) => unwrap(node.DELETE(path, { params })));
    if (done.items.length === 0) return `No standing introduction of ${teamId} to withdraw.`;
    return [
      `Withdrew the introduction of ${teamId} from ${done.items.length} peer(s):`,
      ...done.items.map((i) => `  ${i.to}  ${formatFingerprint(i.fingerprint)}${i.messageId ? '' : '  (no longer a peer: not told)'}`),
    ].join('\n');
  }
  const body = { to: options.to ?? 'verified-peers', ...(options.vouchesFor ? { vouchesFor: options.vouchesFor } : {}) };
  const sent = await withClient(baseUrl, adminToken, (node) => unwrap(node.POST(path, { params, body })));
  if (sent.items.length === 0) return `Nobody to introduce ${teamId} to: no other active peer is verified.`;
  return [
    `Introduced the key of ${teamId} (${formatFingerprint(sent.items[0]!.fingerprint)}) to ${sent.items.length} peer(s):`,
    ...sent.items.map((i) => `  ${i.to}  message ${i.messageId}`),
  ].join('\n');
}

/** `hikeshi peer vouches <team>`: why the team's key is (or is not) `introduced`. */
export async function peerVouches(baseUrl: string, token: string, teamId: string): Promise<string> {
  const r = await withClient(baseUrl, token, (node) =>
    unwrap(node.GET('/api/v1/peers/{teamId}/vouches', { params: { path: { teamId } } })),
  );
  const lines = [
    r.assurance === null
      ? `${r.teamId} is not a peer yet; vouches held for when it is added:`
      : `${r.teamId}: assurance ${r.assurance} (pinned key ${formatFingerprint(r.fingerprint ?? '')})`,
  ];
  if (r.reason) lines.push(`  ${r.reason}`);
  lines.push('', r.items.length === 0 ? 'No vouches held.' : 'KIND          VOUCHER          COUNTS  WHY              FINGERPRINT');
  for (const v of r.items) {
    lines.push(
      `${v.kind.padEnd(13)} ${v.voucher.padEnd(16)} ${(v.counts ? 'yes' : 'no').padEnd(7)} ${v.standing.padEnd(16)} ${v.fingerprint}` +
        (v.vouchesFor ? `\n${' '.repeat(14)}"${v.vouchesFor}"` : ''),
    );
  }
  if (r.sent.length > 0) {
    lines.push('', 'We introduced it to:');
    for (const s of r.sent) lines.push(`  ${s.to}  ${s.fingerprint}${s.withdrawnAt ? `  (withdrawn ${s.withdrawnAt})` : ''}`);
  }
  return lines.join('\n');
}
