import { benchFeed } from '../bench/feed.bench.js';
const r = await benchFeed({ engine: process.argv[2] as any, incidents: Number(process.argv[3]), pageSize: Number(process.argv[4]) });
const g = globalThis as any;
console.log(r[0]!.value.toFixed(0), r[0]!.note, { query: g.TQ|0, evaluate: g.TE|0, sign: g.TS|0, audit: g.TA|0 });
