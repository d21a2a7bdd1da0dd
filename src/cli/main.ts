/**
 * The `cbdm` command line: one binary, one subcommand per module in `commands.ts`.
 *
 * Exit codes: 0 done; 1 internal error (a bug: stack trace and a "please report" line);
 * 2 usage or input error (one line `cbdm: error: …` naming the flag or file); 130 / 143
 * interrupted by SIGINT / SIGTERM after the state was saved.
 */
import { Command, CommanderError } from 'commander';
import { commands } from './commands.ts';
import { CbdmError, Interrupted, systemErrorReason } from '../util/errors.ts';

/** Environment variables, printed after `cbdm --help` (and in docs/CLI.md). */
export const ENV_HELP = `
Environment:
  CBDM_BACKEND=js|cpu       compute backend (default: cpu when the native addon is built)
  CBDM_THREADS=n            native threads (default: all cores; 1 is faster on a busy machine)
  CBDM_PRECISION=fp32|bf16  bf16: convolutions multiply in bfloat16, sum in fp32 (CPUs with
                            AVX512-BF16; about 2× faster convolutions; default fp32); FID
                            features stay fp32 unless cbdm eval --feature-precision bf16
  CBDM_ISA=avx2|scalar      use a lower instruction set than the CPU's best
  CBDM_INCEPTION=FILE       FID Inception weights (pt_inception-2015-12-05-6726825d.pth)
  CBDM_CACHE=DIR            cache folder (default ~/.cache/cbdm)`;

export function buildProgram(): Command {
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
  for (const register of commands) register(program);
  // One name per concept: the image size is --image-size everywhere; data/eval stats/classify read
  // it into their `size` setting (their older --size still works, hidden from the help).
  program.hook('preAction', (_root, action) => {
    const imageSize = action.getOptionValue('imageSize') as unknown;
    if (imageSize !== undefined && action.options.some((opt) => opt.attributeName() === 'size')) action.setOptionValue('size', imageSize);
  });
  return program;
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
  const program = buildProgram();
  try {
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
