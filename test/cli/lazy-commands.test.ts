/**
 * `cbdm --help` and `--version` load no subcommand module (they take well under a second, not the
 * ~2 s that loading the engine, the native addon and sharp costs); the root help they print is
 * the one every module registered would print.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { buildProgram } from '../../src/cli/main.ts';
import { COMMAND_MODULES } from '../../src/cli/commands.ts';

const CLI_DIR = join(import.meta.dirname, '..', '..', 'src', 'cli');

const rootHelp = async (argv?: string[]) => {
  const p = await buildProgram(argv);
  p.configureHelp({ ...p.configureHelp(), helpWidth: 100 });
  return p.helpInformation();
};

test('the root help without loading subcommand modules equals the help with all of them loaded', async () => {
  const full = await rootHelp();
  assert.equal(await rootHelp(['--help']), full);
  assert.equal(await rootHelp(['--version']), full);
  assert.equal(await rootHelp(['train', '--help']), full, 'one module loaded, the others by name');
  assert.match(full, /train \[options\]\s+train a class-conditional/);
});

test('every command module registers exactly the top-level commands its entry lists, in order', async () => {
  const names = (await buildProgram()).commands.map((c) => c.name());
  assert.deepEqual(names, COMMAND_MODULES.flatMap((m) => m.commands.map((c) => c.name)));
});

test('main.ts and commands.ts import no subcommand module statically (only commander and errors.ts)', () => {
  for (const file of ['main.ts', 'commands.ts', 'bin.ts']) {
    const src = readFileSync(join(CLI_DIR, file), 'utf8');
    const statics = [...src.matchAll(/^import\s+(?:type\s+)?[^'"]*?from\s+'([^']+)'/gm)].filter((m) => !/^import\s+type\s/.test(m[0])).map((m) => m[1]);
    for (const spec of statics) assert.ok(['commander', './commands.ts', '../util/errors.ts', './main.ts'].includes(spec!), `${file} imports ${spec} statically`);
  }
  assert.doesNotMatch(readFileSync(join(import.meta.dirname, '..', '..', 'src', 'util', 'errors.ts'), 'utf8'), /^import /m);
});

test('cbdm --help into a pipe that closes early ends quietly (no EPIPE stack trace)', () => {
  // `true` exits at once, so the pipe is closed before cbdm (≈ 0.5 s to start) writes its help
  const r = spawnSync('bash', ['-c', `node --import tsx src/cli/bin.ts --help | true; echo "rc=\${PIPESTATUS[0]}"`], { encoding: 'utf8' });
  assert.doesNotMatch(r.stderr, /EPIPE|Unhandled/, r.stderr);
  assert.match(r.stdout, /rc=0/);
});
