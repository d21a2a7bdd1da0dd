/**
 * The CLI reference (docs/CLI.md), generated from the commands' own help so it cannot drift:
 * `npm run docs:cli` rewrites it and a test fails when it is stale.
 */
import type { Command } from 'commander';
import { buildProgram, ENV_HELP } from './main.ts';

function walk(cmd: Command, path: string[], out: string[]): void {
  const name = [...path, cmd.name()].join(' ');
  cmd.configureHelp({ ...cmd.configureHelp(), helpWidth: 100 }); // fixed width: the same text in a TTY and in CI
  const after = path.length === 0 ? ENV_HELP : '';  // the root's addHelpText, which helpInformation() leaves out
  out.push(`## ${name}`, '', '```text', (cmd.helpInformation() + after).trimEnd(), '```', '');
  for (const sub of cmd.commands) walk(sub, [...path, cmd.name()], out);
}

/** The Markdown CLI reference. */
export async function cliReference(): Promise<string> {
  const out = ['# cbdm command-line reference', '', 'Generated from `cbdm --help` by `npm run docs:cli`; do not edit by hand.', ''];
  walk(await buildProgram(), [], out);
  return out.join('\n');
}
