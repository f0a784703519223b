import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { projectRoot } from '../../src/project-root.js';

/**
 * The CLI as a separate process whose output goes into a pipe, as in `hikeshi openapi | jq`: a
 * pipe takes 64 KB at a time, and a command must not exit before the rest of what it printed
 * has been handed over.
 */
async function hikeshi(...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'hikeshi-cli-exit-'));
  try {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(projectRoot(), 'src/cli/run.ts'), ...args], {
      cwd: projectRoot(),
      env: { ...process.env, HIKESHI_DATA_DIR: dataDir, HIKESHI_TEAM_ID: 'alpha', HIKESHI_LOG_LEVEL: 'silent' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    // Read slowly, so the child's writes find the pipe full and Node.js queues the rest.
    child.stdout.on('data', (chunk: Buffer) => {
      out.push(chunk);
      child.stdout.pause();
      setTimeout(() => child.stdout.resume(), 2);
    });
    child.stderr.on('data', (chunk: Buffer) => err.push(chunk));
    const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
    return { code, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') };
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
}

t.test('hikeshi openapi into a pipe: the whole document, well past 64 KB', async (t) => {
  const run = await hikeshi('openapi');
  t.equal(run.code, 0);
  t.ok(run.stdout.length > 256 * 1024, `${run.stdout.length} characters`);
  const document = JSON.parse(run.stdout) as { openapi: string; paths: Record<string, unknown> };
  t.match(document.openapi, /^3\.1/);
  t.ok(Object.keys(document.paths).length > 50, 'every path is there');
});

t.test('an unknown command: exit code 2, the whole usage on stderr', async (t) => {
  const run = await hikeshi('no-such-command');
  t.equal(run.code, 2);
  t.match(run.stderr, /unknown command "no-such-command"/);
  t.match(run.stderr, /\n {2}mail {2,}/, 'down to the last command of the list');
});
