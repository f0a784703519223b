import { benchFeed, benchPolicy } from '../bench/feed.bench.js';
import { formatResult } from '../bench/bench-result.js';
const engine = (process.argv[2] ?? 'pglite') as 'pglite' | 'postgres';
const n = Number(process.argv[3] ?? 2000);
const page = Number(process.argv[4] ?? 100);
for (const r of benchPolicy()) console.log(formatResult(r));
for (const r of await benchFeed({ engine, incidents: n, pageSize: page })) console.log(formatResult(r));
