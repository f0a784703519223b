import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { CONFIG_FLAGS_HELP, UsageError, commaList, requestNode } from './cli-context.js';
import { withNode } from './extra-commands.js';

/**
 * `hikeshi law-enforcement ...` (issue 17 part 3, ADR 0023): requests from law enforcement (or a
 * report we make), the handler's decision, and the signed package to hand over, through the
 * running node's API (/api/v1/law-enforcement).
 */
interface Command {
  summary: string;
  help: string;
  run(args: string[], out: (s: string) => void): Promise<void>;
}

interface WireRequest {
  id: string;
  origin: string;
  agency: { id: string; name: string };
  officer: { name: string; contact: string } | null;
  legalBasis: string;
  scope: { incidents: Array<{ ref: string }>; sections: string[] | null; information: string | null };
  deadline: string | null;
  state: string;
  decision: { decision: string; by: string; at: string; legalBasis: string | null; reason: string | null } | null;
  packages: Array<{ id: string; createdAt: string; createdBy: string }>;
}
interface WirePackage {
  id: string;
  requestId: string;
  agency: string;
  incidents: Array<{ ref: string; tlp: string; detail: string; redactions: string[] }>;
  signerFingerprint: string;
  canonicalJson: string;
  jsonSignature: string;
  text: string;
  textSignature: string;
}

const list = commaList;
const line = (r: WireRequest) =>
  `${r.id}  ${r.state.padEnd(8)} ${r.origin.padEnd(9)} ${r.agency.id.padEnd(16)} ${r.scope.incidents.map((i) => i.ref).join(',')}`;

function render(r: WireRequest): string {
  const out = [line(r), `agency: ${r.agency.name} (${r.agency.id})`];
  if (r.officer) out.push(`officer: ${r.officer.name}, ${r.officer.contact}`);
  out.push(`legal basis cited: ${r.legalBasis}`);
  if (r.scope.sections) out.push(`sections asked for: ${r.scope.sections.join(', ')}`);
  if (r.scope.information) out.push(`information asked for: ${r.scope.information}`);
  if (r.deadline) out.push(`deadline: ${r.deadline}`);
  if (r.decision)
    out.push(
      `${r.decision.decision === 'approve' ? 'approved' : 'declined'} by ${r.decision.by} at ${r.decision.at}: ${r.decision.legalBasis ?? r.decision.reason ?? ''}`,
    );
  for (const p of r.packages) out.push(`package ${p.id} made ${p.createdAt} by ${p.createdBy}`);
  return out.join('\n');
}

/** Writes the package's four files (JSON, text, and their detached signatures) into `dir`. */
function writePackage(p: WirePackage, dir: string): string {
  const base = path.join(dir, `le-package-${p.id}`);
  writeFileSync(`${base}.json`, p.canonicalJson);
  writeFileSync(`${base}.json.asc`, p.jsonSignature);
  writeFileSync(`${base}.txt`, p.text);
  writeFileSync(`${base}.txt.asc`, p.textSignature);
  return [
    `package ${p.id} for ${p.agency}, signed by ${p.signerFingerprint}`,
    ...p.incidents.map((i) => `  ${i.ref} TLP:${i.tlp} ${i.detail}${i.redactions.length ? `, withheld: ${i.redactions.join(', ')}` : ''}`),
    `written: ${base}.json(.asc), ${base}.txt(.asc)`,
    `check: gpg --verify ${base}.json.asc ${base}.json`,
  ].join('\n');
}

