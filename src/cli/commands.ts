/**
 * Every subcommand module registers itself here: one import and one list entry each.
 */
import type { Command } from 'commander';

export type RegisterCommand = (program: Command) => void;

export const commands: RegisterCommand[] = [];
