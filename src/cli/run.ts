import { main } from './main.js';

// `serve` keeps running after main resolves (the server holds the event loop); every other
// command exits with its code, even if a library left a handle open. It exits once what it
// printed has been handed over: a pipe takes 64 KB at a time and Node.js queues the rest, which
// process.exit would drop (`hikeshi openapi | jq` read a document cut at 64 KB).
const command = process.argv[2];
main(process.argv.slice(2)).then((code) => {
  if (code === 0 && command === 'serve') return;
  process.stdout.write('', () => process.stderr.write('', () => process.exit(code)));
});
