import { CONFIG_FLAGS_HELP, UsageError } from './cli-context.js';

/**
 * `hikeshi export <format> ...` and `hikeshi import <format> ...` (issue 16): one command each,
 * whatever the format; each format's file gives its usage lines and what it runs.
 */
export interface FormatCommands {
  format: string;
  /** Usage lines for `hikeshi export <format> ...` (indented, as in every help text). */
  exportHelp: string;
  importHelp: string;
  exportRun(rest: string[], out: (s: string) => void): Promise<void>;
  importRun(rest: string[], out: (s: string) => void): Promise<void>;
}

interface Command {
  summary: string;
  help: string;
  run(args: string[], out: (s: string) => void): Promise<void>;
}

export function formatCommands(formats: readonly FormatCommands[]): Record<'export' | 'import', Command> {
  const names = formats.map((f) => f.format).join(', ');
  const pick = (verb: string, format: string | undefined): FormatCommands => {
    const found = formats.find((f) => f.format === format);
    if (!found) throw new UsageError(`${verb} needs a format: ${names}`);
    return found;
  };
  return {
    export: {
      summary: `an incident in a format of neighbouring tools: ${names} (through the running node)`,
      help: `Usage:\n${formats.map((f) => f.exportHelp).join('\n')}\n\n${CONFIG_FLAGS_HELP}`,
      async run([format, ...rest], out) {
        await pick('export', format).exportRun(rest, out);
      },
    },
    import: {
      summary: `file a document of a neighbouring tool as an incident: ${names} (through the running node)`,
      help: `Usage:\n${formats.map((f) => f.importHelp).join('\n')}\n\n${CONFIG_FLAGS_HELP}`,
      async run([format, ...rest], out) {
        await pick('import', format).importRun(rest, out);
      },
    },
  };
}
