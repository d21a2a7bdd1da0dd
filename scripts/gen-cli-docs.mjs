// Regenerates docs/CLI.md from the CLI's own help text.
import { register } from 'tsx/esm/api';
import { writeFileSync } from 'node:fs';
register();
const { cliReference } = await import('../src/cli/docs.ts');
writeFileSync(new URL('../docs/CLI.md', import.meta.url), await cliReference());
console.log('wrote docs/CLI.md');
