/**
 * The `cbdm` command line: one binary, one subcommand per module in `commands.ts`.
 */
import { Command, CommanderError } from 'commander';
import { commands } from './commands.ts';
import { CbdmError } from '../util/errors.ts';

export function buildProgram(): Command {
  const program = new Command();
  program
    .name('cbdm')
    .description('Class-Balancing Diffusion Models for long-tailed data: train, sample, evaluate, report.')
    .version('0.1.0')
    .showHelpAfterError('(run with --help for usage)');
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
