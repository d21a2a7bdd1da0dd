/**
 * The `cbdm` command line: one binary, one subcommand per module in `commands.ts`.
 *
 * Exit codes: 0 done; 1 internal error (a bug: stack trace and a "please report" line);
 * 2 usage or input error (one line `cbdm: error: …` naming the flag or file); 130 / 143
 * interrupted by SIGINT / SIGTERM after the state was saved.
 */
import { Command, CommanderError, Help } from 'commander';
import { COMMAND_MODULES, moduleOf, type CommandModule } from './commands.ts';
import { CbdmError, Interrupted, systemErrorReason } from '../util/errors.ts';

/** Environment variables, printed after `cbdm --help` (and in docs/CLI.md). */
export const ENV_HELP = `
Environment:
  CBDM_BACKEND=js|cpu       compute backend (default: cpu when the native addon is built)
  CBDM_THREADS=n            native threads (default: all cores)
  CBDM_THREAD_WAIT=sleep|spin  idle native threads sleep at once (default) or spin a few ms
                            first (faster hand-off on an idle machine, far slower on a busy one)
  CBDM_PRECISION=fp32|bf16  bf16: convolutions multiply in bfloat16, sum in fp32 (CPUs with
                            AVX512-BF16; about 2× faster convolutions; default fp32); FID
                            features stay fp32 unless cbdm eval --feature-precision bf16
  CBDM_ISA=avx2|scalar      use a lower instruction set than the CPU's best
  CBDM_INCEPTION=FILE       FID Inception weights (pt_inception-2015-12-05-6726825d.pth)
  CBDM_CACHE=DIR            cache folder (default ~/.cache/cbdm)`;

/**
 * The root program with the subcommand modules that `argv` needs (its command's, or that of
 * `help <command>`; without `argv`, every module). The other top-level commands are registered as
 * name and description only, which is all the root help and commander's "did you mean" need, so
 * `cbdm --help` and `cbdm --version` load no subcommand module.
 */
export async function buildProgram(argv?: readonly string[]): Promise<Command> {
  const wanted = argv === undefined ? null : commandNameOf(argv);
  const loaded = new Map<CommandModule, Awaited<ReturnType<CommandModule['load']>>>();
  for (const m of COMMAND_MODULES) if (wanted === null || m === moduleOf(wanted)) loaded.set(m, await m.load());
  const program = new Command();
  program
    .name('cbdm')
    .description('Class-Balancing Diffusion Models for long-tailed data: train, sample, evaluate, report.')
    .version('0.1.0')
    .showHelpAfterError('(run with --help for usage)')
    .addHelpText('after', ENV_HELP + EXIT_HELP)
    // Set before the subcommands are created, which inherit both.
    .exitOverride()
    .configureOutput({ outputError: (str, write) => write(`cbdm: ${str}`) });
  const terms = new Map<string, string>();
  for (const m of COMMAND_MODULES) {
    const mod = loaded.get(m);
    if (mod !== undefined) {
      mod.register(program);
      continue;
    }
    for (const c of m.commands) {
      program.command(c.name).description(c.description);
      terms.set(c.name, c.term);
    }
  }
  // A command registered by name only has no options or arguments of its own to list; the root
  // help shows the term its module's command has ('train [options]').
  if (terms.size > 0) {
    program.configureHelp({
      subcommandTerm(cmd: Command): string {
        return terms.get(cmd.name()) ?? Help.prototype.subcommandTerm.call(this, cmd);
      },
    });
  }
  // One name per concept: the image size is --image-size everywhere; data/eval stats/classify read
  // it into their `size` setting (their older --size still works, hidden from the help).
  program.hook('preAction', (_root, action) => {
    const imageSize = action.getOptionValue('imageSize') as unknown;
    if (imageSize !== undefined && action.options.some((opt) => opt.attributeName() === 'size')) action.setOptionValue('size', imageSize);
  });
  return program;
}

/** The top-level command `argv` runs (`help train` → train), or '' for none (--help, --version). */
function commandNameOf(argv: readonly string[]): string {
  const words = argv.filter((a) => !a.startsWith('-'));
  return (words[0] === 'help' ? words[1] : words[0]) ?? '';
}

/** Exit codes, printed after `cbdm --help`. */
export const EXIT_HELP = `

Exit codes:
  0    done
  1    internal error (a bug: the stack trace and a "please report" line are printed)
  2    usage or input error (one line "cbdm: error: …" names the flag or file)
  130  interrupted by Ctrl-C (SIGINT) after saving a checkpoint; 143 for SIGTERM`;

/** Run the CLI on `argv`; returns the exit code (see the header) and prints every error itself. */
export async function run(argv: string[]): Promise<number> {
  try {
    const program = await buildProgram(argv);
    await program.parseAsync(argv, { from: 'user' });
    return 0;
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : 2;  // commander printed it
    if (e instanceof CbdmError) {
      console.error(`cbdm: error: ${e.message}`);
      return 2;
    }
    if (e instanceof Interrupted) {
      console.error(`cbdm: ${e.message}`);
      return e.signal === 'SIGINT' ? 130 : 143;
    }
    const reason = systemErrorReason(e);
    if (reason !== null) {
      const sys = e as NodeJS.ErrnoException;
      console.error(`cbdm: error: cannot ${sys.syscall ?? 'use'} ${sys.path ?? 'a file'}: ${reason}`);
      return 2;
    }
    console.error(e instanceof Error ? e.stack ?? String(e) : String(e));
    console.error('cbdm: internal error: this is a bug in cbdm; please report it with the command line and the output above');
    return 1;
  }
}

export async function main(argv: string[]): Promise<void> {
  process.exitCode = await run(argv);
}
