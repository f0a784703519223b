import fs from 'node:fs';
const prof = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const byId = new Map(); for (const n of prof.nodes) byId.set(n.id, n);
const parent = new Map(); for (const n of prof.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
const time = new Map(); for (let i = 0; i < prof.samples.length; i++) time.set(prof.samples[i], (time.get(prof.samples[i]) ?? 0) + (prof.timeDeltas[i] ?? 0));
const names = process.argv.slice(3);
const incl = new Map(names.map((n) => [n, 0]));
for (const [id, t] of time) {
  const seen = new Set();
  let cur = id;
  while (cur !== undefined) { const fn = byId.get(cur).callFrame.functionName; if (incl.has(fn) && !seen.has(fn)) { incl.set(fn, incl.get(fn) + t); seen.add(fn); } cur = parent.get(cur); }
}
for (const [k, v] of incl) console.log((v / 1000).toFixed(0).padStart(8), k);
