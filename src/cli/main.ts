/**
 * The `cbdm` command line: one binary, one subcommand per module in `commands.ts`.
 */
import { Command, CommanderError } from 'commander';
import { commands } from './commands.ts';
import { CbdmError } from '../util/errors.ts';

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
    .addHelpText('after', ENV_HELP);
  for (const register of commands) register(program);
  return program;
}

export async function main(argv: string[]): Promise<void> {
  const program = buildProgram();
  program.exitOverride();
  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (e) {
    if (e instanceof CommanderError) {
      process.exitCode = e.exitCode;
      return;
    }
    if (e instanceof CbdmError) {
      console.error(`cbdm: error: ${e.message}`);
      process.exitCode = 2;
      return;
    }
    throw e;
  }
}
