import { parseArgs } from 'node:util';
import type { Account, AccountCreate, AccountPatch } from '../../schemas/account.schema.js';
import type { Config } from '../config.js';
import { openConfiguredDatabase } from '../node-init.js';
import { createAccountService, type AccountService } from '../modules/accounts/accounts.module.js';
import { createAuditModule } from '../modules/audit/audit.module.js';
import { isRole, ROLES } from '../modules/tokens/token-codec.js';
import {
  CONFIG_FLAGS,
  CONFIG_FLAGS_HELP,
  NodeUnreachableError,
  UsageError,
  cliToken,
  configFromFlags,
  nodeUrl,
  requestNode,
} from './cli-context.js';

/**
 * `hikeshi account add|list|set|remove|totp` (issue 20 item 2, ADR 0029): handler accounts for
 * the console. Like `token revoke`, each asks the running node (a five-minute admin token minted
 * from the token secret, so it works beside `npm start`'s embedded database) and, when no node
 * answers, does the same on the database directly. Changes are audited as actor `cli`.
 */
interface Command {
  summary: string;
  help: string;
  run(args: string[], out: (s: string) => void): Promise<void>;
}

const HELP = `Usage:
  hikeshi account add --name <name> --role <admin|handler|reader> [--display-name <text>] [--language ja|en] [--password-stdin]
  hikeshi account list
  hikeshi account set <name> [--role <role>] [--display-name <text>] [--language ja|en] [--disable|--enable] [--password-stdin]
  hikeshi account remove <name>
  hikeshi account totp <name> [--remove]

add without --password-stdin generates a password and prints it once; with it, the password is
the first line of standard input (at least 12 characters). Disabling or removing an account, or
setting its password, ends its sessions at once. totp gives the account a new TOTP secret and
prints the otpauth:// URI once (for an authenticator app); --remove takes it away.

${CONFIG_FLAGS_HELP}`;

const OPTIONS = {
  name: { type: 'string' },
  role: { type: 'string' },
  'display-name': { type: 'string' },
  language: { type: 'string' },
  'password-stdin': { type: 'boolean' },
  disable: { type: 'boolean' },
  enable: { type: 'boolean' },
  remove: { type: 'boolean' },
} as const;

async function readPassword(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  const password = Buffer.concat(chunks).toString('utf8').split(/\r?\n/)[0] ?? '';
  if ([...password].length < 12) throw new UsageError('the password on standard input has fewer than 12 characters');
  return password;
}

/** The node's API when one answers, else the database (the same service the node runs). */
async function onNodeOrDatabase<T>(
  config: Config,
  viaNode: (token: string) => Promise<T>,
  direct: (accounts: AccountService) => Promise<T>,
): Promise<T> {
  try {
    return await viaNode(await cliToken(config));
  } catch (err) {
    if (!(err instanceof NodeUnreachableError)) throw err;
  }
  const database = await openConfiguredDatabase(config);
  try {
    const clock = () => new Date();
    const audit = createAuditModule({ db: database.db, clock }).log;
    return await direct(createAccountService({ db: database.db, clock, audit, teamId: config.teamId }));
  } finally {
    await database.close();
  }
}

function describe(a: Account): string {
  const flags = [a.disabled ? 'disabled' : null, a.totp ? 'totp' : null].filter(Boolean).join(',') || '-';
  return `${a.name.padEnd(20)} ${a.role.padEnd(8)} ${a.language}  ${flags.padEnd(14)} ${a.displayName}`;
}

function changesFrom(values: Record<string, string | boolean | undefined>): AccountPatch {
  const changes: AccountPatch = {};
  if (values.role !== undefined) {
    if (!isRole(values.role)) throw new UsageError(`--role must be one of ${ROLES.join(', ')}`);
    changes.role = values.role;
  }
  if (typeof values['display-name'] === 'string') changes.displayName = values['display-name'];
  if (values.language !== undefined) {
    if (values.language !== 'ja' && values.language !== 'en') throw new UsageError('--language must be ja or en');
    changes.language = values.language;
  }
  if (values.disable && values.enable) throw new UsageError('--disable or --enable, not both');
  if (values.disable) changes.disabled = true;
  if (values.enable) changes.disabled = false;
  return changes;
}

