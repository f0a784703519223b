import { main } from './main.js';

// `serve` keeps running after main resolves (the server holds the event loop); every other
// command exits with its code, even if a library left a handle open.
const command = process.argv[2];
main(process.argv.slice(2)).then((code) => {
  if (code !== 0 || command !== 'serve') process.exit(code);
});
