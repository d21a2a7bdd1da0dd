import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { cliReference } from '../../src/cli/docs.ts';

test('docs/CLI.md is the CLI\'s current help (run npm run docs:cli after changing a command)', async () => {
  const committed = readFileSync(join(import.meta.dirname, '..', '..', 'docs', 'CLI.md'), 'utf8');
  assert.equal(committed, await cliReference());
});
