#!/usr/bin/env node
// The `cbdm` command: the compiled CLI in dist/ (`npm install` in a checkout builds it through the
// `prepare` script; `npm run build` rebuilds it after editing src/).
import { existsSync, readdirSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const entry = new URL('../dist/cli/bin.js', import.meta.url);
if (!existsSync(entry)) {
  console.error('cbdm: error: dist/ is not built; run `npm run build` (or `npm install`) in the cbdm checkout');
  process.exit(2);
}
// In a checkout (an installed package has no src/), say when dist/ is older than the sources:
// running stale compiled code after an edit is a silent way to measure the wrong program.
const src = fileURLToPath(new URL('../src', import.meta.url));
const stamp = new URL('../dist/.build-stamp', import.meta.url);  // written by `npm run build`
if (existsSync(src) && existsSync(stamp)) {
  const built = statSync(stamp).mtimeMs;
  const newer = (dir) => readdirSync(dir, { withFileTypes: true }).some((e) =>
    e.isDirectory() ? newer(`${dir}/${e.name}`) : e.name.endsWith('.ts') && statSync(`${dir}/${e.name}`).mtimeMs > built);
  if (newer(src)) console.error('cbdm: warning: src/ has changed since dist/ was built; run `npm run build` to run the current sources');
}
await import(entry.href);
