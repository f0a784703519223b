import { mailCommands } from './mail-commands.js';
import { accountCommands } from './account-commands.js';
import { parseArgs } from 'node:util';
import { ConfigError } from '../config.js';
import { DataDirLockedError } from '../db/data-dir-lock.js';
import { migrateToLatest } from '../db/migrator.js';
import { initNode, openConfiguredDatabase } from '../node-init.js';
import { IdentityError, loadTokenSecret } from '../modules/profile/node-identity.js';
import { createProfileService } from '../modules/profile/profile.service.js';
import { insertRevocation } from '../modules/tokens/token.repository.js';
import { isRole, mintApiToken, parseDuration, ROLES } from '../modules/tokens/token-codec.js';
import { runServer } from '../server.js';
import {
  CONFIG_FLAGS,
  CONFIG_FLAGS_HELP,
  NodeUnreachableError,
  UsageError,
  callNode,
  configFromFlags,
  nodeUrl,
  problemMessage,
} from './cli-context.js';
import { dbCommands } from './db-commands.js';
import { backupCommands } from './backup-commands.js';
import { keyCommands } from './key-commands.js';
import { forumCommands } from './forum-commands.js';
import { inquiryCommands } from './inquiry-commands.js';
import { vendorCommands } from './vendor-commands.js';
import { campaignCommands } from './campaign-commands.js';
import { notifyCommands } from './notify-commands.js';
import { lawEnforcementCommands } from './law-enforcement-commands.js';
import { pressCommands } from './press-commands.js';
import { incidentCommands } from './incident-commands.js';
import { contactsCommands } from './contacts-commands.js';
import { formatCommands } from './format-commands.js';
import { iodefFormat } from './iodef-commands.js';
import { mispCommands, mispFormat } from './misp-commands.js';
import { stixCommands, stixFormat } from './stix-commands.js';
import { AuditBrokenError, extraCommands } from './extra-commands.js';

/**
 * The `hikeshi` command. With the embedded database only one process may open the data
 * directory, so commands that run beside a serving node either need no database (token create:
 * the token secret is enough) or go through the node's API (token revoke, profile show, peer
 * ...), falling back to the database only when no node answers.
 */
type Handler = (args: string[], out: (s: string) => void) => Promise<void>;

interface Command {
  summary: string;
  help: string;
  run: Handler;
}

function parse<T extends Record<string, { type: 'string' | 'boolean'; short?: string; multiple?: boolean }>>(
  args: string[],
  options: T,
  positionals = 0,
) {
  try {
    const parsed = parseArgs({
      args,
      options: { ...CONFIG_FLAGS, ...options },
      allowPositionals: positionals > 0,
      strict: true,
    });
    if (parsed.positionals.length > positionals) throw new UsageError(`unexpected argument "${parsed.positionals[positionals]}"`);
    return parsed;
  } catch (err) {
    if (err instanceof UsageError) throw err;
    throw new UsageError((err as Error).message);
  }
}

