#!/usr/bin/env node
import { existsSync } from 'node:fs';
import module from 'node:module';

// Node.js 22.1+ keeps V8's compiled code of the node and its dependencies on disk, so a restart
// skips most of the compiling (issue 18: cold start). Node.js 20 has no such cache and starts as
// before; NODE_DISABLE_COMPILE_CACHE=1 turns it off.
module.enableCompileCache?.();

// `npm run build` writes the node as one bundle (scripts/build-node.ts), which starts about 0.4 s
// sooner than its 1,450 modules one by one (ADR 0031). dist/src holds the same code, compiled by
// tsc alone: what runs where the bundle was not built.
const bundle = new URL('../dist/bundle/run.js', import.meta.url);
await import(existsSync(bundle) ? bundle.href : '../dist/src/cli/run.js');
