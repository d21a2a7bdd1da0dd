#!/usr/bin/env node
// The `cbdm` command: the compiled CLI in dist/ (`npm install` in a checkout builds it through the
// `prepare` script; `npm run build` rebuilds it after editing src/).
import { existsSync } from 'node:fs';

const entry = new URL('../dist/cli/bin.js', import.meta.url);
if (!existsSync(entry)) {
  console.error('cbdm: error: dist/ is not built; run `npm run build` (or `npm install`) in the cbdm checkout');
  process.exit(2);
}
await import(entry.href);
