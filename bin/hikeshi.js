#!/usr/bin/env node
import module from 'node:module';

// Node.js 22.1+ keeps V8's compiled code of the node and its dependencies on disk, so a restart
// skips most of the compiling (issue 18: cold start). Node.js 20 has no such cache and starts as
// before; NODE_DISABLE_COMPILE_CACHE=1 turns it off.
module.enableCompileCache?.();
await import('../dist/src/cli/run.js');
