import { buildOpenApiDocument } from './openapi-document.js';
import {
  CONFIG_FLAGS,
  CONFIG_FLAGS_HELP,
  UsageError,
  cliToken,
  commaList,
  configFromFlags,
  nodeUrl,
  problemMessage,
} from './cli-context.js';
import { auditAnchor, auditVerify } from './audit-commands.js';
import { groupCreate, groupList, groupMemberAdd, groupMemberRemove, groupShow, trustShow } from './group-commands.js';
import { peerAdd, peerAddMail, peerIntroduce, peerList, peerMailKey, peerVerify, peerVouches } from './peer-commands.js';
import { readFile } from 'node:fs/promises';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';

/**
 * Commands for federation, trust, audit and tooling; kept apart so main.ts stays a readable
 * index. The peer, group and trust commands talk to the running node's API (the embedded
 * database admits one process), with a short-lived admin token minted from the token secret.
 */
interface Command {
  summary: string;
  help: string;
  run(args: string[], out: (s: string) => void): Promise<void>;
}

function parse(args: string[], options: Record<string, { type: 'string' | 'boolean'; short?: string }>, positionals: number) {
  try {
    const parsed = parseArgs({ args, options: { ...CONFIG_FLAGS, ...options }, allowPositionals: true, strict: true });
    if (parsed.positionals.length > positionals) throw new UsageError(`unexpected argument "${parsed.positionals[positionals]}"`);
    return parsed;
  } catch (err) {
    throw err instanceof UsageError ? err : new UsageError((err as Error).message);
  }
}

export async function withNode(args: string[], options: Record<string, { type: 'string' | 'boolean' }>, positionals: number) {
  const { values, positionals: pos } = parse(args, options, positionals);
  const config = configFromFlags(values);
  return {
    values: values as Record<string, string | boolean | undefined>,
    pos,
    base: nodeUrl(config, values),
    token: await cliToken(config),
  };
}

