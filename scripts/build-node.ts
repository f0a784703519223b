import { readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, type Plugin } from 'esbuild';

/**
 * The node's bundle (ADR 0031, "Session 21: the node in one file"), run by `npm run build` after
 * tsc and the console: esbuild bundles the CLI (src/cli/run.ts) with the node's own code, TypeBox
 * and Kysely into dist/bundle/run.js, which bin/hikeshi.js starts. Those three are about 1,300 of
 * the 1,450 ES modules a start loaded one by one (a resolve, a stat, a read and a compile each on
 * Node.js 20); in one file the node is ready about 0.4 s sooner.
 *
 * Every other package stays an import of node_modules as it is: they are CommonJS reading files
 * beside themselves (PGlite's WebAssembly, Swagger UI's pages) or loaded only when used (pg, the
 * CSAF validator, mailparser), and TypeBox and Kysely are pure ES modules that no package the
 * node runs imports itself, so the bundle holds the only copy of each.
 *
 * A module that a worker thread loads by URL (a disclosure thread and its renderers) is an entry
 * of its own, named as its file and written beside run.js, so `new URL('./x.js', import.meta.url)`
 * names it both here and in dist/src. Two such files with one name would collide: refused.
 */
const root = fileURLToPath(new URL('../', import.meta.url));

/** The entries: the CLI, and every file a thread loads by URL (*.worker.ts, *.renderer.ts). */
async function entries(): Promise<Record<string, string>> {
  const found: Record<string, string> = { run: path.join(root, 'src/cli/run.ts') };
  for (const file of await readdir(path.join(root, 'src'), { recursive: true })) {
    if (!/\.(worker|renderer)\.ts$/.test(file)) continue;
    const name = path.basename(file, '.ts');
    if (found[name]) throw new Error(`two thread modules named ${name}.ts: the bundle writes them to one file`);
    found[name] = path.join(root, 'src', file);
  }
  return found;
}

/** Bare imports stay imports, except TypeBox's and Kysely's (inlined: see above). */
const inlineOnly = (inline: RegExp): Plugin => ({
  name: 'inline-only',
  setup(b) {
    b.onResolve({ filter: /^[^./]/ }, (args) => (inline.test(args.path) ? undefined : { path: args.path, external: true }));
  },
});

export async function buildNode(outDir = path.join(root, 'dist/bundle')): Promise<{ outDir: string; entries: string[] }> {
  const points = await entries();
  await rm(outDir, { recursive: true, force: true });
  await build({
    entryPoints: points,
    outdir: outDir,
    bundle: true,
    // Code the entries share goes into chunks they import, so a thread holds one instance of
    // each module, as unbundled: a renderer's digest memo must be the one its thread's
    // decisions filled (feeds/feed-item.renderer.ts, keepFeedItem).
    splitting: true,
    chunkNames: 'chunk-[hash]',
    format: 'esm',
    platform: 'node',
    target: 'node20.19',
    tsconfig: path.join(root, 'tsconfig.json'),
    plugins: [inlineOnly(/^(typebox|kysely)(\/|$)/)],
    // No source maps: stack traces name the bundle's lines; run from dist/src or src to debug.
    sourcemap: false,
    legalComments: 'none',
    logLevel: 'warning',
  });
  return { outDir, entries: Object.keys(points).map((n) => `${n}.js`) };
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { outDir, entries: written } = await buildNode(process.argv[2] ? path.resolve(process.argv[2]) : undefined);
  console.log(`node bundled into ${path.relative(root, outDir) || outDir} (${written.join(', ')})`);
}
