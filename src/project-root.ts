import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

let cached: string | undefined;

/**
 * The checkout's top folder. Code runs both from `src/` (tests, through tap's TypeScript loader)
 * and from `dist/src/` (npm start), so files shipped beside the code (migrations, docs) are found
 * by walking up to our own package.json rather than by a fixed relative depth.
 */
export function projectRoot(): string {
  if (cached) return cached;
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const manifest = path.join(dir, 'package.json');
    if (existsSync(manifest)) {
      const name = (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string }).name;
      if (name === 'hikeshi') return (cached = dir);
    }
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error('cannot find the hikeshi package root');
    dir = parent;
  }
}
