import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { replaceErrorsTable } from '../http/errors-doc.js';
import { projectRoot } from '../project-root.js';

// `npm run docs:errors`: rewrites the generated table in docs/errors.md.
const file = path.join(projectRoot(), 'docs/errors.md');
writeFileSync(file, replaceErrorsTable(readFileSync(file, 'utf8')));
process.stdout.write(`updated ${file}\n`);
