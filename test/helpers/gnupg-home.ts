import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

/** Whether the gpg binary is on PATH (tests that need it skip with a reason otherwise). */
export const gpgAvailable = spawnSync('gpg', ['--version'], { stdio: 'ignore' }).error === undefined;

export interface GnupgHome {
  home: string;
  /**
   * gpg in batch mode on this home, unlocking secret keys with `passphrase` (given on fd 0 in
   * loopback pinentry mode, as a team scripting GnuPG does).
   */
  gpg(args: string[], passphrase?: string): SpawnSyncReturns<Buffer>;
  /** Writes `content` to a new file in the home and answers its path. */
  file(name: string, content: string | Buffer): string;
}

/**
 * A team without a node, as its tooling runs: the gpg binary with a throwaway GNUPGHOME, removed
 * (and its agent stopped) when the test ends.
 */
export function gnupgHome(t: { teardown(fn: () => void): void }, prefix: string): GnupgHome {
  const home = mkdtempSync(path.join(tmpdir(), `${prefix}-`));
  const env = { ...process.env, GNUPGHOME: home, LC_ALL: 'C' };
  t.teardown(() => {
    spawnSync('gpgconf', ['--kill', 'all'], { env, stdio: 'ignore' });
    rmSync(home, { recursive: true, force: true });
  });
  return {
    home,
    gpg: (args, passphrase = '') =>
      spawnSync('gpg', ['--batch', '--no-tty', '--pinentry-mode', 'loopback', '--passphrase-fd', '0', ...args], {
        env,
        input: passphrase,
        timeout: 30_000,
      }),
    file: (name, content) => {
      const p = path.join(home, `${name}-${randomUUID()}`);
      writeFileSync(p, content);
      return p;
    },
  };
}
