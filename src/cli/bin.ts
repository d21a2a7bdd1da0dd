/**
 * The process entry of the `cbdm` command: bin/cbdm.mjs runs its compiled form (dist/cli/bin.js);
 * tests spawn it from the sources with `node --import tsx src/cli/bin.ts`.
 */
import { main } from './main.ts';

// `cbdm --help | head`: a reader that stops early closes the pipe; that ends the output, it is not
// an error to report with a stack trace.
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code === 'EPIPE') process.exit(0);
  throw e;
});

await main(process.argv.slice(2));
