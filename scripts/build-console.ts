import { createHash } from 'node:crypto';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

/**
 * The console's production build (ADR 0030), run by `npm run build` after tsc: esbuild bundles
 * console/src/main.tsx (Preact, TSX) and its stylesheet into dist/console/, and writes
 * index.html naming both with a content hash, so a browser never runs a stale bundle against a
 * newer node. The node serves that folder at /console (src/http/console.routes.ts).
 */
const root = fileURLToPath(new URL('../', import.meta.url));

export interface ConsoleBuild {
  outDir: string;
  files: string[];
}

export async function buildConsole(outDir = path.join(root, 'dist/console')): Promise<ConsoleBuild> {
  await rm(outDir, { recursive: true, force: true });
  await mkdir(outDir, { recursive: true });
  await build({
    entryPoints: { app: path.join(root, 'console/src/main.tsx') },
    bundle: true,
    minify: true,
    format: 'esm',
    target: ['es2022'],
    jsx: 'automatic',
    jsxImportSource: 'preact',
    outdir: outDir,
    // No source maps shipped: they would not leak secrets, but nothing needs them on a node.
    sourcemap: false,
    legalComments: 'none',
    logLevel: 'warning',
    tsconfig: path.join(root, 'console/tsconfig.json'),
  });
  const script = await readFile(path.join(outDir, 'app.js'));
  const style = await readFile(path.join(outDir, 'app.css'));
  const page = (await readFile(path.join(root, 'console/index.html'), 'utf8'))
    .replace('app.js', `app.js?v=${digest(script)}`)
    .replace('app.css', `app.css?v=${digest(style)}`);
  await writeFile(path.join(outDir, 'index.html'), page);
  return { outDir, files: ['index.html', 'app.js', 'app.css'] };
}

function digest(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex').slice(0, 16);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { outDir } = await buildConsole(process.argv[2] ? path.resolve(process.argv[2]) : undefined);
  console.log(`console built into ${path.relative(root, outDir) || outDir}`);
}