const commands: Record<string, Command> = {
  init: {
    summary: 'create the database, the node key and the team profile (idempotent)',
    help: `Usage: hikeshi init [options]

Creates what the node needs, keeping anything that exists: the database and its migrations,
the team's OpenPGP key (encrypted when HIKESHI_KEY_PASSPHRASE is set), the token secret, the
team profile. Prints the key fingerprint; on the very first run also a bootstrap admin token.

${CONFIG_FLAGS_HELP}`,
    async run(args, out) {
      const { values } = parse(args, {});
      const config = configFromFlags(values);
      const init = await initNode(config);
      await init.database.close();
      out(`team: ${config.teamId}`);
      out(`data directory: ${config.dataDir}`);
      out(
        `database: ${init.database.engine}${init.appliedMigrations.length ? ` (applied ${init.appliedMigrations.join(', ')})` : ' (up to date)'}`,
      );
      out(`key fingerprint: ${init.signer.fingerprint}${init.createdKey ? ' (new key)' : ''}`);
      if (init.bootstrapToken) out(`bootstrap admin token (shown once): ${init.bootstrapToken.token}`);
    },
  },
  serve: {
    summary: 'run the node (what npm start runs)',
    help: `Usage: hikeshi serve [options]

Initialises if needed, then serves /api/v1, /federation/v1 and the public documents until
SIGTERM or SIGINT, when it finishes in-flight requests and stops.

${CONFIG_FLAGS_HELP}`,
    async run(args) {
      const { values } = parse(args, {});
      await runServer(configFromFlags(values));
    },
  },
  migrate: {
    summary: 'apply database migrations',
    help: `Usage: hikeshi migrate [options]\n\nApplies pending SQL migrations (also done on every start).\n\n${CONFIG_FLAGS_HELP}`,
    async run(args, out) {
      const { values } = parse(args, {});
      const config = configFromFlags(values);
      const database = await openConfiguredDatabase(config);
      try {
        const { applied } = await migrateToLatest(database.db, database.schema);
        out(applied.length ? `applied: ${applied.join(', ')}` : 'database is up to date');
      } finally {
        await database.close();
      }
    },
  },
  token: {
    summary: 'create or revoke API tokens',
    help: `Usage:
  hikeshi token create --role <admin|handler|reader> --subject <name> [--ttl <duration>]
  hikeshi token revoke <token-id>

create prints only the token on stdout. It needs only the token secret in the data directory,
so it works while the node runs. --ttl: e.g. 30d (default), 12h, 15m; at most 366d.
revoke asks the running node (--url) to revoke; with no node running it writes the revocation
to the database directly.

${CONFIG_FLAGS_HELP}`,
    async run(args, out) {
      const [sub, ...rest] = args;
      if (sub === 'create') {
        const { values } = parse(rest, {
          role: { type: 'string' },
          subject: { type: 'string' },
          ttl: { type: 'string' },
        });
        if (!isRole(values.role)) throw new UsageError(`--role must be one of ${ROLES.join(', ')}`);
        if (!values.subject || values.subject.length > 200) throw new UsageError('--subject <name> is required (at most 200 characters)');
        const ttlSeconds = values.ttl === undefined ? undefined : parseDuration(values.ttl);
        if (ttlSeconds === null) throw new UsageError('--ttl must look like 30d, 12h, 15m or 3600s, at most 366d');
        const config = configFromFlags(values);
        const secret = await loadTokenSecret(config, false);
        const minted = mintApiToken(secret, {
          role: values.role,
          subject: values.subject,
          issuer: config.teamId,
          ...(ttlSeconds ? { ttlSeconds } : {}),
        });
        process.stderr.write(`token id ${minted.id}, role ${minted.role}, expires ${minted.expiresAt}\n`);
        out(minted.token);
        return;
      }
      if (sub === 'revoke') {
        const { values, positionals } = parse(rest, {}, 1);
        const id = positionals[0];
        if (!id || !/^[0-9a-f-]{36}$/i.test(id))
          throw new UsageError('token revoke <token-id>: the id is the uuid printed by token create');
        const config = configFromFlags(values);
        try {
          const res = await callNode(config, nodeUrl(config, values), 'DELETE', `/api/v1/tokens/${id}`);
          if (res.status !== 204) throw new Error(problemMessage(res.status, res.json, res.text));
          out(`revoked ${id} (through the running node)`);
        } catch (err) {
          if (!(err instanceof NodeUnreachableError)) throw err;
          const database = await openConfiguredDatabase(config);
          try {
            await insertRevocation(database.db, id, 'cli', new Date());
          } finally {
            await database.close();
          }
          out(`revoked ${id} (no node running: written to the database)`);
        }
        return;
      }
      throw new UsageError('token needs a subcommand: create or revoke');
    },
  },
  profile: {
    summary: 'show the team profile',
    help: `Usage: hikeshi profile show [options]\n\nPrints the team profile (RFC 2350 fields) as JSON, from the running node or the database.\n\n${CONFIG_FLAGS_HELP}`,
    async run(args, out) {
      const [sub, ...rest] = args;
      if (sub !== 'show') throw new UsageError('profile needs a subcommand: show');
      const { values } = parse(rest, {});
      const config = configFromFlags(values);
      try {
        const res = await callNode(config, nodeUrl(config, values), 'GET', '/api/v1/profile');
        if (res.status !== 200) throw new Error(problemMessage(res.status, res.json, res.text));
        out(JSON.stringify(res.json, null, 2));
      } catch (err) {
        if (!(err instanceof NodeUnreachableError)) throw err;
        const database = await openConfiguredDatabase(config);
        try {
          const profile = await createProfileService({ db: database.db, config, clock: () => new Date() }).get();
          out(JSON.stringify(profile, null, 2));
        } finally {
          await database.close();
        }
      }
    },
  },
  ...accountCommands,
  ...extraCommands,
  ...dbCommands,
  ...backupCommands,
  ...keyCommands,
  ...forumCommands,
  ...inquiryCommands,
  ...vendorCommands,
  ...notifyCommands,
  ...campaignCommands,
  ...lawEnforcementCommands,
  ...pressCommands,
  ...incidentCommands,
  ...contactsCommands,
  ...formatCommands([stixFormat, mispFormat, iodefFormat]),
  ...mispCommands,
  ...stixCommands,
  ...mailCommands,
};

function usage(): string {
  const width = Math.max(...Object.keys(commands).map((c) => c.length));
  return `Hikeshi: a CSIRT's node for exchanging signed incident reports.

Usage: hikeshi <command> [options]   (hikeshi <command> --help for details)

Commands:
${Object.entries(commands)
  .map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`)
  .join('\n')}`;
}

export async function main(argv: string[], out: (s: string) => void = (s) => process.stdout.write(s + '\n')): Promise<number> {
  const [name, ...args] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    out(usage());
    return name ? 0 : 2;
  }
  const command = commands[name];
  if (!command) {
    process.stderr.write(`hikeshi: unknown command "${name}"\n\n${usage()}\n`);
    return 2;
  }
  if (args.includes('--help') || args.includes('-h')) {
    out(command.help);
    return 0;
  }
  try {
    await command.run(args, out);
    return 0;
  } catch (err) {
    if (err instanceof AuditBrokenError) return 1;
    if (err instanceof UsageError) {
      process.stderr.write(`hikeshi ${name}: ${err.message}\n\n${command.help}\n`);
      return 2;
    }
    if (
      err instanceof ConfigError ||
      err instanceof DataDirLockedError ||
      err instanceof IdentityError ||
      err instanceof NodeUnreachableError
    ) {
      process.stderr.write(`hikeshi ${name}: ${err.message}\n`);
      return 1;
    }
    process.stderr.write(`hikeshi ${name}: ${(err as Error).message}\n`);
    return 1;
  }
}