export const extraCommands: Record<string, Command> = {
  peer: {
    summary: 'add, list, verify and introduce peer teams (through the running node)',
    help: `Usage:
  hikeshi peer add <node-url>                    fetch the team's signed profile and pin its key
  hikeshi peer add-mail <team-id> --name <name> --email <address> --key <armored-key-file> [--fingerprint <fpr>]
                     [--relationship coordinator|member|peer] [--trust unknown|community|partner|close]
                                                 a team without a node (GnuPG and a mailbox): pin its key;
                                                 everything to it goes by signed, encrypted e-mail
  hikeshi peer mail-key <team-id> --key <armored-key-file> [--fingerprint <fpr>]
                                                 a team without a node changed its key: pin the new one
                                                 (stays verified only if the old key certified it)
  hikeshi peer list
  hikeshi peer set <team-id> [--relationship coordinator|member|peer] [--trust unknown|community|partner|close]
  hikeshi peer verify <team-id> [<fingerprint>]  without a fingerprint: show what to confirm;
                                                 with one: record that a human confirmed it out of band
  hikeshi peer introduce <team-id> --to <team-id,...|verified-peers> [--vouches-for <text>]
                                                 vouch for the key we verified for the team to those peers
  hikeshi peer introduce <team-id> --withdraw    take back every introduction of it we sent
  hikeshi peer vouches <team-id>                 the introductions and rosters vouching for its key, and
                                                 whether each counts towards assurance introduced

${CONFIG_FLAGS_HELP}`,
    async run(args, out) {
      const [sub, ...rest] = args;
      if (sub === 'add') {
        const { pos, base, token } = await withNode(rest, {}, 1);
        if (!pos[0]) throw new UsageError('peer add <node-url>');
        out(await peerAdd(base, token, pos[0]));
      } else if (sub === 'add-mail') {
        const flags = {
          name: { type: 'string' },
          email: { type: 'string' },
          key: { type: 'string' },
          fingerprint: { type: 'string' },
        } as const;
        const { pos, values, base, token } = await withNode(
          rest,
          { ...flags, relationship: { type: 'string' }, trust: { type: 'string' } },
          1,
        );
        const { name, email, key, fingerprint, relationship, trust } = values;
        if (!pos[0] || typeof name !== 'string' || typeof email !== 'string' || typeof key !== 'string')
          throw new UsageError('peer add-mail <team-id> --name <name> --email <address> --key <armored-key-file> [--fingerprint <fpr>]');
        const body = {
          teamId: pos[0],
          name,
          email,
          publicKey: await readFile(key, 'utf8'),
          ...(typeof fingerprint === 'string' ? { fingerprint } : {}),
          ...(typeof relationship === 'string' ? { relationship: relationship as 'peer' } : {}),
          ...(typeof trust === 'string' ? { trustLevel: trust as 'unknown' } : {}),
        };
        out(await peerAddMail(base, token, body));
      } else if (sub === 'mail-key') {
        const { pos, values, base, token } = await withNode(rest, { key: { type: 'string' }, fingerprint: { type: 'string' } }, 1);
        const { key, fingerprint } = values;
        if (!pos[0] || typeof key !== 'string')
          throw new UsageError('peer mail-key <team-id> --key <armored-key-file> [--fingerprint <fpr>]');
        const body = { publicKey: await readFile(key, 'utf8'), ...(typeof fingerprint === 'string' ? { fingerprint } : {}) };
        out(await peerMailKey(base, token, pos[0], body));
      } else if (sub === 'list') {
        const { base, token } = await withNode(rest, {}, 0);
        out(await peerList(base, token));
      } else if (sub === 'set') {
        const { pos, values, base, token } = await withNode(rest, { relationship: { type: 'string' }, trust: { type: 'string' } }, 1);
        const changes: Record<string, string> = {};
        if (typeof values.relationship === 'string') changes.relationship = values.relationship;
        if (typeof values.trust === 'string') changes.trustLevel = values.trust;
        if (!pos[0] || Object.keys(changes).length === 0)
          throw new UsageError('peer set <team-id> [--relationship coordinator|member|peer] [--trust unknown|community|partner|close]');
        const res = await fetch(`${base}/api/v1/peers/${encodeURIComponent(pos[0])}`, {
          method: 'PATCH',
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
          body: JSON.stringify(changes),
        });
        const text = await res.text();
        if (res.status !== 200) throw new Error(problemMessage(res.status, text ? JSON.parse(text) : null, text));
        const peer = JSON.parse(text) as { teamId: string; relationship: string; trustLevel: string };
        out(`${peer.teamId}: relationship ${peer.relationship}, trust ${peer.trustLevel}`);
      } else if (sub === 'verify') {
        const { pos, base, token } = await withNode(rest, {}, 2);
        if (!pos[0]) throw new UsageError('peer verify <team-id> [<fingerprint>]');
        out(await peerVerify(base, token, pos[0], pos[1]));
      } else if (sub === 'introduce') {
        const usage = 'peer introduce <team-id> --to <team-id,...|verified-peers> [--vouches-for <text>] | --withdraw';
        const { pos, values, base, token } = await withNode(
          rest,
          { to: { type: 'string' }, 'vouches-for': { type: 'string' }, withdraw: { type: 'boolean' } },
          1,
        );
        const to = typeof values.to === 'string' ? values.to : undefined;
        if (!pos[0] || (values.withdraw === true) === (to !== undefined)) throw new UsageError(usage);
        const vouchesFor = values['vouches-for'];
        out(
          await peerIntroduce(base, token, pos[0], {
            ...(to === undefined ? {} : { to: to === 'verified-peers' ? to : commaList(to) }),
            ...(typeof vouchesFor === 'string' ? { vouchesFor } : {}),
            withdraw: values.withdraw === true,
          }),
        );
      } else if (sub === 'vouches') {
        const { pos, base, token } = await withNode(rest, {}, 1);
        if (!pos[0]) throw new UsageError('peer vouches <team-id>');
        out(await peerVouches(base, token, pos[0]));
      } else throw new UsageError('peer needs a subcommand: add, add-mail, mail-key, list, set, verify, introduce or vouches');
    },
  },
  group: {
    summary: 'manage trust groups and their members (through the running node)',
    help: `Usage:
  hikeshi group list
  hikeshi group show <group-id>
  hikeshi group create <group-id> --name <name> --kind <forum|national|sector|other> [--ours <full|liaison|none>]
  hikeshi group member-add <group-id> <team-id> --level <full|liaison>
  hikeshi group member-remove <group-id> <team-id>

${CONFIG_FLAGS_HELP}`,
    async run(args, out) {
      const [sub, ...rest] = args;
      if (sub === 'list') {
        const { base, token } = await withNode(rest, {}, 0);
        out(await groupList(base, token));
      } else if (sub === 'show') {
        const { pos, base, token } = await withNode(rest, {}, 1);
        if (!pos[0]) throw new UsageError('group show <group-id>');
        out(await groupShow(base, token, pos[0]));
      } else if (sub === 'create') {
        const { pos, values, base, token } = await withNode(
          rest,
          { name: { type: 'string' }, kind: { type: 'string' }, ours: { type: 'string' } },
          1,
        );
        const kind = values.kind as string | undefined;
        const ours = (values.ours as string | undefined) ?? 'full';
        if (!pos[0] || !values.name || !kind)
          throw new UsageError('group create <group-id> --name <name> --kind <forum|national|sector|other>');
        if (!['forum', 'national', 'sector', 'other'].includes(kind))
          throw new UsageError('--kind must be forum, national, sector or other');
        if (!['full', 'liaison', 'none'].includes(ours)) throw new UsageError('--ours must be full, liaison or none');
        out(
          await groupCreate(base, token, {
            id: pos[0],
            name: values.name as string,
            kind: kind as 'forum',
            ourMembership: ours as 'full',
          }),
        );
      } else if (sub === 'member-add') {
        const { pos, values, base, token } = await withNode(rest, { level: { type: 'string' } }, 2);
        const level = values.level as string | undefined;
        if (!pos[0] || !pos[1] || (level !== 'full' && level !== 'liaison'))
          throw new UsageError('group member-add <group-id> <team-id> --level <full|liaison>');
        out(await groupMemberAdd(base, token, pos[0], pos[1], level));
      } else if (sub === 'member-remove') {
        const { pos, base, token } = await withNode(rest, {}, 2);
        if (!pos[0] || !pos[1]) throw new UsageError('group member-remove <group-id> <team-id>');
        out(await groupMemberRemove(base, token, pos[0], pos[1]));
      } else throw new UsageError('group needs a subcommand: list, show, create, member-add or member-remove');
    },
  },
  trust: {
    summary: "show a peer's effective trust level and why",
    help: `Usage: hikeshi trust <team-id>\n\n${CONFIG_FLAGS_HELP}`,
    async run(args, out) {
      const { pos, base, token } = await withNode(args, {}, 1);
      if (!pos[0]) throw new UsageError('trust <team-id>');
      out(await trustShow(base, token, pos[0]));
    },
  },
  audit: {
    summary: 'verify the hash-chained audit log (against its witnesses too), or anchor its head at them',
    help: `Usage:
  hikeshi audit verify   walk the chain and report the first broken link (exit 1), or that it is
                         intact; then ask each witness (active coordinators, HIKESHI_AUDIT_WITNESSES)
                         for the heads of this chain it keeps: a head the chain no longer reaches
                         (its newest entries were removed) or holds with another hash fails too
                         (exit 1). An unreachable witness is reported, not a failure.
  hikeshi audit anchor   send the chain's head, signed, to every witness now (the node also does
                         so every HIKESHI_AUDIT_ANCHOR_INTERVAL_SECONDS)

Both ask the running node; with none running, they open the database and the node key directly.

${CONFIG_FLAGS_HELP}`,
    async run(args, out) {
      const [sub, ...rest] = args;
      if (sub !== 'verify' && sub !== 'anchor') throw new UsageError('audit needs a subcommand: verify or anchor');
      const { values } = parse(rest, {}, 0);
      const config = configFromFlags(values);
      if (sub === 'anchor') return auditAnchor(config, nodeUrl(config, values), out);
      if (!(await auditVerify(config, nodeUrl(config, values), out))) throw new AuditBrokenError();
    },
  },
  message: {
    summary: "export a peer's signed documents about an incident, for gpg --verify",
    help: `Usage: hikeshi message export <incident-ref> [--dir <folder>]

Writes, for each signed document peers sent about the incident, <id>.json (the canonical
document bytes that were signed) and <id>.json.asc (the detached signature), plus each sender's
public keys as <team>.asc, and prints the GnuPG commands that verify them independently.

${CONFIG_FLAGS_HELP}`,
    async run(args, out) {
      const [sub, ...rest] = args;
      if (sub !== 'export') throw new UsageError('message needs a subcommand: export');
      const { pos, values, base, token } = await withNode(rest, { dir: { type: 'string' } }, 1);
      if (!pos[0]) throw new UsageError('message export <incident-ref>');
      const dir = (values.dir as string | undefined) ?? '.';
      const get = async (route: string): Promise<{ items: unknown[] }> => {
        const res = await fetch(base + route, { headers: { authorization: `Bearer ${token}` } });
        const text = await res.text();
        if (res.status !== 200) throw new Error(problemMessage(res.status, text ? JSON.parse(text) : null, text));
        return JSON.parse(text) as { items: unknown[] };
      };
      const { items } = await get(`/api/v1/incidents/${encodeURIComponent(pos[0])}/documents`);
      if (items.length === 0) {
        out('No signed documents from peers are stored for this incident.');
        return;
      }
      await mkdir(dir, { recursive: true });
      const teams = new Set<string>();
      const erased = new Set<string>();
      for (const d of items as Array<{
        messageId: string;
        type: string;
        from: string;
        document: string;
        signature: string;
        erasedAt?: string | null;
        documentSha256?: string | null;
      }>) {
        await writeFile(path.join(dir, `${d.messageId}.json`), d.document);
        await writeFile(path.join(dir, `${d.messageId}.json.asc`), d.signature);
        teams.add(d.from);
        if (d.erasedAt) {
          // The erased text cannot verify: say so, with the digest of what the signature covers.
          erased.add(d.messageId);
          out(`${d.type} from ${d.from}: ${path.join(dir, d.messageId)}.json (+ .asc), personal data ERASED ${d.erasedAt}:`);
          out(`  the signature covers the original document, SHA-256 ${d.documentSha256}; this copy will not verify`);
        } else out(`${d.type} from ${d.from}: ${path.join(dir, d.messageId)}.json (+ .asc)`);
      }
      for (const team of teams) {
        const { items: keys } = await get(`/api/v1/peers/${encodeURIComponent(team)}/keys`);
        await writeFile(path.join(dir, `${team}.asc`), (keys as Array<{ publicKey: string }>).map((k) => k.publicKey).join('\n'));
      }
      out('');
      out('Verify independently with GnuPG:');
      for (const team of teams) out(`  gpg --import ${path.join(dir, `${team}.asc`)}`);
      for (const d of (items as Array<{ messageId: string }>).filter((x) => !erased.has(x.messageId)))
        out(`  gpg --verify ${path.join(dir, d.messageId)}.json.asc ${path.join(dir, d.messageId)}.json`);
    },
  },
  openapi: {
    summary: 'print the OpenAPI 3.1 document',
    help: 'Usage: hikeshi openapi\n\nPrints the OpenAPI document the node serves at /openapi.json (for client generators and linting).',
    async run(_args, out) {
      out(JSON.stringify(await buildOpenApiDocument(), null, 2));
    },
  },
};

/** The audit chain is broken: the command has said where; exit 1 without another message. */
export class AuditBrokenError extends Error {
  override name = 'AuditBrokenError';
}
