/**
 * The process entry of the `cbdm` command: bin/cbdm.mjs runs its compiled form (dist/cli/bin.js);
 * tests spawn it from the sources with `node --import tsx src/cli/bin.ts`.
 */
import { main } from './main.ts';

await main(process.argv.slice(2));
