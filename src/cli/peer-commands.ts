import { requestNode } from './cli-context.js';

/**
 * `hikeshi peer add|list|verify`: the CLI talks to the running node's API (the embedded
 * database admits one process), so these functions take the node's base URL and a bearer token
 * and return the text to print. A refusal by the node becomes a PeerCommandError carrying the
 * problem code, so the caller can print it and pick an exit status.
 */

/** Kept as a name of its own for callers that catch refusals from these commands. */
export { NodeRefusedError as PeerCommandError } from './cli-context.js';

interface WirePeer {
  teamId: string;
  name: string;
  url: string;
  fingerprint: string;
  relationship: string;
  trustLevel: string;
  assurance: string;
  status: string;
  requiresSealed: boolean;
  pendingFingerprint: string | null;
  verifiedAt: string | null;
  verifiedBy: string | null;
  confirm?: string;
}

const call = requestNode;

/** "ABCD 1234 ... " as GnuPG prints it. */
export function formatFingerprint(fingerprint: string): string {
  const groups = fingerprint.match(/.{1,4}/g) ?? [fingerprint];
  return `${groups.slice(0, 5).join(' ')}  ${groups.slice(5).join(' ')}`.trim();
}

function describe(peer: WirePeer): string[] {
  const lines = [
    `Peer:         ${peer.name} (${peer.teamId})`,
    `URL:          ${peer.url}`,
    `Fingerprint:  ${formatFingerprint(peer.fingerprint)}`,
    `Relationship: ${peer.relationship}    Trust level: ${peer.trustLevel}`,
    `Assurance:    ${peer.assurance}${peer.verifiedAt ? ` (verified ${peer.verifiedAt} by ${peer.verifiedBy ?? '?'})` : ''}`,
    `Status:       ${peer.status}${peer.requiresSealed ? '    (messages travel sealed)' : ''}`,
  ];
  if (peer.pendingFingerprint) lines.push(`Key seen instead of the pinned one: ${formatFingerprint(peer.pendingFingerprint)}`);
  return lines;
}

export async function peerAdd(baseUrl: string, adminToken: string, peerUrl: string): Promise<string> {
  const peer = (await call(baseUrl, adminToken, 'POST', '/api/v1/peers', { url: peerUrl })) as WirePeer;
  return [
    `Added peer ${peer.teamId}; its key is pinned but not yet verified.`,
    ...describe(peer),
    '',
    `Confirm this fingerprint with ${peer.name} out of band (by phone or in person, through a contact you`,
    'knew before; never through the node that served it). When it matches, record it:',
    `  hikeshi peer verify ${peer.teamId} ${peer.fingerprint}`,
  ].join('\n');
}

export async function peerList(baseUrl: string, token: string): Promise<string> {
  const { items } = (await call(baseUrl, token, 'GET', '/api/v1/peers')) as { items: WirePeer[] };
  if (items.length === 0) return 'No peers yet. Add one with: hikeshi peer add <url>';
  const rows = items.map((p) => [p.teamId, p.status, p.assurance, p.relationship, p.trustLevel, p.fingerprint, p.url]);
  const header = ['TEAM', 'STATUS', 'ASSURANCE', 'RELATIONSHIP', 'TRUST', 'FINGERPRINT', 'URL'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0))).join('  ');
  return [line(header), ...rows.map(line)].join('\n');
}

/**
 * Without a fingerprint: shows what to confirm (changes nothing). With one: records that a
 * human confirmed it; the node refuses a fingerprint that is not the pinned (or pending) key's.
 */
export async function peerVerify(baseUrl: string, adminToken: string, teamId: string, fingerprint?: string): Promise<string> {
  const path = `/api/v1/peers/${encodeURIComponent(teamId)}`;
  if (fingerprint === undefined) {
    const peer = (await call(baseUrl, adminToken, 'GET', path)) as WirePeer;
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
  const peer = (await call(baseUrl, adminToken, 'POST', `${path}/verify`, { fingerprint })) as WirePeer;
  return [`Recorded: the key of ${peer.teamId} was confirmed out of band.`, ...describe(peer)].join('\n');
}
