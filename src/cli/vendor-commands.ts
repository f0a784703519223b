import { readFile } from 'node:fs/promises';
import { CONFIG_FLAGS_HELP, UsageError, commaList, requestNode } from './cli-context.js';
import { withNode } from './extra-commands.js';

/**
 * `hikeshi vendor ...` and `hikeshi case ...` (issue 17 parts 1 and 2, ADR 0024): vendors,
 * vulnerability cases, questions and statements, CSAF advisories, through the running node's API.
 */
interface Command {
  summary: string;
  help: string;
  run(args: string[], out: (s: string) => void): Promise<void>;
}

interface WireVendor {
  id: string;
  name: string;
  channel: string;
  teamId: string | null;
  email: string | null;
  fingerprint: string | null;
}
interface WireQuestion {
  id: string;
  caseId: string;
  vendor: string | null;
  askerTeam: string | null;
  channel: string;
  state: string;
  delivery: string | null;
  tlp: string;
  question: { title: string; products: Array<{ product: string; versions: string[] }> };
}
interface WireCase {
  id: string;
  title: string;
  tlp: string;
  embargoUntil: string | null;
  parties: string[];
  cveIds: string[];
  questions: WireQuestion[];
  statements: Array<{ vendor: string; product: string; status: string; fixedVersions: string[]; provenance: string }>;
}

const list = commaList;
const str = (v: string | boolean | undefined) => (typeof v === 'string' ? v : undefined);
const path = (id: string, rest = '') => `/api/v1/cases/${encodeURIComponent(id)}${rest}`;
const vendorLine = (v: WireVendor) => `${v.id.padEnd(16)} ${v.channel.padEnd(10)} ${v.teamId ?? `${v.email} ${v.fingerprint}`}  ${v.name}`;
const questionLine = (q: WireQuestion) =>
  `${q.id}  ${(q.vendor ?? q.askerTeam ?? '').padEnd(14)} ${q.channel.padEnd(10)} ${q.state}${q.delivery ? ` (${q.delivery})` : ''}`;

function renderCase(c: WireCase): string {
  return [
    `${c.id}  ${c.tlp}  ${c.title}`,
    `parties: ${c.parties.join(', ')}   CVE: ${c.cveIds.join(', ') || '-'}   embargo until: ${c.embargoUntil ?? '-'}`,
    ...(c.questions.length ? ['questions:', ...c.questions.map((q) => `  ${questionLine(q)}`)] : []),
    ...(c.statements.length
      ? [
          'statements:',
          ...c.statements.map(
            (s) =>
              `  ${s.vendor} ${s.product}: ${s.status}${s.fixedVersions.length ? `, fixed in ${s.fixedVersions.join(', ')}` : ''} [${s.provenance}]`,
          ),
        ]
      : []),
  ].join('\n');
}

async function statementBody(values: Record<string, string | boolean | undefined>): Promise<Record<string, unknown>> {
  const file = str(values['signed-file']);
  if (file) return { signedText: await readFile(file, 'utf8') };
  const product = str(values['product']);
  const status = str(values['status']);
  if (!product || !status)
    throw new UsageError('give --signed-file <file>, or --product <name> --status <affected|not affected|under investigation>');
  return {
    product,
    status,
    ...(values['fixed'] ? { fixedVersions: list(values['fixed']) } : {}),
    ...(str(values['text']) ? { text: str(values['text']) } : {}),
  };
}

const OPTIONS = {
  name: { type: 'string' },
  team: { type: 'string' },
  email: { type: 'string' },
  'key-file': { type: 'string' },
  fingerprint: { type: 'string' },
  file: { type: 'string' },
  vendor: { type: 'string' },
  'signed-file': { type: 'string' },
  product: { type: 'string' },
  status: { type: 'string' },
  fixed: { type: 'string' },
  text: { type: 'string' },
  summary: { type: 'string' },
} as const;

async function vendor(args: string[]): Promise<string> {
  const [sub, ...rest] = args;
  const { pos, values, base, token } = await withNode(rest, OPTIONS, 1);
  const [id] = pos;
  switch (sub) {
    case 'add': {
      if (!id || !str(values.name))
        throw new UsageError('vendor add <id> --name <name> (--team <team-id> | --email <address> --key-file <file> --fingerprint <fp>)');
      const keyFile = str(values['key-file']);
      const body = {
        id,
        name: values.name,
        ...(str(values.team) ? { teamId: values.team } : {}),
        ...(str(values.email) ? { email: values.email } : {}),
        ...(keyFile ? { publicKey: await readFile(keyFile, 'utf8') } : {}),
        ...(str(values.fingerprint) ? { fingerprint: values.fingerprint } : {}),
      };
      return vendorLine((await requestNode(base, token, 'POST', '/api/v1/vendors', body)) as WireVendor);
    }
    case 'list': {
      const { items } = (await requestNode(base, token, 'GET', '/api/v1/vendors')) as { items: WireVendor[] };
      return items.length ? items.map(vendorLine).join('\n') : 'no vendors';
    }
    case 'questions': {
      const { items } = (await requestNode(base, token, 'GET', '/api/v1/vendor-questions')) as { items: WireQuestion[] };
      return items.length ? items.map((q) => `${questionLine(q)}  ${q.question.title}`).join('\n') : 'no questions received';
    }
    case 'answer': {
      if (!id) throw new UsageError('vendor answer <question-id> --product <name> --status <status> [--fixed v1,v2] [--text <text>]');
      const body = await statementBody(values);
      if ('signedText' in body) throw new UsageError('vendor answer signs with the node key: give --product and --status');
      return questionLine(
        (await requestNode(base, token, 'POST', `/api/v1/vendor-questions/${encodeURIComponent(id)}/statement`, body)) as WireQuestion,
      );
    }
    default:
      throw new UsageError('vendor needs a subcommand: add, list, questions or answer');
  }
}

