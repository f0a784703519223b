import fs from 'node:fs';
const file = process.argv[2];
const prof = JSON.parse(fs.readFileSync(file, 'utf8'));
const self = new Map(); const byId = new Map();
for (const n of prof.nodes) byId.set(n.id, n);
const dt = prof.timeDeltas; const samples = prof.samples;
const time = new Map();
for (let i = 0; i < samples.length; i++) time.set(samples[i], (time.get(samples[i]) ?? 0) + (dt[i] ?? 0));
for (const [id, t] of time) { const n = byId.get(id); const k = `${n.callFrame.functionName || '(anon)'} ${n.callFrame.url.split('/').slice(-2).join('/')}:${n.callFrame.lineNumber}`; self.set(k, (self.get(k) ?? 0) + t); }
const total = [...self.values()].reduce((a, b) => a + b, 0);
console.log('total ms', total / 1000);
for (const [k, t] of [...self.entries()].sort((a, b) => b[1] - a[1]).slice(0, 35)) console.log((t / 1000).toFixed(0).padStart(8), k);
