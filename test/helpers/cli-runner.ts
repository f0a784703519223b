import { main } from '../../src/cli/main.js';
import type { TestNode } from './build-test-app.js';

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * `hikeshi <args>` in this process against a running test node (its data directory, team id and
 * URL), with its exit code and what it printed on stdout and stderr: the CLI's own code path,
 * without a child process each.
 */
export async function runCli(node: TestNode, ...args: string[]): Promise<CliRun> {
  let stdout = '';
  let stderr = '';
  const write = process.stderr.write.bind(process.stderr);
  process.stderr.write = ((chunk: string | Uint8Array) => {
    stderr += chunk.toString();
    return true;
  }) as typeof process.stderr.write;
  try {
    const code = await main([...args, '--data-dir', node.config.dataDir, '--team-id', node.config.teamId, '--url', node.url], (s) => {
      stdout += s + '\n';
    });
    return { code, stdout, stderr };
  } finally {
    process.stderr.write = write;
  }
}
