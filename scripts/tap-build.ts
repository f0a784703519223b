/**
 * Runs before `npm test` (npm's `pretest`): rebuilds tap's Test class when it was built with
 * other plugins than `.taprc` names, and does nothing else (about 3 s, mostly loading tap's
 * config and Test class) when it matches.
 *
 * Why: the tap runner rebuilds itself when the plugin list changed, but keeps its OWN process's
 * loader list for the run. After every `npm install` or `npm ci` the installed build is tap's
 * default one, with the TypeScript plugin; so the first `npm test` (in CI, the whole embedded run)
 * started every test process with ts-node's loader chained behind tsx, and ts-node transpiled
 * every module again: about 13 s of CPU per test process that imports the application, against
 * about 4.4 s without it (ADR 0033).
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { TapConfig } from '@tapjs/config';
import { signature } from '@tapjs/test';

const config = await TapConfig.load();
if (config.pluginSignature !== signature) {
  process.stderr.write('tap: rebuilding its Test class for the plugins .taprc names\n');
  const built = spawnSync(process.execPath, [path.join(config.projectRoot, 'node_modules/tap/dist/esm/run.mjs'), 'build'], {
    stdio: 'inherit',
  });
  process.exitCode = built.status ?? 1;
}