async function kase(args: string[]): Promise<string> {
  const [sub, ...rest] = args;
  const { pos, values, base, token } = await withNode(rest, OPTIONS, 1);
  const [id] = pos;
  if (sub !== 'list' && sub !== 'create' && !id) throw new UsageError(`case ${sub ?? ''} <case-id>`);
  switch (sub) {
    case 'create': {
      const file = str(values.file);
      if (!file) throw new UsageError('case create --file <case.json>');
      return renderCase((await requestNode(base, token, 'POST', '/api/v1/cases', JSON.parse(await readFile(file, 'utf8')))) as WireCase);
    }
    case 'list': {
      const { items } = (await requestNode(base, token, 'GET', '/api/v1/cases')) as { items: WireCase[] };
      return items.length ? items.map((c) => `${c.id}  ${c.tlp}  ${c.title}`).join('\n') : 'no cases';
    }
    case 'show':
      return renderCase((await requestNode(base, token, 'GET', path(id!))) as WireCase);
    case 'ask': {
      const body = values.vendor ? { vendors: list(values.vendor) } : {};
      const r = (await requestNode(base, token, 'POST', path(id!, '/questions'), body)) as {
        questions: WireQuestion[];
        skipped: Array<{ vendor: string; reason: string }>;
      };
      return [...r.questions.map(questionLine), ...r.skipped.map((s) => `skipped ${s.vendor}: ${s.reason}`)].join('\n') || 'nobody asked';
    }
    case 'statement': {
      const vendorId = str(values.vendor);
      if (!vendorId) throw new UsageError('case statement <case-id> --vendor <id> (--signed-file <file> | --product ... --status ...)');
      return renderCase(
        (await requestNode(base, token, 'POST', path(id!, '/statements'), {
          vendor: vendorId,
          ...(await statementBody(values)),
        })) as WireCase,
      );
    }
    case 'advisory': {
      const a = (await requestNode(base, token, 'POST', path(id!, '/advisory'))) as {
        trackingId: string;
        publishedVersion: number;
        location: string | null;
        document: unknown;
      };
      return `${a.trackingId}  published version ${a.publishedVersion}${a.location ? `  ${a.location}` : ''}\n${JSON.stringify(a.document, null, 2)}`;
    }
    case 'publish': {
      const body = str(values.summary) ? { summary: values.summary } : {};
      const p = (await requestNode(base, token, 'POST', path(id!, '/advisory/publish'), body)) as {
        trackingId: string;
        version: number;
        location: string | null;
        sha256: string;
      };
      return `published ${p.trackingId} version ${p.version}: ${p.location ?? 'not public (label other than CLEAR): GET /api/v1/cases/<id>/advisory/published'}\nsha256 ${p.sha256}`;
    }
    default:
      throw new UsageError('case needs a subcommand: create, list, show, ask, statement, advisory or publish');
  }
}

export const vendorCommands: Record<string, Command> = {
  vendor: {
    summary: 'vendors we coordinate with; questions asked of us as a vendor (through the running node)',
    help: `Usage:
  hikeshi vendor add <id> --name <name> --team <team-id>      a vendor that runs a node (a peer of ours)
  hikeshi vendor add <id> --name <name> --email <address> --key-file <public-key.asc> --fingerprint <fp>
                                                               an e-mail vendor, its key pinned if it has that fingerprint
  hikeshi vendor list
  hikeshi vendor questions                                     questions other teams asked this node as a vendor
  hikeshi vendor answer <question-id> --product <name> --status affected|'not affected'|'under investigation'
                        [--fixed <v1,v2>] [--text <text>]      answer with a signed vendor.statement

${CONFIG_FLAGS_HELP}`,
    async run(args, out) {
      out(await vendor(args));
    },
  },
  case: {
    summary: 'vulnerability cases: ask party vendors, record statements, publish CSAF advisories (through the running node)',
    help: `Usage:
  hikeshi case create --file <case.json>       POST /api/v1/cases with the file's JSON
  hikeshi case list
  hikeshi case show <case-id>                  questions and statements
  hikeshi case ask <case-id> [--vendor <id,...>]
                                               ask the party vendors (default: all), each decision audited
  hikeshi case statement <case-id> --vendor <id> --signed-file <statement.asc>
                                               record a vendor's clear-signed statement (verified with its pinned key)
  hikeshi case statement <case-id> --vendor <id> --product <name> --status <status> [--fixed <v,...>] [--text <t>]
                                               record a statement by hand (unsigned)
  hikeshi case advisory <case-id>              draft the CSAF 2.0 advisory and print it
  hikeshi case publish <case-id> [--summary <text>]
                                               publish (after the embargo) or publish a revision

${CONFIG_FLAGS_HELP}`,
    async run(args, out) {
      out(await kase(args));
    },
  },
};