const path = (name: string, tail = '') => `/api/v1/accounts/${encodeURIComponent(name)}${tail}`;

export const accountCommands: Record<string, Command> = {
  account: {
    summary: 'add, list, change and remove handler accounts (people who sign in to the console)',
    help: HELP,
    async run(args, out) {
      const [sub, ...rest] = args;
      let parsed;
      try {
        parsed = parseArgs({ args: rest, options: { ...CONFIG_FLAGS, ...OPTIONS }, allowPositionals: true, strict: true });
      } catch (err) {
        throw new UsageError((err as Error).message);
      }
      const values = parsed.values as Record<string, string | boolean | undefined>;
      const name = parsed.positionals[0];
      const config = configFromFlags(values);
      const base = nodeUrl(config, values);
      const call = <T>(token: string, method: string, p: string, body?: unknown) => requestNode(base, token, method, p, body) as Promise<T>;
      if (sub === 'add') {
        if (typeof values.name !== 'string') throw new UsageError('account add needs --name <name>');
        const changes = changesFrom(values);
        if (!changes.role) throw new UsageError(`account add needs --role <${ROLES.join('|')}>`);
        const input: AccountCreate = {
          name: values.name,
          role: changes.role,
          ...(changes.displayName ? { displayName: changes.displayName } : {}),
          ...(changes.language ? { language: changes.language } : {}),
          ...(values['password-stdin'] ? { password: await readPassword() } : {}),
        };
        const created = await onNodeOrDatabase(
          config,
          (token) => call<{ account: Account; password?: string }>(token, 'POST', '/api/v1/accounts', input),
          (accounts) => accounts.create(input, 'cli'),
        );
        out(`created account ${created.account.name} (${created.account.role})`);
        if (created.password) out(`password (shown once): ${created.password}`);
        return;
      }
      if (sub === 'list') {
        const accounts = await onNodeOrDatabase(
          config,
          async (token) => (await call<{ items: Account[] }>(token, 'GET', '/api/v1/accounts')).items,
          (service) => service.list(),
        );
        out(
          accounts.length
            ? ['NAME'.padEnd(20) + ' ROLE     LANG FLAGS          DISPLAY NAME', ...accounts.map(describe)].join('\n')
            : 'No accounts yet: hikeshi account add --name <name> --role admin',
        );
        return;
      }
      if (!name) throw new UsageError(`account ${sub ?? '<add|list|set|remove|totp>'} <name>`);
      if (sub === 'set') {
        const changes = changesFrom(values);
        if (values['password-stdin']) changes.password = await readPassword();
        if (Object.keys(changes).length === 0) throw new UsageError('account set: nothing to change');
        const account = await onNodeOrDatabase(
          config,
          (token) => call<Account>(token, 'PATCH', path(name), changes),
          (accounts) => accounts.patch(name, changes, 'cli'),
        );
        out(describe(account));
        return;
      }
      if (sub === 'remove') {
        await onNodeOrDatabase(
          config,
          (token) => call(token, 'DELETE', path(name)),
          (accounts) => accounts.remove(name, 'cli'),
        );
        out(`removed account ${name}; its sessions have ended`);
        return;
      }
      if (sub === 'totp') {
        if (values.remove) {
          await onNodeOrDatabase(
            config,
            (token) => call(token, 'DELETE', path(name, '/totp')),
            (accounts) => accounts.removeTotp(name, 'cli'),
          );
          out(`removed TOTP from ${name}: sign-in asks for the password only`);
          return;
        }
        const enrolment = await onNodeOrDatabase(
          config,
          (token) => call<{ uri: string; secret: string }>(token, 'POST', path(name, '/totp')),
          (accounts) => accounts.enrolTotp(name, 'cli'),
        );
        out(`TOTP for ${name} (shown once; scan it into an authenticator app):`);
        out(enrolment.uri);
        return;
      }
      throw new UsageError('account needs a subcommand: add, list, set, remove or totp');
    },
  },
};