async function run(args: string[]): Promise<string> {
  const [sub, ...rest] = args;
  const opts = {
    agency: { type: 'string' },
    'agency-name': { type: 'string' },
    officer: { type: 'string' },
    contact: { type: 'string' },
    'legal-basis': { type: 'string' },
    incident: { type: 'string' },
    sections: { type: 'string' },
    information: { type: 'string' },
    deadline: { type: 'string' },
    text: { type: 'string' },
    proactive: { type: 'boolean' },
    reason: { type: 'string' },
    out: { type: 'string' },
  } as const;
  const { pos, values, base, token } = await withNode(rest, opts, 1);
  const [id] = pos;
  const str = (k: keyof typeof opts) => (typeof values[k] === 'string' ? (values[k] as string) : undefined);
  const at = (suffix = '') => `/api/v1/law-enforcement/requests/${encodeURIComponent(id ?? '')}${suffix}`;
  switch (sub) {
    case 'request': {
      const agency = str('agency');
      const legalBasis = str('legal-basis');
      const incidents = list(values.incident);
      if (!agency || !legalBasis || incidents.length === 0)
        throw new UsageError('law-enforcement request --agency <id> --legal-basis <text> --incident <ref,...> [...]');
      const officer = str('officer');
      const body = {
        origin: values.proactive ? 'proactive' : 'inbound',
        agency: { id: agency, name: str('agency-name') ?? agency },
        ...(officer ? { officer: { name: officer, contact: str('contact') ?? '' } } : {}),
        legalBasis,
        scope: {
          incidents,
          ...(values.sections ? { sections: list(values.sections) } : {}),
          ...(str('information') ? { information: str('information') } : {}),
        },
        ...(str('deadline') ? { deadline: str('deadline') } : {}),
        ...(str('text') ? { text: str('text') } : {}),
      };
      return render((await requestNode(base, token, 'POST', '/api/v1/law-enforcement/requests', body)) as WireRequest);
    }
    case 'list': {
      const { items } = (await requestNode(base, token, 'GET', '/api/v1/law-enforcement/requests')) as { items: WireRequest[] };
      return items.length ? items.map(line).join('\n') : 'no law-enforcement requests';
    }
    case 'show':
      if (!id) throw new UsageError('law-enforcement show <request-id>');
      return render((await requestNode(base, token, 'GET', at())) as WireRequest);
    case 'approve':
      if (!id || !str('legal-basis')) throw new UsageError('law-enforcement approve <request-id> --legal-basis <text>');
      return render(
        (await requestNode(base, token, 'POST', at('/decision'), { decision: 'approve', legalBasis: str('legal-basis') })) as WireRequest,
      );
    case 'decline':
      if (!id || !str('reason')) throw new UsageError('law-enforcement decline <request-id> --reason <text>');
      return render(
        (await requestNode(base, token, 'POST', at('/decision'), { decision: 'decline', reason: str('reason') })) as WireRequest,
      );
    case 'package': {
      if (!id) throw new UsageError('law-enforcement package <request-id> [--out <dir>]');
      return writePackage((await requestNode(base, token, 'POST', at('/packages'))) as WirePackage, str('out') ?? '.');
    }
    case 'download': {
      if (!id) throw new UsageError('law-enforcement download <package-id> [--out <dir>]');
      const p = (await requestNode(base, token, 'GET', `/api/v1/law-enforcement/packages/${encodeURIComponent(id)}`)) as WirePackage;
      return writePackage(p, str('out') ?? '.');
    }
    default:
      throw new UsageError('law-enforcement needs a subcommand: request, list, show, approve, decline, package or download');
  }
}

export const lawEnforcementCommands: Record<string, Command> = {
  'law-enforcement': {
    summary: 'requests from law enforcement, the decision, and signed disclosure packages (through the running node)',
    help: `Usage:
  hikeshi law-enforcement request --agency <id> [--agency-name <name>] --officer <name> --contact <text>
                                  --legal-basis <text> --incident <ref,...> [--sections victims,evidence,...]
                                  [--information <text>] [--deadline <date-time>] [--text <text>]
                                               record a request an agency sent (--proactive: a report we make;
                                               no officer needed)
  hikeshi law-enforcement list                 requests, newest first
  hikeshi law-enforcement show <request-id>
  hikeshi law-enforcement approve <request-id> --legal-basis <text>
                                               approve: records a law-enforcement approval per incident in scope
  hikeshi law-enforcement decline <request-id> --reason <text>
  hikeshi law-enforcement package <request-id> [--out <dir>]
                                               make the signed package (what the policy allows the agency) and
                                               write it: .json and .txt, each with a detached .asc signature
  hikeshi law-enforcement download <package-id> [--out <dir>]

${CONFIG_FLAGS_HELP}`,
    async run(args, out) {
      out(await run(args));
    },
  },
};
